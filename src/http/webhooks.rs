//! Webhook routes. They authenticate the sender, then store the event durably in JetStream
//! and only then answer 2xx; applying it is system ingest's job. When NATS cannot take the
//! event the answer is 503, so the sender retries.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Edge;
use crate::bus::subjects::{self, Source};
use crate::bus::system;
use crate::error::{ApiError, ErrorCode};
use crate::webhooks::svix::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Svix waits about 15 s for an answer; leave room for the rest of the request.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer to a stored webhook; `duplicate` when JetStream already held its id.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub received: bool,
    pub duplicate: bool,
}

pub(super) async fn clerk(
    State(edge): State<Edge>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match store_clerk(&edge, &headers, body).await {
        Ok(duplicate) => Json(Receipt { received: true, duplicate }).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn store_clerk(
    edge: &Edge,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<bool, ApiError> {
    let verifier = edge.clerk_webhooks.as_ref().ok_or_else(|| {
        ApiError::unavailable("Clerk webhooks are not configured (ASSIST_CLERK_WEBHOOK_SECRET)")
    })?;
    let body =
        body.map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "body: the request body is too large"))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let id = header(ID_HEADER);
    verifier.verify(
        id,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        edge.clock.now().timestamp(),
    )?;
    let id = id.unwrap_or_default();
    let subject = subjects::system(Source::Clerk, &event_type(&body)?)?;
    match tokio::time::timeout(STORE_TIMEOUT, system::publish(&edge.js, subject, id, body)).await {
        Ok(Ok(duplicate)) => Ok(duplicate),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, event = id, "could not store a Clerk event");
            Err(ApiError::unavailable("the event could not be stored; retry"))
        }
        Err(_) => Err(ApiError::unavailable("storing the event timed out; retry")),
    }
}

/// Only the type is read here, to name the subject; ingest parses the rest.
fn event_type(body: &[u8]) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    struct Envelope {
        r#type: String,
    }
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.r#type)
        .map_err(|_| ApiError::invalid("type", "the event has no type"))
}
