//! The operator console as the edge serves it: its files and their Content-Security-Policy, the
//! sign-ins it offers, and the demo sign-in, which exists only with `--demo` and only for a
//! browser on the machine assist runs on. The console in a browser: `browser::console`.

use assist::auth::ClerkConfig;
use assist::console::PublishableKey;
use reqwest::StatusCode;
use reqwest::header::HOST;
use serde_json::Value;

use crate::helpers::{TestApp, answer, spawn_app, spawn_app_with};

/// base64("clerk.console.test$"): a Clerk instance whose Frontend API is clerk.console.test.
pub const PUBLISHABLE_KEY: &str = "pk_test_Y2xlcmsuY29uc29sZS50ZXN0JA";

async fn demo_session(app: &TestApp, host: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.post(app.url("/console/demo-session"));
    if let Some(host) = host {
        request = request.header(HOST, host);
    }
    let answer = answer(request.send().await.unwrap()).await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn the_console_page_runs_only_assists_own_files_without_clerk() {
    let app = spawn_app().await;

    let page = app.http.get(app.url("/console")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();

    assert!(policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(html.contains(r#"<script type="module" src="/console/app.js">"#), "{html}");
    assert!(!html.contains("<script>") && !html.contains("style="), "nothing inline: {html}");
    let config = app.get("/console/config.json", None).await;
    assert_eq!(
        config.body,
        serde_json::json!({"clerkPublishableKey": null, "clerkFrontendApi": null, "demo": false})
    );
}

#[tokio::test]
async fn with_a_publishable_key_the_page_may_load_clerkjs_from_its_frontend_api_and_nothing_else() {
    let key = PublishableKey::parse(PUBLISHABLE_KEY).unwrap();
    let app = spawn_app_with(|config| config.clerk_publishable_key = Some(key)).await;

    let page = app.http.get(app.url("/console")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let config = app.get("/console/config.json", None).await;

    assert!(
        policy.contains("script-src 'self' https://clerk.console.test https://challenges.cloudflare.com;"),
        "{policy}"
    );
    assert!(policy.contains("connect-src 'self' https://clerk.console.test;"), "{policy}");
    assert!(!policy.contains("'unsafe-eval'") && !policy.contains(" *"), "{policy}");
    assert_eq!(config.body["clerkPublishableKey"], PUBLISHABLE_KEY);
    assert_eq!(config.body["clerkFrontendApi"], "https://clerk.console.test");
}

#[tokio::test]
async fn every_module_the_console_imports_is_served() {
    let app = spawn_app().await;

    let mut pending = vec!["/console/app.js".to_owned()];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        if seen.contains(&path) {
            continue;
        }
        let file = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{path}");
        assert_eq!(file.headers()["content-type"], "text/javascript; charset=utf-8", "{path}");
        let text = file.text().await.unwrap();
        for quoted in text.split("'./").skip(1) {
            let name = quoted.split('\'').next().unwrap();
            pending.push(format!("/console/{name}"));
        }
        seen.push(path);
    }
    assert!(seen.len() >= 10, "{seen:?}");
    let css = app.http.get(app.url("/console/console.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_demo_there_is_no_way_in_without_clerk() {
    let app = spawn_app().await;

    let (status, body) = demo_session(&app, None).await;
    let widget_settings = app.get("/v1/orgs/org_demo/widget-settings", Some("demo_0123456789abcdef")).await;

    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(widget_settings.status, StatusCode::UNAUTHORIZED, "{}", widget_settings.body);
}

#[tokio::test]
async fn with_demo_a_loopback_browser_gets_an_admin_of_the_demo_org_and_of_no_other() {
    let app = spawn_app_with(|config| {
        config.widget.demo = true;
        // A newcomer's `serve --demo` has no Clerk at all.
        config.clerk = ClerkConfig::default();
    })
    .await;

    let config = app.get("/console/config.json", None).await;
    let (status, session) = demo_session(&app, None).await;
    let token = session["token"].as_str().unwrap();
    let settings = app.get("/v1/orgs/org_demo/widget-settings", Some(token)).await;
    let ticket = app.post("/v1/orgs/org_demo/events/tickets", Some(token), &serde_json::json!({})).await;
    let elsewhere = app.get("/v1/orgs/org_other/widget-settings", Some(token)).await;

    assert_eq!(config.body["demo"], true);
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["organizationId"], "org_demo");
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "{}", elsewhere.body);
}

#[tokio::test]
async fn with_demo_a_page_reached_under_another_host_name_gets_no_demo_session() {
    let app = spawn_app_with(|config| config.widget.demo = true).await;

    // What a page on a DNS name rebound to 127.0.0.1 would send.
    let (status, body) = demo_session(&app, Some("attacker.example:8080")).await;
    let config = app.http.get(app.url("/console/config.json")).header(HOST, "attacker.example").send().await;
    let config = answer(config.unwrap()).await;

    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("loopback"), "{body}");
    assert_eq!(config.body["demo"], false);
}
