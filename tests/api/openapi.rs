//! `GET /openapi.json` and `GET /docs`: every route is described, with its bodies and errors,
//! and every schema the document refers to is in it.

use assist::bus::subjects::Endpoint;
use assist::http::table::route;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// The routes outside the operations table (`src/http/table.rs`).
const OTHER_ROUTES: [(&str, &str); 9] = [
    ("post", "/webhooks/clerk"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/admin/tree"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("get", "/docs/docs.js"),
    ("get", "/docs/docs.css"),
];

async fn document(app: &TestApp) -> Value {
    let answer = app.get("/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.body
}

#[tokio::test]
async fn every_route_is_in_the_document() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    assert_eq!(doc["openapi"], "3.1.0");
    let table = Endpoint::ALL.map(|e| {
        let (method, path) = route(e);
        (method.as_str().to_lowercase(), path.to_owned())
    });
    let others = OTHER_ROUTES.map(|(m, p)| (m.to_owned(), p.to_owned()));
    for (method, path) in table.iter().chain(&others) {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is missing from the document");
        assert!(op["summary"].is_string() && op["responses"].is_object(), "{method} {path}: {op}");
    }
    let described: usize =
        doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(described, table.len() + others.len(), "no route the edge does not serve");
}

#[tokio::test]
async fn operations_carry_their_bodies_parameters_security_and_errors() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let put = &doc["paths"]["/v1/orgs/{org}/widget-settings"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/WidgetSettings"
    );
    assert_eq!(
        put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/WidgetSettings"
    );
    assert_eq!(put["security"][0]["clerkSession"], serde_json::json!([]));
    for status in ["400", "401", "403", "404", "413", "500", "503"] {
        let error = &put["responses"][status]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(error, "#/components/schemas/ErrorBody", "{status}");
    }
    let create = &doc["paths"]["/v1/widget/{org}/sessions"]["post"];
    assert!(create["responses"]["201"].is_object(), "{create}");
    let list = &doc["paths"]["/v1/orgs/{org}/conversations"]["get"];
    let params: Vec<&str> =
        list["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["org", "status", "cursor", "limit"]);
    let error = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(error.as_array().unwrap().iter().any(|c| c == "payload_too_large"), "{error}");
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_schema_reference_resolves() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let mut targets = Vec::new();
    refs(&doc, &mut targets);

    assert!(targets.len() > 50, "{}", targets.len());
    for target in targets {
        let name = target.strip_prefix("#/components/schemas/").expect("a schema reference");
        assert!(doc["components"]["schemas"][name].is_object(), "{target} does not resolve");
    }
}

#[tokio::test]
async fn docs_is_a_page_of_assists_own_files_over_the_document() {
    let app = spawn_app().await;

    let page = app.http.get(app.url("/docs")).send().await.unwrap();

    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe"), "no inline script or style is allowed: {policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script src="/docs/docs.js""#), "{html}");
    assert!(!html.contains("<script>") && !html.contains("<style"), "nothing inline: {html}");
    for (path, content_type) in [("/docs/docs.js", "text/javascript"), ("/docs/docs.css", "text/css")] {
        let file = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{path}");
        assert!(file.headers()["content-type"].to_str().unwrap().starts_with(content_type), "{path}");
    }
    let script = app.http.get(app.url("/docs/docs.js")).send().await.unwrap().text().await.unwrap();
    assert!(script.contains(r#"fetch("/openapi.json")"#), "the script renders the document");
}
