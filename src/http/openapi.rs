//! The OpenAPI 3.1 document behind `GET /openapi.json`, generated from the code: the public
//! operations come from their declarations (`crate::api`), every schema from the model types'
//! `utoipa::ToSchema` derives, so the document cannot drift from the shapes; the routes outside
//! the declarations are described here, and a test holds the document to the router's routes.

use axum::http::Method;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Components, Content, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths, Ref,
    RefOr, Required, ResponseBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::ops::Probe;
use super::webhooks::Receipt;
use crate::api::{Access, Body, Endpoint, Schemas, Served, body};
use crate::bus::subjects;
use crate::console::{ConsoleConfig, ConsoleOptions, DemoSession};
use crate::error::{ErrorBody, ErrorCode};
use crate::ids::{ContactSessionId, ConversationId, DocumentId, OrgId};
use crate::ops::tree::Tree;
use crate::webhooks::svix;
use crate::widget::WidgetConfig;

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn json(schema: RefOr<Schema>) -> Content {
    Content::new(Some(schema))
}

fn with_errors(mut op: OperationBuilder, codes: &[ErrorCode]) -> OperationBuilder {
    for code in codes {
        let response = ResponseBuilder::new()
            .description(format!("`{code}`"))
            .content("application/json", json(reference("ErrorBody")));
        op = op.response(code.status().to_string(), response);
    }
    op
}

/// `{id}` is the id of the collection it follows, with the form [`ids`](crate::ids) checks, so
/// a client knows a malformed id is refused (400), not merely unknown (404).
fn path_params(path: &str) -> Vec<Parameter> {
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .enumerate()
        .filter_map(|(i, segment)| Some((i, segment.strip_prefix('{')?.strip_suffix('}')?)))
        .map(|(i, name)| {
            let schema = match (name, i.checked_sub(1).map(|before| segments[before])) {
                ("org", _) => reference(&OrgId::name()),
                ("id", Some("contact-sessions")) => reference(&ContactSessionId::name()),
                ("id", Some("conversations")) => reference(&ConversationId::name()),
                ("id", Some("knowledge")) => reference(&DocumentId::name()),
                _ => String::schema(),
            };
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(schema))
                .build()
        })
        .collect()
}

fn public_operation(endpoint: Endpoint, schemas: &mut Schemas) -> Operation {
    let spec = endpoint.spec();
    let access = spec.access;
    let mut op = OperationBuilder::new()
        .operation_id(Some(endpoint.name()))
        .summary(Some(spec.summary))
        .description(Some(format!("Also the NATS request `{}`.", subjects::public_pattern(endpoint))))
        .tag(if access == Access::Operator { "dashboard" } else { "widget" })
        .parameters(Some(path_params(spec.path)));
    if let Some(query) = spec.query {
        op = op.parameters(Some(query()));
    }
    op = match access {
        Access::Operator => op.security(SecurityRequirement::new("clerkSession", Vec::<String>::new())),
        Access::Contact => op.security(SecurityRequirement::new("contactSession", Vec::<String>::new())),
        Access::Anonymous => op,
    };
    if let Some(request) = &spec.request {
        // The declared valid body: a client's sample, and the fuzzer's first request.
        let example = spec.example.and_then(|example| serde_json::from_str(example).ok());
        let content =
            ContentBuilder::new().schema(Some(reference(&(request.name)()))).example(example).build();
        let mut body =
            RequestBodyBuilder::new().required(Some(Required::True)).content("application/json", content);
        if spec.served == Served::Upload {
            body = body.content("multipart/form-data", Content::new(Some(upload_form())));
        }
        op = op.request_body(Some(body.build()));
        collect(schemas, request);
    }
    let ok = match &spec.response {
        Some(response) => {
            collect(schemas, response);
            ResponseBuilder::new()
                .description("success")
                .content("application/json", json(reference(&(response.name)())))
        }
        None => {
            let text = RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()));
            ResponseBuilder::new()
                .description("Server-Sent Events: `id` (resume with `Last-Event-ID`), `event: <resource>.<change>`, JSON `data`")
                .content("text/event-stream", Content::new(Some(text)))
        }
    };
    with_errors(op.response(spec.status.to_string(), ok), &spec.error_codes()).build()
}

/// The form of a file upload: the file, and a title (its file name when absent).
fn upload_form() -> RefOr<Schema> {
    let file = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary)))
        .description(Some("text, Markdown, HTML or PDF; at most 10 MB"));
    let title = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(200));
    RefOr::T(Schema::Object(
        ObjectBuilder::new().property("file", file).property("title", title).required("file").build(),
    ))
}

fn collect(schemas: &mut Schemas, body: &Body) {
    schemas.push(((body.name)().into_owned(), (body.schema)()));
    (body.refs)(schemas);
}

