//! Clerk session tokens are verified here and nowhere else: the HTTP edge and the NATS service
//! both hand over the raw `Authorization` value and get back an [`Operator`] or an [`ApiError`],
//! so the two doors can never disagree about who is let in.
//!
//! The checks follow the order of Clerk's own SDK (signature, `sub`, `azp`, `exp`, `nbf`,
//! `iat`), so a token Clerk would refuse is refused here too; `iss` is checked on top.

mod demo;
mod jwks;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::ids::OrgId;

pub use demo::{DEMO_USER, DemoOperator};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, the default of Clerk's SDK.
const LEEWAY_SECS: i64 = 5;

/// Where Clerk's keys live and which tokens count as ours. With no `jwks_url` the dashboard
/// routes answer 503 rather than trusting anything.
#[derive(Clone, Debug, Default)]
pub struct ClerkConfig {
    pub jwks_url: Option<String>,
    /// Checked when set; Clerk's SDK does not check it, but a token from another Clerk instance
    /// whose keys we somehow trusted must still not get in.
    pub issuer: Option<String>,
    /// The dashboard origins allowed in `azp`; when set, a token without `azp` is refused.
    pub authorized_parties: Vec<String>,
}

/// The verified caller of a dashboard/service request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub user_id: String,
    pub org_id: OrgId,
    /// Always in the `org:admin` / `org:member` form, whichever token version carried it.
    pub role: String,
}

impl Operator {
    pub fn is_admin(&self) -> bool {
        self.role == "org:admin"
    }
}

/// Cheap to clone: every clone shares one key cache, so keys are fetched once per process.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClerkConfig,
    keys: Option<jwks::KeyCache>,
    demo: Option<DemoOperator>,
}

impl Authenticator {
    pub fn new(config: ClerkConfig, http: reqwest::Client) -> Self {
        let keys = config.jwks_url.clone().map(|url| jwks::KeyCache::new(url, http));
        Self { inner: Arc::new(Inner { config, keys, demo: None }) }
    }

    /// Also lets in `assist serve --demo`'s operator, with or without Clerk configured.
    pub fn with_demo(config: ClerkConfig, http: reqwest::Client, demo: DemoOperator) -> Self {
        let keys = config.jwks_url.clone().map(|url| jwks::KeyCache::new(url, http));
        Self { inner: Arc::new(Inner { config, keys, demo: Some(demo) }) }
    }

    /// `authorization` is the raw `Authorization` header value (HTTP) or NATS header value.
    /// Verifies the token and that `org` is the token's active org.
    pub async fn operator(&self, authorization: Option<&str>, org: &OrgId) -> Result<Operator, ApiError> {
        let verified = self.verify(authorization, org).await;
        if let Err(err) = &verified {
            tracing::debug!(code = %err.code, reason = %err.message, %org, "refused a Clerk session token");
        }
        verified
    }

    async fn verify(&self, authorization: Option<&str>, org: &OrgId) -> Result<Operator, ApiError> {
        if let Some(demo) = &self.inner.demo {
            if let Some(operator) = demo.operator(authorization, org) {
                return operator;
            }
        }
        let Some(keys) = &self.inner.keys else {
            return Err(ApiError::unavailable(
                "dashboard auth is not configured: the server has no Clerk JWKS URL (ASSIST_CLERK_JWKS_URL)",
            ));
        };
        let token = Token::split(bearer(authorization)?)?;
        let kid = rs256_kid(token.header)?;
        let key = keys.key(&kid).await?;
        token.verify_signature(&key)?;
        let claims = token.claims()?;
        Session::from_claims(&claims, &self.inner.config, unix_now())?.operator_for(org)
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fn unauthenticated(problem: &str) -> ApiError {
    ApiError::unauthenticated(format!("invalid Clerk session token: {problem}"))
}

fn bearer(authorization: Option<&str>) -> Result<&str, ApiError> {
    let value = authorization.ok_or_else(|| {
        ApiError::unauthenticated(
            "missing Authorization header; send `Authorization: Bearer <Clerk session token>`",
        )
    })?;
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthenticated(
            "the Authorization header must have the form `Bearer <Clerk session token>`",
        )),
    }
}

/// The three base64url segments of a compact JWS, still encoded.
struct Token<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    signed: &'a str,
}

impl<'a> Token<'a> {
    fn split(raw: &'a str) -> Result<Self, ApiError> {
        let malformed = || unauthenticated("not a JWT (expected three base64url segments separated by '.')");
        let (signed, signature) = raw.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = signed.split_once('.').ok_or_else(malformed)?;
        if header.is_empty() || payload.is_empty() || payload.contains('.') {
            return Err(malformed());
        }
        Ok(Self { header, payload, signature, signed })
    }

