//! [`VapiClient`]: one per process, cloned freely. Each call takes a slot of its org, then makes
//! up to `max_attempts` attempts, each admitted by the shared breaker and bounded by
//! `call_timeout`. Only GETs are made here, so retrying after a dropped connection is safe.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::types::{Assistant, PhoneNumber};
use super::{VapiConfig, VapiError};
use crate::crypto::Secret;
use crate::ids::OrgId;
use crate::upstream::{
    Attempt, Breaker, CallMetrics, Health, OrgLimits, Outcome, Tried, chain, excerpt, health, retry,
    with_retries,
};

/// Vapi's list endpoints have no cursor and cap `limit` at 1000, so this is everything an org
/// can be shown in one list.
const LIST_LIMIT: u32 = 1000;

#[derive(Clone)]
pub struct VapiClient {
    inner: Arc<Inner>,
    metrics: CallMetrics,
}

struct Inner {
    config: VapiConfig,
    base_url: String,
    http: reqwest::Client,
    breaker: Breaker,
    limits: OrgLimits,
}

impl VapiClient {
    pub fn new(config: VapiConfig, http: reqwest::Client) -> Self {
        let inner = Inner {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            breaker: Breaker::new("Vapi", config.breaker_failures, config.breaker_cooldown),
            limits: OrgLimits::new(config.per_org_concurrency),
            config,
            http,
        };
        Self { inner: Arc::new(inner), metrics: CallMetrics::default() }
    }

    /// Records every call into `metrics` (the app's: `App::metrics().vapi()`); without it the
    /// client records into a set no registry exports.
    pub fn with_metrics(mut self, metrics: CallMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Checks a private key before it is stored, with the cheapest call that needs it.
    pub async fn check_key(&self, org: &OrgId, key: &Secret) -> Result<(), VapiError> {
        self.get(org, key, "/assistant", 1).await.map(drop)
    }

    pub async fn assistants(&self, org: &OrgId, key: &Secret) -> Result<Vec<Assistant>, VapiError> {
        self.list(org, key, "/assistant").await
    }

    pub async fn phone_numbers(&self, org: &OrgId, key: &Secret) -> Result<Vec<PhoneNumber>, VapiError> {
        self.list(org, key, "/phone-number").await
    }

    async fn list<T: DeserializeOwned>(
        &self,
        org: &OrgId,
        key: &Secret,
        endpoint: &'static str,
    ) -> Result<Vec<T>, VapiError> {
        let body = self.get(org, key, endpoint, LIST_LIMIT).await?;
        serde_json::from_slice(&body).map_err(|err| {
            VapiError::Unexpected(format!(
                "GET {endpoint} answered a body that is not the expected list: {err}"
            ))
        })
    }
}

impl VapiClient {
    /// One call, counted by outcome with its latency (retries and waits for a slot included).
    async fn get(
        &self,
        org: &OrgId,
        key: &Secret,
        endpoint: &'static str,
        limit: u32,
    ) -> Result<Bytes, VapiError> {
        let started = Instant::now();
        let result = self.inner.get(org, key, endpoint, limit).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(VapiError::InvalidKey) => "invalid_key",
            Err(VapiError::Unavailable(_)) => "unavailable",
            Err(VapiError::Unexpected(_)) => "unexpected",
        };
        self.metrics.observe(endpoint, outcome, started.elapsed());
        result
    }
}

impl Inner {
    async fn get(
        &self,
        org: &OrgId,
        key: &Secret,
        endpoint: &'static str,
        limit: u32,
    ) -> Result<Bytes, VapiError> {
        let started = Instant::now();
        let url = format!("{}{endpoint}?limit={limit}", self.base_url);
        // A key that cannot even be a header value cannot be a Vapi key.
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| VapiError::InvalidKey)?;
        auth.set_sensitive(true);

        let _slot = self.limits.acquire(org).await;
        let unavailable = || VapiError::Unavailable("the circuit breaker is open".into());
        let Outcome { result, status, attempts } =
            with_retries(&self.breaker, self.config.max_attempts, endpoint, unavailable, || {
                self.attempt(&url, &auth, key, endpoint)
            })
            .await;

