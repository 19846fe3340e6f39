//! Every public operation, each declared once: its variant, its handler, and its [`Operation`]
//! (route, subject tokens, access, bodies, the errors it may answer). Adding an operation means
//! a declaration here, its handler, and its tests; the routes, subjects, OpenAPI document and
//! isolation tests pick it up from here.

use axum::http::Method;

use super::call::Call;
use super::spec::Access::{Anonymous, Contact, Operator};
use super::spec::{Operation, Served, body, op, page};
use super::{agent, dashboard, knowledge, widget};
use crate::actors::org::Ticket;
use crate::bus::envelope::Reply;
use crate::error::ApiError;
use crate::error::ErrorCode::{Conflict, PaymentRequired, UnsupportedMediaType};
use crate::model::agent::{AgentSettings, AgentUsage, AiKey, AiKeyView, Suggestion};
use crate::model::contact_session::{ContactSession, CreatedSession, CurrentSession, NewContactSession};
use crate::model::conversation::{Conversation, ConversationChange, ConversationDetail, Message, NewMessage};
use crate::model::knowledge::{Document, DocumentQuery, NewDocument, SearchRequest, SearchResults};
use crate::model::organization::OrganizationView;
use crate::model::plugin::{ConnectedPlugin, PluginView, VapiKeys};
use crate::model::widget_settings::{PublicSettings, WidgetSettings};
use crate::vapi::{Assistant, PhoneNumber};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

/// `Endpoint` with its `ALL` list, its declarations (`spec`), and `handle`, which calls each
/// operation's handler: all from the one list below.
macro_rules! operations {
    ($($(#[doc = $doc:literal])* $name:ident => $handler:path, $spec:expr;)*) => {
        /// One public operation: a `(resource, verb)` pair under an org.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $($(#[doc = $doc])* $name,)*
        }

        impl Endpoint {
            pub const ALL: [Endpoint; [$(stringify!($name)),*].len()] = [$(Self::$name),*];

            /// The operation's declaration.
            pub fn spec(self) -> Operation {
                match self {
                    $(Self::$name => $spec,)*
                }
            }
        }

        pub(super) async fn handle(endpoint: Endpoint, call: Call<'_>) -> Result<Reply, ApiError> {
            match endpoint {
                $(Endpoint::$name => $handler(call).await,)*
            }
        }
    };
}

const SETTINGS: &str = r##"{
    "welcomeMessage": "Welcome to Acme! Ask us anything.",
    "assistantId": null,
    "voice": "nova",
    "theme": {"primaryColor": "#ff5500", "position": "bottom-left", "mode": "dark"},
    "suggestions": ["Pricing", "Book a demo"],
    "phoneNumber": "+14155550123"
}"##;
const MESSAGE: &str = r#"{"text": "hello"}"#;
const DOCUMENT: &str = r#"{"title": "Returns", "text": "You may return any item within 30 days."}"#;
const AGENT: &str = r#"{"enabled": true, "instructions": "Be brief and friendly.", "handoffMessage": "A person will reply shortly."}"#;
const SEARCH: &str = r#"{"query": "How long do I have to return an item?", "limit": 5}"#;
const VAPI_KEYS: &str = r#"{"publicApiKey": "pub-key-123456", "privateApiKey": "priv-key-123456"}"#;

