//! Operations routes: liveness, readiness, metrics and the supervision tree, and the
//! middleware that records every matched request.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::Edge;
use crate::bus::subjects::AdminTarget;
use crate::bus::system::{DEAD_LETTER_STREAM, STREAM};
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::ops::metrics::CONTENT_TYPE;
use crate::ops::tree::{self, DEFAULT_DEADLINE};

/// How long readiness waits for each dependency.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `ASSIST_ADMIN_TOKEN`, kept as a digest so comparing takes the same time whatever the
/// length or content of what a caller sends.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    fn accepts(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        aws_lc_rs::constant_time::verify_slices_are_equal(&digest, &self.0).is_ok()
    }
}

/// The body of a passing probe: `{"status": "ok"}` (alive) or `{"status": "ready"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Probe {
    pub status: &'static str,
}

pub(super) async fn healthz() -> Json<Probe> {
    Json(Probe { status: "ok" })
}

/// Ready when NATS is connected, the database answers and JetStream serves both system streams;
/// otherwise 503 naming the part that does not.
pub(super) async fn readyz(State(edge): State<Arc<Edge>>) -> Response {
    if edge.nats.connection_state() != async_nats::connection::State::Connected {
        return ApiError::unavailable("nats: not connected").into_response();
    }
    match tokio::time::timeout(PROBE_TIMEOUT, edge.db.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: database");
            return ApiError::unavailable("database: not answering").into_response();
        }
        Err(_) => return ApiError::unavailable("database: not answering").into_response(),
    }
    for stream in [STREAM, DEAD_LETTER_STREAM] {
        match tokio::time::timeout(PROBE_TIMEOUT, edge.js.get_stream(stream)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, stream, "readiness: JetStream");
                return ApiError::unavailable(format!("jetstream: stream {stream} not available"))
                    .into_response();
            }
            Err(_) => return ApiError::unavailable("jetstream: not answering").into_response(),
        }
    }
    Json(Probe { status: "ready" }).into_response()
}

pub(super) async fn metrics(State(edge): State<Arc<Edge>>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], edge.metrics.encode()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TreeQuery {
    org: Option<OrgId>,
}

/// Every node's supervision tree, as `assist tree --json` prints it.
pub(super) async fn admin_tree(
    State(edge): State<Arc<Edge>>,
    headers: HeaderMap,
    query: Result<Query<TreeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let allowed = edge.admin_token.as_ref().is_some_and(|token| token.accepts(&headers));
    if !allowed {
        return ApiError::unauthenticated("Authorization: a valid admin bearer token is required")
            .into_response();
    }
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => return ApiError::invalid("query", rejection.body_text()).into_response(),
    };
    match tree::gather(&edge.nats, AdminTarget::All, query.org.as_ref(), DEFAULT_DEADLINE).await {
        Ok(tree) => Json(tree).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "gathering the supervision tree");
            ApiError::unavailable("the nodes could not be asked; retry").into_response()
        }
    }
}

/// Counts the request under its route template (`/v1/orgs/{org}`), never the raw path.
pub(super) async fn record(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    edge.metrics.observe_http(method.as_str(), route, response.status().as_u16(), started.elapsed());
    response
}
