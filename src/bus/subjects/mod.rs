//! Every NATS subject assist uses is built and parsed here, and nowhere else.
//!
//! | family   | pattern                                        | publishers              | listeners      |
//! |----------|------------------------------------------------|-------------------------|----------------|
//! | public   | `assist.v1.public.<org>.<resource>.<verb>`     | the edge, other services | the node owning the org's partition (see [`partition`]), which calls the org actor |
//! | owner    | `assist.v1.owner.<org>.<verb>`                 | system ingest, start-up probe | the node owning the org's partition |
//! | private  | `assist.v1.private.<org>.vapi.<verb>`          | backend processes only (closed to outside users by the bundled permissions) | the Vapi gateway (queue group) |
//! | system   | `assist.v1.system.<source>.<event...>`         | the edge's webhook routes, into JetStream | system ingest (durable consumer) |
//! | dead letters | `assist.v1.system.deadletter.<source>`     | system ingest, after bounded deliveries | operators |
//! | admin    | `assist.v1.admin.<node>.<verb>`, `assist.v1.admin.all.<verb>` | operators (`assist tree`, `/admin/tree`) | that node; every node (plain subscriptions, scatter-gather) |
//! | events   | `assist.v1.events.<org>.<resource>.<change>`   | org actors, after each commit (into JetStream) | one subscription per node's edge, fanned out to its SSE streams; other services |

use crate::error::ApiError;
use crate::ids::OrgId;
use crate::ops::NodeId;

mod partition;
pub use partition::{
    DEFAULT_PARTITIONS, OwnerVerb, Routed, owner, parse_partitioned, partition_inbox, partition_of,
    partition_of_token, probe_delivery,
};

const PUBLIC_PREFIX: &str = "assist.v1.public";
const SYSTEM_PREFIX: &str = "assist.v1.system";
const PRIVATE_PREFIX: &str = "assist.v1.private";
const EVENTS_PREFIX: &str = "assist.v1.events";

/// `assist.v1.events.<org>.<resource>.<change>`: published by the org's actor after a commit.
/// `resource` and `change` are fixed words of the code, never caller input.
pub fn event(org: &OrgId, resource: &'static str, change: &'static str) -> String {
    format!("{EVENTS_PREFIX}.{org}.{resource}.{change}")
}

/// Every change of one org: what an operator's stream (and a replay) reads.
pub fn events_of(org: &OrgId) -> String {
    format!("{EVENTS_PREFIX}.{org}.>")
}

/// Every change of every org: the change-feed stream's subjects, and what each node's edge
/// subscribes to once for all its event streams.
pub fn events_all() -> String {
    format!("{EVENTS_PREFIX}.>")
}

/// `(org, resource, change)` of an event subject, e.g. `(org_a, "message", "created")`: the
/// edge's one subscription to every org's changes learns from it whose streams an event is for.
pub fn parse_event(subject: &str) -> Result<(OrgId, &str, &str), ApiError> {
    let bad = || ApiError::invalid("subject", format!("not an event subject: {subject}"));
    let rest = subject.strip_prefix(EVENTS_PREFIX).and_then(|r| r.strip_prefix('.')).ok_or_else(bad)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let [org, resource, change] = tokens[..] else { return Err(bad()) };
    Ok((OrgId::parse(org)?, resource, change))
}

/// What the Vapi gateway does for an org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VapiVerb {
    /// Check a private key before it is stored (the key travels in the request body).
    CheckKey,
    /// List the org's assistants with its stored key.
    Assistants,
    /// List the org's phone numbers with its stored key.
    PhoneNumbers,
}

impl VapiVerb {
    const ALL: [VapiVerb; 3] = [Self::CheckKey, Self::Assistants, Self::PhoneNumbers];

    fn token(self) -> &'static str {
        match self {
            Self::CheckKey => "check-key",
            Self::Assistants => "assistants",
            Self::PhoneNumbers => "phone-numbers",
        }
    }
}

/// `assist.v1.private.<org>.vapi.<verb>`: requested by the bus service on behalf of an operator
/// the org actor has cleared; served by the Vapi gateway.
pub fn private_vapi(org: &OrgId, verb: VapiVerb) -> String {
    format!("{PRIVATE_PREFIX}.{org}.vapi.{}", verb.token())
}

