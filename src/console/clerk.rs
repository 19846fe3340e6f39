//! A Clerk publishable key (`pk_test_…`, `pk_live_…`) names its instance's Frontend API host,
//! base64-encoded with a trailing `$`: the console loads ClerkJS from that host, and its
//! Content-Security-Policy allows that host and no other.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishableKey {
    key: String,
    /// The Frontend API host, e.g. `clerk.example.com`.
    host: String,
}

impl PublishableKey {
    /// The error says what is wrong with the key, for a message naming its setting.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let encoded = raw
            .strip_prefix("pk_test_")
            .or_else(|| raw.strip_prefix("pk_live_"))
            .ok_or("must start with pk_test_ or pk_live_")?;
        let lenient = GeneralPurpose::new(
            &STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        let decoded = lenient.decode(encoded).map_err(|_| "the part after pk_…_ is not base64")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "does not encode a host name")?;
        let host = decoded.strip_suffix('$').ok_or("does not encode a Frontend API host ending in '$'")?;
        // The host goes into a header and a script URL: a plain DNS name only.
        let plain = host.split('.').count() >= 2
            && host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !plain {
            return Err(format!("encodes {host:?}, which is not a host name"));
        }
        Ok(Self { key: raw.to_owned(), host: host.to_ascii_lowercase() })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// `https://<Frontend API host>`, ClerkJS's origin.
    pub fn frontend_api(&self) -> String {
        format!("https://{}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD as PADDED;

    use super::*;

    fn key(prefix: &str, host: &str) -> String {
        format!("{prefix}{}", PADDED.encode(format!("{host}$")))
    }

    #[test]
    fn the_frontend_api_host_is_read_from_the_key() {
        let parsed = PublishableKey::parse(&key("pk_test_", "clerk.example.com")).unwrap();
        assert_eq!(parsed.frontend_api(), "https://clerk.example.com");
        let live = PublishableKey::parse(&key("pk_live_", "Clerk.Acme-1.dev")).unwrap();
        assert_eq!(live.frontend_api(), "https://clerk.acme-1.dev");
        let unpadded = key("pk_test_", "a.clerk.accounts.dev").trim_end_matches('=').to_owned();
        assert_eq!(PublishableKey::parse(&unpadded).unwrap().key(), unpadded);
    }

    #[test]
    fn keys_that_cannot_name_a_host_are_refused() {
        for bad in [
            "sk_test_Y2xlcmsuZXhhbXBsZS5jb20k".to_owned(),
            "pk_test_!!!".to_owned(),
            format!("pk_test_{}", PADDED.encode("clerk.example.com")),
            key("pk_test_", "evil.com; script-src *"),
            key("pk_test_", "localhost"),
            key("pk_test_", "a..b"),
        ] {
            assert!(PublishableKey::parse(&bad).is_err(), "{bad}");
        }
    }
}
