use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, RawQuery, State};
use axum::handler::Handler;
use axum::http::HeaderValue;
use axum::http::{HeaderMap, HeaderName, Method, Request, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use axum::{Router, middleware};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::limits::{self, Limiter, RateLimits};
use super::{Edge, ops};
use crate::api::{Access, Endpoint, Served};
use crate::bus::envelope::{REQUEST_ID, is_plain_request_id};
use crate::console::ConsoleOptions;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::widget::WidgetConfig;

/// Every operation's route (declared in `crate::api`), the widget's and the console's files, the
/// webhooks, the probes, and the edge's layers.
pub fn router(edge: Edge, options: EdgeOptions) -> EdgeService {
    // Shared, not cloned: axum hands the state to every layer and handler of every request.
    let edge = Arc::new(edge);
    let request_id = HeaderName::from_static("x-request-id");
    let routes = routes(&options, edge.admin_token.is_some()).router;
    let routes = routes
        .route_layer(middleware::from_fn_with_state(edge.clone(), ops::record))
        .fallback(not_found)
        .with_state(edge);
    // Around the router, not through `Router::layer`: that boxes every route once more per
    // layer, and axum clones each box on every request. Wrapped once (with the security
    // headers in one pass), every request costs less CPU.
    let service = ServiceBuilder::new()
        .map_response(|response: Response<_>| response.map(Body::new))
        .map_request(plain_request_id)
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

/// Every route the edge serves, with its method, recorded as it is registered: the OpenAPI
/// document must describe exactly these. `admin`: whether `/admin/*` is served.
pub fn served_routes(options: &EdgeOptions, admin: bool) -> Vec<(Method, &'static str)> {
    routes(options, admin).served
}

/// A router that records each route it registers.
#[derive(Default)]
struct Routes {
    router: Router<Arc<Edge>>,
    served: Vec<(Method, &'static str)>,
}

impl Routes {
    fn add<H, T>(&mut self, method: Method, path: &'static str, handler: H)
    where
        H: Handler<T, Arc<Edge>>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("routes use standard methods");
        self.router = std::mem::take(&mut self.router).route(path, on(filter, handler));
        self.served.push((method, path));
    }

    fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.served.extend(other.served);
        self
    }
}

fn routes(options: &EdgeOptions, admin: bool) -> Routes {
    let (mut widget, mut dashboard, mut rest) = (Routes::default(), Routes::default(), Routes::default());
    for endpoint in Endpoint::ALL {
        let spec = endpoint.spec();
        let routes = if spec.access == Access::Operator { &mut dashboard } else { &mut widget };
        match (spec.served, spec.access) {
            (Served::Stream, Access::Operator) => {
                routes.add(spec.method, spec.path, super::sse::operator_events)
            }
            (Served::Stream, _) => routes.add(spec.method, spec.path, super::sse::widget_events),
            (Served::CachedPublicSettings, _) => routes.add(spec.method, spec.path, widget_settings),
            (Served::Upload, _) => routes.add(
                spec.method,
                spec.path,
                super::upload::knowledge_create.layer(DefaultBodyLimit::max(super::upload::BODY_LIMIT)),
            ),
            (served, _) => routes.add(spec.method, spec.path, move |state, path, query, headers, body| {
                forward(endpoint, served, state, path, query, headers, body)
            }),
        }
    }
    let limiter = Limiter::new(options.widget_rate);
    widget.router = widget.router.layer(
        ServiceBuilder::new()
            .layer(widget_cors())
            .layer(middleware::from_fn_with_state(limiter, limits::limit)),
    );
    dashboard.router = dashboard.router.layer(dashboard_cors(&options.dashboard_origins));
    rest.add(Method::POST, "/webhooks/clerk", super::webhooks::clerk);
    rest.add(Method::POST, "/webhooks/vapi/{org}", super::webhooks::vapi);
    rest.add(Method::GET, "/healthz", ops::healthz);
    rest.add(Method::GET, "/readyz", ops::readyz);
    rest.add(Method::GET, "/metrics", ops::metrics);
    rest.add(Method::GET, "/openapi.json", openapi_json(super::openapi::document()));
    rest.add(Method::GET, "/docs", docs_page);
    rest.add(Method::GET, "/docs/docs.js", || async { ([(header::CONTENT_TYPE, DOCS_JS.0)], DOCS_JS.1) });
    rest.add(Method::GET, "/docs/docs.css", || async { ([(header::CONTENT_TYPE, DOCS_CSS.0)], DOCS_CSS.1) });
    for (path, file) in crate::widget::files(&options.widget) {
        rest.add(Method::GET, path, move |headers: HeaderMap| async move { file.answer(&headers) });
    }
    console_routes(&mut rest, &options.console);
    if admin {
        rest.add(Method::GET, "/admin/tree", ops::admin_tree);
    }
    widget.merge(dashboard).merge(rest)
}

/// The operator console's files, what it may sign in with, and with `--demo` the demo sign-in.
fn console_routes(rest: &mut Routes, console: &ConsoleOptions) {
    for (path, file) in crate::console::files(console) {
        rest.add(Method::GET, path, move |headers: HeaderMap| async move { file.answer(&headers) });
    }
    let options = console.clone();
    rest.add(
        Method::GET,
        "/console/config.json",
        move |peer: ConnectInfo<SocketAddr>, headers: HeaderMap| {
            std::future::ready(crate::console::config(&options, peer.0, &headers))
        },
    );
    if let Some(demo) = console.demo.clone() {
        rest.add(
            Method::POST,
            "/console/demo-session",
            move |peer: ConnectInfo<SocketAddr>, headers: HeaderMap| {
                std::future::ready(crate::console::demo_session(&demo, peer.0, &headers))
            },
        );
    }
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
    /// The operator console's sign-in.
    pub console: ConsoleOptions,
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
    served: Served,
    State(edge): State<Arc<Edge>>,
    Path(mut path): Path<HashMap<String, String>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let org = path.remove("org").unwrap_or_default();
    match served {
        Served::ChangesPublicSettings => {
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

/// A caller's `X-Request-Id` is kept only when plain; otherwise the request gets a new one, so
/// a long or odd value is never echoed, forwarded or logged.
fn plain_request_id<B>(mut request: Request<B>) -> Request<B> {
    let headers = request.headers_mut();
    let ids = headers.get_all(REQUEST_ID);
    if !ids.iter().all(|id| id.to_str().is_ok_and(is_plain_request_id)) {
        headers.remove(REQUEST_ID);
    }
    request
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
