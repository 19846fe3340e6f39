//! Webhook routes (`/webhooks/clerk`, `/webhooks/vapi/{org}`). They authenticate the sender, then store the event durably in JetStream
//! and only then answer 2xx; applying it is system ingest's job. When NATS cannot take the
//! event the answer is 503, so the sender retries.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Edge;
use crate::bus::subjects::{self, OwnerVerb, Source};
use crate::bus::system;
use crate::db::plugins::Plugins;
use crate::error::{ApiError, ErrorCode};
use crate::ids::OrgId;
use crate::webhooks::svix::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Svix waits about 15 s for an answer; leave room for the rest of the request.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// Vapi gives a tool 7.5 s; the search answers well within, or the call gets an error result.
const TOOL_TIMEOUT: Duration = Duration::from_secs(6);

/// The answer to a stored webhook; `duplicate` when JetStream already held its id.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub received: bool,
    pub duplicate: bool,
}

pub(super) async fn clerk(
    State(edge): State<Arc<Edge>>,
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
    store(edge, subject, id, None, body).await
}

/// Stores the event in JetStream within the sender's patience; 503 (so the sender retries)
/// when NATS cannot take it in time.
async fn store(
    edge: &Edge,
    subject: String,
    id: &str,
    org: Option<&OrgId>,
    body: Bytes,
) -> Result<bool, ApiError> {
    match tokio::time::timeout(STORE_TIMEOUT, system::publish_for(&edge.js, subject, id, org, body)).await {
        Ok(Ok(duplicate)) => Ok(duplicate),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, event = id, ?org, "could not store a webhook event");
            Err(ApiError::unavailable("the event could not be stored; retry"))
        }
        Err(_) => Err(ApiError::unavailable("storing the event timed out; retry")),
    }
}

pub(super) async fn vapi(
    State(edge): State<Arc<Edge>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answered = async {
        let (org, body) = verify_vapi(&edge, &org, &headers, body).await?;
        match vapi_type(&body)?.as_str() {
            "tool-calls" => tool_calls(&edge, &org, &body).await,
            kind => store_vapi(&edge, &org, kind, body).await.map(|_| serde_json::json!({"received": true})),
        }
    };
    match answered.await {
        Ok(answer) => Json(answer).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Vapi waits for a tool's result in the same request (within 7.5 s): `search_knowledge`
/// searches the org's knowledge on the org's owner; any other tool gets an error result.
async fn tool_calls(edge: &Edge, org: &OrgId, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let calls = crate::webhooks::vapi::tool_calls(body)?;
    let mut results = Vec::with_capacity(calls.len());
    for call in calls {
        let result = match call.query {
            Some(query) => {
                let asked = serde_json::to_vec(&serde_json::json!({"query": query})).unwrap_or_default();
                let subject = subjects::owner(org, OwnerVerb::Search);
                match crate::bus::request(&edge.nats, subject, Default::default(), asked.into(), TOOL_TIMEOUT)
                    .await
                {
                    Ok(reply) => Ok(crate::webhooks::vapi::passages_for_voice(&reply.body)),
                    Err(err) => Err(err.message),
                }
            }
            None => Err(call.problem),
        };
        results.push(match result {
            Ok(text) => serde_json::json!({"toolCallId": call.id, "result": text}),
            Err(error) => serde_json::json!({"toolCallId": call.id, "error": error}),
        });
    }
    Ok(serde_json::json!({"results": results}))
}

/// Vapi authenticates with the per-org secret shown when the plugin was connected, as
/// `X-Vapi-Secret` or a bearer token. Vapi does not retry, so the event is stored before the
/// answer like Clerk's; its id is a hash of the org and body, so an identical resend is dropped
/// and everything else is applied idempotently.
async fn verify_vapi(
    edge: &Edge,
    org: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(OrgId, Bytes), ApiError> {
    let org = OrgId::parse(org)?;
    let body =
        body.map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "body: the request body is too large"))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let presented = header("x-vapi-secret")
        .or_else(|| header("authorization").and_then(|v| v.strip_prefix("Bearer ")))
        .map(str::trim);
    let refused =
        || ApiError::unauthenticated("X-Vapi-Secret: missing or wrong webhook secret for this organization");
    let presented = presented.ok_or_else(refused)?;
    let plugin = Plugins::new(edge.db.clone()).get(&org).await?;
    let expected = plugin.and_then(|p| p.webhook_secret_hash).ok_or_else(refused)?;
    let hash = crate::crypto::hash_webhook_secret(presented);
    aws_lc_rs::constant_time::verify_slices_are_equal(hash.as_bytes(), expected.as_bytes())
        .map_err(|_| refused())?;
    Ok((org, body))
}

async fn store_vapi(edge: &Edge, org: &OrgId, kind: &str, body: Bytes) -> Result<bool, ApiError> {
    let subject = subjects::system(Source::Vapi, kind)?;
    let id: String = Sha256::digest([org.as_str().as_bytes(), b"\n", &body].concat())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    store(edge, subject, &id, Some(org), body).await
}

/// `message.type`, up to any `[…]` qualifier (`transcript[transcriptType="final"]`).
fn vapi_type(body: &[u8]) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    struct Envelope {
        message: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        r#type: String,
    }
    let kind = serde_json::from_slice::<Envelope>(body)
        .map(|e| e.message.r#type)
        .map_err(|_| ApiError::invalid("message.type", "the message has no type"))?;
    Ok(kind.split('[').next().unwrap_or_default().to_owned())
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
