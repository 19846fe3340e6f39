use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, Method, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::Edge;
use super::table::route;
use crate::bus::envelope::REQUEST_ID;
use crate::bus::subjects::{Access, Endpoint};
use crate::error::ApiError;
use crate::widget::WidgetConfig;

/// Every operation's route (see `table.rs`), the widget's pages, the probes, and the edge's layers.
pub fn router(edge: Edge, body_limit: usize, widget_pages: &WidgetConfig) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let (mut widget, mut dashboard) = (Router::new(), Router::new());
    for endpoint in Endpoint::ALL {
        let (method, path) = route(endpoint);
        let filter = MethodFilter::try_from(method).expect("routes use standard methods");
        let handler = on(filter, move |state, path, query, headers, body| {
            forward(endpoint, state, path, query, headers, body)
        });
        match endpoint.access() {
            Access::Operator => dashboard = dashboard.route(path, handler),
            Access::Contact | Access::Anonymous => widget = widget.route(path, handler),
        }
    }
    Router::new()
        .merge(widget.layer(widget_cors()))
        .merge(dashboard)
        .merge(crate::widget::routes(widget_pages))
        .route("/webhooks/clerk", post(super::webhooks::clerk))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id)),
        )
        .with_state(edge)
}

/// The widget is embedded on customers' sites: any origin may call these, never with
/// credentials; the contact session travels in a header instead.
fn widget_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("x-contact-session")])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

async fn forward(
    endpoint: Endpoint,
    State(edge): State<Edge>,
    Path(mut path): Path<HashMap<String, String>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let org = path.remove("org").unwrap_or_default();
    edge.forward(endpoint, &org, path, query, &headers, body).await
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready when both dependencies answer; otherwise 503 naming the part that does not.
async fn readyz(State(edge): State<Edge>) -> Response {
    if edge.nats.connection_state() != async_nats::connection::State::Connected {
        return ApiError::unavailable("nats: not connected").into_response();
    }
    if let Err(err) = edge.db.ping().await {
        tracing::warn!(error = %err, "readiness: database");
        return ApiError::unavailable("database: not answering").into_response();
    }
    Json(serde_json::json!({"status": "ready"})).into_response()
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