    fn verify_signature(&self, key: &DecodingKey) -> Result<(), ApiError> {
        match jsonwebtoken::crypto::verify(self.signature, self.signed.as_bytes(), key, Algorithm::RS256) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(unauthenticated("the signature does not verify")),
        }
    }

    fn claims(&self) -> Result<Map<String, Value>, ApiError> {
        decode_json(self.payload).ok_or_else(|| unauthenticated("the payload is not a base64url JSON object"))
    }
}

fn decode_json(segment: &str) -> Option<Map<String, Value>> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

/// Checks `alg` before anything else touches the token, so `none`, HS256 signed with our public
/// key, and every other algorithm are refused before a key is even looked up.
fn rs256_kid(header: &str) -> Result<String, ApiError> {
    let header =
        decode_json(header).ok_or_else(|| unauthenticated("the header is not a base64url JSON object"))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(unauthenticated("only RS256-signed tokens are accepted"));
    }
    match header.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => Ok(kid.to_owned()),
        _ => Err(unauthenticated("the header has no key id (kid)")),
    }
}

/// What a verified token says about its holder, before it is held against a requested org.
#[derive(Debug)]
struct Session {
    user_id: String,
    org: Option<ActiveOrg>,
    /// `sts: "pending"`: signed in, but not yet a member of an org the instance requires.
    pending: bool,
}

#[derive(Debug, PartialEq, Eq)]
struct ActiveOrg {
    id: String,
    role: String,
}

impl Session {
    /// Runs only on claims whose signature has been verified.
    fn from_claims(claims: &Map<String, Value>, config: &ClerkConfig, now: i64) -> Result<Self, ApiError> {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);

        let user_id = text("sub").filter(|sub| !sub.is_empty());
        let user_id = user_id.ok_or_else(|| unauthenticated("the `sub` claim is missing or not a string"))?;
        if let Some(issuer) = &config.issuer {
            if text("iss") != Some(issuer.as_str()) {
                return Err(unauthenticated(
                    "the token was not issued by the configured Clerk instance (iss)",
                ));
            }
        }
        if !config.authorized_parties.is_empty()
            && !text("azp").is_some_and(|azp| config.authorized_parties.iter().any(|party| party == azp))
        {
            return Err(unauthenticated("the token was issued for another application (azp)"));
        }
        match numeric_date(claims, "exp")? {
            None => return Err(unauthenticated("the `exp` claim is missing")),
            Some(exp) if exp <= now - LEEWAY_SECS => {
                return Err(unauthenticated("the token has expired"));
            }
            Some(_) => {}
        }
        if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
            return Err(unauthenticated("the token is not valid yet (nbf)"));
        }
        if numeric_date(claims, "iat")?.is_some_and(|iat| iat > now + LEEWAY_SECS) {
            return Err(unauthenticated("the token was issued in the future (iat)"));
        }

        Ok(Self {
            user_id: user_id.to_owned(),
            org: active_org(claims)?,
            pending: text("sts") == Some("pending"),
        })
    }

    fn operator_for(self, org: &OrgId) -> Result<Operator, ApiError> {
        if self.pending {
            return Err(ApiError::forbidden(
                "the user has not joined a required organization yet (session pending)",
            ));
        }
        let active = self.org.ok_or_else(|| ApiError::forbidden("the token has no active organization"))?;
        if active.id != org.as_str() {
            return Err(ApiError::forbidden(format!("the token's active organization is not {org}")));
        }
        Ok(Operator { user_id: self.user_id, org_id: org.clone(), role: active.role })
    }
}

/// `None` when absent; present but not a number is a malformed token, not a missing claim.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().map(|seconds| seconds.floor() as i64))
            .map(Some)
            .ok_or_else(|| unauthenticated(&format!("the `{name}` claim is not a number"))),
    }
}

/// Version 1 carries `org_id`/`org_role`; version 2 (`"v": 2`) nests them as `o.id`/`o.rol`.
/// Either way, no org claims just means no org is active.
fn active_org(claims: &Map<String, Value>) -> Result<Option<ActiveOrg>, ApiError> {
    let (id, role) = match claims.get("v").and_then(Value::as_u64) {
        None | Some(1) => (claims.get("org_id"), claims.get("org_role")),
        Some(2) => {
            let org = claims.get("o").and_then(Value::as_object);
            (org.and_then(|o| o.get("id")), org.and_then(|o| o.get("rol")))
        }
        Some(_) => return Err(unauthenticated("unsupported Clerk token version (v)")),
    };
    let Some(id) = id.and_then(Value::as_str).filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    match role.and_then(Value::as_str).filter(|role| !role.is_empty()) {
        Some(role) => Ok(Some(ActiveOrg { id: id.to_owned(), role: normalize_role(role) })),
        None => Err(unauthenticated("the token has an active organization but no role in it")),
    }
}

