//! Contact sessions: an anonymous end-user of the widget, who they said they are, what their
//! browser told us, and the token that proves it is them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::text;
use crate::error::ApiError;
use crate::ids::ContactSessionId;

/// What every failure to prove a contact session reads, so that tokens cannot be probed.
pub const SESSION_REFUSED: &str = "X-Contact-Session: missing, invalid or expired contact session";

/// Sessions last this long, and are extended to it again while the end-user is active.
pub const LIFETIME_HOURS: i64 = 24;
/// An active session with less than this left is extended.
pub const REFRESH_BELOW_HOURS: i64 = 4;

const MAX_LANGUAGES: usize = 20;

#[derive(Clone, Debug, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewContactSession {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Whitespace is a control character or any Unicode `White_Space`, as `check_email` refuses.
    #[schema(
        min_length = 3,
        max_length = 254,
        pattern = r"^[^@\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^@.\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^@\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\.[^@\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^@.\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$"
    )]
    pub email: String,
    #[serde(default)]
    pub metadata: Metadata,
}

/// What the widget reads from the browser. Every field is optional and bounded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 512, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 35, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = languages_schema)]
    pub languages: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 32, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub screen_resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 32, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub viewport_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = -840, maximum = 840)]
    pub timezone_offset: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub current_url: Option<String>,
}

impl NewContactSession {
    pub fn validate(&self) -> Result<(), ApiError> {
        text::line("name", &self.name, 1, 100)?;
        check_email(&self.email)?;
        self.metadata.validate()
    }
}

impl Metadata {
    fn validate(&self) -> Result<(), ApiError> {
        let fields: [(&str, &Option<String>, usize); 9] = [
            ("metadata.userAgent", &self.user_agent, 512),
            ("metadata.language", &self.language, 35),
            ("metadata.platform", &self.platform, 64),
            ("metadata.vendor", &self.vendor, 64),
            ("metadata.screenResolution", &self.screen_resolution, 32),
            ("metadata.viewportSize", &self.viewport_size, 32),
            ("metadata.timezone", &self.timezone, 64),
            ("metadata.referrer", &self.referrer, 2048),
            ("metadata.currentUrl", &self.current_url, 2048),
        ];
        for (field, value, max) in fields {
            if let Some(value) = value {
                text::line(field, value, 0, max)?;
            }
        }
        if let Some(languages) = &self.languages {
            if languages.len() > MAX_LANGUAGES {
                return Err(ApiError::invalid("metadata.languages", "at most 20 languages"));
            }
            for (i, language) in languages.iter().enumerate() {
                text::line(&format!("metadata.languages[{i}]"), language, 1, 35)?;
            }
        }
        if let Some(offset) = self.timezone_offset
            && !(-840..=840).contains(&offset)
        {
            return Err(ApiError::invalid("metadata.timezoneOffset", "must be minutes between -840 and 840"));
        }
        Ok(())
    }
}

/// `metadata.languages`: up to 20, each a line of 1 to 35 characters.
fn languages_schema() -> utoipa::openapi::Array {
    text::lines_schema(MAX_LANGUAGES, 35, true)
}

/// An integer as JSON Schema counts them: `-300.0` is `-300`, so what the document's `integer`
/// accepts is accepted here; a fraction or anything beyond `i32` is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    let whole = number.as_i64().or_else(|| number.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
    match whole.and_then(|n| i32::try_from(n).ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(serde::de::Error::custom(format!("invalid value: {number}, expected a whole number"))),
    }
}

/// A plausible address (`local@domain.tld`); deliverability is not ours to judge.
fn check_email(email: &str) -> Result<(), ApiError> {
    text::line("email", email, 3, 254)?;
    let plausible = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(char::is_whitespace)
            && !domain.contains('@')
    });
    if plausible {
        Ok(())
    } else {
        Err(ApiError::invalid("email", "must be an email address like ada@example.com"))
    }
}