/// The gateway's subscription: every verb of every org.
pub fn private_vapi_any() -> String {
    format!("{PRIVATE_PREFIX}.*.vapi.*")
}

pub fn parse_private_vapi(subject: &str) -> Result<(OrgId, VapiVerb), ApiError> {
    let bad = || ApiError::invalid("subject", format!("not a private Vapi subject: {subject}"));
    let rest = subject.strip_prefix(PRIVATE_PREFIX).and_then(|r| r.strip_prefix('.')).ok_or_else(bad)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let [org, "vapi", verb] = tokens[..] else { return Err(bad()) };
    let verb = VapiVerb::ALL.into_iter().find(|v| v.token() == verb).ok_or_else(bad)?;
    Ok((OrgId::parse(org)?, verb))
}
const ADMIN_PREFIX: &str = "assist.v1.admin";
/// The node token that addresses every node at once; no node id may be it.
pub const ALL_NODES: &str = "all";

/// Where a system event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Clerk,
    Vapi,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clerk => "clerk",
            Self::Vapi => "vapi",
        }
    }
}

/// `assist.v1.system.<source>.<event type tokens>`: published (into JetStream) by the edge's
/// webhook routes once the webhook is authenticated; consumed by system ingest. Event types
/// come from outside, so each of their dot-separated tokens is checked.
pub fn system(source: Source, event_type: &str) -> Result<String, ApiError> {
    let valid = |t: &str| {
        !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if event_type.split('.').count() > 4 || !event_type.split('.').all(valid) {
        return Err(ApiError::invalid("type", "must be dot-separated words of letters, digits, '_' and '-'"));
    }
    Ok(format!("{SYSTEM_PREFIX}.{}.{event_type}", source.as_str()))
}

/// Every system subject of a source, for the stream and its consumer.
pub fn system_all(source: Source) -> String {
    format!("{SYSTEM_PREFIX}.{}.>", source.as_str())
}

/// `assist.v1.system.deadletter.<source>`: where system ingest parks an event it gave up on.
pub fn dead_letter(source: Source) -> String {
    format!("{SYSTEM_PREFIX}.deadletter.{}", source.as_str())
}

/// The source of a system subject, for the consumer that reads them back.
pub fn parse_system(subject: &str) -> Result<Source, ApiError> {
    let rest = subject.strip_prefix(SYSTEM_PREFIX).and_then(|r| r.strip_prefix('.')).unwrap_or("");
    match rest.split('.').next() {
        Some("clerk") if rest.len() > "clerk.".len() => Ok(Source::Clerk),
        Some("vapi") if rest.len() > "vapi.".len() => Ok(Source::Vapi),
        _ => Err(ApiError::invalid("subject", format!("not a system event subject: {subject}"))),
    }
}

/// Who may call an operation, and how they prove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A Clerk session JWT whose active org is the subject's org (`Authorization`).
    Operator,
    /// A contact session token of the subject's org (`X-Contact-Session`).
    Contact,
    /// Anyone: the widget before it has a session.
    Anonymous,
}

