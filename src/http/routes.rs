use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::HeaderValue;
use axum::http::{HeaderMap, HeaderName, Method, Request, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use axum::{Router, middleware};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
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
pub fn router(edge: Edge, options: EdgeOptions) -> EdgeService {
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
    let widget = widget.layer(
        ServiceBuilder::new()
            .layer(widget_cors())
            .layer(middleware::from_fn_with_state(limiter, limits::limit)),
    );
    let mut routes = Router::new()
        .merge(widget)
        .merge(dashboard.layer(dashboard_cors(&options.dashboard_origins)))
        .route("/webhooks/clerk", post(super::webhooks::clerk))
        .route("/webhooks/vapi/{org}", post(super::webhooks::vapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi_json(super::openapi::document())))
        .route("/docs", get(docs_page))
        .route("/docs/docs.js", get(|| async { ([(header::CONTENT_TYPE, DOCS_JS.0)], DOCS_JS.1) }))
        .route("/docs/docs.css", get(|| async { ([(header::CONTENT_TYPE, DOCS_CSS.0)], DOCS_CSS.1) }))
        .merge(crate::widget::routes(&options.widget));
    if edge.admin_token.is_some() {
        routes = routes.route("/admin/tree", get(ops::admin_tree));
    }
    let routes = routes
        .route_layer(middleware::from_fn_with_state(edge.clone(), ops::record))
        .fallback(not_found)
        .with_state(edge);
    // Around the router, not through `Router::layer`: that boxes every route once more per
    // layer, and axum clones each box on every request. Wrapped once (with the security
    // headers in one pass), the hot read took 15% less CPU per request (BENCHMARKS.md).
    let service = ServiceBuilder::new()
        .map_response(|response: Response<_>| response.map(Body::new))
        .layer(SetRequestIdLayer::new(request_id.clone(), RandomRequestId))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id))
        .map_response(secure)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .service(routes);
    BoxCloneSyncService::new(service)
}

/// The edge as one service: the router inside the layers every request passes.
pub type EdgeService = BoxCloneSyncService<Request<Body>, Response, Infallible>;

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

/// Every response's security headers; each is set only when the route did not set its own (a
/// page meant to be framed sets a looser one). One pass, not a layer per header: each layer
/// is a future around every request.
fn secure<B>(mut response: Response<B>) -> Response<B> {
    const HEADERS: [(HeaderName, &str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    ];
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if let header::Entry::Vacant(slot) = headers.entry(name) {
            slot.insert(HeaderValue::from_static(value));
        }
    }
    response
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

/// `/docs`: a page whose script and styles come from assist itself (no CDN, so it works offline)
/// and render `/openapi.json`.
const DOCS_PAGE: &str = include_str!("docs.html");
const DOCS_JS: (&str, &str) = ("text/javascript; charset=utf-8", include_str!("docs.js"));
const DOCS_CSS: (&str, &str) = ("text/css; charset=utf-8", include_str!("docs.css"));
/// The docs page may run only its own script and styles and fetch only from assist.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn docs_page() -> Response {
    ([(header::CONTENT_SECURITY_POLICY, DOCS_POLICY)], Html(DOCS_PAGE)).into_response()
}

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
        // Every answer is the same whatever the request's origin and preflight headers, so
        // caches need no `Vary` (and every widget load carries 78 bytes less).
        .vary([])
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
        let mut text = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).ok().map(RequestId::new)
    }
}

/// Unmatched requests are counted here, under one label, so raw paths never become labels.
async fn not_found(State(edge): State<Arc<Edge>>, method: Method, uri: axum::http::Uri) -> ApiError {
    edge.metrics.observe_http(method.as_str(), "unmatched", 404, Duration::ZERO);
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
