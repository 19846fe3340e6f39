//! The change feed: every committed change of an org, published by its actor on
//! `assist.v1.events.<org>.<resource>.<change>` into the JetStream stream `ASSIST_EVENTS`. The
//! stream sequence is each event's id, so a client that reconnects with the last id it saw
//! replays exactly what it missed, from whichever node it reconnects to.

use std::sync::Arc;

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use serde::Serialize;

use super::BusError;
use super::subjects;
use crate::ids::{ContactSessionId, OrgId};

pub const STREAM: &str = "ASSIST_EVENTS";
/// Marks an event that concerns one end-user; only their widget stream (and operators) see it.
pub const CONTACT_SESSION: &str = "Assist-Contact-Session";
/// Marks an event the org's widget streams may see too (the public settings).
pub const PUBLIC: &str = "Assist-Public";

/// How far back a reconnecting stream can resume.
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

pub async fn ensure_stream(js: &jetstream::Context) -> Result<(), BusError> {
    let config = stream::Config {
        name: STREAM.into(),
        subjects: vec![subjects::events_all()],
        storage: stream::StorageType::File,
        max_age: RETENTION,
        ..Default::default()
    };
    js.get_or_create_stream(config).await.map_err(|e| BusError::JetStream(e.to_string()))?;
    Ok(())
}

/// Who may see an event besides the org's operators.
#[derive(Clone, Debug)]
pub enum Audience {
    Operators,
    /// Operators and this end-user.
    Contact(ContactSessionId),
    /// Operators and every end-user of the org (public data only).
    Everyone,
}

impl Audience {
    /// Reads back what [`EventPublisher::publish`] wrote in an event's headers. A session id
    /// that does not parse (never written by assist) leaves the event to operators only.
    pub fn of(headers: Option<&HeaderMap>) -> Self {
        let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        if header(PUBLIC).is_some() {
            return Self::Everyone;
        }
        match header(CONTACT_SESSION).map(ContactSessionId::parse) {
            Some(Ok(session)) => Self::Contact(session),
            _ => Self::Operators,
        }
    }

    /// Whether a stream sees the event: operators (`None`) see every event of their org; an
    /// end-user sees public ones and their own.
    pub fn includes(&self, viewer: Option<&ContactSessionId>) -> bool {
        match (self, viewer) {
            (_, None) | (Self::Everyone, _) => true,
            (Self::Contact(session), Some(viewer)) => session == viewer,
            (Self::Operators, Some(_)) => false,
        }
    }
}

/// Publishes an org's changes. Cheap to clone; one per org actor.
#[derive(Clone)]
pub struct EventPublisher {
    /// Shared: a JetStream context owns a NATS client handle of its own, a few hundred bytes
    /// that every one of many thousands of org actors would otherwise copy.
    js: Arc<jetstream::Context>,
}

impl EventPublisher {
    pub fn new(js: jetstream::Context) -> Self {
        Self { js: Arc::new(js) }
    }

    /// Sends the event after the write it describes has committed. The feed is best effort: a
    /// NATS outage loses events (the data is safe in the database) and is logged, never
    /// turned into a failed write.
    pub async fn publish(
        &self,
        org: &OrgId,
        resource: &'static str,
        change: &'static str,
        audience: Audience,
        data: &impl Serialize,
    ) {
        let payload = match serde_json::to_vec(data) {
            Ok(payload) => payload,
            Err(err) => return tracing::error!(error = %err, resource, change, "event not serializable"),
        };
        let mut headers = HeaderMap::new();
        match &audience {
            Audience::Operators => {}
            Audience::Contact(session) => headers.insert(CONTACT_SESSION, session.as_str()),
            Audience::Everyone => headers.insert(PUBLIC, "true"),
        }
        let subject = subjects::event(org, resource, change);
        match self.js.publish_with_headers(subject, headers, payload.into()).await {
            // The ack is awaited on its own task: order is kept by the connection, and the
            // writer's mailbox moves on.
            Ok(ack) => {
                tokio::spawn(async move {
                    if let Err(err) = ack.await {
                        tracing::warn!(error = %err, resource, change, "change event not stored");
                    }
                });
            }
            Err(err) => tracing::warn!(error = %err, resource, change, "change event not sent"),
        }
    }
}
