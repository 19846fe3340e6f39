//! The OpenAPI 3.1 document behind `GET /openapi.json`, generated from the code: the public
//! operations' paths come from the routing table (`table.rs`), their bodies from an exhaustive
//! match here (a new operation without a description does not compile), and every schema from
//! the model types' `utoipa::ToSchema` derives, so the document cannot drift from the shapes.

use std::borrow::Cow;

use axum::http::Method;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Components, Content, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder, Schema, Type,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::ops::Probe;
use super::table::route;
use super::webhooks::Receipt;
use crate::actors::org::Ticket;
use crate::bus::subjects::{self, Access, Endpoint};
use crate::error::{ErrorBody, ErrorCode};
use crate::ids::OrgId;
use crate::model::contact_session::{ContactSession, CreatedSession, CurrentSession, NewContactSession};
use crate::model::conversation::{
    Conversation, ConversationDetail, ListQuery, Message, NewMessage, Page, StatusChange,
};
use crate::model::organization::OrganizationView;
use crate::model::plugin::{ConnectedPlugin, PluginView, VapiKeys};
use crate::model::widget_settings::{PublicSettings, WidgetSettings};
use crate::ops::tree::Tree;
use crate::vapi::{Assistant, PhoneNumber};

type Schemas = Vec<(String, RefOr<Schema>)>;

/// A JSON body: its component name, its schema, and the schemas that schema refers to.
struct Body {
    name: Cow<'static, str>,
    schema: fn() -> RefOr<Schema>,
    refs: fn(&mut Schemas),
}

fn body<T: ToSchema>() -> Body {
    Body { name: T::name(), schema: T::schema, refs: T::schemas }
}

/// `Page<T>` under its own name (`ConversationPage`): one generic type, several schemas.
fn page<T: ToSchema>() -> Body {
    Body { name: format!("{}Page", T::name()).into(), schema: <Page<T>>::schema, refs: page_refs::<T> }
}

/// A page refers to its item type, which must be in the document too.
fn page_refs<T: ToSchema>(schemas: &mut Schemas) {
    <Page<T>>::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// What an operation takes and answers, besides what its route and access say.
struct Spec {
    summary: &'static str,
    request: Option<Body>,
    status: u16,
    /// `None`: the answer is a Server-Sent Events stream, not a JSON body.
    response: Option<Body>,
    /// Takes `?status=&cursor=&limit=`.
    listing: bool,
}

fn spec(summary: &'static str, response: Body) -> Spec {
    Spec { summary, request: None, status: 200, response: Some(response), listing: false }
}

fn stream(summary: &'static str) -> Spec {
    Spec { summary, request: None, status: 200, response: None, listing: false }
}

impl Spec {
    fn takes(mut self, request: Body) -> Self {
        self.request = Some(request);
        self
    }

    fn created(mut self) -> Self {
        self.status = 201;
        self
    }

    fn listing(mut self) -> Self {
        self.listing = true;
        self
    }
}

fn describe(endpoint: Endpoint) -> Spec {
    match endpoint {
        Endpoint::OrgGet => {
            spec("The organization, its subscription status and member count", body::<OrganizationView>())
        }
        Endpoint::SettingsGet => spec("Read the widget settings", body::<WidgetSettings>()),
        Endpoint::SettingsPut => {
            spec("Replace the widget settings", body::<WidgetSettings>()).takes(body::<WidgetSettings>())
        }
        Endpoint::ConversationsList => spec("Conversations, newest first", page::<Conversation>()).listing(),
        Endpoint::ConversationGet => {
            spec("One conversation with its contact session", body::<ConversationDetail>())
        }
        Endpoint::ConversationPatch => {
            spec("Change a conversation's status", body::<Conversation>()).takes(body::<StatusChange>())
        }
        Endpoint::MessagesList => spec("A conversation's transcript, oldest first", page::<Message>()),
        Endpoint::MessagesCreate => {
            spec("Reply as an operator", body::<Message>()).takes(body::<NewMessage>()).created()
        }
        Endpoint::ContactSessionGet => {
            spec("One end-user session with its browser metadata", body::<ContactSession>())
        }
        Endpoint::WidgetSettings => spec("What the widget renders", body::<PublicSettings>()),
        Endpoint::SessionCreate => spec("Start a contact session", body::<CreatedSession>())
            .takes(body::<NewContactSession>())
            .created(),
        Endpoint::SessionCurrent => {
            spec("Validate (and extend) the contact session", body::<CurrentSession>())
        }
        Endpoint::WidgetConversationCreate => {
            spec("Start a chat conversation", body::<Conversation>()).created()
        }
        Endpoint::WidgetConversationsList => {
            spec("The end-user's own conversations", page::<Conversation>()).listing()
        }
        Endpoint::WidgetConversationGet => {
            spec("One of the end-user's conversations", body::<Conversation>())
        }
        Endpoint::WidgetMessagesCreate => {
            spec("Send a message", body::<Message>()).takes(body::<NewMessage>()).created()
        }
        Endpoint::WidgetMessagesList => spec("A conversation's messages, oldest first", page::<Message>()),
        Endpoint::PluginGet => {
            spec("Whether Vapi is connected (never the private key)", body::<PluginView>())
        }
        Endpoint::PluginPut => {
            spec("Connect Vapi (admin; needs an active subscription)", body::<ConnectedPlugin>())
                .takes(body::<VapiKeys>())
        }
        Endpoint::PluginDelete => spec("Disconnect Vapi (admin)", body::<PluginView>()),
        Endpoint::VapiAssistants => {
            spec("The org's Vapi assistants (a subset of fields)", page::<Assistant>())
        }
        Endpoint::VapiPhoneNumbers => {
            spec("The org's Vapi phone numbers (no credentials)", page::<PhoneNumber>())
        }
        Endpoint::EventTicketCreate => {
            spec("A single-use ticket for an EventSource", body::<Ticket>()).created()
        }
        Endpoint::Events => stream("Live updates for operators (JWT or `?ticket=`)"),
        Endpoint::WidgetEvents => stream("Live updates for one end-user"),
    }
}

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

/// The statuses an operation may answer with an error body.
fn error_statuses(access: Option<Access>, has_body: bool) -> Vec<ErrorCode> {
    let mut codes = vec![ErrorCode::InvalidArgument, ErrorCode::NotFound];
    match access {
        Some(Access::Operator) => codes.extend([ErrorCode::Unauthenticated, ErrorCode::Forbidden]),
        Some(Access::Contact) => codes.extend([ErrorCode::Unauthenticated, ErrorCode::Conflict]),
        Some(Access::Anonymous) | None => {}
    }
    if has_body {
        codes.push(ErrorCode::PayloadTooLarge);
    }
    codes.extend([ErrorCode::Internal, ErrorCode::Unavailable]);
    codes
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

fn path_params(path: &str) -> Vec<Parameter> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = if name == "org" { reference(&OrgId::name()) } else { String::schema() };
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(schema))
                .build()
        })
        .collect()
}

