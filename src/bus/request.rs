//! A request on the bus, sent again while nobody has taken it. Between a node losing an org's
//! partition and another claiming it (at most the lease TTL plus a heartbeat), the org's
//! subjects have no subscriber: NATS answers "no responders" at once, and a node that still
//! gets a request for an org it no longer owns answers `unprocessed`. Both mean the request was
//! not acted on, so it is safe to send again; any other outcome (a reply, an error after
//! processing, a timeout) is final: a caller is never answered twice for one request.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::client::RequestErrorKind;
use bytes::Bytes;
use tokio::time::Instant;

use super::envelope::{self, Reply};
use crate::error::ApiError;

const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

pub async fn request(
    nats: &async_nats::Client,
    subject: String,
    headers: HeaderMap,
    body: Bytes,
    deadline: Duration,
) -> Result<Reply, ApiError> {
    let give_up = Instant::now() + deadline;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        let sent = nats.request_with_headers(subject.clone(), headers.clone(), body.clone());
        let outcome = match tokio::time::timeout(left, sent).await {
            Err(_) => return Err(ApiError::unavailable("the request timed out")),
            Ok(Ok(message)) => envelope::read_reply(message.headers.as_ref(), message.payload),
            Ok(Err(err)) if err.kind() == RequestErrorKind::NoResponders => {
                Err(ApiError::unprocessed("no node serves this organization right now; retry"))
            }
            Ok(Err(err)) if err.kind() == RequestErrorKind::TimedOut => {
                return Err(ApiError::unavailable("the request timed out"));
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "bus request failed");
                return Err(ApiError::unavailable("the service is unavailable; retry"));
            }
        };
        match outcome {
            Err(err) if err.unprocessed && Instant::now() + backoff < give_up => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            other => return other,
        }
    }
}
