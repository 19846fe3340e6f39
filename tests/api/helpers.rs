//! `spawn_app()`: the real thing, per test — its own nats-server (bundled config, random port),
//! a fresh `mem://` database and a loopback fake Clerk — plus typed request helpers.

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use assist::actors::ingest::IngestStats;
use assist::bus::embedded::{Credentials, NatsServer};
use assist::clock::Clock;
use assist::http::limits::{Rate, RateLimits};
use assist::{App, Config};
use reqwest::StatusCode;
use serde_json::Value;

use crate::fakes::clerk::FakeClerk;
use crate::fakes::openai::{FakeOpenAi, TEST_KEY};
use crate::fakes::vapi::FakeVapi;

/// The one browser origin test apps let call dashboard routes.
pub const DASHBOARD_ORIGIN: &str = "https://dashboard.acme.test";

/// The Clerk webhook signing secret every test app is configured with.
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub clerk: FakeClerk,
    pub vapi: FakeVapi,
    /// The AI provider: the app's `ai.base_url` points at it, with its key.
    pub openai: FakeOpenAi,
    pub nats_server: NatsServer,
    /// System ingest's counters.
    pub ingest: Arc<IngestStats>,
    pub tenants: assist::actors::Tenants,
    /// The app's wall clock: it stands still until a test advances it.
    pub clock: Clock,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// What `run_until_stopped` returned, once it has.
    stopped: Option<tokio::task::JoinHandle<Result<(), assist::AppError>>>,
    dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the config adjusted first (short idle timeouts and the like).
pub async fn spawn_app_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let nats_server =
        NatsServer::start(dir.path(), Credentials::random(), None).await.expect("nats-server starts");
    let clerk = FakeClerk::start().await;
    let vapi = FakeVapi::start().await;
    let openai = FakeOpenAi::start().await;
    let mut config = Config::embedded();
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.nats_url = Some(nats_server.backend_url());
    config.db = "mem://".into();
    config.data_dir = dir.path().to_owned();
    config.clerk = clerk.config();
    config.clerk_webhook_secret = Some(WEBHOOK_SECRET.into());
    config.ingest_ack_wait = Duration::from_secs(1);
    config.vapi.base_url = vapi.base_url();
    config.vapi.breaker_cooldown = Duration::from_millis(500);
    config.ai.base_url = openai.base_url();
    config.ai.api_key = Some(assist::crypto::Secret::new(TEST_KEY.into()));
    // Small vectors keep tests fast; the fake hashes words into any size.
    config.ai.embedding_dimensions = 256;
    config.ai.call_timeout = Duration::from_secs(2);
    config.ai.stream_idle_timeout = Duration::from_secs(2);
    config.ai.breaker_cooldown = Duration::from_millis(500);
    // Every test request comes from 127.0.0.1; the limits have tests of their own.
    let generous = Rate { per_second: 100_000.0, burst: 100_000.0 };
    config.widget_rate = RateLimits { per_client: generous, per_org: generous };
    config.dashboard_origins = vec![DASHBOARD_ORIGIN.into()];
    config.request_timeout = Duration::from_secs(5);
    let clock = Clock::manual("2026-01-15T09:00:00Z".parse().expect("a time"));
    config.clock = clock.clone();
    edit(&mut config);
    let app = App::build(config).await.expect("the app builds");
    let addr = app.http_addr();
    let tenants = app.tenants().clone();
    let ingest = app.ingest_stats();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        http: reqwest::Client::new(),
        clerk,
        vapi,
        openai,
        nats_server,
        ingest,
        tenants,
        clock,
        shutdown: Some(tx),
        stopped: Some(stopped),
        dir,
    }
}

