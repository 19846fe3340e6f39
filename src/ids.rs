//! Identifiers that end up inside NATS subjects and database keys. They are validated once, at
//! the edge of the system, so nothing downstream has to wonder whether a token can break a
//! subject (`.`, `*`, `>`, whitespace) or a query.

use chrono::{DateTime, Utc};

use crate::error::ApiError;

const MAX_ID_LEN: usize = 64;

/// Clerk ids look like `org_2abc…`; we accept ASCII letters, digits, `_` and `-`, 1 to 64 long.
pub(crate) fn check(field: &str, raw: &str) -> Result<(), ApiError> {
    if raw.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if raw.len() > MAX_ID_LEN {
        return Err(ApiError::invalid(field, format!("must be at most {MAX_ID_LEN} characters")));
    }
    if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(ApiError::invalid(
            field,
            format!("may contain only letters, digits, '_' and '-', found {bad:?}"),
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ApiError> {
                check($field, raw).map(|()| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// A string of letters, digits, `_` and `-`, as [`check`] accepts.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_ID_LEN))
                    .pattern(Some("^[A-Za-z0-9_-]+$"))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(|e| serde::de::Error::custom(e.message))
            }
        }
    };
}

id_type!(
    /// A Clerk organization id: the tenant key of every record and subject.
    OrgId,
    "org"
);
id_type!(
    /// An end-user's contact session (`cs_…`), created by the widget.
    ContactSessionId,
    "contactSessionId"
);
id_type!(
    /// A conversation (`conv_…`).
    ConversationId,
    "conversationId"
);
id_type!(
    /// A message (`msg_…`).
    MessageId,
    "messageId"
);
id_type!(
    /// A knowledge-base document (`doc_…`).
    DocumentId,
    "documentId"
);

/// A new id with a type prefix; UUIDv7 so ids created later sort later.
fn generate(prefix: &str) -> String {
    prefixed(prefix, uuid::Uuid::now_v7())
}

fn prefixed(prefix: &str, id: uuid::Uuid) -> String {
    format!("{prefix}_{}", id.simple())
}

/// Milliseconds since the epoch, as a UUIDv7 holds them (nothing here predates 1970).
fn unix_millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

/// A contact session id's prefix: [`ContactSessionId::first_at`] must match what
/// [`ContactSessionId::generate`] writes.
const SESSION_PREFIX: &str = "cs";

impl ContactSessionId {
    /// Stamped with `created_at` from the app's clock, the same clock that sets the session's
    /// expiry: the sweep finds expired sessions by this order instead of an index
    /// (`ContactSessions::delete_expired`).
    pub fn generate(created_at: DateTime<Utc>) -> Self {
        let millis = unix_millis(created_at);
        let stamp =
            uuid::Timestamp::from_unix(uuid::NoContext, millis / 1000, (millis % 1000) as u32 * 1_000_000);
        Self(prefixed(SESSION_PREFIX, uuid::Uuid::new_v7(stamp)))
    }

    /// Sorts after every id generated before `at`, and before every id generated at or after
    /// it: the hex of a UUIDv7 starts with its 48-bit millisecond timestamp.
    pub fn first_at(at: DateTime<Utc>) -> Self {
        Self(format!("{SESSION_PREFIX}_{:012x}", unix_millis(at)))
    }
}

impl ConversationId {
    pub fn generate() -> Self {
        Self(generate("conv"))
    }
}

impl MessageId {
    pub fn generate() -> Self {
        Self(generate("msg"))
    }
}

impl DocumentId {
    pub fn generate() -> Self {
        Self(generate("doc"))
    }
}

/// The node token that addresses every node at once (`assist.v1.admin.all.<verb>`); no node id
/// may be it.
pub const ALL_NODES: &str = "all";

/// A node's id: a subject token (`assist.v1.admin.<node>.tree`) and a key in `assist_nodes`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

impl NodeId {
    /// Letters, digits, `_` and `-`, up to 64; `all` is the fan-out token.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        check("ASSIST_NODE_ID", raw)?;
        if raw == ALL_NODES {
            return Err(ApiError::invalid("ASSIST_NODE_ID", format!("{ALL_NODES:?} addresses every node")));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The default: the host name (made subject-safe) and a short random suffix, so two
    /// processes on one host never share an id.
    pub fn generate() -> Self {
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let host: String = host
            .trim()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
            .take(48)
            .collect();
        let host = if host.is_empty() { "node".to_owned() } else { host };
        let suffix: u32 = rand::Rng::random_range(&mut rand::rng(), 0..0x100_0000);
        Self(format!("{host}-{suffix:06x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for NodeId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw).map_err(|e| e.message)
    }
}

impl From<NodeId> for String {
    fn from(node: NodeId) -> String {
        node.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_clerk_shaped_ids() {
        assert_eq!(OrgId::parse("org_2abcXYZ-9").unwrap().as_str(), "org_2abcXYZ-9");
    }

    #[test]
    fn refuses_tokens_that_would_break_a_subject() {
        for bad in ["", "a.b", "a*", ">", "a b", "a\tb", "ä", &"x".repeat(65)] {
            let err = OrgId::parse(bad).unwrap_err();
            assert!(err.message.starts_with("org: "), "{bad:?}: {}", err.message);
        }
    }

    #[test]
    fn session_ids_sort_by_creation_and_first_at_splits_them() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T12:00:00.250Z").unwrap().to_utc();
        let ms = chrono::Duration::milliseconds(1);
        let (before, at, after) = (
            ContactSessionId::generate(t - ms),
            ContactSessionId::generate(t),
            ContactSessionId::generate(t + ms),
        );
        assert!(before < at && at < after, "{before:?} {at:?} {after:?}");
        let first = ContactSessionId::first_at(t);
        assert!(before < first && first <= at, "{first:?}");
        assert!(ContactSessionId::parse(at.as_str()).is_ok(), "a generated id is a valid id");
        assert_ne!(ContactSessionId::generate(t), at, "ids of the same millisecond differ");
    }
}
