//! `VapiClient` against the loopback fake Vapi: what it returns, and how it behaves when Vapi
//! refuses, fails, stalls or goes down.

use std::time::Duration;

use assist::crypto::Secret;
use assist::error::{ApiError, ErrorCode};
use assist::ids::OrgId;
use assist::vapi::{Assistant, ModelSummary, PhoneNumber, VapiClient, VapiConfig, VapiError, VoiceSummary};
use tokio::time::Instant;

use crate::fakes::vapi::{FakeVapi, sample_assistant, sample_twilio_number};
use crate::helpers::advance_time;
use crate::logs::Capture;

const KEY: &str = "vapi-private-5b2c0d7e-9f41-4a8e-b1c3-never-in-logs";

fn org(id: &str) -> OrgId {
    OrgId::parse(id).expect("a valid org id")
}

fn key() -> Secret {
    Secret::new(KEY.to_owned())
}

/// A fake that knows [`KEY`], and a client pointed at it with test-sized limits.
async fn vapi_with(edit: impl FnOnce(&mut VapiConfig)) -> (FakeVapi, VapiClient) {
    let fake = FakeVapi::start().await;
    fake.add_key(KEY);
    let mut config = VapiConfig {
        base_url: fake.base_url(),
        call_timeout: Duration::from_secs(2),
        ..VapiConfig::default()
    };
    edit(&mut config);
    (fake, VapiClient::new(config, reqwest::Client::new()))
}

async fn vapi() -> (FakeVapi, VapiClient) {
    vapi_with(|_| {}).await
}

#[tokio::test]
async fn lists_assistants_as_the_documented_subset_only() {
    let (fake, client) = vapi().await;
    let id = fake.add_assistant(sample_assistant("Front desk"));

    let assistants = client.assistants(&org("org_a"), &key()).await.expect("assistants");

    let expected = Assistant {
        id,
        name: Some("Front desk".into()),
        first_message: Some("Hi, this is Front desk. How can I help?".into()),
        voice: Some(VoiceSummary { provider: Some("11labs".into()), voice_id: Some("burt".into()) }),
        model: Some(ModelSummary { provider: Some("openai".into()), model: Some("gpt-4o".into()) }),
    };
    assert_eq!(assistants, vec![expected]);
    let json = serde_json::to_string(&assistants).expect("serializes");
    for hidden in ["orgId", "messages", "VIP code", "server", "credentialId", "metadata", "transcriber"] {
        assert!(!json.contains(hidden), "{hidden} leaked: {json}");
    }
}

#[tokio::test]
async fn lists_phone_numbers_without_provider_credentials() {
    let (fake, client) = vapi().await;
    let id = fake.add_phone_number(sample_twilio_number("+14155550123", Some("asst_1")));

    let numbers = client.phone_numbers(&org("org_a"), &key()).await.expect("phone numbers");

    let expected = PhoneNumber {
        id,
        number: Some("+14155550123".into()),
        name: Some("Main line".into()),
        provider: Some("twilio".into()),
        status: Some("active".into()),
        assistant_id: Some("asst_1".into()),
    };
    assert_eq!(numbers, vec![expected]);
    let json = serde_json::to_string(&numbers).expect("serializes");
    for hidden in ["twilio-auth-token", "twilio-api-secret", "AC0123", "SK0123", "twilioAccountSid", "orgId"]
    {
        assert!(!json.contains(hidden), "{hidden} leaked: {json}");
    }
}

#[tokio::test]
async fn lists_more_than_vapis_default_page_of_100() {
    let (fake, client) = vapi().await;
    for n in 0..150 {
        fake.add_assistant(sample_assistant(&format!("Assistant {n}")));
    }

    let assistants = client.assistants(&org("org_a"), &key()).await.expect("assistants");

    assert_eq!(assistants.len(), 150);
}

#[tokio::test]
async fn accepts_a_key_vapi_knows() {
    let (_fake, client) = vapi().await;
    client.check_key(&org("org_a"), &key()).await.expect("the key is accepted");
}

