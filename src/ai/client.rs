//! [`AiClient`]: one per process, cloned freely. A call takes a slot of its org (held until a
//! streamed answer ends), then makes up to `max_attempts` attempts, each admitted by the shared
//! breaker and bounded by `call_timeout`. Retrying is safe: neither API changes anything.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::{AiConfig, AiError, AiMetrics, Api, chat, wire};
use crate::bus::ai::{ChatEvent, ChatRequest, EmbedReply, Usage};
use crate::crypto::Secret;
use crate::ids::OrgId;
use crate::upstream::{
    Attempt, Breaker, Health, OrgLimits, Outcome, Slot, Tried, chain, excerpt, health, retry, with_retries,
};

/// Characters per embeddings request: far below the providers' token budgets per request,
/// whatever the tokenizer, so a batch of long texts is split rather than refused.
const BATCH_CHARS: usize = 200_000;

#[derive(Clone)]
pub struct AiClient {
    inner: Arc<Inner>,
    metrics: AiMetrics,
}

struct Inner {
    config: AiConfig,
    base_url: String,
    http: reqwest::Client,
    breaker: Breaker,
    limits: OrgLimits,
}

/// What an attempt got: the status and headers, and either what `read` made of a success or
/// the body of a failure.
type Answered<T> = (StatusCode, HeaderMap, Result<T, Bytes>);

impl AiClient {
    /// `http` must have no overall timeout: a streamed answer may take longer than any one
    /// attempt, and is bounded by `stream_idle_timeout` instead.
    pub fn new(config: AiConfig, http: reqwest::Client) -> Self {
        let inner = Inner {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            breaker: Breaker::new("the AI provider", config.breaker_failures, config.breaker_cooldown),
            limits: OrgLimits::new(config.per_org_concurrency),
            config,
            http,
        };
        Self { inner: Arc::new(inner), metrics: AiMetrics::default() }
    }

    /// Records every call into `metrics` (the app's: `App::metrics().ai()`).
    pub fn with_metrics(mut self, metrics: AiMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// One vector per text, in order, each of `embedding_dimensions` entries. `own`: the org's
    /// own key, used instead of the deployment's.
    pub async fn embed(
        &self,
        org: &OrgId,
        own: Option<&Secret>,
        input: &[String],
    ) -> Result<EmbedReply, AiError> {
        let started = Instant::now();
        let result = self.inner.embed(org, own, input).await;
        self.metrics.observe(Api::Embeddings, &result.as_ref().map(|reply| reply.usage), started.elapsed());
        result
    }

    /// The answer as it is generated: deltas, then the tool calls, then `done`, or an error
    /// that ends it. Errors before the first byte (refusals, outages) come back at once.
    pub async fn chat(
        &self,
        org: &OrgId,
        own: Option<&Secret>,
        request: &ChatRequest,
    ) -> Result<BoxStream<'static, Result<ChatEvent, AiError>>, AiError> {
        let started = Instant::now();
        let result = self.inner.chat(org, own, request).await;
        let call = result.as_ref().map(|_| Usage::default());
        self.metrics.observe(Api::Chat, &call, started.elapsed());
        let (response, slot) = result?;
        let idle = self.inner.config.stream_idle_timeout;
        Ok(chat::events(response, idle, slot, org.clone(), self.metrics.clone()))
    }
}

impl Inner {
    async fn embed(
        &self,
        org: &OrgId,
        own: Option<&Secret>,
        input: &[String],
    ) -> Result<EmbedReply, AiError> {
        let key = self.key(own)?;
        let auth = auth(Api::Embeddings, key)?;
        let _slot = self.limits.acquire(org).await;
        let mut reply = EmbedReply { embeddings: Vec::with_capacity(input.len()), usage: Usage::default() };
        for batch in batches(input, self.config.embedding_batch) {
            let body = wire::embeddings_request(&self.config, batch);
            let answer = self.post(org, Api::Embeddings, (&auth, key), &body, Response::bytes).await?;
            let (vectors, usage) =
                wire::embeddings(&answer, batch.len(), self.config.embedding_dimensions)
                    .inspect_err(|error| tracing::warn!(%org, %error, "unusable embeddings"))?;
            reply.embeddings.extend(vectors);
            reply.usage += usage;
        }
        Ok(reply)
    }