operations! {
    /// The organization with its subscription status and member count.
    OrgGet => dashboard::org_get,
        op(GET, "/v1/orgs/{org}", ("org", "get"), Operator)
            .summary("The organization, its subscription status and member count")
            .answers(body::<OrganizationView>());
    /// Operator reads the widget settings.
    SettingsGet => dashboard::settings_get,
        op(GET, "/v1/orgs/{org}/widget-settings", ("settings", "get"), Operator)
            .summary("Read the widget settings")
            .answers(body::<WidgetSettings>());
    /// Operator replaces the widget settings.
    SettingsPut => dashboard::settings_put,
        op(PUT, "/v1/orgs/{org}/widget-settings", ("settings", "put"), Operator)
            .summary("Replace the widget settings")
            .takes(body::<WidgetSettings>(), SETTINGS)
            .answers(body::<WidgetSettings>())
            .served(Served::ChangesPublicSettings);
    /// Operator lists conversations (`status`, `cursor`, `limit` in `Assist-Params`).
    ConversationsList => dashboard::conversations_list,
        op(GET, "/v1/orgs/{org}/conversations", ("conversations", "list"), Operator)
            .summary("Conversations, newest first")
            .answers(page::<Conversation>())
            .listing();
    /// Operator reads one conversation with its contact session (`id`).
    ConversationGet => dashboard::conversation_get,
        op(GET, "/v1/orgs/{org}/conversations/{id}", ("conversations", "get"), Operator)
            .summary("One conversation with its contact session")
            .answers(body::<ConversationDetail>());
    /// Operator changes a conversation's status or handler (`id`); `ai` hands it back.
    ConversationPatch => dashboard::conversation_patch,
        op(PATCH, "/v1/orgs/{org}/conversations/{id}", ("conversations", "patch"), Operator)
            .summary("Change a conversation's status or handler (`ai` hands it back to the agent)")
            .takes(body::<ConversationChange>(), r#"{"status": "resolved"}"#)
            .answers(body::<Conversation>())
            .may_answer(&[Conflict]);
    /// Operator reads a transcript (`id` of the conversation).
    MessagesList => dashboard::messages_list,
        op(GET, "/v1/orgs/{org}/conversations/{id}/messages", ("messages", "list"), Operator)
            .summary("A conversation's transcript, oldest first")
            .answers(page::<Message>());
    /// Operator replies (`id` of the conversation).
    MessagesCreate => dashboard::messages_create,
        op(POST, "/v1/orgs/{org}/conversations/{id}/messages", ("messages", "create"), Operator)
            .summary("Reply as an operator")
            .takes(body::<NewMessage>(), MESSAGE)
            .answers(body::<Message>())
            .created();
    /// Operator reads one end-user session (`id`).
    ContactSessionGet => dashboard::contact_session_get,
        op(GET, "/v1/orgs/{org}/contact-sessions/{id}", ("contact-sessions", "get"), Operator)
            .summary("One end-user session with its browser metadata")
            .answers(body::<ContactSession>());
    /// Whether Vapi is connected, with the public key (never the private one).
    PluginGet => dashboard::plugin_get,
        op(GET, "/v1/orgs/{org}/plugins/vapi", ("plugin-vapi", "get"), Operator)
            .summary("Whether Vapi is connected (never the private key)")
            .answers(body::<PluginView>());
    /// An admin connects Vapi: the private key is checked with Vapi, then sealed.
    PluginPut => dashboard::plugin_put,
        op(PUT, "/v1/orgs/{org}/plugins/vapi", ("plugin-vapi", "put"), Operator)
            .summary("Connect Vapi (admin; needs an active subscription)")
            .takes(body::<VapiKeys>(), VAPI_KEYS)
            .answers(body::<ConnectedPlugin>())
            .may_answer(&[PaymentRequired])
            .served(Served::ChangesPublicSettings);
    /// An admin disconnects Vapi, deleting the stored secret.
    PluginDelete => dashboard::plugin_delete,
        op(DELETE, "/v1/orgs/{org}/plugins/vapi", ("plugin-vapi", "delete"), Operator)
            .summary("Disconnect Vapi (admin)")
            .answers(body::<PluginView>())
            .served(Served::ChangesPublicSettings);
    /// The org's Vapi assistants, as a documented subset of fields.
    VapiAssistants => dashboard::vapi_assistants,
        op(GET, "/v1/orgs/{org}/vapi/assistants", ("vapi-assistants", "list"), Operator)
            .summary("The org's Vapi assistants (a subset of fields)")
            .answers(page::<Assistant>());
    /// The org's Vapi phone numbers, without provider credentials.
    VapiPhoneNumbers => dashboard::vapi_phone_numbers,
        op(GET, "/v1/orgs/{org}/vapi/phone-numbers", ("vapi-phone-numbers", "list"), Operator)
            .summary("The org's Vapi phone numbers (no credentials)")
            .answers(page::<PhoneNumber>());
    /// An operator trades the JWT for a single-use stream ticket.
    EventTicketCreate => dashboard::event_ticket_create,
        op(POST, "/v1/orgs/{org}/events/tickets", ("event-tickets", "create"), Operator)
            .summary("A single-use ticket for an EventSource")
            .answers(body::<Ticket>())
            .created();
    /// Authorizes an operator's event stream (JWT, or `ticket` in `Assist-Params`).
    Events => dashboard::events,
        op(GET, "/v1/orgs/{org}/events", ("events", "authorize"), Operator)
            .summary("Live updates for operators (JWT or `?ticket=`)")
            .served(Served::Stream);
    /// An admin adds a document: a multipart `file` (and optional `title`) or JSON.
    KnowledgeCreate => knowledge::create,
        op(POST, "/v1/orgs/{org}/knowledge", ("knowledge", "create"), Operator)
            .summary("Add a document (admin): multipart `file` (text, Markdown, HTML, PDF; 10 MB) or JSON; it is read and embedded in the background")
            .takes(body::<NewDocument>(), DOCUMENT)
            .answers(body::<Document>())
            .status(202)
            .may_answer(&[UnsupportedMediaType])
            .served(Served::Upload);
    /// The org's documents, newest first (`cursor`, `limit` in `Assist-Params`).
    KnowledgeList => knowledge::list,
        op(GET, "/v1/orgs/{org}/knowledge", ("knowledge", "list"), Operator)
            .summary("The knowledge base's documents, newest first")
            .answers(page::<Document>())
            .query::<DocumentQuery>();
    /// One document (`id`).
    KnowledgeGet => knowledge::get,
        op(GET, "/v1/orgs/{org}/knowledge/{id}", ("knowledge", "get"), Operator)
            .summary("One document, with its status")
            .answers(body::<Document>());
    /// An admin deletes a document (`id`); its passages leave search at once.
    KnowledgeDelete => knowledge::delete,
        op(DELETE, "/v1/orgs/{org}/knowledge/{id}", ("knowledge", "delete"), Operator)
            .summary("Delete a document and its passages (admin)")
            .answers(body::<Document>());
    /// The passages the agent would see for a query, with their scores.
    KnowledgeSearch => knowledge::search,
        op(POST, "/v1/orgs/{org}/knowledge/search", ("knowledge", "search"), Operator)
            .summary("Search the knowledge base: the passages the agent would see")
            .takes(body::<SearchRequest>(), SEARCH)
            .answers(body::<SearchResults>());
    /// The agent's settings.
    AgentGet => agent::get,
        op(GET, "/v1/orgs/{org}/agent", ("agent", "get"), Operator)
            .summary("The AI agent's settings")
            .answers(body::<AgentSettings>());
    /// An admin turns the agent on or off and gives it instructions.
    AgentPut => agent::put,
        op(PUT, "/v1/orgs/{org}/agent", ("agent", "put"), Operator)
            .summary("Replace the AI agent's settings (admin; needs an active subscription)")
            .takes(body::<AgentSettings>(), AGENT)
            .answers(body::<AgentSettings>())
            .may_answer(&[PaymentRequired]);
    /// This month's tokens against the budget (admins).
    AgentUsage => agent::usage,
        op(GET, "/v1/orgs/{org}/agent/usage", ("agent", "usage"), Operator)
            .summary("This month's AI usage against the budget (admin)")
            .answers(body::<AgentUsage>());
    /// Whether the org brings its own AI key (never the key).
    AiKeyGet => agent::key_get,
        op(GET, "/v1/orgs/{org}/plugins/ai", ("plugin-ai", "get"), Operator)
            .summary("Whether the org uses its own AI provider key (never the key)")
            .answers(body::<AiKeyView>());
    /// An admin sets the org's own AI key, sealed; the org's AI calls use it from now on.
    AiKeyPut => agent::key_put,
        op(PUT, "/v1/orgs/{org}/plugins/ai", ("plugin-ai", "put"), Operator)
            .summary("Use the org's own AI provider key (admin)")
            .takes(body::<AiKey>(), r#"{"apiKey": "sk-proj-0123456789abcdef"}"#)
            .answers(body::<AiKeyView>());
    /// An admin removes it: the deployment's key is used again.
    AiKeyDelete => agent::key_delete,
        op(DELETE, "/v1/orgs/{org}/plugins/ai", ("plugin-ai", "delete"), Operator)
            .summary("Stop using the org's own AI key (admin)")
            .answers(body::<AiKeyView>());
    /// A drafted operator reply grounded in the knowledge (`id` of the conversation).
    SuggestionCreate => agent::suggestion,
        op(POST, "/v1/orgs/{org}/conversations/{id}/suggestion", ("suggestion", "create"), Operator)
            .summary("Draft a reply from the knowledge base for an operator to send")
            .answers(body::<Suggestion>());
    /// The embedded widget reads what it needs to render.
    WidgetSettings => widget::settings,
        op(GET, "/v1/widget/{org}/settings", ("widget", "settings"), Anonymous)
            .summary("What the widget renders")
            .answers(body::<PublicSettings>())
            .served(Served::CachedPublicSettings);
    /// The widget starts a contact session.
    SessionCreate => widget::session_create,
        op(POST, "/v1/widget/{org}/sessions", ("widget-sessions", "create"), Anonymous)
            .summary("Start a contact session")
            .takes(body::<NewContactSession>(), r#"{"name": "Mallory", "email": "m@example.com"}"#)
            .answers(body::<CreatedSession>())
            .created();
    /// The widget validates (and refreshes) its contact session.
    SessionCurrent => widget::session_current,
        op(GET, "/v1/widget/{org}/sessions/current", ("widget-sessions", "current"), Contact)
            .summary("Validate (and extend) the contact session")
            .answers(body::<CurrentSession>());
    /// The end-user starts a conversation.
    WidgetConversationCreate => widget::conversation_create,
        op(POST, "/v1/widget/{org}/conversations", ("widget-conversations", "create"), Contact)
            .summary("Start a chat conversation")
            .answers(body::<Conversation>())
            .created();
    /// The end-user lists their conversations.
    WidgetConversationsList => widget::conversations_list,
        op(GET, "/v1/widget/{org}/conversations", ("widget-conversations", "list"), Contact)
            .summary("The end-user's own conversations")
            .answers(page::<Conversation>())
            .listing();
    /// The end-user reads one of their conversations (`id`).
    WidgetConversationGet => widget::conversation_get,
        op(GET, "/v1/widget/{org}/conversations/{id}", ("widget-conversations", "get"), Contact)
            .summary("One of the end-user's conversations")
            .answers(body::<Conversation>());
    /// The end-user sends a message (`id` of the conversation).
    WidgetMessagesCreate => widget::messages_create,
        op(POST, "/v1/widget/{org}/conversations/{id}/messages", ("widget-messages", "create"), Contact)
            .summary("Send a message")
            .takes(body::<NewMessage>(), MESSAGE)
            .answers(body::<Message>())
            .created()
            .may_answer(&[Conflict]);
    /// The end-user reads the messages of one of their conversations (`id`).
    WidgetMessagesList => widget::messages_list,
        op(GET, "/v1/widget/{org}/conversations/{id}/messages", ("widget-messages", "list"), Contact)
            .summary("A conversation's messages, oldest first")
            .answers(page::<Message>());
    /// Authorizes an end-user's event stream; answers with their contact session id.
    WidgetEvents => widget::events,
        op(GET, "/v1/widget/{org}/events", ("widget-events", "authorize"), Contact)
            .summary("Live updates for one end-user")
            .served(Served::Stream);
}