/// A session as operators see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactSession {
    pub id: ContactSessionId,
    pub name: String,
    pub email: String,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The answer to the widget that created a session: the only time the token is shown.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedSession {
    pub contact_session_id: ContactSessionId,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The widget's view of its own session (`GET …/sessions/current`).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentSession {
    pub contact_session_id: ContactSessionId,
    pub name: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// `X-Contact-Session`: `<session id>.<256 random bits, base64url>`. The id finds the record;
/// only a SHA-256 of the secret is stored, compared in constant time.
#[derive(Clone)]
pub struct SessionToken {
    pub session: ContactSessionId,
    secret: String,
}

impl SessionToken {
    pub fn generate(session: ContactSessionId) -> Self {
        let bytes: [u8; 32] = rand::random();
        Self { session, secret: URL_SAFE_NO_PAD.encode(bytes) }
    }

    /// Any malformed header is simply "not a valid session": nothing about why is revealed.
    pub fn parse(header: Option<&str>) -> Result<Self, ApiError> {
        let invalid = || ApiError::unauthenticated(SESSION_REFUSED);
        let (session, secret) = header.and_then(|h| h.trim().split_once('.')).ok_or_else(invalid)?;
        let session = ContactSessionId::parse(session).map_err(|_| invalid())?;
        if secret.len() != 43 {
            return Err(invalid());
        }
        Ok(Self { session, secret: secret.to_owned() })
    }

    pub fn hash(&self) -> String {
        Sha256::digest(self.secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn matches(&self, stored_hash: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.hash().as_bytes(), stored_hash.as_bytes())
            .is_ok()
    }

    pub fn reveal(&self) -> String {
        format!("{}.{}", self.session, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_parses_back_and_matches_its_hash() {
        let token = SessionToken::generate(ContactSessionId::generate(chrono::Utc::now()));
        let parsed = SessionToken::parse(Some(&token.reveal())).unwrap();
        assert!(parsed.matches(&token.hash()));
        assert!(!SessionToken::generate(parsed.session.clone()).matches(&token.hash()));
    }

    #[test]
    fn malformed_tokens_are_unauthenticated() {
        for bad in [
            None,
            Some(""),
            Some("nodot"),
            Some("cs_1.short"),
            Some("a b.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ] {
            assert_eq!(
                SessionToken::parse(bad).err().unwrap().code,
                crate::error::ErrorCode::Unauthenticated
            );
        }
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_an_integer() {
        let offset = |json: &str| {
            serde_json::from_str::<Metadata>(&format!(r#"{{"timezoneOffset": {json}}}"#))
                .map(|m| m.timezone_offset)
                .map_err(|e| e.to_string())
        };
        assert_eq!(offset("-384.0"), Ok(Some(-384)));
        assert_eq!(offset("60"), Ok(Some(60)));
        assert_eq!(offset("null"), Ok(None));
        for bad in ["1.5", "1e20", "\"60\"", "4294967296"] {
            assert!(offset(bad).is_err(), "{bad}");
        }
    }

    /// The documented pattern accepts exactly what `check_email` does, for every character
    /// below U+3100 in each part of an address.
    #[test]
    fn the_email_pattern_accepts_exactly_what_the_server_does() {
        let schema = serde_json::to_value(<NewContactSession as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["properties"]["name"]["pattern"], text::LINE_PATTERN, "the name is a line");
        let pattern = regex::Regex::new(schema["properties"]["email"]["pattern"].as_str().unwrap()).unwrap();
        for c in (0..0x3100).filter_map(char::from_u32) {
            for email in
                [format!("a{c}@b.co"), format!("a@{c}b.co"), format!("a@b{c}.co"), format!("a@b.c{c}")]
            {
                assert_eq!(pattern.is_match(&email), check_email(&email).is_ok(), "{email:?}");
            }
        }
        for email in ["a@b.c", "a@.b.c", "a@b.c.", "a@bc", "a@b@c.d", "@b.c", "a@b..c"] {
            assert_eq!(pattern.is_match(email), check_email(email).is_ok(), "{email:?}");
        }
    }

    #[test]
    fn emails_must_look_like_emails() {
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "ada @example.com", "a@b@c.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email("ada@example.com").is_ok());
    }
}
