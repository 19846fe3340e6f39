//! Work cut short by a SIGKILL goes on after the restart: a document being embedded becomes
//! ready, and a conversation the agent owed an answer gets one; nothing is left half-written.

use std::time::Duration;

use assist::webhooks::svix::SvixVerifier;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clerk_webhooks::event;
use crate::fakes::openai::{EmbeddingMode, Script};
use crate::helpers::WEBHOOK_SECRET;
use crate::process::ChildApp;

const ORG: &str = "org_acme";
const LOG: &str = "warn,assist=info";

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_document_cut_short_by_a_sigkill_is_ingested_after_the_restart() {
    let mut app = ChildApp::start(LOG).await;
    let (http, token) = (reqwest::Client::new(), app.clerk.token().org(ORG).role("org:admin").sign());
    app.openai.embeddings_mode(EmbeddingMode::Slow(Duration::from_secs(30)));
    let added = http
        .post(app.url(&format!("/v1/orgs/{ORG}/knowledge")))
        .bearer_auth(&token)
        .json(&json!({"title": "Returns", "text": crate::knowledge::RETURNS}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::ACCEPTED);
    let id = added.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    until("the embedding is under way", async || !app.openai.bodies("/v1/embeddings").is_empty()).await;
    app.kill().await;
    app.openai.embeddings_mode(EmbeddingMode::Normal);

    app.restart(LOG).await;
    let path = app.url(&format!("/v1/orgs/{ORG}/knowledge/{id}"));
    until("the document is ready", async || {
        let got: Value = http.get(&path).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_ne!(got["status"], "failed", "{got}");
        got["status"] == "ready"
    })
    .await;
}

#[tokio::test]
async fn an_answer_cut_short_by_a_sigkill_is_given_after_the_restart() {
    let mut app = ChildApp::start(LOG).await;
    let (http, token) = (reqwest::Client::new(), app.clerk.token().org(ORG).role("org:admin").sign());
    let body = event("subscription.active", ORG).to_string();
    let now = chrono::Utc::now().timestamp();
    let signature = SvixVerifier::new(WEBHOOK_SECRET).unwrap().sign("msg_sub", now, body.as_bytes());
    let delivered = http
        .post(app.url("/webhooks/clerk"))
        .header("svix-id", "msg_sub")
        .header("svix-timestamp", now.to_string())
        .header("svix-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(delivered.status().is_success());
    let agent = app.url(&format!("/v1/orgs/{ORG}/agent"));
    let settings = json!({"enabled": true, "instructions": "", "handoffMessage": "A person will reply."});
    until("the subscription is applied", async || {
        http.put(&agent).bearer_auth(&token).json(&settings).send().await.unwrap().status() == StatusCode::OK
    })
    .await;
    let visitor = async |path: &str, contact: &str, body: Value| -> Value {
        let request =
            http.post(app.url(&format!("/v1/widget/{ORG}{path}"))).header("X-Contact-Session", contact);
        request.json(&body).send().await.unwrap().json().await.unwrap()
    };
    let session = visitor("/sessions", "", json!({"name": "Ada", "email": "ada@example.com"})).await;
    let contact = session["token"].as_str().unwrap().to_owned();
    let started = visitor("/conversations", &contact, json!({})).await;
    let id = started["id"].as_str().unwrap().to_owned();
    app.openai.script(Script::StallAfter(vec!["Let me ".into()]));
    let sent = http
        .post(app.url(&format!("/v1/widget/{ORG}/conversations/{id}/messages")))
        .header("X-Contact-Session", &contact)
        .json(&json!({"text": "Do you ship to Norway?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    until("the answer is being written", async || !app.openai.bodies("/v1/chat/completions").is_empty())
        .await;
    app.kill().await;
    app.openai.script(Script::text("Yes, we ship to Norway."));

    app.restart(LOG).await;
    let transcript = app.url(&format!("/v1/orgs/{ORG}/conversations/{id}/messages"));
    until("the conversation is answered", async || {
        let page: Value =
            http.get(&transcript).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let texts: Vec<&str> = items.iter().filter_map(|m| m["text"].as_str()).collect();
        assert!(!texts.contains(&"Let me"), "nothing half-written: {texts:?}");
        items.last().is_some_and(|m| m["role"] == "assistant")
    })
    .await;
}