/// One public operation: a `(resource, verb)` pair under an org.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The organization with its subscription status and member count.
    OrgGet,
    /// Operator reads the widget settings.
    SettingsGet,
    /// Operator replaces the widget settings.
    SettingsPut,
    /// Operator lists conversations (`status`, `cursor`, `limit` in `Assist-Params`).
    ConversationsList,
    /// Operator reads one conversation with its contact session (`id`).
    ConversationGet,
    /// Operator changes a conversation's status (`id`).
    ConversationPatch,
    /// Operator reads a transcript (`id` of the conversation).
    MessagesList,
    /// Operator replies (`id` of the conversation).
    MessagesCreate,
    /// Operator reads one end-user session (`id`).
    ContactSessionGet,
    /// Whether Vapi is connected, with the public key (never the private one).
    PluginGet,
    /// An admin connects Vapi: the private key is checked with Vapi, then sealed.
    PluginPut,
    /// An admin disconnects Vapi, deleting the stored secret.
    PluginDelete,
    /// The org's Vapi assistants, as a documented subset of fields.
    VapiAssistants,
    /// The org's Vapi phone numbers, without provider credentials.
    VapiPhoneNumbers,
    /// An operator trades the JWT for a single-use stream ticket.
    EventTicketCreate,
    /// Authorizes an operator's event stream (JWT, or `ticket` in `Assist-Params`).
    Events,
    /// The embedded widget reads what it needs to render.
    WidgetSettings,
    /// The widget starts a contact session.
    SessionCreate,
    /// The widget validates (and refreshes) its contact session.
    SessionCurrent,
    /// The end-user starts a conversation.
    WidgetConversationCreate,
    /// The end-user lists their conversations.
    WidgetConversationsList,
    /// The end-user reads one of their conversations (`id`).
    WidgetConversationGet,
    /// The end-user sends a message (`id` of the conversation).
    WidgetMessagesCreate,
    /// The end-user reads the messages of one of their conversations (`id`).
    WidgetMessagesList,
    /// Authorizes an end-user's event stream; answers with their contact session id.
    WidgetEvents,
}

impl Endpoint {
    pub const ALL: [Endpoint; 25] = [
        Self::OrgGet,
        Self::SettingsGet,
        Self::SettingsPut,
        Self::ConversationsList,
        Self::ConversationGet,
        Self::ConversationPatch,
        Self::MessagesList,
        Self::MessagesCreate,
        Self::ContactSessionGet,
        Self::PluginGet,
        Self::PluginPut,
        Self::PluginDelete,
        Self::VapiAssistants,
        Self::VapiPhoneNumbers,
        Self::EventTicketCreate,
        Self::Events,
        Self::WidgetSettings,
        Self::SessionCreate,
        Self::SessionCurrent,
        Self::WidgetConversationCreate,
        Self::WidgetConversationsList,
        Self::WidgetConversationGet,
        Self::WidgetMessagesCreate,
        Self::WidgetMessagesList,
        Self::WidgetEvents,
    ];

    fn tokens(self) -> (&'static str, &'static str) {
        match self {
            Self::OrgGet => ("org", "get"),
            Self::SettingsGet => ("settings", "get"),
            Self::SettingsPut => ("settings", "put"),
            Self::ConversationsList => ("conversations", "list"),
            Self::ConversationGet => ("conversations", "get"),
            Self::ConversationPatch => ("conversations", "patch"),
            Self::MessagesList => ("messages", "list"),
            Self::MessagesCreate => ("messages", "create"),
            Self::ContactSessionGet => ("contact-sessions", "get"),
            Self::PluginGet => ("plugin-vapi", "get"),
            Self::PluginPut => ("plugin-vapi", "put"),
            Self::PluginDelete => ("plugin-vapi", "delete"),
            Self::VapiAssistants => ("vapi-assistants", "list"),
            Self::VapiPhoneNumbers => ("vapi-phone-numbers", "list"),
            Self::EventTicketCreate => ("event-tickets", "create"),
            Self::Events => ("events", "authorize"),
            Self::WidgetEvents => ("widget-events", "authorize"),
            Self::WidgetSettings => ("widget", "settings"),
            Self::SessionCreate => ("widget-sessions", "create"),
            Self::SessionCurrent => ("widget-sessions", "current"),
            Self::WidgetConversationCreate => ("widget-conversations", "create"),
            Self::WidgetConversationsList => ("widget-conversations", "list"),
            Self::WidgetConversationGet => ("widget-conversations", "get"),
            Self::WidgetMessagesCreate => ("widget-messages", "create"),
            Self::WidgetMessagesList => ("widget-messages", "list"),
        }
    }

    pub fn access(self) -> Access {
        match self {
            Self::WidgetSettings | Self::SessionCreate => Access::Anonymous,
            Self::SessionCurrent
            | Self::WidgetConversationCreate
            | Self::WidgetConversationsList
            | Self::WidgetConversationGet
            | Self::WidgetMessagesCreate
            | Self::WidgetMessagesList
            | Self::WidgetEvents => Access::Contact,
            _ => Access::Operator,
        }
    }

