//! A loopback Vapi that follows Vapi's documented REST API: bearer private
//! keys, bare JSON arrays from list endpoints, `limit` (default 100, at most 1000) and the
//! `createdAtGt`/`createdAtLt` window, Vapi's exact 401 body, and NestJS-style 400s. Faults are
//! injected on demand: failing statuses, slow answers; it counts what it was asked.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{InFlight, Server};

/// Vapi's answer to a wrong or missing key, byte for byte.
pub const INVALID_KEY_BODY: &str = r#"{"message":"Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.","error":"Unauthorized","statusCode":401}"#;
/// The Vapi org that owns every object of the fake.
pub const VAPI_ORG_ID: &str = "8f2b0c4e-7d1a-4c55-9b3e-2f6a1d0e9c77";

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

pub struct FakeVapi {
    server: Server,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<FakeState>,
    requests: AtomicUsize,
    in_flight: Arc<InFlight>,
}

#[derive(Default)]
struct FakeState {
    keys: Vec<String>,
    assistants: Vec<Value>,
    phone_numbers: Vec<Value>,
    /// The next `.0` requests are answered with status `.1`, whatever they ask.
    failures: (u32, u16),
    delay: Duration,
}

#[derive(Clone, Copy)]
enum Resource {
    Assistants,
    PhoneNumbers,
}

impl FakeVapi {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/assistant", get(assistants))
            .route("/phone-number", get(phone_numbers))
            .with_state(Arc::clone(&shared));
        Self { server: Server::start(app, "the fake Vapi").await, shared }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.shared.state.lock().expect("fake Vapi state")
    }

    /// A private key the fake accepts as `Authorization: Bearer <key>`.
    pub fn add_key(&self, private_key: &str) {
        self.state().keys.push(private_key.to_owned());
    }

    /// Stores a full Vapi assistant object (see [`sample_assistant`]); returns its `id`.
    pub fn add_assistant(&self, assistant: Value) -> String {
        let id = assistant["id"].as_str().unwrap_or_default().to_owned();
        self.state().assistants.push(assistant);
        id
    }

    /// Stores a full Vapi phone-number object (see [`sample_twilio_number`]); returns its `id`.
    pub fn add_phone_number(&self, phone_number: Value) -> String {
        let id = phone_number["id"].as_str().unwrap_or_default().to_owned();
        self.state().phone_numbers.push(phone_number);
        id
    }

    /// The next `count` requests get `status` (a 429 carries `Retry-After: 1`).
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().failures = (count, status);
    }

    /// Every answer from now on waits this long first; `Duration::ZERO` restores speed.
    pub fn delay(&self, delay: Duration) {
        self.state().delay = delay;
    }

    /// Requests received so far, answered or not.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The most requests that were ever being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.shared.in_flight.most()
    }
}

/// An assistant as Vapi returns it, with the fields assist must not pass on (prompt, server).
pub fn sample_assistant(name: &str) -> Value {
    let now = timestamp(Utc::now());
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "orgId": VAPI_ORG_ID,
        "name": name,
        "firstMessage": format!("Hi, this is {name}. How can I help?"),
        "model": {
            "provider": "openai",
            "model": "gpt-4o",
            "temperature": 0.7,
            "messages": [{"role": "system", "content": "You are a helpful receptionist. Internal note: VIP code 7731."}]
        },
        "voice": {"provider": "11labs", "voiceId": "burt"},
        "transcriber": {"provider": "deepgram", "model": "nova-2", "language": "en"},
        "server": {"url": "https://hooks.example.com/vapi", "credentialId": "cred_5e1f", "timeoutSeconds": 20},
        "metadata": {"team": "support"},
        "isServerUrlSecretSet": false,
        "createdAt": now,
        "updatedAt": now
    })
}

/// A Twilio number as Vapi returns it, provider credentials included.
pub fn sample_twilio_number(number: &str, assistant_id: Option<&str>) -> Value {
    let now = timestamp(Utc::now());
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "orgId": VAPI_ORG_ID,
        "provider": "twilio",
        "number": number,
        "name": "Main line",
        "status": "active",
        "assistantId": assistant_id,
        "twilioAccountSid": "AC0123456789abcdef0123456789abcdef",
        "twilioAuthToken": "twilio-auth-token-do-not-leak",
        "twilioApiKey": "SK0123456789abcdef0123456789abcdef",
        "twilioApiSecret": "twilio-api-secret-do-not-leak",
        "createdAt": now,
        "updatedAt": now
    })
}

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn assistants(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Response {
    list(&shared, Resource::Assistants, &headers, &query).await
}

async fn phone_numbers(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Response {
    list(&shared, Resource::PhoneNumbers, &headers, &query).await
}

async fn list(
    shared: &Shared,
    resource: Resource,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let _in_flight = shared.in_flight.enter();
    let delay = shared.state.lock().expect("fake Vapi state").delay;
    tokio::time::sleep(delay).await;

    let (failure, authorized, items) = {
        let mut state = shared.state.lock().expect("fake Vapi state");
        let failure = match state.failures {
            (0, _) => None,
            (left, status) => {
                state.failures = (left - 1, status);
                Some(status)
            }
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let authorized = bearer.is_some_and(|key| state.keys.iter().any(|known| known == key));
        let items = match resource {
            Resource::Assistants => state.assistants.clone(),
            Resource::PhoneNumbers => state.phone_numbers.clone(),
        };
        (failure, authorized, items)
    };

    if let Some(status) = failure {
        return injected_failure(status);
    }
    if !authorized {
        return json_response(StatusCode::UNAUTHORIZED, INVALID_KEY_BODY.to_owned());
    }
    match select(items, query) {
        Ok(items) => json_response(StatusCode::OK, Value::Array(items).to_string()),
        Err(problem) => json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": [problem], "error": "Bad Request", "statusCode": 400}).to_string(),
        ),
    }
}

/// Applies `limit` and the creation window the way Vapi does: newest first.
fn select(mut items: Vec<Value>, query: &HashMap<String, String>) -> Result<Vec<Value>, String> {
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => {
            let value: i64 = raw
                .parse()
                .map_err(|_| "limit must be a number conforming to the specified constraints".to_owned())?;
            if value < 0 {
                return Err("limit must not be less than 0".into());
            }
            if value > MAX_LIMIT {
                return Err(format!("limit must not be greater than {MAX_LIMIT}"));
            }
            value
        }
    };
    let created_at = |item: &Value| item["createdAt"].as_str().and_then(parse_date);
    for (name, keep_after) in [("createdAtGt", true), ("createdAtLt", false)] {
        if let Some(raw) = query.get(name) {
            let bound = parse_date(raw).ok_or_else(|| format!("{name} must be a Date instance"))?;
            items.retain(|item| {
                created_at(item).is_some_and(|at| if keep_after { at > bound } else { at < bound })
            });
        }
    }
    items.sort_by_key(|item| std::cmp::Reverse(created_at(item)));
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(items)
}

fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).ok().map(|at| at.with_timezone(&Utc))
}

fn injected_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).expect("an HTTP status to inject");
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "ThrottlerException: Too Many Requests",
        StatusCode::INTERNAL_SERVER_ERROR => "Internal server error",
        other => other.canonical_reason().unwrap_or("Error"),
    };
    let mut response =
        json_response(status, json!({"message": message, "statusCode": status.as_u16()}).to_string());
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}