#[tokio::test]
async fn a_key_vapi_refuses_is_invalid_and_a_400_naming_private_api_key() {
    let (fake, client) = vapi().await;

    let err = client.check_key(&org("org_a"), &Secret::new("the-public-key".into())).await.unwrap_err();

    assert!(matches!(err, VapiError::InvalidKey), "{err:?}");
    assert_eq!(fake.requests(), 1, "a refused key is not retried");
    let api = ApiError::from(err);
    assert_eq!((api.code, api.code.status()), (ErrorCode::InvalidArgument, 400));
    assert!(api.message.starts_with("privateApiKey: "), "{}", api.message);
}

#[tokio::test]
async fn a_server_error_is_retried_and_the_call_succeeds() {
    let (fake, client) = vapi().await;
    fake.add_assistant(sample_assistant("Front desk"));
    fake.fail_next(1, 500);

    let assistants = client.assistants(&org("org_a"), &key()).await.expect("the retry succeeds");

    assert_eq!(assistants.len(), 1);
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_retry_after_pause() {
    let (fake, client) = vapi().await;
    fake.fail_next(1, 429);
    let started = Instant::now();

    client.assistants(&org("org_a"), &key()).await.expect("the retry succeeds");

    assert_eq!(fake.requests(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");
}

#[tokio::test]
async fn a_client_error_other_than_429_is_not_retried() {
    let (fake, client) = vapi().await;
    fake.fail_next(3, 400);

    let err = client.assistants(&org("org_a"), &key()).await.unwrap_err();

    assert!(matches!(err, VapiError::Unexpected(_)), "{err:?}");
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn a_vapi_that_keeps_failing_is_unavailable_after_the_last_attempt() {
    let (fake, client) = vapi_with(|config| config.max_attempts = 3).await;
    fake.fail_next(10, 503);

    let err = client.assistants(&org("org_a"), &key()).await.unwrap_err();

    assert!(matches!(err, VapiError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.requests(), 3);
    assert_eq!(ApiError::from(err).code, ErrorCode::Unavailable);
}

#[tokio::test]
async fn a_slow_vapi_times_out_as_unavailable() {
    let (fake, client) = vapi_with(|config| {
        config.call_timeout = Duration::from_millis(200);
        config.max_attempts = 2;
    })
    .await;
    fake.delay(Duration::from_secs(5));
    let started = Instant::now();

    let err = client.assistants(&org("org_a"), &key()).await.unwrap_err();

    assert!(matches!(err, VapiError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.requests(), 2, "a timeout is retried");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn an_unreachable_vapi_is_unavailable() {
    // Bound but not listening: connections are refused, and no other process can take the port
    // while the test holds it.
    let closed = tokio::net::TcpSocket::new_v4().expect("a socket");
    closed.bind("127.0.0.1:0".parse().unwrap()).expect("a free port");
    let base_url = format!("http://{}", closed.local_addr().expect("its address"));
    let (_fake, client) = vapi_with(|config| config.base_url = base_url).await;

    let err = client.assistants(&org("org_a"), &key()).await.unwrap_err();

    assert!(matches!(err, VapiError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn the_breaker_opens_after_consecutive_failures_and_answers_without_calling_vapi() {
    let (fake, client) = vapi_with(|config| {
        config.max_attempts = 1;
        config.breaker_failures = 3;
    })
    .await;
    fake.fail_next(3, 500);
    for _ in 0..3 {
        client.assistants(&org("org_a"), &key()).await.unwrap_err();
    }

    let err = client.assistants(&org("org_b"), &key()).await.unwrap_err();

    assert!(matches!(err, VapiError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.requests(), 3, "the open breaker called Vapi");
}

#[tokio::test]
async fn the_breaker_closes_again_after_a_successful_trial_once_the_cooldown_is_over() {
    const COOLDOWN: Duration = Duration::from_secs(30);
    let (fake, client) = vapi_with(|config| {
        config.max_attempts = 1;
        config.breaker_failures = 2;
        config.breaker_cooldown = COOLDOWN;
    })
    .await;
    fake.fail_next(2, 500);
    for _ in 0..2 {
        client.assistants(&org("org_a"), &key()).await.unwrap_err();
    }
    let refused = client.assistants(&org("org_a"), &key()).await.unwrap_err();
    assert!(matches!(refused, VapiError::Unavailable(_)), "open during the cooldown: {refused:?}");
    advance_time(COOLDOWN).await;

    client.assistants(&org("org_a"), &key()).await.expect("the trial call goes through");
    client.assistants(&org("org_a"), &key()).await.expect("the breaker is closed");

    assert_eq!(fake.requests(), 4);
}

#[tokio::test]
async fn refused_keys_do_not_open_the_breaker() {
    let (fake, client) = vapi_with(|config| config.breaker_failures = 2).await;
    for _ in 0..5 {
        client.check_key(&org("org_a"), &Secret::new("wrong".into())).await.unwrap_err();
    }

    client.check_key(&org("org_b"), &key()).await.expect("Vapi is still called");

    assert_eq!(fake.requests(), 6);
}

#[tokio::test]
async fn one_org_never_has_more_calls_in_flight_than_its_limit() {
    let (fake, client) = vapi_with(|config| config.per_org_concurrency = 1).await;
    fake.delay(Duration::from_millis(300));
    let (org_a, key) = (org("org_a"), key());
    let started = Instant::now();

    let (first, second) = tokio::join!(client.assistants(&org_a, &key), client.assistants(&org_a, &key));

    first.expect("first call");
    second.expect("second call");
    assert_eq!(fake.max_in_flight(), 1);
    assert!(started.elapsed() >= Duration::from_millis(600), "the second call did not wait");
}

#[tokio::test]
async fn one_orgs_limit_does_not_hold_up_another_org() {
    let (fake, client) = vapi_with(|config| config.per_org_concurrency = 1).await;
    fake.delay(Duration::from_millis(300));
    let (org_a, org_b, key) = (org("org_a"), org("org_b"), key());

    let (first, second) = tokio::join!(client.assistants(&org_a, &key), client.assistants(&org_b, &key));

    first.expect("org_a's call");
    second.expect("org_b's call");
    assert_eq!(fake.max_in_flight(), 2);
}

#[tokio::test]
async fn the_private_key_appears_in_no_log_line_and_no_error() {
    let logs = Capture::start();
    let (fake, client) = vapi_with(|config| {
        config.call_timeout = Duration::from_millis(200);
        config.max_attempts = 2;
        config.breaker_failures = 3;
    })
    .await;
    let org = org("org_logs");
    let refused = Secret::new(format!("{KEY}-refused"));
    let mut errors = Vec::new();

    client.assistants(&org, &key()).await.expect("a success");
    errors.push(client.check_key(&org, &refused).await.unwrap_err());
    fake.fail_next(1, 400);
    errors.push(client.assistants(&org, &key()).await.unwrap_err());
    fake.fail_next(2, 500);
    errors.push(client.phone_numbers(&org, &key()).await.unwrap_err());
    fake.delay(Duration::from_secs(1));
    errors.push(client.assistants(&org, &key()).await.unwrap_err());
    errors.push(client.assistants(&org, &key()).await.unwrap_err());

    assert!(matches!(errors.last(), Some(VapiError::Unavailable(_))), "{errors:?}");
    let mut seen = String::new();
    for err in errors {
        seen.push_str(&format!("{err} {err:?} "));
        seen.push_str(&ApiError::from(err).to_string());
    }
    seen.push_str(&logs.text());
    assert!(seen.contains("org_logs") && seen.contains("Vapi call failed"), "nothing was captured: {seen}");
    assert!(!seen.contains(KEY), "the private key leaked:\n{seen}");
}
