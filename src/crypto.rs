//! Tenant secrets (a Vapi private key, a webhook secret) are stored sealed, so a copy of the
//! database alone gives an attacker nothing usable: AES-256-GCM under one master key that lives
//! outside the database (`ASSIST_MASTER_KEY`, or `<data_dir>/master.key`).
//!
//! Each seal draws a fresh random 96-bit nonce, so sealing the same value twice gives different
//! text and nonce reuse cannot happen across restarts. The caller's `context` is authenticated
//! but not encrypted, which ties a sealed value to the record it was written for.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{ApiError, Chain};

const KEY_LEN: usize = 32;
const ENV_NAME: &str = "ASSIST_MASTER_KEY";
const KEY_FILE: &str = "master.key";

/// The key that seals every tenant secret. Debug never shows it.
#[derive(Clone)]
pub struct MasterKey(Arc<RandomizedNonceKey>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// `origin` names where the key came from (the variable or the file); the value is never
    /// echoed, since a near-miss key is still most of a key.
    #[error("{origin}: {problem}")]
    BadKey { origin: String, problem: &'static str },
    #[error("master key file {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
    /// Deliberately vague: GCM cannot tell a wrong key from a wrong context or a tampered value.
    #[error("a sealed secret could not be opened (wrong master key, wrong record, or altered)")]
    Open,
}

impl From<CryptoError> for ApiError {
    fn from(err: CryptoError) -> Self {
        tracing::error!(cause = %Chain(&err), "internal error");
        ApiError::internal()
    }
}

impl MasterKey {
    /// Reads `ASSIST_MASTER_KEY`: 32 bytes in standard base64.
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        Self::decode(encoded, ENV_NAME)
    }

    /// Without `ASSIST_MASTER_KEY`, a single-machine install still gets encryption at rest: the
    /// key is generated once into `<data_dir>/master.key`, readable by its owner only, and read
    /// back on every later start. Losing that file makes the stored secrets unreadable.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, CryptoError> {
        let path = data_dir.join(KEY_FILE);
        let file_error = |source| CryptoError::KeyFile { path: path.clone(), source };
        std::fs::create_dir_all(data_dir).map_err(file_error)?;
        match create_new_private(&path) {
            Ok(mut file) => {
                let mut bytes = [0u8; KEY_LEN];
                aws_lc_rs::rand::fill(&mut bytes)
                    .map_err(|_| file_error(std::io::Error::other("no random bytes available")))?;
                let encoded = STANDARD.encode(bytes);
                file.write_all(encoded.as_bytes()).and_then(|()| file.sync_all()).map_err(file_error)?;
                Self::from_bytes(&bytes, &path.display().to_string())
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                let encoded = std::fs::read_to_string(&path).map_err(file_error)?;
                Self::decode(encoded.trim(), &format!("master key file {}", path.display()))
            }
            Err(err) => Err(file_error(err)),
        }
    }

    fn decode(encoded: &str, origin: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| CryptoError::BadKey {
            origin: origin.to_owned(),
            problem: "is not standard base64 (expected 32 random bytes, e.g. from `openssl rand -base64 32`)",
        })?;
        Self::from_bytes(&bytes, origin)
    }

    fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, CryptoError> {
        let bad_length = || CryptoError::BadKey {
            origin: origin.to_owned(),
            problem: "must decode to exactly 32 bytes (e.g. from `openssl rand -base64 32`)",
        };
        if bytes.len() != KEY_LEN {
            return Err(bad_length());
        }
        RandomizedNonceKey::new(&AES_256_GCM, bytes).map(|key| Self(Arc::new(key))).map_err(|_| bad_length())
    }

    /// `base64(nonce || ciphertext || tag)`. `context` (e.g. `vapi-private-key:<org>`) must be
    /// given again to open it, so a value copied onto another org's record stays shut.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut in_out = plaintext.to_vec();
        // AES-GCM sealing fails only for inputs over 64 GiB or when the system RNG is gone, and
        // AWS-LC aborts the process itself in the latter case; neither can be handled here.
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut in_out)
            .expect("AES-256-GCM sealing of an in-memory secret cannot fail");
        let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&in_out);
        STANDARD.encode(sealed)
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let mut bytes = STANDARD.decode(sealed).map_err(|_| CryptoError::Open)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(CryptoError::Open);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| CryptoError::Open)?;
        let plaintext = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut ciphertext)
            .map_err(|_| CryptoError::Open)?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(unix)]
fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// A secret string that cannot be printed by accident: Debug and Display show `***`, so it can
/// sit in structs that are logged or in error values without leaking.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Webhook secrets are random 256-bit values, so a plain SHA-256 is enough to store them.
pub fn hash_webhook_secret(secret: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn key() -> MasterKey {
        MasterKey::from_base64(KEY).unwrap()
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("assist-crypto-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn a_sealed_value_opens_with_the_same_context() {
        let sealed = key().seal(b"sk_live_123", "vapi-private-key:org_a");
        assert_eq!(key().open(&sealed, "vapi-private-key:org_a").unwrap(), b"sk_live_123");
    }

    #[test]
    fn a_sealed_value_does_not_open_under_another_context() {
        let sealed = key().seal(b"sk_live_123", "vapi-private-key:org_a");
        assert!(matches!(key().open(&sealed, "vapi-private-key:org_b"), Err(CryptoError::Open)));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let sealed = key().seal(b"sk_live_123", "ctx");
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[NONCE_LEN] ^= 1;
        assert!(key().open(&STANDARD.encode(&bytes), "ctx").is_err());
        bytes[NONCE_LEN] ^= 1;
        bytes[last] ^= 1;
        assert!(key().open(&STANDARD.encode(&bytes), "ctx").is_err());
        assert!(key().open("not base64!", "ctx").is_err());
        assert!(key().open(&STANDARD.encode([0u8; 8]), "ctx").is_err());
    }

    #[test]
    fn a_value_does_not_open_under_another_master_key() {
        let sealed = key().seal(b"sk_live_123", "ctx");
        let other = MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        assert!(other.open(&sealed, "ctx").is_err());
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        assert_ne!(key().seal(b"same", "ctx"), key().seal(b"same", "ctx"));
    }

    #[test]
    fn load_or_create_creates_a_private_key_file_then_reads_it_back() {
        let dir = temp_dir();
        let first = MasterKey::load_or_create(&dir).unwrap();
        let sealed = first.seal(b"secret", "ctx");
        let second = MasterKey::load_or_create(&dir).unwrap();
        assert_eq!(second.open(&sealed, "ctx").unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_key_file_is_refused_by_name() {
        let dir = temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(KEY_FILE), "c2hvcnQ=").unwrap();
        let err = MasterKey::load_or_create(&dir).unwrap_err().to_string();
        assert!(err.contains("master.key") && err.contains("32 bytes"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_base64_is_refused_naming_the_variable_without_echoing_it() {
        let err = MasterKey::from_base64("not*base64*secretish").unwrap_err().to_string();
        assert!(err.starts_with("ASSIST_MASTER_KEY: ") && err.contains("base64"), "{err}");
        assert!(!err.contains("secretish"), "{err}");
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused_naming_the_variable() {
        let short = STANDARD.encode([1u8; 16]);
        let err = MasterKey::from_base64(&short).unwrap_err().to_string();
        assert!(err.starts_with("ASSIST_MASTER_KEY: ") && err.contains("32 bytes"), "{err}");
        assert!(!err.contains(&short), "{err}");
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        assert_eq!(format!("{:?}", key()), "MasterKey(***)");
        let secret = Secret::new("sk_live_123".into());
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(secret.expose(), "sk_live_123");
    }
}