    async fn chat(
        &self,
        org: &OrgId,
        own: Option<&Secret>,
        request: &ChatRequest,
    ) -> Result<(Response, Slot), AiError> {
        let key = self.key(own)?;
        let auth = auth(Api::Chat, key)?;
        let slot = self.limits.acquire(org).await;
        let body = wire::chat_request(&self.config, request);
        let response =
            self.post(org, Api::Chat, (&auth, key), &body, |response| async { Ok(response) }).await?;
        Ok((response, slot))
    }

    /// The org's own key when it has one, else the deployment's.
    fn key<'a>(&'a self, own: Option<&'a Secret>) -> Result<&'a Secret, AiError> {
        let set = |key: &&Secret| !key.expose().is_empty();
        own.filter(set).or(self.config.api_key.as_ref().filter(set)).ok_or(AiError::NotConfigured)
    }

    /// One call with its retries. `read` takes a successful response within the attempt's
    /// timeout: the whole body, or the response itself to stream from.
    async fn post<T, F>(
        &self,
        org: &OrgId,
        api: Api,
        (auth, key): (&HeaderValue, &Secret),
        body: &Value,
        read: impl Fn(Response) -> F,
    ) -> Result<T, AiError>
    where
        F: Future<Output = reqwest::Result<T>>,
    {
        let started = Instant::now();
        let path = path(api);
        let url = format!("{}{path}", self.base_url);
        let open = || AiError::Unavailable(api, "the circuit breaker is open".into());
        let Outcome { result, status, attempts } =
            with_retries(&self.breaker, self.config.max_attempts, path, open, || {
                self.attempt(api, &url, (auth, key), body, &read)
            })
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::debug!(%org, path, status, attempts, latency_ms, "AI provider call answered"),
            Err(error) => {
                tracing::warn!(%org, path, status, attempts, latency_ms, %error, "AI provider call failed");
            }
        }
        result
    }

    async fn attempt<T, F>(
        &self,
        api: Api,
        url: &str,
        (auth, key): (&HeaderValue, &Secret),
        body: &Value,
        read: &impl Fn(Response) -> F,
    ) -> Tried<T, AiError>
    where
        F: Future<Output = reqwest::Result<T>>,
    {
        let request = self.http.post(url).header(AUTHORIZATION, auth.clone()).json(body).send();
        let answered = tokio::time::timeout(self.config.call_timeout, async {
            let response = request.await?;
            let (status, headers) = (response.status(), response.headers().clone());
            if status.is_success() {
                return Ok((status, headers, Ok(read(response).await?)));
            }
            Ok::<Answered<T>, reqwest::Error>((status, headers, Err(response.bytes().await?)))
        })
        .await;
        let fault = |error| Tried {
            health: Some(Health::Fault),
            status: None,
            next: Attempt::Retry { error, retry_after: None },
        };
        let (status, headers, answer) = match answered {
            Ok(Ok(answered)) => answered,
            Ok(Err(err)) if err.is_builder() => {
                let error =
                    AiError::Unavailable(api, format!("the request could not be built: {}", chain(&err)));
                return Tried { health: None, status: None, next: Attempt::Done(Err(error)) };
            }
            Ok(Err(err)) => {
                return fault(AiError::Unavailable(api, format!("the request failed: {}", chain(&err))));
            }
            Err(_) => {
                let ms = self.config.call_timeout.as_millis();
                return fault(AiError::Unavailable(api, format!("no answer within {ms} ms")));
            }
        };
        let next = decide(api, status, &headers, answer, key.expose());
        Tried { health: Some(health(status)), status: Some(status.as_u16()), next }
    }
}

fn auth(api: Api, key: &Secret) -> Result<HeaderValue, AiError> {
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        .map_err(|_| AiError::Refused(api, "the key cannot be sent in a header".into()))?;
    auth.set_sensitive(true);
    Ok(auth)
}

fn path(api: Api) -> &'static str {
    match api {
        Api::Embeddings => "/embeddings",
        Api::Chat => "/chat/completions",
    }
}

