//! What protects the edge: rate limits on anonymous routes, CORS per audience, security headers.

use assist::http::limits::{Rate, RateLimits};
use reqwest::StatusCode;

use crate::helpers::{DASHBOARD_ORIGIN, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.widget_rate = RateLimits {
            per_client: Rate { per_second: 1.0, burst: 3.0 },
            per_org: Rate { per_second: 1000.0, burst: 1000.0 },
        }
    })
    .await;

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.get("/v1/widget/org_acme/settings", None).await);
    }

    assert!(statuses[..3].iter().all(|a| a.status == StatusCode::NOT_FOUND), "the burst passes");
    let limited = &statuses[3];
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_code(), "rate_limited");
    assert_eq!(limited.headers["retry-after"], "1");
    let dashboard = app.get("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme"))).await;
    assert_eq!(dashboard.status, StatusCode::OK, "dashboard routes are not limited this way");
}

#[tokio::test]
async fn an_organization_over_its_rate_gets_429_while_others_go_on() {
    let app = spawn_app_with(|c| {
        c.widget_rate = RateLimits {
            per_client: Rate { per_second: 1000.0, burst: 1000.0 },
            per_org: Rate { per_second: 1.0, burst: 2.0 },
        }
    })
    .await;

    for _ in 0..2 {
        app.get("/v1/widget/org_busy/settings", None).await;
    }
    let busy = app.get("/v1/widget/org_busy/settings", None).await;
    let other = app.get("/v1/widget/org_calm/settings", None).await;

    assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other.status, StatusCode::NOT_FOUND, "another org is not affected");
}

async fn preflight(app: &crate::helpers::TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn widget_routes_allow_any_origin_and_dashboard_routes_only_configured_ones() {
    let app = spawn_app().await;

    let widget = preflight(&app, "/v1/widget/org_acme/settings", "https://shop.example").await;
    let allowed = preflight(&app, "/v1/orgs/org_acme/widget-settings", DASHBOARD_ORIGIN).await;
    let refused = preflight(&app, "/v1/orgs/org_acme/widget-settings", "https://evil.example").await;

    assert_eq!(widget.headers()["access-control-allow-origin"], "*");
    assert!(widget.headers().get("access-control-allow-credentials").is_none());
    assert!(widget.headers().get("vary").is_none(), "the widget's answer is the same for every origin");
    assert_eq!(allowed.headers()["access-control-allow-origin"], DASHBOARD_ORIGIN);
    let vary = allowed.headers()["vary"].to_str().unwrap();
    assert!(vary.contains("origin"), "a dashboard answer depends on the origin: {vary}");
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;

    for path in ["/healthz", "/v1/widget/org_acme/settings", "/nowhere"] {
        let answer = app.get(path, None).await;
        assert_eq!(answer.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(answer.headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(answer.headers["referrer-policy"], "no-referrer", "{path}");
        assert!(answer.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    }
}

const INJECTIONS: [&str; 8] = [
    "'; DELETE conversations; --",
    "\"; REMOVE TABLE messages; \"",
    "$org",
    "org_a' OR org = 'org_b",
    "⟨org_b⟩",
    "conversations:⟨x⟩",
    "{ \"$ne\": null }",
    "1; UPDATE contact_sessions SET expires_at = time::now() + 1y",
];

#[tokio::test]
async fn injection_strings_are_stored_as_text_or_refused_never_run() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, token) = app.session("org_acme", "Ada").await;
    let conversation = app.conversation("org_acme", &token).await;
    let operator = app.token("org_acme");
    let messages = format!("/v1/widget/org_acme/conversations/{conversation}/messages");

    for attack in INJECTIONS {
        let mut settings = crate::helpers::custom_settings();
        settings["welcomeMessage"] = attack.into();
        let put = app.put("/v1/orgs/org_acme/widget-settings", Some(&operator), &settings).await;
        assert_eq!(put.status, StatusCode::OK, "{attack}");
        assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.body["welcomeMessage"], attack);
        let sent = app
            .widget(
                reqwest::Method::POST,
                &messages,
                Some(&token),
                Some(&serde_json::json!({"text": attack})),
            )
            .await;
        assert_eq!(sent.status, StatusCode::CREATED, "{attack}");
        let session = app
            .post(
                "/v1/widget/org_acme/sessions",
                None,
                &serde_json::json!({"name": attack, "email": "a@b.co"}),
            )
            .await;
        assert_eq!(session.status, StatusCode::CREATED, "{attack}");
        let encoded: String = form_urlencoded::byte_serialize(attack.as_bytes()).collect();
        for path in
            [format!("/v1/orgs/org_acme/conversations/{encoded}"), format!("/v1/widget/{encoded}/settings")]
        {
            let refused = app.get(&path, Some(&operator)).await;
            assert!(refused.status.is_client_error(), "{path}: {}", refused.status);
        }
    }
    let stored = app.get(&messages.replace("/v1/widget/", "/v1/orgs/"), Some(&operator)).await;
    assert_eq!(
        stored.body["items"].as_array().unwrap().len(),
        INJECTIONS.len(),
        "every message kept, verbatim"
    );
    assert_eq!(
        app.get(&format!("/v1/orgs/org_acme/conversations/{conversation}"), Some(&operator)).await.status,
        StatusCode::OK
    );
}
