//! Every NATS subject assist uses is built and parsed here, and nowhere else.
//!
//! | family   | pattern                                        | publishers              | listeners      |
//! |----------|------------------------------------------------|-------------------------|----------------|
//! | public   | `assist.v1.public.<org>.<resource>.<verb>`     | the edge, other services | the node owning the org's partition (see [`partition`]), which runs the operation ([`crate::api`]) |
//! | owner    | `assist.v1.owner.<org>.<verb>`                 | system ingest, start-up probe | the node owning the org's partition |
//! | private  | `assist.v1.private.<org>.vapi.<verb>`, `assist.v1.private.<org>.ai.<verb>` | backend processes only (closed to outside users by the bundled permissions) | the Vapi gateway, the AI gateway (queue groups) |
//! | system   | `assist.v1.system.<source>.<event...>`         | the edge's webhook routes, into JetStream | system ingest (durable consumer) |
//! | dead letters | `assist.v1.system.deadletter.<source>`     | system ingest, after bounded deliveries | operators |
//! | admin    | `assist.v1.admin.<node>.<verb>`, `assist.v1.admin.all.<verb>` | operators (`assist tree`, `/admin/tree`) | that node; every node (plain subscriptions, scatter-gather) |
//! | events   | `assist.v1.events.<org>.<resource>.<change>`   | org actors, after each commit (into JetStream) | one subscription per node's edge, fanned out to its SSE streams; other services |

use crate::error::ApiError;
use crate::ids::NodeId;
use crate::ids::OrgId;

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
/// What the AI gateway does for an org (see [`crate::bus::ai`] for the bodies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AiVerb {
    /// Embed texts with the deployment's embedding model.
    Embed,
    /// A chat completion, streamed back as several messages to the request's reply subject.
    Chat,
}

impl AiVerb {
    const ALL: [AiVerb; 2] = [Self::Embed, Self::Chat];

    fn token(self) -> &'static str {
        match self {
            Self::Embed => "embed",
            Self::Chat => "chat",
        }
    }
}

/// `assist.v1.private.<org>.ai.<verb>`: requested by assist's own actors; served by the AI
/// gateway, which counts and limits each org's calls by the org in the subject.
pub fn private_ai(org: &OrgId, verb: AiVerb) -> String {
    format!("{PRIVATE_PREFIX}.{org}.ai.{}", verb.token())
}

/// The AI gateway's subscription: every verb of every org.
pub fn private_ai_any() -> String {
    format!("{PRIVATE_PREFIX}.*.ai.*")
}

pub fn parse_private_ai(subject: &str) -> Result<(OrgId, AiVerb), ApiError> {
    let bad = || ApiError::invalid("subject", format!("not a private AI subject: {subject}"));
    let rest = subject.strip_prefix(PRIVATE_PREFIX).and_then(|r| r.strip_prefix('.')).ok_or_else(bad)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let [org, "ai", verb] = tokens[..] else { return Err(bad()) };
    let verb = AiVerb::ALL.into_iter().find(|v| v.token() == verb).ok_or_else(bad)?;
    Ok((OrgId::parse(org)?, verb))
}

const ADMIN_PREFIX: &str = "assist.v1.admin";
pub use crate::ids::ALL_NODES;

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

/// A public operation as the bus sees it: the last two tokens of its subject. The list of
/// operations lives above the bus ([`crate::api`]), which implements this for its `Endpoint`.
pub trait PublicOperation: Copy + 'static {
    /// Every operation, so a subject's tokens can be read back into one.
    const ALL: &'static [Self];

    /// `(resource, verb)`, e.g. `("settings", "get")`.
    fn tokens(self) -> (&'static str, &'static str);
}

/// No public operation at all: for readers of partitioned subjects that take owner requests
/// only (the start-up probe).
impl PublicOperation for std::convert::Infallible {
    const ALL: &'static [Self] = &[];

    fn tokens(self) -> (&'static str, &'static str) {
        match self {}
    }
}

/// `assist.v1.public.<org>.<resource>.<verb>`: published by the edge and by other services with
/// the caller's credentials in headers; served by the node owning the org's partition.
pub fn public(org: &OrgId, operation: impl PublicOperation) -> String {
    let (resource, verb) = operation.tokens();
    format!("{PUBLIC_PREFIX}.{org}.{resource}.{verb}")
}

/// `assist.v1.public.<org>.<resource>.<verb>` with the org left as a placeholder, for documents.
pub fn public_pattern(operation: impl PublicOperation) -> String {
    let (resource, verb) = operation.tokens();
    format!("{PUBLIC_PREFIX}.<org>.{resource}.{verb}")
}

/// Parses a public subject, refusing extra or missing tokens, invalid org ids and operations
/// that do not exist.
pub fn parse_public<O: PublicOperation>(subject: &str) -> Result<(OrgId, O), ApiError> {
    let rest = subject
        .strip_prefix(PUBLIC_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or_else(|| ApiError::invalid("subject", format!("not a public subject: {subject}")))?;
    parse_public_rest(rest, subject)
}

/// `<org>.<resource>.<verb>` of a public `subject` (or of its partitioned form).
fn parse_public_rest<O: PublicOperation>(rest: &str, subject: &str) -> Result<(OrgId, O), ApiError> {
    let tokens: Vec<&str> = rest.split('.').collect();
    let [org, resource, verb] = tokens[..] else {
        return Err(ApiError::invalid(
            "subject",
            format!("expected {PUBLIC_PREFIX}.<org>.<resource>.<verb>, got {subject}"),
        ));
    };
    let org = OrgId::parse(org)?;
    let operation = O::ALL
        .iter()
        .copied()
        .find(|o| o.tokens() == (resource, verb))
        .ok_or_else(|| ApiError::not_found(format!("no public operation {resource}.{verb}")))?;
    Ok((org, operation))
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