/// Logs go to the test's captured output; `ASSIST_TEST_LOG=debug` shows more.
fn init_logs() {
    let filter = std::env::var("ASSIST_TEST_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter(filter).try_init();
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A status and a parsed JSON body (`Null` when the body is empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// Asks the app to shut down, as SIGTERM would.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Asks the app to shut down (as SIGTERM would) and returns what `run_until_stopped` did.
    pub async fn stop(&mut self) -> Result<(), assist::AppError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let stopped = self.stopped.take().expect("the app was stopped once");
        stopped.await.expect("run_until_stopped does not panic")
    }

    /// The app's temporary data dir.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Stops the app's nats-server (as an outage would) and starts it again on the same port
    /// with the same store; the app must reconnect by itself.
    pub async fn restart_nats(&mut self, while_down: impl AsyncFnOnce(&TestApp)) {
        let (port, credentials) = (self.nats_server.port(), self.nats_server.credentials().clone());
        // An unrelated server stands in for the field while the real one is down.
        let elsewhere = tempfile::tempdir().unwrap();
        let placeholder = NatsServer::start(elsewhere.path(), Credentials::random(), None).await.unwrap();
        std::mem::replace(&mut self.nats_server, placeholder).stop().await;
        while_down(self).await;
        let restarted =
            NatsServer::start(self.dir.path(), credentials, Some(port)).await.expect("nats-server restarts");
        std::mem::replace(&mut self.nats_server, restarted).stop().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A Clerk session token of an admin whose active org is `org`.
    pub fn token(&self, org: &str) -> String {
        self.clerk.token().org(org).role("org:admin").sign()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.expect("the edge answers")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(reqwest::Method::PUT, path, token, Some(body)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// A widget request: no JWT, the contact session token in `X-Contact-Session`.
    pub async fn widget(
        &self,
        method: reqwest::Method,
        path: &str,
        session: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(session) = session {
            request = request.header("X-Contact-Session", session);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.expect("the edge answers")).await
    }

    /// Makes `org` known (an operator's first request) so its widget routes answer.
    pub async fn known_org(&self, org: &str) {
        let seen = self.get(&format!("/v1/orgs/{org}/widget-settings"), Some(&self.token(org))).await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    }

    /// A new contact session in `org`: its id and token.
    pub async fn session(&self, org: &str, name: &str) -> (String, String) {
        let body = serde_json::json!({"name": name, "email": format!("{}@example.com", name.to_lowercase())});
        let created = self.post(&format!("/v1/widget/{org}/sessions"), None, &body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        (
            created.body["contactSessionId"].as_str().unwrap().to_owned(),
            created.body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// A new chat conversation of the session with `token`; its id.
    pub async fn conversation(&self, org: &str, token: &str) -> String {
        let created = self
            .widget(reqwest::Method::POST, &format!("/v1/widget/{org}/conversations"), Some(token), None)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["id"].as_str().unwrap().to_owned()
    }

    /// A NATS client logged in as the bundled config's backend user.
    pub async fn backend_nats(&self) -> async_nats::Client {
        assist::bus::connect(&self.nats_server.backend_url(), "test-backend", Duration::from_secs(5))
            .await
            .expect("backend user connects")
    }

    /// Like [`TestApp::public_nats`], with the server's permissions violations as they come.
    pub async fn public_nats_watched(&self) -> (async_nats::Client, Violations) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let public = async_nats::ConnectOptions::with_user_and_password(
            "public".into(),
            self.nats_server.credentials().public_password.clone(),
        )
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let event = event.to_string();
                if event.contains("Permissions Violation") {
                    let _ = tx.send(event);
                }
            }
        })
        .connect(format!("127.0.0.1:{}", self.nats_server.port()))
        .await
        .expect("public user connects");
        (public, Violations(rx))
    }

    /// A NATS client logged in as the public-only user other services get.
    pub async fn public_nats(&self) -> async_nats::Client {
        assist::bus::connect(&self.nats_server.public_url(), "test-public", Duration::from_secs(5))
            .await
            .expect("public user connects")
    }
}

/// The permissions violations a NATS server reported to one client, in order.
pub struct Violations(tokio::sync::mpsc::UnboundedReceiver<String>);

impl Violations {
    /// The next `n`, each within 5 s.
    pub async fn next(&mut self, n: usize) -> Vec<String> {
        let mut seen = Vec::with_capacity(n);
        while seen.len() < n {
            let next = tokio::time::timeout(Duration::from_secs(5), self.0.recv()).await;
            seen.push(next.expect("a violation within 5 s").expect("the client is open"));
        }
        seen
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, body, headers }
}

/// Polls `check` until it holds or `within` passes; readiness by polling, never by sleeping.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// Moves tokio's clock, which timers, the Vapi breaker and the actors' LRU stamps read, forward
/// by `by` at once instead of waiting it out. Tests run on a current-thread runtime, which may
/// pause its clock.
pub async fn advance_time(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

/// Valid settings different from the defaults.
pub fn custom_settings() -> Value {
    serde_json::json!({
        "welcomeMessage": "Welcome to Acme! Ask us anything.",
        "assistantId": null,
        "voice": "nova",
        "theme": {"primaryColor": "#ff5500", "position": "bottom-left", "mode": "dark"},
        "suggestions": ["Pricing", "Book a demo"],
        "phoneNumber": "+14155550123"
    })
}

/// Straight to the terminal, past the test harness's capture: a skip must be seen.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
