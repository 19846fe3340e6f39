//! Vapi's server messages: authenticated with the org's webhook secret, stored durably, and
//! folded into one voice conversation per call whatever their order or repetition.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clerk_webhooks::{applied, deliver, event};
use crate::helpers::{Answer, TestApp, answer, spawn_app};
use crate::vapi::{PRIVATE_KEY, PUBLIC_KEY, connect, paying_org};

const CALL: &str = "call-7d3f-0001";

/// A documented Vapi payload from `tests/fixtures/vapi`, about `CALL` and the end-user `session`.
fn message(name: &str, session: &str) -> Value {
    let path = format!("{}/tests/fixtures/vapi/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let call = &mut body["message"]["call"];
    call["id"] = CALL.into();
    if call["metadata"].get("contactSessionId").is_some() {
        call["metadata"]["contactSessionId"] = session.into();
    }
    if call["assistantOverrides"]["variableValues"].get("contactSessionId").is_some() {
        call["assistantOverrides"]["variableValues"]["contactSessionId"] = session.into();
    }
    body
}

async fn send(app: &TestApp, secret: &str, body: &Value) -> Answer {
    let request =
        app.http.post(app.url("/webhooks/vapi/org_acme")).header("X-Vapi-Secret", secret).json(body);
    answer(request.send().await.unwrap()).await
}

/// A paying org with Vapi connected, an end-user session; the webhook secret and session id.
async fn connected(app: &TestApp) -> (String, String) {
    paying_org(app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let plugin = connect(app, &app.token("org_acme"), PRIVATE_KEY).await;
    let (session, _) = app.session("org_acme", "Ada").await;
    (plugin.body["webhookSecret"].as_str().unwrap().to_owned(), session)
}

async fn call_conversation(app: &TestApp) -> Value {
    let list = app.get("/v1/orgs/org_acme/conversations", Some(&app.token("org_acme"))).await;
    let found = list.body["items"].as_array().unwrap().iter().find(|c| c["callId"] == CALL).cloned();
    found.expect("the call's conversation")
}

async fn transcript(app: &TestApp, conversation: &Value) -> Vec<(String, String)> {
    let id = conversation["id"].as_str().unwrap();
    let page = app
        .get(&format!("/v1/orgs/org_acme/conversations/{id}/messages"), Some(&app.token("org_acme")))
        .await;
    let items = page.body["items"].as_array().unwrap().clone();
    items
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["text"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_refused() {
    let app = spawn_app().await;
    let (_, session) = connected(&app).await;
    let body = message("status-update.in-progress", &session);

    let wrong = send(&app, "not-the-secret", &body).await;
    let missing =
        answer(app.http.post(app.url("/webhooks/vapi/org_acme")).json(&body).send().await.unwrap()).await;
    let other_org = answer(
        app.http
            .post(app.url("/webhooks/vapi/org_other"))
            .header("X-Vapi-Secret", "x")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;

    for refused in [&wrong, &missing, &other_org] {
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    }
}

#[tokio::test]
async fn a_call_opens_a_voice_conversation_linked_to_the_end_user() {
    let app = spawn_app().await;
    let (secret, session) = connected(&app).await;

    let accepted = send(&app, &secret, &message("status-update.in-progress", &session)).await;

    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert!(applied(&app, 2).await);
    let conversation = call_conversation(&app).await;
    assert_eq!(conversation["channel"], "voice");
    assert_eq!(conversation["contactSessionId"], session.as_str());
}

#[tokio::test]
async fn final_transcripts_are_appended_and_partial_ones_are_not() {
    let app = spawn_app().await;
    let (secret, session) = connected(&app).await;

    send(&app, &secret, &message("transcript.partial", &session)).await;
    send(&app, &secret, &message("transcript.final", &session)).await;

    assert!(applied(&app, 3).await);
    let conversation = call_conversation(&app).await;
    assert_eq!(
        transcript(&app, &conversation).await,
        [("assistant".to_owned(), "Pro is 49 dollars a month.".to_owned())]
    );
}

#[tokio::test]
async fn the_end_of_call_report_completes_the_conversation() {
    let app = spawn_app().await;
    let (secret, session) = connected(&app).await;

    send(&app, &secret, &message("end-of-call-report", &session)).await;

    assert!(applied(&app, 2).await);
    let conversation = call_conversation(&app).await;
    assert_eq!(
        conversation["summary"],
        "The customer asked about the Pro plan price and was told 49 USD per month."
    );
    assert_eq!(conversation["endedReason"], "customer-ended-call");
    assert_eq!(conversation["durationSeconds"], 192.36);
    assert_eq!(conversation["cost"], 0.1941);
    assert!(conversation["recordingUrl"].is_string());
    let roles: Vec<String> = transcript(&app, &conversation).await.into_iter().map(|(r, _)| r).collect();
    assert_eq!(roles, ["assistant", "user", "assistant"], "system and tool lines are left out");
}

#[tokio::test]
async fn the_duration_falls_back_to_milliseconds() {
    let app = spawn_app().await;
    let (secret, session) = connected(&app).await;

    send(&app, &secret, &message("end-of-call-report.duration-ms-only", &session)).await;

    assert!(applied(&app, 2).await);
    assert_eq!(call_conversation(&app).await["durationSeconds"], 45.5);
}

#[tokio::test]
async fn repeated_and_reordered_messages_give_the_same_conversation() {
    let app = spawn_app().await;
    let (secret, session) = connected(&app).await;
    let order = [
        "end-of-call-report",
        "status-update.ended",
        "transcript.final",
        "status-update.in-progress",
        "end-of-call-report",
    ];

    for name in order {
        send(&app, &secret, &message(name, &session)).await;
    }

    // The subscription event, then four distinct messages: the identical resend of the report
    // is dropped by JetStream's de-duplication before ingest sees it.
    assert!(applied(&app, 5).await);
    let conversation = call_conversation(&app).await;
    assert_eq!(transcript(&app, &conversation).await.len(), 3, "no line twice");
    assert_eq!(conversation["endedReason"], "customer-ended-call");
    let list = app.get("/v1/orgs/org_acme/conversations", Some(&app.token("org_acme"))).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "one conversation per call");
}

#[tokio::test]
async fn another_org_naming_the_same_call_cannot_block_a_transcript_line() {
    let app = spawn_app().await;
    let (secret, session) = connected(&app).await;
    app.known_org("org_beta").await;
    deliver(&app, "msg_sub_beta", &event("subscription.active", "org_beta")).await;
    assert!(applied(&app, 2).await);
    let keys = json!({"publicApiKey": PUBLIC_KEY, "privateApiKey": PRIVATE_KEY});
    let beta = app.put("/v1/orgs/org_beta/plugins/vapi", Some(&app.token("org_beta")), &keys).await;
    let beta_secret = beta.body["webhookSecret"].as_str().unwrap().to_owned();
    let line = message("transcript.final", &session);

    let request = app.http.post(app.url("/webhooks/vapi/org_beta")).header("X-Vapi-Secret", beta_secret);
    assert_eq!(answer(request.json(&line).send().await.unwrap()).await.status, StatusCode::OK);
    assert!(applied(&app, 3).await);
    send(&app, &secret, &line).await;

    assert!(applied(&app, 4).await, "org_acme's identical line is applied, not taken for a duplicate");
    let conversation = call_conversation(&app).await;
    assert_eq!(
        transcript(&app, &conversation).await,
        [("assistant".to_owned(), "Pro is 49 dollars a month.".to_owned())]
    );
}