/// The Svix headers a Clerk delivery must carry; a missing one or a signature that does not
/// verify is refused with 400, naming the header.
fn svix_headers() -> Vec<Parameter> {
    let header = |name: &str, what: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(what))
            .schema(Some(String::schema()))
            .build()
    };
    vec![
        header(svix::ID_HEADER, "The delivery id"),
        header(svix::TIMESTAMP_HEADER, "Unix seconds at which the delivery was signed"),
        header(svix::SIGNATURE_HEADER, "Space-separated `v1,<base64>` signatures"),
    ]
}

/// The routes outside the table: webhooks and operations.
fn operations_routes(paths: &mut Paths, schemas: &mut Schemas) {
    let text = || {
        Content::new(Some(RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()))))
    };
    let op = |id: &str, summary: &str| {
        OperationBuilder::new().operation_id(Some(id)).summary(Some(summary)).tag("operations")
    };
    for body in [body::<Probe>(), body::<Receipt>(), body::<Tree>(), body::<ErrorBody>()] {
        collect(schemas, &body);
    }
    let ok = |name: &str| {
        ResponseBuilder::new().description("success").content("application/json", json(reference(name)))
    };
    let event = RequestBodyBuilder::new()
        .description(Some("A Clerk event, Svix-signed (`svix-id`, `svix-timestamp`, `svix-signature`)"))
        .content("application/json", json(RefOr::T(Schema::Object(ObjectBuilder::new().build()))))
        .build();
    let vapi_event = RequestBodyBuilder::new()
        .description(Some("A Vapi server message (`message.type` names it), with the org's webhook secret"))
        .content("application/json", json(RefOr::T(Schema::Object(ObjectBuilder::new().build()))))
        .build();
    let entries: [(&str, HttpMethod, OperationBuilder); 10] = [
        (
            "/webhooks/clerk",
            HttpMethod::Post,
            with_errors(
                op("clerk-webhook", "Store a Clerk event durably (applied by system ingest)")
                    .parameters(Some(svix_headers()))
                    .request_body(Some(event))
                    .response("200", ok("Receipt")),
                &[ErrorCode::InvalidArgument, ErrorCode::PayloadTooLarge, ErrorCode::Unavailable],
            ),
        ),
        (
            "/webhooks/vapi/{org}",
            HttpMethod::Post,
            with_errors(
                op("vapi-webhook", "Store a Vapi server message durably (applied by the org's owner)")
                    .security(SecurityRequirement::new("vapiSecret", Vec::<String>::new()))
                    .parameters(Some(path_params("/webhooks/vapi/{org}")))
                    .request_body(Some(vapi_event))
                    .response("200", ok("Receipt")),
                &[
                    ErrorCode::InvalidArgument,
                    ErrorCode::Unauthenticated,
                    ErrorCode::PayloadTooLarge,
                    ErrorCode::Unavailable,
                ],
            ),
        ),
        ("/healthz", HttpMethod::Get, op("healthz", "Alive").response("200", ok("Probe"))),
        (
            "/readyz",
            HttpMethod::Get,
            with_errors(
                op("readyz", "Ready: NATS connected, database answering, JetStream serving")
                    .response("200", ok("Probe")),
                &[ErrorCode::Unavailable],
            ),
        ),
        (
            "/metrics",
            HttpMethod::Get,
            op("metrics", "Prometheus text exposition")
                .response("200", ResponseBuilder::new().description("metrics").content("text/plain", text())),
        ),
        (
            "/admin/tree",
            HttpMethod::Get,
            with_errors(
                op("admin-tree", "Every node's supervision tree (404 when ASSIST_ADMIN_TOKEN is unset)")
                    .security(SecurityRequirement::new("adminToken", Vec::<String>::new()))
                    .parameter(
                        ParameterBuilder::new()
                            .name("org")
                            .parameter_in(ParameterIn::Query)
                            .schema(Some(reference(&OrgId::name()))),
                    )
                    .response("200", ok("Tree")),
                &[ErrorCode::InvalidArgument, ErrorCode::Unauthenticated, ErrorCode::Unavailable],
            ),
        ),
        (
            "/openapi.json",
            HttpMethod::Get,
            op("openapi", "This document").response(
                "200",
                ResponseBuilder::new().description("OpenAPI 3.1").content(
                    "application/json",
                    json(RefOr::T(Schema::Object(ObjectBuilder::new().build()))),
                ),
            ),
        ),
        (
            "/docs",
            HttpMethod::Get,
            op("docs", "A page to browse this document")
                .response("200", ResponseBuilder::new().description("HTML").content("text/html", text())),
        ),
        (
            "/docs/docs.js",
            HttpMethod::Get,
            op("docs-script", "The script of the docs page").response(
                "200",
                ResponseBuilder::new().description("JavaScript").content("text/javascript", text()),
            ),
        ),
        (
            "/docs/docs.css",
            HttpMethod::Get,
            op("docs-styles", "The stylesheet of the docs page")
                .response("200", ResponseBuilder::new().description("CSS").content("text/css", text())),
        ),
    ];
    for (path, method, op) in entries {
        paths.add_path_operation(path, vec![method], op.build());
    }
    // Every file a node can serve; `/demo` only with `--demo`.
    for (path, _) in crate::widget::files(&WidgetConfig { demo: true, ..WidgetConfig::default() }) {
        let file = ResponseBuilder::new().description("the file (`304` when `If-None-Match` holds its ETag)");
        let op = OperationBuilder::new()
            .operation_id(Some(format!("file{}", path.replace(['/', '.'], "-"))))
            .summary(Some(format!("The widget's static file {path}")))
            .tag("widget files")
            .response("200", file.content("*/*", text()))
            .response("304", ResponseBuilder::new().description("not modified"));
        paths.add_path_operation(path, vec![HttpMethod::Get], op.build());
    }
}

