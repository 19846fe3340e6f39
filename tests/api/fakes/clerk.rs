//! A loopback Clerk that publishes a JWKS and mints session tokens of Clerk's real shapes (v1 and
//! v2 claims), including the broken and hostile ones a verifier must refuse.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use assist::auth::ClerkConfig;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use super::Server;

const ISSUER: &str = "https://clerk.test.local";
const AUTHORIZED_PARTY: &str = "https://dashboard.test.local";
const USER_ID: &str = "user_2test";

/// One RSA key pair of the fake instance.
struct SigningKey {
    kid: &'static str,
    encoding: EncodingKey,
    public: RsaPublicKey,
}

impl SigningKey {
    fn generate(kid: &'static str) -> Self {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("generate an RSA key");
        let der = private.to_pkcs1_der().expect("encode the RSA key as PKCS#1");
        Self { kid, encoding: EncodingKey::from_rsa_der(der.as_bytes()), public: private.to_public_key() }
    }

    fn jwk(&self) -> Value {
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        })
    }
}

/// Generating RSA keys takes a while, so every test in the process shares these two.
static PUBLISHED: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate("ins_test_1"));
/// Never in the JWKS: tokens signed with it name a `kid` the verifier cannot know.
static UNPUBLISHED: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate("ins_test_unpublished"));

pub struct FakeClerk {
    server: Server,
    fetches: Arc<AtomicUsize>,
}

impl FakeClerk {
    pub async fn start() -> Self {
        let fetches = Arc::new(AtomicUsize::new(0));
        let app = Router::new().route("/.well-known/jwks.json", get(jwks)).with_state(Arc::clone(&fetches));
        Self { server: Server::start(app, "the fake Clerk").await, fetches }
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.server.addr)
    }

    pub fn issuer(&self) -> &'static str {
        ISSUER
    }

    pub fn authorized_party(&self) -> &'static str {
        AUTHORIZED_PARTY
    }

    pub fn user_id(&self) -> &'static str {
        USER_ID
    }

    pub fn config(&self) -> ClerkConfig {
        ClerkConfig {
            jwks_url: Some(self.jwks_url()),
            issuer: Some(ISSUER.to_owned()),
            authorized_parties: vec![AUTHORIZED_PARTY.to_owned()],
        }
    }

    /// How many times the JWKS has been served, to show what the verifier's cache saves.
    pub fn jwks_fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// A valid v1 token for a user with no active org; the setters bend it.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder {
            version: 1,
            sub: USER_ID.to_owned(),
            iss: ISSUER.to_owned(),
            azp: Some(AUTHORIZED_PARTY.to_owned()),
            org: None,
            role: "org:member".to_owned(),
            exp_in: 60,
            nbf_in: -10,
            iat_in: 0,
            pending: false,
            key: &PUBLISHED,
        }
    }
}

async fn jwks(State(fetches): State<Arc<AtomicUsize>>) -> Json<Value> {
    fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": [PUBLISHED.jwk()] }))
}

/// Times are offsets in seconds from now, so a token is always valid (or invalid) when used.
pub struct TokenBuilder {
    version: u8,
    sub: String,
    iss: String,
    azp: Option<String>,
    org: Option<String>,
    /// In the v1 form (`org:admin`); v2 tokens strip the prefix as Clerk does.
    role: String,
    exp_in: i64,
    nbf_in: i64,
    iat_in: i64,
    pending: bool,
    key: &'static SigningKey,
}

impl TokenBuilder {
    pub fn org(mut self, org_id: &str) -> Self {
        self.org = Some(org_id.to_owned());
        self
    }

    pub fn no_org(mut self) -> Self {
        self.org = None;
        self
    }

    pub fn role(mut self, role: &str) -> Self {
        self.role = role.to_owned();
        self
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.sub = user_id.to_owned();
        self
    }

    /// Session token version 2: org claims compacted under `o`.
    pub fn v2(mut self) -> Self {
        self.version = 2;
        self
    }

    /// Valid for `secs` from now instead of a minute: a browser test holds one token throughout.
    pub fn valid_for(mut self, secs: i64) -> Self {
        self.exp_in = secs;
        self
    }