fn public_operation(endpoint: Endpoint, path: &str, schemas: &mut Schemas) -> Operation {
    let spec = describe(endpoint);
    let access = endpoint.access();
    let mut op = OperationBuilder::new()
        .operation_id(Some(endpoint.name()))
        .summary(Some(spec.summary))
        .description(Some(format!("Also the NATS request `{}`.", subjects::public_pattern(endpoint))))
        .tag(if access == Access::Operator { "dashboard" } else { "widget" })
        .parameters(Some(path_params(path)));
    if spec.listing {
        op = op.parameters(Some(ListQuery::into_params(|| Some(ParameterIn::Query))));
    }
    op = match access {
        Access::Operator => op.security(SecurityRequirement::new("clerkSession", Vec::<String>::new())),
        Access::Contact => op.security(SecurityRequirement::new("contactSession", Vec::<String>::new())),
        Access::Anonymous => op,
    };
    let has_body = spec.request.is_some();
    if let Some(request) = spec.request {
        let content = json(reference(&request.name));
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", content)
                .build(),
        ));
        collect(schemas, &request);
    }
    let ok = match &spec.response {
        Some(response) => {
            collect(schemas, response);
            ResponseBuilder::new()
                .description("success")
                .content("application/json", json(reference(&response.name)))
        }
        None => {
            let text = RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()));
            ResponseBuilder::new()
                .description("Server-Sent Events: `id` (resume with `Last-Event-ID`), `event: <resource>.<change>`, JSON `data`")
                .content("text/event-stream", Content::new(Some(text)))
        }
    };
    with_errors(op.response(spec.status.to_string(), ok), &error_statuses(Some(access), has_body)).build()
}

fn collect(schemas: &mut Schemas, body: &Body) {
    schemas.push((body.name.to_string(), (body.schema)()));
    (body.refs)(schemas);
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
    let entries: [(&str, HttpMethod, OperationBuilder); 9] = [
        (
            "/webhooks/clerk",
            HttpMethod::Post,
            with_errors(
                op("clerk-webhook", "Store a Clerk event durably (applied by system ingest)")
                    .request_body(Some(event))
                    .response("200", ok("Receipt")),
                &[ErrorCode::InvalidArgument, ErrorCode::PayloadTooLarge, ErrorCode::Unavailable],
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
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    let mut paths = Paths::new();
    for endpoint in Endpoint::ALL {
        let (method, path) = route(endpoint);
        let op = public_operation(endpoint, path, &mut schemas);
        paths.add_path_operation(path, vec![http_method(&method)], op);
    }
    operations_routes(&mut paths, &mut schemas);
    schemas.push((OrgId::name().into_owned(), OrgId::schema()));
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
