//! The tenant-owned data as callers see it (camelCase JSON), with the validation that decides
//! what may enter the system. Validation lives beside the shape so both doors, HTTP and NATS,
//! refuse the same inputs with the same messages.

pub mod agent;
pub mod contact_session;
pub mod conversation;
pub mod knowledge;
pub mod organization;
pub mod plugin;
pub mod text;
pub mod widget_settings;

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Decodes a request body, naming the offending field path on failure (`theme.mode: unknown
/// variant ...`), which serde_json alone does not do for type errors.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde reads a struct from a JSON array too (`[null, null]`); every body is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid("body", "a JSON object is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let problem = err.into_inner().to_string();
        let problem = problem.split(" at line ").next().unwrap_or(&problem).to_owned();
        // A missing field is reported at its parent; name the field itself.
        let missing = problem.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
        let field = match (missing, path.is_empty()) {
            (Some(name), true) => name.to_owned(),
            (Some(name), false) => format!("{path}.{name}"),
            (None, true) => "body".to_owned(),
            (None, false) => path,
        };
        ApiError::invalid(&field, problem)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_json_object_is_a_body() {
        type Object = serde_json::Map<String, serde_json::Value>;
        for body in ["[null]", "", "  ", "null", "\"x\""] {
            let err = super::decode::<Object>(body.as_bytes()).unwrap_err();
            assert_eq!(err.message, "body: a JSON object is required", "{body:?}");
        }
        assert!(super::decode::<Object>(b" {}").is_ok());
    }
}
