//! Inbound webhooks: Clerk events (signed by Svix) and Vapi server messages.
//!
//! Each sender gets one module that turns raw bytes into a typed event, so whatever applies the
//! event never touches JSON. A malformed event of a known type is refused with a 400 naming the
//! field; an event type we do not handle is parsed into an `Unknown`/`Other` variant instead, so
//! the sender sees it acknowledged and does not retry it for days.
//!
//! - [`svix`]: the Svix signature check for Clerk's deliveries (the only authentication they have).
//! - [`clerk`]: users, organizations, memberships and billing.
//! - [`vapi`]: call status, live transcripts and the end-of-call report.

pub mod clerk;
pub mod svix;
pub mod vapi;

pub use svix::{SvixVerifier, WebhookError};

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `model::decode`, but a missing field is reported at its own path (`data.id: missing`)
/// rather than at its parent's: these payloads nest deeply, and the parent alone (`data`) does not
/// tell an operator reading the sender's delivery log which field to look for.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::invalid("body", "a JSON object is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let problem = inner.to_string();
        let problem = problem.split(" at line ").next().unwrap_or(&problem);
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("body", format!("not JSON: {problem}"));
        }
        let parent = if path.is_empty() || path == "." { None } else { Some(path) };
        let missing = problem.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`'));
        match (parent, missing) {
            (Some(parent), Some(field)) => ApiError::invalid(&format!("{parent}.{field}"), "missing"),
            (None, Some(field)) => ApiError::invalid(field, "missing"),
            (Some(parent), None) => ApiError::invalid(&parent, problem),
            (None, None) => ApiError::invalid("body", problem),
        }
    })
}

/// Clerk and Vapi send `""` where they mean "none"; treating both alike keeps the fallbacks
/// (summary, recording, payer organization) from stopping at an empty value.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Outer {
        data: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Inner {
        id: String,
        count: Option<i64>,
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let outer = decode::<Outer>(br#"{"data": {"id": "x", "new": 1}, "more": true}"#).unwrap();
        assert_eq!((outer.data.id.as_str(), outer.data.count), ("x", None));
    }

    #[test]
    fn a_missing_field_is_named_at_its_own_path() {
        let err = decode::<Outer>(br#"{"data": {}}"#).unwrap_err();
        assert_eq!(err.message, "data.id: missing");
        let err = decode::<Outer>(br#"{}"#).unwrap_err();
        assert_eq!(err.message, "data: missing");
    }

    #[test]
    fn a_wrong_type_is_named_without_a_line_number() {
        let err = decode::<Outer>(br#"{"data": {"id": "x", "count": "many"}}"#).unwrap_err();
        assert_eq!(err.message, "data.count: invalid type: string \"many\", expected i64");
    }

    #[test]
    fn a_body_that_is_not_json_is_refused() {
        assert!(decode::<Outer>(b"").unwrap_err().message.starts_with("body: "));
        let err = decode::<Outer>(b"{not json").unwrap_err();
        assert!(err.message.starts_with("body: not JSON: "), "{}", err.message);
    }
}