        let latency_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::debug!(%org, endpoint, status, attempts, latency_ms, "Vapi call succeeded"),
            Err(VapiError::InvalidKey) => {
                tracing::debug!(%org, endpoint, status, attempts, latency_ms, "Vapi refused the org's key");
            }
            Err(error) => {
                tracing::warn!(%org, endpoint, status, attempts, latency_ms, %error, "Vapi call failed");
            }
        }
        result
    }

    async fn attempt(
        &self,
        url: &str,
        auth: &HeaderValue,
        key: &Secret,
        endpoint: &str,
    ) -> Tried<Bytes, VapiError> {
        let request = self.http.get(url).header(AUTHORIZATION, auth.clone()).send();
        let answered = tokio::time::timeout(self.config.call_timeout, async {
            let response = request.await?;
            let status = response.status();
            let headers = response.headers().clone();
            response.bytes().await.map(|body| (status, headers, body))
        })
        .await;
        let (status, headers, body) = match answered {
            Ok(Ok(answer)) => answer,
            Ok(Err(err)) if err.is_builder() => {
                let error =
                    VapiError::Unexpected(format!("GET {endpoint} could not be built: {}", chain(&err)));
                return Tried { health: None, status: None, next: Attempt::Done(Err(error)) };
            }
            Ok(Err(err)) => {
                let error = VapiError::Unavailable(format!("GET {endpoint} failed: {}", chain(&err)));
                return fault(error);
            }
            Err(_) => {
                let error = VapiError::Unavailable(format!(
                    "GET {endpoint} got no answer within {} ms",
                    self.config.call_timeout.as_millis()
                ));
                return fault(error);
            }
        };
        let next = decide(status, &headers, body, key, endpoint);
        Tried { health: Some(health(status)), status: Some(status.as_u16()), next }
    }
}

/// The provider did not answer: worth another attempt.
fn fault(error: VapiError) -> Tried<Bytes, VapiError> {
    Tried { health: Some(Health::Fault), status: None, next: Attempt::Retry { error, retry_after: None } }
}

fn decide(
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
    key: &Secret,
    endpoint: &str,
) -> Attempt<Bytes, VapiError> {
    let answered = |what: &str| format!("GET {endpoint} answered {}{what}", status.as_u16());
    match status {
        _ if status.is_success() => Attempt::Done(Ok(body)),
        StatusCode::UNAUTHORIZED => Attempt::Done(Err(VapiError::InvalidKey)),
        StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
            error: VapiError::Unavailable(answered(" (rate limited)")),
            retry_after: retry::retry_after(headers),
        },
        _ if status.is_server_error() => Attempt::Retry {
            error: VapiError::Unavailable(answered("")),
            retry_after: retry::retry_after(headers),
        },
        _ => Attempt::Done(Err(VapiError::Unexpected(answered(&format!(": {}", excerpt(&body, key)))))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        Secret::new("sk_private_abc".into())
    }

    #[test]
    fn calls_can_run_on_a_multi_threaded_runtime() {
        fn assert_send<T: Send>(_: T) {}
        let client = VapiClient::new(VapiConfig::default(), reqwest::Client::new());
        let org = OrgId::parse("org_a").unwrap();
        assert_send(client.assistants(&org, &key()));
        assert_send(client.check_key(&org, &key()));
    }

    #[test]
    fn only_rate_limits_and_server_errors_are_retried() {
        let retried = |status: u16| {
            let status = StatusCode::from_u16(status).unwrap();
            matches!(
                decide(status, &HeaderMap::new(), Bytes::new(), &key(), "/assistant"),
                Attempt::Retry { .. }
            )
        };
        assert!(retried(429) && retried(500) && retried(503));
        assert!(!retried(200) && !retried(400) && !retried(401) && !retried(403) && !retried(404));
    }

    #[test]
    fn an_unexpected_body_is_cut_short_and_never_shows_the_key() {
        let body =
            Bytes::from(format!("{{\"message\":\"bad sk_private_abc\",\"pad\":\"{}\"}}", "x".repeat(500)));
        let Attempt::Done(Err(error)) =
            decide(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, &key(), "/x")
        else {
            panic!("a 400 is final");
        };
        let text = error.to_string();
        assert!(text.contains("400") && text.contains("bad ***"), "{text}");
        assert!(!text.contains("sk_private_abc") && text.len() < 300, "{text}");
    }

    #[tokio::test]
    async fn a_key_that_cannot_be_a_header_is_refused_without_a_call() {
        let config = VapiConfig { base_url: "http://127.0.0.1:9".into(), ..VapiConfig::default() };
        let client = VapiClient::new(config, reqwest::Client::new());
        let org = OrgId::parse("org_a").unwrap();
        let result = client.check_key(&org, &Secret::new("bad\nkey".into())).await;
        assert!(matches!(result, Err(VapiError::InvalidKey)));
    }
}
