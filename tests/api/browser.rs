//! The widget in a real browser: headless Chromium (Debian's package) driven by Playwright
//! (`tests/browser/widget.mjs`) on a host page served from another origin, against the real
//! app. `scripts/test` installs both; where they are missing the test says so and is skipped,
//! so a machine without a browser never fails the suite.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::spawn_app_with;

const ORG: &str = "org_browser";
const WELCOME: &str = "Welcome to Acme! Ask us anything.";
const PHONE: &str = "+14155550123";
const NODE_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn the_widget_works_in_a_real_browser_on_a_customer_site() {
    let chromium = match browser_tools() {
        Ok(chromium) => chromium,
        Err(missing) => return say(&format!("SKIPPED browser test: {missing}; scripts/test installs it")),
    };
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
    let host_url = host.serve(&assist_url);
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");

    let run = tokio::process::Command::new("node")
        .arg("tests/browser/widget.mjs")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ASSIST_URL", &assist_url)
        .env("HOST_URL", &host_url)
        .env("ORG", ORG)
        .env("OPERATOR_TOKEN", &token)
        .env("WELCOME", WELCOME)
        .env("PRIMARY_RGB", "rgb(255, 85, 0)")
        .env("PHONE", PHONE)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NODE_TIMEOUT, run)
        .await
        .expect("the browser test finishes within 3 minutes")
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser test failed (its output is above)");
    for line in stdout.lines().filter(|l| l.starts_with("SKIPPED") || l.starts_with("screenshot")) {
        say(&format!("browser test: {line}"));
    }
}

#[tokio::test]
async fn the_widget_parses_an_event_stream_however_it_is_cut_into_chunks() {
    if !node_works() {
        return say("SKIPPED sse parser test: node is not installed");
    }
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

fn node_works() -> bool {
    std::process::Command::new("node").arg("--version").output().is_ok_and(|out| out.status.success())
}

/// Chromium, node and playwright-core, or what is missing.
fn browser_tools() -> Result<PathBuf, String> {
    let chromium =
        PathBuf::from(std::env::var("ASSIST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        return Err(format!("no Chromium at {} (Debian package `chromium`)", chromium.display()));
    }
    if !node_works() {
        return Err("node is not installed".into());
    }
    let playwright =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/playwright-core/package.json");
    if !playwright.exists() {
        return Err("playwright-core is not installed in tests/browser (npm ci there)".into());
    }
    Ok(chromium)
}

/// Straight to the terminal, past the test harness's capture: a skip must be seen.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
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
    fn serve(mut self, assist_url: &str) -> String {
        let page =
            include_str!("../browser/host.html").replace("{{assistUrl}}", assist_url).replace("{{org}}", ORG);
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
