use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::HeaderValue;
use axum::http::{HeaderMap, HeaderName, Method, Request, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use axum::{Router, middleware};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use super::limits::{self, Limiter, RateLimits};
use super::table::route;
use super::{Edge, ops};
use crate::bus::envelope::REQUEST_ID;
use crate::bus::subjects::{Access, Endpoint};
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::widget::WidgetConfig;

/// Every operation's route (see `table.rs`), the widget's pages, the probes, and the edge's layers.
pub fn router(edge: Edge, options: EdgeOptions) -> Router {
    // Shared, not cloned: axum hands the state to every layer and handler of every request.
    let edge = Arc::new(edge);
    let request_id = HeaderName::from_static("x-request-id");
    let (mut widget, mut dashboard) = (Router::new(), Router::new());
    for endpoint in Endpoint::ALL {
        let (method, path) = route(endpoint);
        let filter = MethodFilter::try_from(method).expect("routes use standard methods");
        let handler = match endpoint {
            Endpoint::Events => get(super::sse::operator_events),
            Endpoint::WidgetEvents => get(super::sse::widget_events),
            Endpoint::WidgetSettings => get(widget_settings),
            _ => on(filter, move |state, path, query, headers, body| {
                forward(endpoint, state, path, query, headers, body)
            }),
        };
        match endpoint.access() {
            Access::Operator => dashboard = dashboard.route(path, handler),
            Access::Contact | Access::Anonymous => widget = widget.route(path, handler),
        }
    }
    let limiter = Limiter::new(options.widget_rate);
    let widget = widget.layer(middleware::from_fn_with_state(limiter, limits::limit)).layer(widget_cors());
    let mut routes = Router::new()
        .merge(widget)
        .merge(dashboard.layer(dashboard_cors(&options.dashboard_origins)))
        .route("/webhooks/clerk", post(super::webhooks::clerk))
        .route("/webhooks/vapi/{org}", post(super::webhooks::vapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi_json(super::openapi::document())))
        .route("/docs", get(|| async { Html(DOCS_PAGE) }))
        .merge(crate::widget::routes(&options.widget));
    if edge.admin_token.is_some() {
        routes = routes.route("/admin/tree", get(ops::admin_tree));
    }
    routes
        .route_layer(middleware::from_fn_with_state(edge.clone(), ops::record))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), RandomRequestId))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
                .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(security_header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"))
                .layer(security_header(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")),
        )
        .with_state(edge)
}

/// What the edge's layers are built from.
#[derive(Clone, Debug)]
pub struct EdgeOptions {
    pub body_limit: usize,
    pub widget_rate: RateLimits,
    /// Origins whose pages may call the dashboard routes from a browser.
    pub dashboard_origins: Vec<String>,
    /// The embed script, the widget page and the demo.
    pub widget: WidgetConfig,
}

/// Set only when the route did not set its own (a page meant to be framed sets a looser one).
fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Dashboard routes answer cross-origin browsers only from the configured origins, with the
/// JWT in `Authorization` (no cookies).
fn dashboard_cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::PUT, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
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
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-contact-session"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

async fn forward(
    endpoint: Endpoint,
    State(edge): State<Arc<Edge>>,
    Path(mut path): Path<HashMap<String, String>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let org = path.remove("org").unwrap_or_default();
    match endpoint {
        Endpoint::SettingsPut | Endpoint::PluginPut | Endpoint::PluginDelete => {
            let response = edge.forward(endpoint, &org, path, query, &headers, body).await;
            // Before the answer: the caller's next widget read must see what it just wrote.
            if let Ok(org) = OrgId::parse(&org) {
                edge.settings.forget(&org);
            }
            response
        }
        _ => edge.forward(endpoint, &org, path, query, &headers, body).await,
    }
}

/// Every widget load on every customer site: only what a cached answer needs is extracted.
async fn widget_settings(
    State(edge): State<Arc<Edge>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    edge.widget_settings(&org, &headers).await
}

/// A random (v4) UUID per request, from the thread's generator: `MakeRequestUuid` asks the
/// kernel for fresh randomness on every request, a visible share of the hot read's time.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        HeaderValue::from_str(&id.to_string()).ok().map(RequestId::new)
    }
}

/// Unmatched requests are counted here, under one label, so raw paths never become labels.
async fn not_found(State(edge): State<Arc<Edge>>, method: Method, uri: axum::http::Uri) -> ApiError {
    edge.metrics.observe_http(method.as_str(), "unmatched", 404, Duration::ZERO);
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
