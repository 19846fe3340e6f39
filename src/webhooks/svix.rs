//! Svix signatures, which are the only proof that a `POST /webhooks/clerk` comes from Clerk.
//!
//! This follows Svix's own libraries step for step (secret format, signed content, header
//! syntax, tolerance), so anything Clerk signs verifies here and nothing else does.

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{ApiError, Chain, ErrorCode};

/// The delivery id: stable across Svix's retries, so it is the idempotency key.
pub const ID_HEADER: &str = "svix-id";
/// Unix seconds at which this attempt was signed.
pub const TIMESTAMP_HEADER: &str = "svix-timestamp";
/// Space-separated `v1,<base64>` entries; several appear while a secret is being rotated.
pub const SIGNATURE_HEADER: &str = "svix-signature";

/// How far a timestamp may be from our clock, either way. Svix's value: it bounds how long a
/// captured delivery can be replayed while tolerating ordinary clock skew.
pub const TOLERANCE_SECS: i64 = 300;

const SECRET_PREFIX: &str = "whsec_";
const SECRET_VAR: &str = "ASSIST_CLERK_WEBHOOK_SECRET";

/// Why a delivery (or the configured secret) was refused. Each message starts with the header it
/// is about, so Clerk's delivery log tells an operator what to fix.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The configured secret is unusable; the message names the variable, never its value.
    #[error("{SECRET_VAR}: {0}")]
    Secret(&'static str),
    #[error("{0}: missing")]
    MissingHeader(&'static str),
    #[error("{TIMESTAMP_HEADER}: must be Unix seconds")]
    MalformedTimestamp,
    #[error("{TIMESTAMP_HEADER}: more than {TOLERANCE_SECS} s old")]
    TimestampTooOld,
    #[error("{TIMESTAMP_HEADER}: more than {TOLERANCE_SECS} s in the future")]
    TimestampTooNew,
    #[error("{SIGNATURE_HEADER}: no v1 signature")]
    NoV1Signature,
    #[error("{SIGNATURE_HEADER}: no signature matches")]
    NoMatch,
}

impl From<WebhookError> for ApiError {
    /// A bad delivery is the sender's problem (400 naming the header); a bad secret is ours, so
    /// it is logged and shown generically.
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::Secret(_) => {
                tracing::error!(cause = %Chain(&err), "internal error");
                ApiError::internal()
            }
            other => ApiError::new(ErrorCode::InvalidArgument, other.to_string()),
        }
    }
}

/// Holds the decoded signing key. `Debug` hides it so the key cannot leak into a log line.
#[derive(Clone)]
pub struct SvixVerifier {
    key: hmac::Key,
}

impl std::fmt::Debug for SvixVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SvixVerifier").field("key", &format_args!("***")).finish()
    }
}

impl SvixVerifier {
    /// Takes the secret as Clerk's dashboard shows it (`whsec_<base64>`) or as bare base64, since
    /// both get pasted into configuration.
    pub fn new(secret: &str) -> Result<Self, WebhookError> {
        let secret = secret.trim();
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        if encoded.is_empty() {
            return Err(WebhookError::Secret("is empty"));
        }
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::Secret("must be whsec_ followed by base64"))?;
        Ok(Self { key: hmac::Key::new(hmac::HMAC_SHA256, &key) })
    }

    /// Checks one delivery. `now` is Unix seconds, passed in so tests control the clock. Headers
    /// are checked before the signature, as Svix does, so a stale replay is reported as stale.
    pub fn verify(
        &self,
        id: Option<&str>,
        timestamp: Option<&str>,
        signatures: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        let id = present(id, ID_HEADER)?;
        let timestamp = present(timestamp, TIMESTAMP_HEADER)?;
        let signatures = present(signatures, SIGNATURE_HEADER)?;

        let signed_at: i64 = timestamp.parse().map_err(|_| WebhookError::MalformedTimestamp)?;
        if now.saturating_sub(signed_at) > TOLERANCE_SECS {
            return Err(WebhookError::TimestampTooOld);
        }
        if signed_at > now.saturating_add(TOLERANCE_SECS) {
            return Err(WebhookError::TimestampTooNew);
        }

        let expected = self.tag(id, timestamp, body);
        let mut saw_v1 = false;
        for entry in signatures.split_whitespace() {
            let Some(("v1", encoded)) = entry.split_once(',') else { continue };
            saw_v1 = true;
            let Ok(candidate) = STANDARD.decode(encoded) else { continue };
            if constant_time::verify_slices_are_equal(expected.as_ref(), &candidate).is_ok() {
                return Ok(());
            }
        }
        Err(if saw_v1 { WebhookError::NoMatch } else { WebhookError::NoV1Signature })
    }

    /// The `svix-signature` entry Svix would send for this delivery, for tests and benchmarks
    /// that play Clerk.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.tag(id, &timestamp.to_string(), body);
        format!("v1,{}", STANDARD.encode(tag.as_ref()))
    }

    /// HMAC-SHA256 over `{id}.{timestamp}.{body}`, with the timestamp exactly as the header
    /// spelled it (that is what Svix signed).
    fn tag(&self, id: &str, timestamp: &str, body: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.as_bytes());
        ctx.update(b".");
        ctx.update(body);
        ctx.sign()
    }
}