/// Version 2 drops the `org:` prefix (`"admin"`); the rest of assist only knows `org:admin`.
fn normalize_role(role: &str) -> String {
    if role.starts_with("org:") { role.to_owned() } else { format!("org:{role}") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorCode;

    const NOW: i64 = 1_750_000_000;

    fn claims(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else { panic!("claims must be an object") };
        map
    }

    fn valid(extra: Value) -> Map<String, Value> {
        let mut base = claims(json!({
            "sub": "user_1", "iss": "https://clerk.test", "azp": "https://dash.test",
            "exp": NOW + 60, "iat": NOW - 1, "nbf": NOW - 10,
        }));
        base.extend(claims(extra));
        base
    }

    fn config() -> ClerkConfig {
        ClerkConfig {
            jwks_url: None,
            issuer: Some("https://clerk.test".into()),
            authorized_parties: vec!["https://dash.test".into()],
        }
    }

    fn session(extra: Value) -> Result<Session, ApiError> {
        Session::from_claims(&valid(extra), &config(), NOW)
    }

    #[test]
    fn version_1_org_claims_are_read() {
        let org = active_org(&claims(json!({"org_id": "org_a", "org_role": "org:admin"}))).unwrap();
        assert_eq!(org, Some(ActiveOrg { id: "org_a".into(), role: "org:admin".into() }));
    }

    #[test]
    fn version_2_org_claims_are_read_and_the_role_gets_its_prefix() {
        let org = active_org(&claims(json!({"v": 2, "o": {"id": "org_a", "rol": "admin", "slg": "acme"}})))
            .unwrap();
        assert_eq!(org, Some(ActiveOrg { id: "org_a".into(), role: "org:admin".into() }));
    }

    #[test]
    fn version_2_ignores_version_1_claims() {
        let org = active_org(&claims(json!({"v": 2, "org_id": "org_a", "org_role": "org:admin"}))).unwrap();
        assert_eq!(org, None);
    }

    #[test]
    fn a_token_without_org_claims_has_no_active_org() {
        assert_eq!(active_org(&claims(json!({"sub": "user_1"}))).unwrap(), None);
    }

    #[test]
    fn roles_are_normalized_to_the_org_prefix() {
        assert_eq!(normalize_role("admin"), "org:admin");
        assert_eq!(normalize_role("org:member"), "org:member");
        assert_eq!(normalize_role("billing_manager"), "org:billing_manager");
    }

    #[test]
    fn the_bearer_scheme_is_required() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(Some("bearer  abc ")).unwrap(), "abc");
        for bad in [None, Some(""), Some("Bearer"), Some("Bearer  "), Some("Basic abc"), Some("abc")] {
            assert_eq!(bearer(bad).unwrap_err().code, ErrorCode::Unauthenticated, "{bad:?}");
        }
    }

    #[test]
    fn only_an_rs256_header_with_a_kid_passes() {
        let header = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
        assert_eq!(rs256_kid(&header(json!({"alg": "RS256", "kid": "ins_1"}))).unwrap(), "ins_1");
        for bad in [
            json!({"alg": "none", "kid": "ins_1"}),
            json!({"alg": "HS256", "kid": "ins_1"}),
            json!({"alg": "RS256"}),
        ] {
            assert_eq!(rs256_kid(&header(bad)).unwrap_err().code, ErrorCode::Unauthenticated);
        }
    }

    #[test]
    fn a_valid_session_yields_the_operator_of_its_org() {
        let operator = session(json!({"org_id": "org_a", "org_role": "org:admin"})).unwrap();
        let operator = operator.operator_for(&OrgId::parse("org_a").unwrap()).unwrap();
        assert_eq!(operator.user_id, "user_1");
        assert!(operator.is_admin());
    }

    #[test]
    fn time_claims_allow_five_seconds_of_skew_and_no_more() {
        assert!(session(json!({"exp": NOW - 4})).is_ok());
        assert!(session(json!({"exp": NOW - 5})).is_err());
        assert!(session(json!({"nbf": NOW + 5, "iat": NOW + 5})).is_ok());
        assert!(session(json!({"nbf": NOW + 6})).is_err());
        assert!(session(json!({"iat": NOW + 6})).is_err());
    }

    #[test]
    fn missing_claims_that_are_configured_to_be_checked_are_refused() {
        for name in ["sub", "exp", "iss", "azp"] {
            let mut token = valid(json!({}));
            token.remove(name);
            let err = Session::from_claims(&token, &config(), NOW).unwrap_err();
            assert_eq!(err.code, ErrorCode::Unauthenticated, "{name}");
        }
    }

    #[test]
    fn a_pending_session_is_forbidden() {
        let pending = session(json!({"sts": "pending", "org_id": "org_a", "org_role": "org:admin"})).unwrap();
        let err = pending.operator_for(&OrgId::parse("org_a").unwrap()).unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden);
    }
}
