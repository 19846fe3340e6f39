//! `Authenticator` against a loopback Clerk: what gets in, what is refused and with which code.

use assist::auth::{Authenticator, ClerkConfig, Operator};
use assist::error::{ApiError, ErrorCode};
use assist::ids::OrgId;

use crate::fakes::clerk::FakeClerk;

async fn clerk_and_authenticator() -> (FakeClerk, Authenticator) {
    let clerk = FakeClerk::start().await;
    let authenticator = Authenticator::new(clerk.config(), reqwest::Client::new());
    (clerk, authenticator)
}

fn org(id: &str) -> OrgId {
    OrgId::parse(id).expect("a valid org id")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn verify(authenticator: &Authenticator, token: &str, org_id: &str) -> Result<Operator, ApiError> {
    authenticator.operator(Some(&bearer(token)), &org(org_id)).await
}

/// Refused with `code`, and the message never repeats the token back.
fn assert_refused(result: Result<Operator, ApiError>, code: ErrorCode, token: &str) -> ApiError {
    let err = result.expect_err("the token must be refused");
    assert_eq!(err.code, code, "{}", err.message);
    assert!(!token.is_empty() && !err.message.contains(token), "the message echoes the token");
    err
}

#[tokio::test]
async fn a_v1_admin_token_for_the_org_yields_an_admin_operator() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().org("org_a").role("org:admin").sign();

    let operator = verify(&authenticator, &token, "org_a").await.expect("accepted");

    assert_eq!(
        operator,
        Operator { user_id: clerk.user_id().to_owned(), org_id: org("org_a"), role: "org:admin".to_owned() }
    );
    assert!(operator.is_admin());
}

#[tokio::test]
async fn a_v2_token_is_accepted_with_its_role_normalized() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().v2().org("org_a").role("org:member").sign();

    let operator = verify(&authenticator, &token, "org_a").await.expect("accepted");

    assert_eq!(operator.role, "org:member");
    assert!(!operator.is_admin());
}

#[tokio::test]
async fn a_token_for_one_org_is_forbidden_on_another() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().org("org_a").role("org:admin").sign();

    let result = verify(&authenticator, &token, "org_b").await;

    let err = assert_refused(result, ErrorCode::Forbidden, &token);
    assert_eq!(err.message, "the token's active organization is not org_b");
}

#[tokio::test]
async fn a_v2_token_for_one_org_is_forbidden_on_another() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().v2().org("org_a").role("org:admin").sign();

    assert_refused(verify(&authenticator, &token, "org_b").await, ErrorCode::Forbidden, &token);
}

#[tokio::test]
async fn a_token_without_an_active_org_is_forbidden() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().no_org().sign();

    let result = verify(&authenticator, &token, "org_a").await;

    let err = assert_refused(result, ErrorCode::Forbidden, &token);
    assert_eq!(err.message, "the token has no active organization");
}

#[tokio::test]
async fn a_pending_session_is_forbidden() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().org("org_a").pending().sign();

    assert_refused(verify(&authenticator, &token, "org_a").await, ErrorCode::Forbidden, &token);
}

#[tokio::test]
async fn a_missing_authorization_header_is_unauthenticated() {
    let (_clerk, authenticator) = clerk_and_authenticator().await;

    let err = authenticator.operator(None, &org("org_a")).await.expect_err("refused");

    assert_eq!(err.code, ErrorCode::Unauthenticated);
}

#[tokio::test]
async fn a_non_bearer_authorization_is_unauthenticated() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().org("org_a").sign();

    let result = authenticator.operator(Some(&format!("Basic {token}")), &org("org_a")).await;

    assert_refused(result, ErrorCode::Unauthenticated, &token);
}

#[tokio::test]
async fn a_garbage_token_is_unauthenticated() {
    let (_clerk, authenticator) = clerk_and_authenticator().await;

    for garbage in ["not-a-jwt", "a.b.c", "a.b.c.d", "..", "e30.e30.e30"] {
        assert_refused(verify(&authenticator, garbage, "org_a").await, ErrorCode::Unauthenticated, garbage);
    }
}

