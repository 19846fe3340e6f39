//! Knowledge-base sources waiting to be read: a JetStream object store, because a file may be
//! far larger than one NATS message. The edge (or the operation, for the JSON form) puts the
//! source under its org's prefix; ingestion reads it; the org actor deletes it once the
//! document is ready or failed. Sources nobody claimed expire.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::object_store::{self, ObjectMetadata, ObjectStore};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::BusError;
use crate::error::ApiError;
use crate::ids::OrgId;

const BUCKET: &str = "assist_knowledge_sources";
/// Longer than any ingestion: a source older than this was abandoned (its request failed
/// after the upload) or its document failed for good.
const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// What was uploaded, besides its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub title: String,
    /// A media type of `model::knowledge::ContentType`.
    pub content_type: String,
    pub bytes: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

impl Source {
    pub fn describe(title: String, content_type: &str, bytes: &[u8]) -> Self {
        Self {
            title,
            content_type: content_type.to_owned(),
            bytes: bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(bytes)),
        }
    }
}

#[derive(Clone)]
pub struct Uploads {
    store: ObjectStore,
}

impl Uploads {
    /// Opens the bucket, creating it on first use.
    pub async fn open(js: &jetstream::Context) -> Result<Self, BusError> {
        if let Ok(store) = js.get_object_store(BUCKET).await {
            return Ok(Self { store });
        }
        let config = object_store::Config {
            bucket: BUCKET.into(),
            description: Some("knowledge-base sources waiting to be read".into()),
            max_age: MAX_AGE,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        match js.create_object_store(config).await {
            Ok(store) => Ok(Self { store }),
            // Another node starting at the same moment created it first.
            Err(err) => match js.get_object_store(BUCKET).await {
                Ok(store) => Ok(Self { store }),
                Err(_) => Err(BusError::JetStream(err.to_string())),
            },
        }
    }

    /// Stores `bytes` for `org`; the name to hand to `knowledge.create`.
    pub async fn put(&self, org: &OrgId, source: &Source, mut bytes: &[u8]) -> Result<String, ApiError> {
        let name = format!("{org}/{}", uuid::Uuid::new_v4().simple());
        let metadata = HashMap::from([
            ("title".to_owned(), source.title.clone()),
            ("content-type".to_owned(), source.content_type.clone()),
            ("sha256".to_owned(), source.sha256.clone()),
        ]);
        let meta = ObjectMetadata { name: name.clone(), metadata, ..Default::default() };
        self.store.put(meta, &mut bytes).await.map_err(|e| unavailable("store", &e))?;
        Ok(name)
    }

    /// What was stored under `name` for `org`. A name under another org's prefix reads as
    /// missing, whoever asks.
    pub async fn describe(&self, org: &OrgId, name: &str) -> Result<Source, ApiError> {
        let missing = || ApiError::invalid("upload", "no such upload for this organization");
        if !belongs(org, name) {
            return Err(missing());
        }
        let info = self.store.info(name).await.map_err(|_| missing())?;
        let field = |key: &str| info.metadata.get(key).cloned().unwrap_or_default();
        Ok(Source {
            title: field("title"),
            content_type: field("content-type"),
            bytes: info.size as u64,
            sha256: field("sha256"),
        })
    }

    /// The bytes stored under `name`; `None` once they are gone (expired, or deleted).
    pub async fn read(&self, org: &OrgId, name: &str) -> Result<Option<Vec<u8>>, ApiError> {
        if !belongs(org, name) {
            return Ok(None);
        }
        let mut object = match self.store.get(name).await {
            Ok(object) => object,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable("read", &e)),
        };
        let mut bytes = Vec::with_capacity(object.info().size);
        object.read_to_end(&mut bytes).await.map_err(|e| unavailable("read", &e))?;
        Ok(Some(bytes))
    }

    /// Forgets the source; one already gone is no error.
    pub async fn delete(&self, org: &OrgId, name: &str) {
        if belongs(org, name)
            && let Err(err) = self.store.delete(name).await
        {
            tracing::debug!(error = %err, name, "deleting a knowledge source");
        }
    }
}

fn belongs(org: &OrgId, name: &str) -> bool {
    name.strip_prefix(org.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn unavailable(what: &str, err: &dyn std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "knowledge sources: {what}");
    ApiError::unavailable("the store of uploaded documents is unavailable; retry")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_source_belongs_to_the_org_of_its_prefix() {
        let org = crate::ids::OrgId::parse("org_a").unwrap();
        assert!(super::belongs(&org, "org_a/0123abcd"));
        assert!(!super::belongs(&org, "org_ab/0123abcd"));
        assert!(!super::belongs(&org, "org_b/0123abcd"));
        assert!(!super::belongs(&org, "org_a/../org_b/x"));
        assert!(!super::belongs(&org, "org_a/"));
    }
}