/// An empty header is as good as none: there is nothing in it to check.
fn present<'a>(value: Option<&'a str>, header: &'static str) -> Result<&'a str, WebhookError> {
    value.filter(|v| !v.is_empty()).ok_or(WebhookError::MissingHeader(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: &str = "1614265330";
    const NOW: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn verifier() -> SvixVerifier {
        SvixVerifier::new(SECRET).unwrap()
    }

    fn check(signatures: &str, body: &[u8], now: i64) -> Result<(), WebhookError> {
        verifier().verify(Some(ID), Some(TS), Some(signatures), body, now)
    }

    #[test]
    fn svix_published_vector_verifies() {
        check(EXPECTED, BODY, NOW).unwrap();
    }

    #[test]
    fn signing_reproduces_svix_published_vector() {
        assert_eq!(verifier().sign(ID, NOW, BODY), EXPECTED);
    }

    #[test]
    fn the_bare_base64_secret_is_the_same_key() {
        let bare = SvixVerifier::new(SECRET.trim_start_matches(SECRET_PREFIX)).unwrap();
        assert_eq!(bare.sign(ID, NOW, BODY), EXPECTED);
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let other = SvixVerifier::new("whsec_c2Vjb25kIGtleQ==").unwrap().sign(ID, NOW, BODY);
        check(&format!("{other} {EXPECTED}"), BODY, NOW).unwrap();
    }

    #[test]
    fn signatures_of_other_versions_are_ignored() {
        let v2 = EXPECTED.replacen("v1,", "v2,", 1);
        assert!(matches!(check(&v2, BODY, NOW), Err(WebhookError::NoV1Signature)));
        check(&format!("{v2} {EXPECTED}"), BODY, NOW).unwrap();
    }

    #[test]
    fn a_tampered_body_does_not_verify() {
        let err = check(EXPECTED, br#"{"test": 2432232315}"#, NOW).unwrap_err();
        assert!(matches!(err, WebhookError::NoMatch));
        assert_eq!(ApiError::from(err).message, "svix-signature: no signature matches");
    }

    #[test]
    fn a_signature_made_with_another_secret_does_not_verify() {
        let other = SvixVerifier::new("whsec_c2Vjb25kIGtleQ==").unwrap();
        let err = other.verify(Some(ID), Some(TS), Some(EXPECTED), BODY, NOW).unwrap_err();
        assert!(matches!(err, WebhookError::NoMatch));
    }

    #[test]
    fn a_signature_that_is_not_base64_does_not_verify() {
        assert!(matches!(check("v1,!!!", BODY, NOW), Err(WebhookError::NoMatch)));
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_old_is_refused() {
        check(EXPECTED, BODY, NOW + TOLERANCE_SECS).unwrap();
        let err = check(EXPECTED, BODY, NOW + TOLERANCE_SECS + 1).unwrap_err();
        assert!(matches!(err, WebhookError::TimestampTooOld));
        assert_eq!(ApiError::from(err).message, "svix-timestamp: more than 300 s old");
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_ahead_is_refused() {
        check(EXPECTED, BODY, NOW - TOLERANCE_SECS).unwrap();
        let err = check(EXPECTED, BODY, NOW - TOLERANCE_SECS - 1).unwrap_err();
        assert!(matches!(err, WebhookError::TimestampTooNew));
    }

    #[test]
    fn a_timestamp_that_is_not_a_number_is_refused() {
        let err = verifier().verify(Some(ID), Some("soon"), Some(EXPECTED), BODY, NOW).unwrap_err();
        assert_eq!(err.to_string(), "svix-timestamp: must be Unix seconds");
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        for ts in [i64::MIN.to_string(), i64::MAX.to_string()] {
            assert!(verifier().verify(Some(ID), Some(&ts), Some(EXPECTED), BODY, NOW).is_err());
        }
    }

    #[test]
    fn each_missing_header_is_named() {
        let v = verifier();
        let cases = [
            (v.verify(None, Some(TS), Some(EXPECTED), BODY, NOW), "svix-id: missing"),
            (v.verify(Some(ID), None, Some(EXPECTED), BODY, NOW), "svix-timestamp: missing"),
            (v.verify(Some(ID), Some(TS), None, BODY, NOW), "svix-signature: missing"),
            (v.verify(Some(""), Some(TS), Some(EXPECTED), BODY, NOW), "svix-id: missing"),
        ];
        for (result, message) in cases {
            let api = ApiError::from(result.unwrap_err());
            assert_eq!((api.code, api.message.as_str()), (ErrorCode::InvalidArgument, message));
        }
    }

    #[test]
    fn a_bad_secret_is_refused_without_echoing_it() {
        for secret in ["", "whsec_", "whsec_not base64!"] {
            let err = SvixVerifier::new(secret).unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with("ASSIST_CLERK_WEBHOOK_SECRET: "), "{message}");
            assert!(!message.contains("not base64!"), "{message}");
            assert_eq!(ApiError::from(err).code, ErrorCode::Internal);
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", verifier()), "SvixVerifier { key: *** }");
    }
}
