//! The widget, the API docs and the console (`console`) in a real browser: headless Chromium
//! (Debian's package) driven by Playwright (`tests/browser/*.mjs`) against the real app, the
//! widget on a host page served from another origin. `scripts/test` installs both. Where they
//! are missing the tests fail saying what is missing; `ASSIST_SKIP_BROWSER=1 scripts/test` leaves
//! them out of the run and says so.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;

use crate::fakes::openai::Script;
use crate::helpers::{say, spawn_app, spawn_app_with};

mod console;

const ORG: &str = "org_browser";
const WELCOME: &str = "Welcome to Acme! Ask us anything.";
const PHONE: &str = "+14155550123";
const NODE_TIMEOUT: Duration = Duration::from_secs(180);
/// How `scripts/test` is told to leave these tests out.
const SKIP: &str = "ASSIST_SKIP_BROWSER=1 scripts/test";

#[tokio::test]
async fn the_widget_works_in_a_real_browser_on_a_customer_site() {
    let chromium = browser_tools();
    let host = HostSite::bind().await;
    let app = spawn_app_with(|config| {
        config.widget.vapi_web_sdk_url = format!("{}/fake-vapi.mjs", host.url());
    })
    .await;
    let assist_url = format!("http://{}", app.addr);
    let token = app.token(ORG);
    let settings = json!({
        "welcomeMessage": WELCOME,
        "voice": "nova",
        "theme": {"primaryColor": "#ff5500", "position": "bottom-right", "mode": "light"},
        "suggestions": ["Shipping", "Returns"],
        "phoneNumber": PHONE
    });
    let saved = app.put(&format!("/v1/orgs/{ORG}/widget-settings"), Some(&token), &settings).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let host_url = host.serve(&assist_url, ORG);

    run_script(
        "tests/browser/widget.mjs",
        &chromium,
        &[
            ("ASSIST_URL", assist_url.as_str()),
            ("HOST_URL", &host_url),
            ("ORG", ORG),
            ("OPERATOR_TOKEN", &token),
            ("WELCOME", WELCOME),
            ("PRIMARY_RGB", "rgb(255, 85, 0)"),
            ("PHONE", PHONE),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_agents_answer_streams_into_the_widget_then_it_hands_off_in_a_real_browser() {
    let chromium = browser_tools();
    let host = HostSite::bind().await;
    let app = spawn_app_with(|config| {
        config.widget.vapi_web_sdk_url = format!("{}/fake-vapi.mjs", host.url());
    })
    .await;
    crate::agent::agent_org(&app).await;
    let answer = "You can return any unused item within 45 days of delivery, and we refund you in full.";
    let pieces = answer.split_inclusive(' ').map(str::to_owned).collect();
    app.openai.script(Script::Text { pieces, delay: Duration::from_millis(120) });
    app.openai.script(Script::tool_call("handoff", json!({"reason": "asked for a person"})));
    let assist_url = format!("http://{}", app.addr);
    let host_url = host.serve(&assist_url, crate::agent::ORG);

    run_script(
        "tests/browser/agent.mjs",
        &chromium,
        &[("ASSIST_URL", assist_url.as_str()), ("HOST_URL", &host_url), ("ANSWER", answer)],
    )
    .await;
}

#[tokio::test]
async fn the_docs_page_lists_every_operation_in_a_real_browser() {
    let chromium = browser_tools();
    let app = spawn_app().await;
    let assist_url = format!("http://{}", app.addr);

    run_script("tests/browser/docs.mjs", &chromium, &[("ASSIST_URL", assist_url.as_str())]).await;
}

#[tokio::test]
async fn the_widget_parses_an_event_stream_however_it_is_cut_into_chunks() {
    assert!(node_works(), "the sse parser test needs node (Debian package `nodejs`); `{SKIP}` leaves it out");
    let output = tokio::process::Command::new("node")
        .arg("tests/browser/sse-parser.mjs")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .expect("node starts");
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{printed}");
}

/// Runs a Playwright script with `env`, Chromium and a screenshots directory; fails the test
/// when the script does, and prints its screenshots' paths past the harness's capture.
async fn run_script(script: &str, chromium: &Path, env: &[(&str, &str)]) {
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let run = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(env.iter().copied())
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NODE_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("{script} finishes within {NODE_TIMEOUT:?}"))
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{script} failed (its output is above)");
    for line in stdout.lines().filter(|l| l.starts_with("screenshot")) {
        say(&format!("{script}: {line}"));
    }
}

fn node_works() -> bool {
    std::process::Command::new("node").arg("--version").output().is_ok_and(|out| out.status.success())
}

/// Chromium, once node and playwright-core are there too; `None` when opted out. Anything
/// missing fails the test, naming it.
fn browser_tools() -> PathBuf {
    let chromium =
        PathBuf::from(std::env::var("ASSIST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let playwright =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/playwright-core/package.json");
    let missing = if !chromium.exists() {
        format!("no Chromium at {} (Debian package `chromium`, or ASSIST_CHROMIUM)", chromium.display())
    } else if !node_works() {
        "node is not installed (Debian package `nodejs`)".to_owned()
    } else if !playwright.exists() {
        "playwright-core is not installed in tests/browser (`npm ci` there)".to_owned()
    } else {
        return chromium;
    };
    panic!("the browser test cannot run: {missing}. scripts/test installs it; `{SKIP}` leaves it out");
}

/// The customer's site: a page embedding the widget, and a stand-in for Vapi's SDK (a CDN's
/// module, so it allows any origin). On 127.0.0.2, so it is another site than assist's
/// 127.0.0.1, as a real embedding is (third-party iframe, partitioned storage).
struct HostSite {
    listener: Option<TcpListener>,
    addr: SocketAddr,
}

impl HostSite {
    async fn bind() -> Self {
        let listener = match TcpListener::bind("127.0.0.2:0").await {
            Ok(listener) => listener,
            Err(_) => TcpListener::bind("127.0.0.1:0").await.expect("bind the host site"),
        };
        let addr = listener.local_addr().expect("host site address");
        Self { listener: Some(listener), addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves the page (embedding the widget from `assist_url`) until the test ends; its URL.
    fn serve(mut self, assist_url: &str, org: &str) -> String {
        let page =
            include_str!("../browser/host.html").replace("{{assistUrl}}", assist_url).replace("{{org}}", org);
        let sdk = include_str!("../browser/fake-vapi.mjs");
        let app = Router::new().route("/", get(move || async move { Html(page) })).route(
            "/fake-vapi.mjs",
            get(move || async move {
                let headers =
                    [(header::CONTENT_TYPE, "text/javascript"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
                (headers, sdk).into_response()
            }),
        );
        let listener = self.listener.take().expect("served once");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve the host site") });
        format!("{}/", self.url())
    }
}
