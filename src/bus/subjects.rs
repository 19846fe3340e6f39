//! Every NATS subject assist uses is built and parsed here, and nowhere else.
//!
//! | family   | pattern                                        | publishers              | listeners      |
//! |----------|------------------------------------------------|-------------------------|----------------|
//! | public   | `assist.v1.public.<org>.<resource>.<verb>`     | the edge, other services | the bus service (queue group), which calls the org actor |
//! | system   | `assist.v1.system.<source>.<event...>`         | the edge's webhook routes, into JetStream | system ingest (durable consumer) |
//! | dead letters | `assist.v1.system.deadletter.<source>`     | system ingest, after bounded deliveries | operators |
//! | admin    | `assist.v1.admin.<node>.<verb>`, `assist.v1.admin.all.<verb>` | operators (`assist tree`, `/admin/tree`) | that node; every node (plain subscriptions, scatter-gather) |
//!
//! Later families (private Vapi calls, the change feed, admin) join this table as they are
//! built.

use crate::error::ApiError;
use crate::ids::OrgId;
use crate::ops::NodeId;

const PUBLIC_PREFIX: &str = "assist.v1.public";
const SYSTEM_PREFIX: &str = "assist.v1.system";
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

/// One public operation: a `(resource, verb)` pair under an org. Each is a NATS micro-service
/// endpoint of its own, so `nats micro stats` counts requests and errors per operation.
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
}

impl Endpoint {
    pub const ALL: [Endpoint; 17] = [
        Self::OrgGet,
        Self::SettingsGet,
        Self::SettingsPut,
        Self::ConversationsList,
        Self::ConversationGet,
        Self::ConversationPatch,
        Self::MessagesList,
        Self::MessagesCreate,
        Self::ContactSessionGet,
        Self::WidgetSettings,
        Self::SessionCreate,
        Self::SessionCurrent,
        Self::WidgetConversationCreate,
        Self::WidgetConversationsList,
        Self::WidgetConversationGet,
        Self::WidgetMessagesCreate,
        Self::WidgetMessagesList,
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
            | Self::WidgetMessagesList => Access::Contact,
            _ => Access::Operator,
        }
    }

    /// The micro-service endpoint name (`settings-get`), as `nats micro info` lists it.
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

/// The subscription of one endpoint across every org: `assist.v1.public.*.<resource>.<verb>`.
pub fn public_any_org(endpoint: Endpoint) -> String {
    let (resource, verb) = endpoint.tokens();
    format!("{PUBLIC_PREFIX}.*.{resource}.{verb}")
}

/// Parses a public subject, refusing extra or missing tokens and invalid org ids.
pub fn parse_public(subject: &str) -> Result<(OrgId, Endpoint), ApiError> {
    let rest = subject
        .strip_prefix(PUBLIC_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or_else(|| ApiError::invalid("subject", format!("not a public subject: {subject}")))?;
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
mod tests {
    use super::*;

    #[test]
    fn every_public_subject_round_trips() {
        let org = OrgId::parse("org_2abc").unwrap();
        for endpoint in Endpoint::ALL {
            let subject = public(&org, endpoint);
            assert_eq!(parse_public(&subject).unwrap(), (org.clone(), endpoint));
        }
    }

    #[test]
    fn the_settings_subjects_are_the_documented_ones() {
        let org = OrgId::parse("org_a").unwrap();
        assert_eq!(public(&org, Endpoint::SettingsGet), "assist.v1.public.org_a.settings.get");
        assert_eq!(public(&org, Endpoint::SettingsPut), "assist.v1.public.org_a.settings.put");
        assert_eq!(public_any_org(Endpoint::SettingsGet), "assist.v1.public.*.settings.get");
    }

    #[test]
    fn system_subjects_round_trip_and_refuse_unsafe_types() {
        let subject = system(Source::Clerk, "organizationMembership.created").unwrap();
        assert_eq!(subject, "assist.v1.system.clerk.organizationMembership.created");
        assert_eq!(parse_system(&subject).unwrap(), Source::Clerk);
        assert_eq!(parse_system(&system(Source::Vapi, "status-update").unwrap()).unwrap(), Source::Vapi);
        for bad in ["", "a..b", "a.*", "a.>", "a b", "x.y.z.w.v"] {
            assert!(system(Source::Clerk, bad).is_err(), "{bad}");
        }
        assert!(parse_system("assist.v1.system.deadletter.clerk").is_err());
    }

    #[test]
    fn admin_subjects_round_trip() {
        let node = NodeId::parse("web-1").unwrap();
        for target in [AdminTarget::Node(node.clone()), AdminTarget::All] {
            assert_eq!(parse_admin(&admin(&target, AdminVerb::Tree)).unwrap(), (target, AdminVerb::Tree));
        }
        assert_eq!(admin(&AdminTarget::All, AdminVerb::Tree), "assist.v1.admin.all.tree");
        assert_eq!(admin_inbox(&node), ["assist.v1.admin.web-1.>", "assist.v1.admin.all.>"]);
        for bad in ["assist.v1.admin.web-1", "assist.v1.admin.web-1.tree.x", "assist.v1.admin.web-1.nuke"] {
            assert!(parse_admin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_subjects_are_refused() {
        for bad in [
            "assist.v1.public",
            "assist.v1.public.org_a.settings",
            "assist.v1.public.org_a.settings.get.extra",
            "assist.v1.private.org_a.settings.get",
            "assist.v1.public..settings.get",
            "assist.v1.public.org_a.nothing.get",
            "assist.v1.publicorg_a.settings.get",
        ] {
            assert!(parse_public(bad).is_err(), "{bad}");
        }
    }
}