fn decide<T>(
    api: Api,
    status: StatusCode,
    headers: &HeaderMap,
    answer: Result<T, Bytes>,
    key: &str,
) -> Attempt<T, AiError> {
    let code = status.as_u16();
    let body = match answer {
        Ok(answer) => return Attempt::Done(Ok(answer)),
        Err(body) => body,
    };
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Attempt::Done(Err(AiError::Refused(
            api,
            format!("it does not accept the deployment's key ({code}); check ASSIST_AI_API_KEY"),
        ))),
        StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
            error: AiError::Unavailable(api, format!("it kept answering {code} (rate limited)")),
            retry_after: retry::retry_after(headers),
        },
        _ if status.is_server_error() => Attempt::Retry {
            error: AiError::Unavailable(api, format!("it answered {code}")),
            retry_after: retry::retry_after(headers),
        },
        _ => Attempt::Done(Err(AiError::Refused(api, format!("{code}: {}", reason(&body, key))))),
    }
}

/// The provider's own `error.message` when it sent one, else the start of the body; the key
/// blanked out either way.
fn reason(body: &[u8], key: &str) -> String {
    let key = Secret::new(key.to_owned());
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.pointer("/error/message").and_then(Value::as_str).map(str::to_owned));
    match message {
        Some(message) => excerpt(message.as_bytes(), &key),
        None => excerpt(body, &key),
    }
}

/// Consecutive runs of at most `most` texts and about [`BATCH_CHARS`] characters (a longer
/// text goes alone).
fn batches(input: &[String], most: usize) -> Vec<&[String]> {
    let mut batches = Vec::new();
    let (mut start, mut chars) = (0, 0);
    for (at, text) in input.iter().enumerate() {
        let full = at - start >= most.max(1) || (at > start && chars + text.len() > BATCH_CHARS);
        if full {
            batches.push(&input[start..at]);
            (start, chars) = (at, 0);
        }
        chars += text.len();
    }
    if start < input.len() {
        batches.push(&input[start..]);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_batched_by_count_and_by_size() {
        let short: Vec<String> = (0..5).map(|i| format!("text {i}")).collect();
        let sizes = |batches: Vec<&[String]>| batches.iter().map(|b| b.len()).collect::<Vec<_>>();
        assert_eq!(sizes(batches(&short, 2)), vec![2, 2, 1]);
        assert_eq!(sizes(batches(&short, 96)), vec![5]);
        assert!(batches(&[], 96).is_empty());
        let long = vec!["x".repeat(BATCH_CHARS - 10), "y".repeat(20), "z".repeat(BATCH_CHARS * 2)];
        assert_eq!(sizes(batches(&long, 96)), vec![1, 1, 1]);
    }

    #[test]
    fn refusals_are_final_and_never_show_the_key() {
        let refused = |status: u16, body: &str| {
            let status = StatusCode::from_u16(status).unwrap();
            let answer: Result<(), _> = Err(Bytes::from(body.to_owned()));
            match decide(Api::Embeddings, status, &HeaderMap::new(), answer, "sk-secret") {
                Attempt::Done(Err(error)) => error.to_string(),
                _ => panic!("{status} is final"),
            }
        };
        let key = refused(401, r#"{"error":{"message":"Incorrect API key provided: sk-secret"}}"#);
        assert!(key.contains("ASSIST_AI_API_KEY") && !key.contains("sk-secret"), "{key}");
        let model = refused(400, r#"{"error":{"message":"The model `x` does not exist for sk-secret"}}"#);
        assert_eq!(model, "the embedding provider refused: 400: The model `x` does not exist for ***");
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried() {
        let retried = |status: u16| {
            let status = StatusCode::from_u16(status).unwrap();
            let answer = if status.is_success() { Ok(()) } else { Err(Bytes::new()) };
            matches!(decide(Api::Chat, status, &HeaderMap::new(), answer, "k"), Attempt::Retry { .. })
        };
        assert!(retried(429) && retried(500) && retried(503));
        assert!(!retried(200) && !retried(400) && !retried(401) && !retried(403) && !retried(404));
    }
}