    /// The operation's name in logs and metrics (`settings-get`).
    pub fn name(self) -> String {
        let (resource, verb) = self.tokens();
        format!("{resource}-{verb}")
    }
}

/// `assist.v1.public.<org>.<resource>.<verb>`: published by the edge and by other services with
/// the caller's credentials in headers; served by the bus service.
pub fn public(org: &OrgId, endpoint: Endpoint) -> String {
    let (resource, verb) = endpoint.tokens();
    format!("{PUBLIC_PREFIX}.{org}.{resource}.{verb}")
}

/// `assist.v1.public.<org>.<resource>.<verb>` with the org left as a placeholder, for documents.
pub fn public_pattern(endpoint: Endpoint) -> String {
    let (resource, verb) = endpoint.tokens();
    format!("{PUBLIC_PREFIX}.<org>.{resource}.{verb}")
}

/// Parses a public subject, refusing extra or missing tokens and invalid org ids.
pub fn parse_public(subject: &str) -> Result<(OrgId, Endpoint), ApiError> {
    let rest = subject
        .strip_prefix(PUBLIC_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or_else(|| ApiError::invalid("subject", format!("not a public subject: {subject}")))?;
    parse_public_rest(rest, subject)
}

/// `<org>.<resource>.<verb>` of a public `subject` (or of its partitioned form).
fn parse_public_rest(rest: &str, subject: &str) -> Result<(OrgId, Endpoint), ApiError> {
    let tokens: Vec<&str> = rest.split('.').collect();
    let [org, resource, verb] = tokens[..] else {
        return Err(ApiError::invalid(
            "subject",
            format!("expected {PUBLIC_PREFIX}.<org>.<resource>.<verb>, got {subject}"),
        ));
    };
    let org = OrgId::parse(org)?;
    let endpoint = Endpoint::ALL
        .into_iter()
        .find(|e| e.tokens() == (resource, verb))
        .ok_or_else(|| ApiError::not_found(format!("no public operation {resource}.{verb}")))?;
    Ok((org, endpoint))
}

/// An operations request a node answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminVerb {
    /// The node's supervision tree.
    Tree,
}

/// Which nodes an admin subject addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminTarget {
    Node(NodeId),
    All,
}

impl AdminVerb {
    const ALL: [AdminVerb; 1] = [Self::Tree];

    fn token(self) -> &'static str {
        match self {
            Self::Tree => "tree",
        }
    }
}

/// `assist.v1.admin.<node>.<verb>` (one node) or `assist.v1.admin.all.<verb>` (the fan-out):
/// requested by operators; served by each addressed node on a plain subscription, so every
/// node answers a fan-out and the caller gathers replies until its deadline.
pub fn admin(target: &AdminTarget, verb: AdminVerb) -> String {
    let node = match target {
        AdminTarget::Node(node) => node.as_str(),
        AdminTarget::All => ALL_NODES,
    };
    format!("{ADMIN_PREFIX}.{node}.{}", verb.token())
}

/// What a node subscribes to: every verb addressed to it or to all nodes (unknown verbs get an
/// error reply, not silence).
pub fn admin_inbox(node: &NodeId) -> [String; 2] {
    [format!("{ADMIN_PREFIX}.{node}.>"), format!("{ADMIN_PREFIX}.{ALL_NODES}.>")]
}

pub fn parse_admin(subject: &str) -> Result<(AdminTarget, AdminVerb), ApiError> {
    let bad =
        || ApiError::invalid("subject", format!("expected {ADMIN_PREFIX}.<node>.<verb>, got {subject}"));
    let rest = subject.strip_prefix(ADMIN_PREFIX).and_then(|r| r.strip_prefix('.')).ok_or_else(bad)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let [node, verb] = tokens[..] else { return Err(bad()) };
    let target = if node == ALL_NODES { AdminTarget::All } else { AdminTarget::Node(NodeId::parse(node)?) };
    let verb = AdminVerb::ALL
        .into_iter()
        .find(|v| v.token() == verb)
        .ok_or_else(|| ApiError::not_found(format!("no admin operation {verb}")))?;
    Ok((target, verb))
}

#[cfg(test)]
mod tests;
