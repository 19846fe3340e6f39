//! The one table of stable error codes. HTTP bodies and NATS error headers both carry these, so
//! a caller can switch on `code` whichever door it came through.

use serde::{Deserialize, Serialize};

/// Stable, documented error codes (docs/api.md). Adding one is an API change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    PaymentRequired,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal,
    Unavailable,
}

/// Code, HTTP status and wire name in one row each, so the three can never drift apart.
const TABLE: [(ErrorCode, u16, &str); 11] = [
    (ErrorCode::InvalidArgument, 400, "invalid_argument"),
    (ErrorCode::Unauthenticated, 401, "unauthenticated"),
    (ErrorCode::PaymentRequired, 402, "payment_required"),
    (ErrorCode::Forbidden, 403, "forbidden"),
    (ErrorCode::NotFound, 404, "not_found"),
    (ErrorCode::Conflict, 409, "conflict"),
    (ErrorCode::PayloadTooLarge, 413, "payload_too_large"),
    (ErrorCode::UnsupportedMediaType, 415, "unsupported_media_type"),
    (ErrorCode::RateLimited, 429, "rate_limited"),
    (ErrorCode::Internal, 500, "internal"),
    (ErrorCode::Unavailable, 503, "unavailable"),
];

impl ErrorCode {
    pub fn status(self) -> u16 {
        TABLE.iter().find(|row| row.0 == self).map_or(500, |row| row.1)
    }

    pub fn as_str(self) -> &'static str {
        TABLE.iter().find(|row| row.0 == self).map_or("internal", |row| row.2)
    }

    /// Reads the numeric `Nats-Service-Error-Code` back into a code.
    pub fn from_status(status: u16) -> Option<Self> {
        TABLE.iter().find(|row| row.1 == status).map(|row| row.0)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller is told: a stable code and a message that names the offending field. Internal
/// causes never reach it; they are logged where they are known (see [`Chain`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, utoipa::ToSchema)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Nothing was done: the org lives on another node now, or could not be loaded. Such a
    /// request is safe to send again, which the edge does (see `bus::request`); any other
    /// failure may have happened after a write and is not retried for the caller.
    #[serde(skip)]
    pub unprocessed: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), unprocessed: false }
    }

    /// `unavailable`, and nothing was done: see [`ApiError::unprocessed`].
    pub fn unprocessed(message: impl Into<String>) -> Self {
        Self { unprocessed: true, ..Self::unavailable(message) }
    }

    /// A bad input; `field` is the JSON path the caller sent (`theme.primaryColor`).
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidArgument, format!("{field}: {problem}"))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// `internal`, shown generically. The cause is logged where it is known, with [`Chain`],
    /// so this constructor stays free of side effects.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error; it has been logged")
    }

    /// The HTTP error body: `{"error": {"code", "message"}}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!(ErrorBody { error: self.clone() })
    }
}

/// An error and its sources, `outer: inner: innermost`: the one log line an internal error
/// gets, written where its cause is known.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(inner) = source {
            write!(f, ": {inner}")?;
            source = inner.source();
        }
        Ok(())
    }
}

/// Every HTTP error body; named so the OpenAPI document describes it from this type.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_status() {
        for (code, status, name) in TABLE {
            assert_eq!(code.status(), status);
            assert_eq!(ErrorCode::from_status(status), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            assert_eq!(code.as_str(), name);
        }
    }

    #[test]
    fn a_chain_names_every_cause_in_order() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);

        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(Chain(&err).to_string(), "outer: inner");
    }
}
