use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, Method, Request, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use axum::{Router, middleware};
use tower::ServiceBuilder;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::table::route;
use super::{Edge, ops};
use crate::bus::envelope::REQUEST_ID;
use crate::bus::subjects::{Access, Endpoint};
use crate::error::ApiError;

/// Every operation's route (see `table.rs`), the operations routes, and the edge's layers.
pub fn router(edge: Edge, body_limit: usize) -> Router {
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
    let mut routes = Router::new()
        .merge(widget.layer(widget_cors()))
        .merge(dashboard)
        .route("/webhooks/clerk", post(super::webhooks::clerk))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi_json(super::openapi::document())))
        .route("/docs", get(|| async { Html(DOCS_PAGE) }));
    if edge.admin_token.is_some() {
        routes = routes.route("/admin/tree", get(ops::admin_tree));
    }
    routes
        .route_layer(middleware::from_fn_with_state(edge.clone(), ops::record))
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

/// A self-contained page that renders `/openapi.json` (no CDN, so it works offline).
const DOCS_PAGE: &str = include_str!("docs.html");

/// The document is built once per router; every request gets the same bytes.
fn openapi_json(document: utoipa::openapi::OpenApi) -> impl Fn() -> std::future::Ready<Response> + Clone {
    let json = Bytes::from(document.to_json().expect("the OpenAPI document serializes"));
    move || std::future::ready(([(header::CONTENT_TYPE, "application/json")], json.clone()).into_response())
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

/// Unmatched requests are counted here, under one label, so raw paths never become labels.
async fn not_found(State(edge): State<Edge>, method: Method, uri: axum::http::Uri) -> ApiError {
    edge.metrics.observe_http(method.as_str(), "unmatched", 404, Duration::ZERO);
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
