//! The embed script, the widget page and its files, and the demo, as the edge serves them.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with};

async fn fetch(app: &crate::helpers::TestApp, path: &str) -> (StatusCode, String, String) {
    let response = app.http.get(app.url(path)).send().await.expect("the edge answers");
    let kind =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), kind, response.text().await.unwrap())
}

#[tokio::test]
async fn the_embed_script_and_the_widget_page_are_served_with_their_types() {
    let app = spawn_app().await;
    let (status, kind, script) = fetch(&app, "/embed.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/javascript"), "{kind}");
    assert!(script.contains("data-organization-id") && script.contains("AssistWidget"));
    let (status, kind, page) = fetch(&app, "/widget").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(
        page.contains(r#"<meta name="assist-vapi-sdk" content="https://esm.sh/@vapi-ai/web@2">"#),
        "{page}"
    );
}

#[tokio::test]
async fn the_widget_page_may_be_framed_by_any_site_and_the_demo_page_runs_only_its_own_code() {
    let app = spawn_app_with(|config| config.widget.demo = true).await;
    let widget = app.http.get(app.url("/widget")).send().await.unwrap();
    let policy = widget.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors *"), "{policy}");
    let demo = app.http.get(app.url("/demo")).send().await.unwrap();
    let policy = demo.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
}

#[tokio::test]
async fn every_file_the_widget_page_refers_to_is_served() {
    let app = spawn_app().await;
    let (_, _, page) = fetch(&app, "/widget").await;
    let mut pending: Vec<String> = references(&page, &["src=\"", "href=\""]);
    let mut seen = BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let (status, kind, body) = fetch(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        if path.ends_with(".js") {
            assert!(kind.starts_with("text/javascript"), "{path}: {kind}");
            let imports = references(&body, &["from './"]);
            pending
                .extend(imports.into_iter().map(|name| format!("/widget/{}", name.trim_start_matches("/"))));
        }
    }
    assert!(seen.len() >= 6, "{seen:?}");
}

/// The paths after each `marker` up to the closing quote (relative imports come back bare).
fn references(text: &str, markers: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for marker in markers {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let end = rest.find(['"', '\'']).unwrap_or(rest.len());
            found.push(rest[..end].to_owned());
        }
    }
    found
}

#[tokio::test]
async fn a_configured_sdk_url_is_escaped_into_the_widget_page() {
    let app = spawn_app_with(|config| {
        config.widget.vapi_web_sdk_url = r#"https://cdn.test/vapi.js?a=1&b="x""#.into()
    })
    .await;
    let (_, _, page) = fetch(&app, "/widget").await;
    assert!(page.contains(r#"content="https://cdn.test/vapi.js?a=1&amp;b=&quot;x&quot;""#), "{page}");
}

#[tokio::test]
async fn a_browser_revalidates_the_embed_script_without_downloading_it_again() {
    let app = spawn_app().await;
    let first = app.http.get(app.url("/embed.js")).send().await.unwrap();
    let etag = first.headers()["etag"].clone();
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let again = app.http.get(app.url("/embed.js")).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn there_is_no_demo_unless_asked_for() {
    let app = spawn_app().await;
    assert_eq!(fetch(&app, "/demo").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/widget/org_demo/settings", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_demo_seeds_a_known_organization_and_embeds_its_widget() {
    let app = spawn_app_with(|config| config.widget.demo = true).await;
    let (status, kind, page) = fetch(&app, "/demo").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"));
    assert!(page.contains(r#"<script src="/embed.js" data-organization-id="org_demo""#), "{page}");
    let settings = app.get("/v1/widget/org_demo/settings", None).await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    let expected = assist::widget::demo_settings();
    assert_eq!(settings.body["welcomeMessage"], expected.welcome_message);
    assert_eq!(settings.body["theme"]["primaryColor"], expected.theme.primary_color);
    let (_, token) = app.session("org_demo", "Grace").await;
    app.conversation("org_demo", &token).await;
}