    /// Expired a minute ago, well beyond any clock-skew leeway.
    pub fn expired(mut self) -> Self {
        self.exp_in = -60;
        self.iat_in = -120;
        self.nbf_in = -130;
        self
    }

    pub fn not_yet_valid(mut self) -> Self {
        self.nbf_in = 60;
        self
    }

    pub fn issued_in_the_future(mut self) -> Self {
        self.iat_in = 60;
        self
    }

    pub fn wrong_issuer(mut self) -> Self {
        self.iss = "https://other-instance.clerk.accounts.dev".to_owned();
        self
    }

    pub fn wrong_azp(mut self) -> Self {
        self.azp = Some("https://evil.example".to_owned());
        self
    }

    pub fn no_azp(mut self) -> Self {
        self.azp = None;
        self
    }

    /// Signed with a key the JWKS does not publish.
    pub fn unknown_kid(mut self) -> Self {
        self.key = &UNPUBLISHED;
        self
    }

    /// Signed in, but not yet a member of an org the instance requires.
    pub fn pending(mut self) -> Self {
        self.pending = true;
        self
    }

    pub fn claims(&self) -> Value {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64;
        let mut claims = json!({
            "sub": self.sub,
            "iss": self.iss,
            "exp": now + self.exp_in,
            "iat": now + self.iat_in,
            "nbf": now + self.nbf_in,
            "sid": "sess_2test",
            "fva": [0, -1],
        });
        if let Some(azp) = &self.azp {
            claims["azp"] = json!(azp);
        }
        if self.pending {
            claims["sts"] = json!("pending");
        }
        match (self.version, &self.org) {
            (1, Some(org)) => {
                claims["org_id"] = json!(org);
                claims["org_role"] = json!(self.role);
                claims["org_slug"] = json!(slug(org));
                claims["org_permissions"] = json!(["org:sys_memberships:read", "org:sys_profile:read"]);
            }
            (2, org) => {
                claims["v"] = json!(2);
                claims["jti"] = json!(format!("jti_{:x}", rand::random::<u64>()));
                claims["pla"] = json!("u:free");
                claims["fea"] = json!("u:voice");
                if let Some(org) = org {
                    claims["pla"] = json!("u:free,o:pro");
                    claims["fea"] = json!("u:voice,o:voice,o:analytics");
                    claims["o"] = json!({
                        "id": org,
                        "slg": slug(org),
                        "rol": self.role.strip_prefix("org:").unwrap_or(&self.role),
                        "per": "manage,read",
                        "fpm": "3,2",
                    });
                }
            }
            _ => {}
        }
        claims
    }

    /// RS256, the way Clerk signs.
    pub fn sign(&self) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid.to_owned());
        jsonwebtoken::encode(&header, &self.claims(), &self.key.encoding).expect("sign the test token")
    }

    /// `{"alg":"none"}` with an empty signature.
    pub fn alg_none(&self) -> String {
        format!("{}.{}.", encode_part(&json!({"alg": "none"})), encode_part(&self.claims()))
    }

    /// HS256 keyed with the PEM of the published public key: the classic algorithm confusion
    /// attack on verifiers that let the token choose how its key is used.
    pub fn hs256_with_public_key(&self) -> String {
        let pem = PUBLISHED.public.to_public_key_pem(LineEnding::LF).expect("encode the public key");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(PUBLISHED.kid.to_owned());
        let key = EncodingKey::from_secret(pem.as_bytes());
        jsonwebtoken::encode(&header, &self.claims(), &key).expect("sign the HS256 token")
    }

    /// A correctly signed token whose payload is swapped afterwards for one naming another user.
    pub fn tampered(&self) -> String {
        let signed = self.sign();
        let mut parts = signed.split('.');
        let (header, _, signature) = (parts.next(), parts.next(), parts.next());
        let mut claims = self.claims();
        claims["sub"] = json!("user_2attacker");
        format!("{}.{}.{}", header.expect("header"), encode_part(&claims), signature.expect("signature"))
    }
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn slug(org_id: &str) -> String {
    org_id.trim_start_matches("org_").replace('_', "-")
}
