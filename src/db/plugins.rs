//! The `plugins` table: at most one Vapi connection per org. The private key is stored sealed
//! (AES-256-GCM under the master key) and the webhook secret only as a hash.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use surrealdb::types::RecordId;

use super::{Db, DbError, first_row};
use crate::ids::OrgId;

pub(super) const TABLE: &str = "plugins";

#[derive(Clone, Deserialize)]
pub struct StoredPlugin {
    pub public_api_key: String,
    pub private_api_key_sealed: String,
    pub webhook_secret_hash: Option<String>,
    pub connected_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Plugins {
    db: Db,
}

impl Plugins {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, org: &OrgId) -> Result<Option<StoredPlugin>, DbError> {
        let query =
            self.db.client().query(GET).bind(("plugin", record(org))).bind(("org", org.as_str().to_owned()));
        first_row(TABLE, query.await?.take(0)?)
    }

    pub async fn put(&self, org: &OrgId, plugin: &StoredPlugin) -> Result<(), DbError> {
        let query = self.db
            .write(
                "UPSERT $rid SET org = $org, service = 'vapi', public_api_key = $public, \
                 private_api_key_sealed = $sealed, webhook_secret_hash = $hash, connected_at = $at RETURN NONE",
            )
            .bind(("rid", record(org)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("public", plugin.public_api_key.clone()))
            .bind(("sealed", plugin.private_api_key_sealed.clone()))
            .bind(("hash", plugin.webhook_secret_hash.clone()))
            .bind(("at", plugin.connected_at));
        self.db.commit(query).await?;
        Ok(())
    }

    pub async fn delete(&self, org: &OrgId) -> Result<(), DbError> {
        let query = self
            .db
            .write("DELETE $rid WHERE org = $org")
            .bind(("rid", record(org)))
            .bind(("org", org.as_str().to_owned()));
        self.db.commit(query).await?;
        Ok(())
    }
}

/// The org's (`$org`) Vapi connection at `$plugin`.
const GET: &str = "SELECT * OMIT id FROM $plugin WHERE org = $org";

pub(super) fn record(org: &OrgId) -> RecordId {
    RecordId::new(TABLE, format!("{org}/vapi"))
}
