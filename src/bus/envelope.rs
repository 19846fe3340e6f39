//! The request/reply envelope, identical for the edge and for other services on NATS.
//!
//! A request is a NATS message whose headers carry the caller's credentials under their HTTP
//! names (`Authorization`, `X-Contact-Session`) and the `X-Request-Id`; path and query
//! parameters travel in `Assist-Params` as a URL query string; the body is the JSON of the
//! matching HTTP route. A success reply is the JSON body, with `Assist-Status` when the HTTP
//! status is not 200. An error reply follows the NATS micro protocol: `Nats-Service-Error-Code`
//! is the HTTP status, `Nats-Service-Error` the message, and `Assist-Error-Code` the stable code.

use async_nats::HeaderMap;
use async_nats::service::{NATS_SERVICE_ERROR, NATS_SERVICE_ERROR_CODE};
use bytes::Bytes;

use crate::error::{ApiError, Chain, ErrorCode};

pub const AUTHORIZATION: &str = "Authorization";
pub const CONTACT_SESSION: &str = "X-Contact-Session";
pub const REQUEST_ID: &str = "X-Request-Id";
/// Path and query parameters as a URL query string (`id=conv_1&limit=20`).
pub const PARAMS: &str = "Assist-Params";
pub const STATUS: &str = "Assist-Status";
pub const ERROR_CODE: &str = "Assist-Error-Code";
/// A knowledge-base source the edge stored in the object store (`bus::uploads`), by name.
pub const UPLOAD: &str = "Assist-Upload";
/// On an error reply: the request was not processed at all, so sending it again is safe.
pub const UNPROCESSED: &str = "Assist-Unprocessed";

/// The HTTP headers the edge forwards into a request.
pub const FORWARDED: [&str; 3] = [AUTHORIZATION, CONTACT_SESSION, REQUEST_ID];

/// A successful answer: status (200 unless said otherwise) and JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    pub fn json(value: &impl serde::Serialize) -> Result<Self, ApiError> {
        Self::json_with_status(200, value)
    }

    pub fn json_with_status(status: u16, value: &impl serde::Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(|e| {
            tracing::error!(cause = %Chain(&e), "internal error");
            ApiError::internal()
        })?;
        Ok(Self { status, body: body.into() })
    }

    /// Headers for a success reply.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.status != 200 {
            headers.insert(STATUS, self.status.to_string().as_str());
        }
        headers
    }
}

/// A request id a caller may choose: up to 64 of `[A-Za-z0-9._:-]`, safe to echo and log.
/// Anything else is replaced by one of assist's own (the edge) or not logged (the bus).
pub fn is_plain_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

pub fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers?.get(name).map(|value| value.as_str())
}

/// NATS header values cannot hold line breaks; messages are ours, but be safe.
pub fn header_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The headers of an error reply, for replies sent without the micro-service helper.
pub fn error_headers(err: &ApiError) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(NATS_SERVICE_ERROR_CODE, err.code.status().to_string().as_str());
    headers.insert(NATS_SERVICE_ERROR, header_safe(&err.message).as_str());
    headers.insert(ERROR_CODE, err.code.as_str());
    if err.unprocessed {
        headers.insert(UNPROCESSED, "true");
    }
    headers
}

/// Reads a reply back into what the caller of the HTTP route would have got.
pub fn read_reply(headers: Option<&HeaderMap>, body: Bytes) -> Result<Reply, ApiError> {
    if let Some(status) = header(headers, NATS_SERVICE_ERROR_CODE) {
        let code = header(headers, ERROR_CODE)
            .and_then(|c| serde_json::from_value(serde_json::Value::String(c.to_owned())).ok())
            .or_else(|| status.parse().ok().and_then(ErrorCode::from_status))
            .unwrap_or(ErrorCode::Internal);
        let message = header(headers, NATS_SERVICE_ERROR).unwrap_or("error").to_owned();
        let unprocessed = header(headers, UNPROCESSED) == Some("true");
        return Err(ApiError { unprocessed, ..ApiError::new(code, message) });
    }
    let status = header(headers, STATUS).and_then(|s| s.parse().ok()).unwrap_or(200);
    Ok(Reply { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_reply_reads_back_as_the_same_error() {
        for sent in [ApiError::not_found("organization org_x is not known"), ApiError::unprocessed("moved")] {
            let err = read_reply(Some(&error_headers(&sent)), Bytes::new()).unwrap_err();
            assert_eq!(err, sent);
        }
    }

    #[test]
    fn a_success_reply_keeps_its_status() {
        let reply = Reply::json_with_status(201, &serde_json::json!({"a": 1})).unwrap();
        let back = read_reply(Some(&reply.headers()), reply.body.clone()).unwrap();
        assert_eq!(back, reply);
    }

    #[test]
    fn a_plain_request_id_is_short_and_of_safe_characters() {
        assert!(is_plain_request_id("req-42:retry.1_b"));
        assert!(is_plain_request_id(&"a".repeat(64)));
        for odd in ["", &"a".repeat(65), "two words", "é", "a\nb", "<script>"] {
            assert!(!is_plain_request_id(odd), "{odd:?}");
        }
    }
}
