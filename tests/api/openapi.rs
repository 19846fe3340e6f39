//! `GET /openapi.json` and `GET /docs`: every route is described, with its bodies and errors,
//! and every schema the document refers to is in it.

use std::collections::BTreeSet;

use assist::auth::DemoOperator;
use assist::console::ConsoleOptions;
use assist::http::{EdgeOptions, served_routes};
use assist::ids::OrgId;
use assist::widget::WidgetConfig;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

async fn document(app: &TestApp) -> Value {
    let answer = app.get("/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.body
}

/// What the router registers, as it registers it, with every optional route on.
fn served() -> BTreeSet<(String, String)> {
    let options = EdgeOptions {
        body_limit: 1 << 20,
        widget_rate: Default::default(),
        dashboard_origins: Vec::new(),
        widget: WidgetConfig { demo: true, ..WidgetConfig::default() },
        console: ConsoleOptions {
            clerk: None,
            demo: Some(DemoOperator::generate(OrgId::parse("org_demo").unwrap())),
        },
    };
    served_routes(&options, true)
        .into_iter()
        .map(|(method, path)| (method.as_str().to_lowercase(), path.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_document_describes_exactly_the_routes_the_router_serves() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    assert_eq!(doc["openapi"], "3.1.0");
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["summary"].is_string() && op["responses"].is_object(), "{method} {path}: {op}");
            described.insert((method.clone(), path.clone()));
        }
    }
    let served = served();
    let undocumented: Vec<_> = served.difference(&described).collect();
    let not_served: Vec<_> = described.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in /openapi.json: {undocumented:?}");
    assert!(not_served.is_empty(), "in /openapi.json but not served: {not_served:?}");
    for route in [("post", "/webhooks/vapi/{org}"), ("get", "/embed.js"), ("get", "/v1/orgs/{org}/events")] {
        assert!(served.contains(&(route.0.to_owned(), route.1.to_owned())), "{route:?}");
    }
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
    let example = &put["requestBody"]["content"]["application/json"]["example"];
    assert_eq!(example["theme"]["position"], "bottom-left", "the declared valid body: {put}");
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

/// A generated client validates as the server does: the limits `validate()` enforces, and every
/// status a route can answer.
#[tokio::test]
async fn the_document_states_the_limits_and_statuses_the_server_enforces() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["NewMessage"]["properties"]["text"]["maxLength"], 4000);
    assert_eq!(schemas["NewContactSession"]["properties"]["name"]["maxLength"], 100);
    assert_eq!(schemas["VapiKeys"]["properties"]["privateApiKey"]["minLength"], 8);
    assert_eq!(schemas["WidgetSettings"]["properties"]["suggestions"]["maxItems"], 3);
    assert!(schemas["Theme"]["properties"]["primaryColor"]["pattern"].is_string());
    let list = &doc["paths"]["/v1/orgs/{org}/conversations"]["get"]["parameters"];
    let param = |name: &str| list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone();
    let limit = param("limit");
    assert_eq!((&limit["schema"]["minimum"], &limit["schema"]["maximum"]), (&1.into(), &100.into()));
    assert!(param("cursor")["schema"]["pattern"].is_string());

    // Each item of a list is bounded like the field it stands for.
    let suggestion = &schemas["WidgetSettings"]["properties"]["suggestions"]["items"];
    assert_eq!((&suggestion["minLength"], &suggestion["maxLength"]), (&1.into(), &100.into()));
    let languages = &schemas["Metadata"]["properties"]["languages"];
    assert_eq!(languages["maxItems"], 20);
    assert_eq!(languages["items"]["maxLength"], 35);
    assert!(languages["items"]["pattern"].is_string());

    // The patterns are JSON Schema's (ECMA-262): control characters and blank texts are out.
    let email = schemas["NewContactSession"]["properties"]["email"]["pattern"].as_str().unwrap();
    assert!(email.contains(r"\u0000-\u0020") && !email.contains(r"\s"), "{email}");
    let message = schemas["NewMessage"]["properties"]["text"]["pattern"].as_str().unwrap();
    assert!(!message.contains(r"\s"), "{message}");

    // A malformed id is refused (400), so the path says what an id looks like.
    let id = |method: &str, path: &str| {
        let params = doc["paths"][path][method]["parameters"].as_array().unwrap().clone();
        params.into_iter().find(|p| p["name"] == "id").unwrap()["schema"]["$ref"].clone()
    };
    assert_eq!(id("get", "/v1/orgs/{org}/contact-sessions/{id}"), "#/components/schemas/ContactSessionId");
    assert_eq!(id("patch", "/v1/orgs/{org}/conversations/{id}"), "#/components/schemas/ConversationId");
    assert_eq!(schemas["ConversationId"]["pattern"], "^[A-Za-z0-9_-]+$");
    let clerk: Vec<Value> = doc["paths"]["/webhooks/clerk"]["post"]["parameters"].as_array().unwrap().clone();
    let headers: Vec<&str> = clerk.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(headers, ["svix-id", "svix-timestamp", "svix-signature"]);

    let responses = |method: &str, path: &str| doc["paths"][path][method]["responses"].clone();
    assert!(responses("put", "/v1/orgs/{org}/plugins/vapi")["402"].is_object(), "an inactive subscription");
    assert!(responses("post", "/v1/widget/{org}/conversations/{id}/messages")["409"].is_object());
    assert!(responses("post", "/v1/widget/{org}/sessions")["429"].is_object(), "widget rate limit");
    assert!(responses("get", "/v1/orgs/{org}")["429"].is_null(), "dashboard routes are not limited");
}