/// The operator console: its files, its sign-in options, and the demo sign-in.
fn console_routes(paths: &mut Paths, schemas: &mut Schemas) {
    for body in [body::<ConsoleConfig>(), body::<DemoSession>()] {
        collect(schemas, &body);
    }
    let op = |id: &str, summary: &str| {
        OperationBuilder::new().operation_id(Some(id)).summary(Some(summary)).tag("console")
    };
    let ok = |status: &str, name: &str| {
        let body =
            ResponseBuilder::new().description("success").content("application/json", json(reference(name)));
        (status.to_owned(), body)
    };
    let (status, config) = ok("200", "ConsoleConfig");
    let config =
        op("console-config", "Which sign-ins the console offers this browser").response(status, config);
    paths.add_path_operation("/console/config.json", vec![HttpMethod::Get], config.build());
    let (status, session) = ok("201", "DemoSession");
    let demo = op("console-demo-session", "The demo operator's token (only with --demo, only on loopback)")
        .response(status, session);
    let demo = with_errors(demo, &[ErrorCode::Forbidden]);
    paths.add_path_operation("/console/demo-session", vec![HttpMethod::Post], demo.build());
    let text =
        Content::new(Some(RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()))));
    for (path, _) in crate::console::files(&ConsoleOptions::default()) {
        let file = ResponseBuilder::new().description("the file (`304` when `If-None-Match` holds its ETag)");
        let op = OperationBuilder::new()
            .operation_id(Some(format!("file{}", path.replace(['/', '.'], "-"))))
            .summary(Some(format!("The console's static file {path}")))
            .tag("console")
            .response("200", file.content("*/*", text.clone()))
            .response("304", ResponseBuilder::new().description("not modified"));
        paths.add_path_operation(path, vec![HttpMethod::Get], op.build());
    }
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    let mut paths = Paths::new();
    for endpoint in Endpoint::ALL {
        let spec = endpoint.spec();
        let op = public_operation(endpoint, &mut schemas);
        paths.add_path_operation(spec.path, vec![http_method(&spec.method)], op);
    }
    operations_routes(&mut paths, &mut schemas);
    console_routes(&mut paths, &mut schemas);
    schemas.push((OrgId::name().into_owned(), OrgId::schema()));
    schemas.push((ContactSessionId::name().into_owned(), ContactSessionId::schema()));
    schemas.push((ConversationId::name().into_owned(), ConversationId::schema()));
    schemas.push((DocumentId::name().into_owned(), DocumentId::schema()));
    let mut components = Components::new();
    components.schemas.extend(schemas);
    let bearer = |format: &str, what: &str| {
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format(format)
            .description(Some(what))
            .build()
    };
    components.add_security_scheme(
        "clerkSession",
        SecurityScheme::Http(bearer("JWT", "A Clerk session token whose active org is {org}")),
    );
    components
        .add_security_scheme("adminToken", SecurityScheme::Http(bearer("opaque", "ASSIST_ADMIN_TOKEN")));
    components.add_security_scheme(
        "vapiSecret",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Vapi-Secret",
            "The webhook secret shown once when Vapi was connected (or as a bearer token)",
        ))),
    );
    components.add_security_scheme(
        "contactSession",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Contact-Session",
            "The widget's contact session token",
        ))),
    );
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("assist").version(env!("CARGO_PKG_VERSION")).description(Some(
            "Each public operation is also a NATS request on assist.v1.public.<org>.<resource>.<verb> with the same JSON.",
        )))
        .paths(paths)
        .components(Some(components))
        .build()
}