/// One refusal test per broken token, named by what is wrong with it; `reason` shows it was refused
/// for that flaw and not for another one the builder introduced by accident.
macro_rules! unauthenticated {
    ($($name:ident: |$builder:ident| $token:expr, $reason:literal;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let (clerk, authenticator) = clerk_and_authenticator().await;
            let $builder = clerk.token().org("org_a").role("org:admin");
            let token: String = $token;

            let result = verify(&authenticator, &token, "org_a").await;

            let err = assert_refused(result, ErrorCode::Unauthenticated, &token);
            assert!(err.message.contains($reason), "{:?} does not mention {:?}", err.message, $reason);
        }
    )*};
}

unauthenticated! {
    an_expired_token_is_unauthenticated: |token| token.expired().sign(), "expired";
    a_token_not_valid_yet_is_unauthenticated: |token| token.not_yet_valid().sign(), "(nbf)";
    a_token_issued_in_the_future_is_unauthenticated: |token| token.issued_in_the_future().sign(), "(iat)";
    a_token_from_another_issuer_is_unauthenticated: |token| token.wrong_issuer().sign(), "(iss)";
    a_token_for_another_authorized_party_is_unauthenticated: |token| token.wrong_azp().sign(), "(azp)";
    a_token_without_an_authorized_party_is_unauthenticated: |token| token.no_azp().sign(), "(azp)";
    a_token_signed_with_an_unknown_key_is_unauthenticated: |token| token.unknown_kid().sign(), "unknown kid";
    an_unsigned_alg_none_token_is_unauthenticated: |token| token.alg_none(), "only RS256";
    an_hs256_token_keyed_with_the_public_key_is_unauthenticated:
        |token| token.hs256_with_public_key(), "only RS256";
    a_token_tampered_with_after_signing_is_unauthenticated: |token| token.tampered(), "signature";
}

#[tokio::test]
async fn the_jwks_is_fetched_once_for_many_verifications() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let token = clerk.token().org("org_a").sign();

    let results = futures::future::join_all((0..20).map(|_| verify(&authenticator, &token, "org_a"))).await;
    let again = verify(&authenticator, &token, "org_a").await;

    assert!(results.into_iter().chain([again]).all(|result| result.is_ok()));
    assert_eq!(clerk.jwks_fetches(), 1);
}

#[tokio::test]
async fn an_unknown_kid_triggers_exactly_one_refetch() {
    let (clerk, authenticator) = clerk_and_authenticator().await;
    let known = clerk.token().org("org_a").sign();
    let unknown = clerk.token().org("org_a").unknown_kid().sign();
    verify(&authenticator, &known, "org_a").await.expect("accepted");

    for _ in 0..5 {
        assert_refused(verify(&authenticator, &unknown, "org_a").await, ErrorCode::Unauthenticated, &unknown);
    }

    assert_eq!(clerk.jwks_fetches(), 2);
}

#[tokio::test]
async fn without_a_jwks_url_dashboard_auth_is_unavailable() {
    let clerk = FakeClerk::start().await;
    let authenticator = Authenticator::new(ClerkConfig::default(), reqwest::Client::new());
    let token = clerk.token().org("org_a").sign();

    let result = verify(&authenticator, &token, "org_a").await;

    let err = assert_refused(result, ErrorCode::Unavailable, &token);
    assert!(err.message.contains("ASSIST_CLERK_JWKS_URL"), "{}", err.message);
}

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable() {
    let clerk = FakeClerk::start().await;
    let config = ClerkConfig { jwks_url: Some(format!("{}/missing", clerk.jwks_url())), ..clerk.config() };
    let authenticator = Authenticator::new(config, reqwest::Client::new());
    let token = clerk.token().org("org_a").sign();

    let result = verify(&authenticator, &token, "org_a").await;

    assert_refused(result, ErrorCode::Unavailable, &token);
}
