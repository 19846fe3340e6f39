//! The durable path of system events (webhooks): a JetStream stream the edge publishes into, and
//! a dead-letter stream for events ingest gave up on. A webhook is answered 2xx only once its
//! event is stored here, so an outage of anything behind the stream loses nothing.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;

use super::BusError;
use super::subjects::{self, Source};
use crate::ids::OrgId;

pub const STREAM: &str = "ASSIST_SYSTEM";
pub const DEAD_LETTER_STREAM: &str = "ASSIST_DEADLETTER";
pub const CONSUMER: &str = "system-ingest";
/// Carries the upstream idempotency key (`svix-id`) from the edge to ingest.
pub const EVENT_ID: &str = "Assist-Event-Id";
/// The org of an event whose payload does not name it (Vapi's).
pub const ORG: &str = "Assist-Org";
/// JetStream's own de-duplication header.
const MSG_ID: &str = "Nats-Msg-Id";

/// JetStream drops a re-published id within this window; Svix's later retries (hours apart)
/// are caught by ingest's `webhook_events` record instead.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);

/// Creates the system, dead-letter and change-feed streams; idempotent, run at every start.
pub async fn ensure_streams(js: &jetstream::Context) -> Result<(), BusError> {
    let err = |e: &dyn std::fmt::Display| BusError::JetStream(e.to_string());
    let system = stream::Config {
        name: STREAM.into(),
        subjects: vec![subjects::system_all(Source::Clerk), subjects::system_all(Source::Vapi)],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: Duration::from_secs(7 * 24 * 60 * 60),
        ..Default::default()
    };
    js.get_or_create_stream(system).await.map_err(|e| err(&e))?;
    let dead = stream::Config {
        name: DEAD_LETTER_STREAM.into(),
        subjects: vec![subjects::dead_letter(Source::Clerk), subjects::dead_letter(Source::Vapi)],
        storage: stream::StorageType::File,
        max_age: Duration::from_secs(30 * 24 * 60 * 60),
        ..Default::default()
    };
    js.get_or_create_stream(dead).await.map_err(|e| err(&e))?;
    super::events::ensure_stream(js).await
}

/// Stores one event durably, for `org` when the source names it in the URL rather than the
/// body; returns once JetStream has acknowledged it. `true` when JetStream recognised the id as
/// one it already holds.
pub async fn publish_for(
    js: &jetstream::Context,
    subject: String,
    event_id: &str,
    org: Option<&OrgId>,
    body: Bytes,
) -> Result<bool, BusError> {
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, event_id);
    headers.insert(EVENT_ID, event_id);
    if let Some(org) = org {
        headers.insert(ORG, org.as_str());
    }
    let ack = js
        .publish_with_headers(subject, headers, body)
        .await
        .map_err(|e| BusError::JetStream(e.to_string()))?
        .await
        .map_err(|e| BusError::JetStream(e.to_string()))?;
    Ok(ack.duplicate)
}
