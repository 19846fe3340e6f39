//! A loopback OpenAI-compatible API following OpenAI's reference: `POST /v1/embeddings` (`input`
//! a string or an array of strings, `model`, `dimensions`, `encoding_format` float) and
//! `POST /v1/chat/completions` (streamed as `chat.completion.chunk` server-sent events ending
//! in `data: [DONE]`, usage in a last chunk when `stream_options.include_usage`; or whole).
//! Bearer keys are checked with OpenAI's 401 body. Embeddings are deterministic: hashed words
//! and word pairs, signed, L2-normalized, so texts sharing words score close. Chat answers
//! come from a script ([`Script`]), else a default that quotes the first source of the prompt.
//! Faults on demand; every request is recorded.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::{InFlight, Server, openai_answers};

/// The key every test app is configured with.
pub const TEST_KEY: &str = "sk-test-4f1c9a2e7b6d5c3a";

pub struct FakeOpenAi {
    server: Server,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<FakeState>,
    in_flight: Arc<InFlight>,
}

#[derive(Default)]
struct FakeState {
    key: String,
    requests: Vec<Recorded>,
    /// The next `.0` requests of either endpoint get status `.1`, with `Retry-After: .2`.
    failures: (u32, u16, Option<u64>),
    embeddings: EmbeddingMode,
    script: VecDeque<Script>,
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    /// The `Authorization` header as sent, if any.
    pub authorization: Option<String>,
    pub body: Value,
}

/// How `/v1/embeddings` answers from now on.
#[derive(Clone, Debug, Default)]
pub enum EmbeddingMode {
    #[default]
    Normal,
    /// Waits this long before answering.
    Slow(Duration),
    /// 200 with a body that is not an embedding list.
    Malformed,
    /// One vector fewer than inputs.
    MissingVector,
    /// Vectors of this many entries, whatever was asked.
    Dimensions(usize),
}

/// One scripted chat answer, taken in order; when none is left, the default answer.
#[derive(Clone, Debug)]
pub enum Script {
    /// The text streamed in these pieces, `delay` before each.
    Text { pieces: Vec<String>, delay: Duration },
    /// Optional text, then calls of these tools with these arguments (raw, sent in fragments;
    /// not JSON on purpose if a test wants garbage).
    ToolCalls { text: String, calls: Vec<(String, String)> },
    /// A status (429, 500, 401…) with an OpenAI error body and an optional `Retry-After`.
    Status { status: u16, retry_after: Option<u64> },
    /// No answer at all, not even headers.
    Stall,
    /// These pieces, then silence with the connection open.
    StallAfter(Vec<String>),
    /// An event whose data is not JSON.
    Malformed,
    /// These pieces, then the connection closes without `[DONE]`.
    CutAfter(Vec<String>),
}

impl Script {
    /// `text` split after each space, streamed without pauses.
    pub fn text(text: &str) -> Self {
        Self::Text { pieces: openai_answers::words(text), delay: Duration::ZERO }
    }

    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::ToolCalls { text: String::new(), calls: vec![(name.to_owned(), arguments.to_string())] }
    }
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        shared.state.lock().unwrap().key = TEST_KEY.to_owned();
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/chat/completions", post(chat))
            .with_state(Arc::clone(&shared));
        Self { server: Server::start(app, "the fake OpenAI").await, shared }
    }

    /// What `ASSIST_AI_BASE_URL` is set to.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.shared.state.lock().expect("fake OpenAI state")
    }

    /// The next `count` requests (either endpoint) get `status`, with `Retry-After` if given.
    pub fn fail_next(&self, count: u32, status: u16, retry_after: Option<u64>) {
        self.state().failures = (count, status, retry_after);
    }

    pub fn embeddings_mode(&self, mode: EmbeddingMode) {
        self.state().embeddings = mode;
    }

    /// Queues a chat answer.
    pub fn script(&self, answer: Script) {
        self.state().script.push_back(answer);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// The bodies of the requests to one path (`/v1/embeddings`, `/v1/chat/completions`).
    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.state().requests.iter().filter(|r| r.path == path).map(|r| r.body.clone()).collect()
    }

    /// The most requests that were ever being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.shared.in_flight.most()
    }
}

/// The fake's vector for `text` with `dimensions` entries, as `/v1/embeddings` returns it.
pub fn embedding(text: &str, dimensions: usize) -> Vec<f32> {
    openai_answers::embedding(text, dimensions)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Records the request, checks its key and answers any failure set up; `Ok` with the body
/// when the endpoint should answer.
fn admit(shared: &Shared, path: &str, headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut state = shared.state.lock().unwrap();
    let recorded = parsed.clone().unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into()));
    state.requests.push(Recorded {
        path: path.to_owned(),
        authorization: authorization.clone(),
        body: recorded,
    });
    match authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")) {
        None => {
            return Err(error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            ));
        }
        Some(key) if key != state.key => {
            let shown = format!("{}***{}", &key[..key.len().min(3)], &key[key.len().saturating_sub(2)..]);
            let message = format!(
                "Incorrect API key provided: {shown}. You can find your API key at https://platform.openai.com/account/api-keys."
            );
            return Err(error(401, &message, "invalid_request_error", Some("invalid_api_key")));
        }
        Some(_) => {}
    }
    if state.failures.0 > 0 {
        state.failures.0 -= 1;
        let (_, status, retry_after) = state.failures;
        return Err(failure(status, retry_after));
    }
    parsed.ok_or_else(|| {
        error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
    })
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn failure(status: u16, retry_after: Option<u64>) -> Response {
    let (message, kind) = match status {
        429 => ("Rate limit reached for requests", "requests"),
        401 => ("Incorrect API key provided.", "invalid_request_error"),
        _ if status >= 500 => ("The server had an error while processing your request.", "server_error"),
        _ => ("Invalid request.", "invalid_request_error"),
    };
    let mut response = error(status, message, kind, None);
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

async fn embeddings(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = shared.in_flight.enter();
    let request = match admit(&shared, "/v1/embeddings", &headers, &body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let mode = shared.state.lock().unwrap().embeddings.clone();
    if let EmbeddingMode::Slow(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    match openai_answers::embeddings(&request, &mode) {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(message) => error(400, &message, "invalid_request_error", None),
    }
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let in_flight = shared.in_flight.enter();
    let request = match admit(&shared, "/v1/chat/completions", &headers, &body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    if let Err(message) = openai_answers::check_chat(&request) {
        return error(400, &message, "invalid_request_error", None);
    }
    let script = shared.state.lock().unwrap().script.pop_front();
    let pieces = match script {
        Some(Script::Status { status, retry_after }) => return failure(status, retry_after),
        Some(Script::Stall) => {
            tokio::time::sleep(openai_answers::STALL).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        other => openai_answers::pieces(&request, other),
    };
    if request["stream"] != json!(true) {
        return (StatusCode::OK, axum::Json(openai_answers::whole(&request, &pieces))).into_response();
    }
    let events = openai_answers::events(&request, pieces);
    let stream = futures::stream::unfold((events, in_flight), |(mut events, in_flight)| async move {
        let (delay, data) = events.pop_front()?;
        tokio::time::sleep(delay).await;
        Some((Ok::<_, Infallible>(Bytes::from(data)), (events, in_flight)))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}
