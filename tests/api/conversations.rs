//! Conversations and messages, from both sides: the end-user's widget and the operators'
//! dashboard.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn say(app: &TestApp, token: &str, conversation: &str, text: &str) -> crate::helpers::Answer {
    let path = format!("/v1/widget/org_acme/conversations/{conversation}/messages");
    app.widget(Method::POST, &path, Some(token), Some(&json!({"text": text}))).await
}

#[tokio::test]
async fn an_end_user_starts_a_conversation_and_reads_their_messages() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (session, token) = app.session("org_acme", "Ada").await;

    let conversation = app.conversation("org_acme", &token).await;
    let sent = say(&app, &token, &conversation, "Hello, do you ship to Mars?").await;
    let messages = app
        .widget(
            Method::GET,
            &format!("/v1/widget/org_acme/conversations/{conversation}/messages"),
            Some(&token),
            None,
        )
        .await;

    assert_eq!(sent.status, StatusCode::CREATED);
    assert_eq!(sent.body["role"], "user");
    assert_eq!(messages.body["items"][0]["text"], "Hello, do you ship to Mars?");
    let mine = app.widget(Method::GET, "/v1/widget/org_acme/conversations", Some(&token), None).await;
    assert_eq!(mine.body["items"][0]["id"], conversation.as_str());
    assert_eq!(mine.body["items"][0]["status"], "unresolved");
    assert_eq!(mine.body["items"][0]["channel"], "chat");
    assert_eq!(mine.body["items"][0]["contactSessionId"], session.as_str());
}

#[tokio::test]
async fn an_operator_reply_escalates_and_reaches_the_end_user() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (session, token) = app.session("org_acme", "Ada").await;
    let conversation = app.conversation("org_acme", &token).await;
    say(&app, &token, &conversation, "Hi").await;
    let operator = app.token("org_acme");

    let reply = app
        .post(
            &format!("/v1/orgs/org_acme/conversations/{conversation}/messages"),
            Some(&operator),
            &json!({"text": "Hello Ada!"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let detail = app.get(&format!("/v1/orgs/org_acme/conversations/{conversation}"), Some(&operator)).await;
    assert_eq!(detail.body["status"], "escalated");
    assert_eq!(detail.body["contactSession"]["id"], session.as_str());
    assert_eq!(detail.body["contactSession"]["name"], "Ada");
    let seen = app
        .widget(
            Method::GET,
            &format!("/v1/widget/org_acme/conversations/{conversation}/messages"),
            Some(&token),
            None,
        )
        .await;
    let roles: Vec<&str> =
        seen.body["items"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "operator"]);
}

#[tokio::test]
async fn a_resolved_conversation_refuses_new_messages() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, token) = app.session("org_acme", "Ada").await;
    let conversation = app.conversation("org_acme", &token).await;
    let path = format!("/v1/orgs/org_acme/conversations/{conversation}");

    let resolved = app
        .send(Method::PATCH, &path, Some(&app.token("org_acme")), Some(&json!({"status": "resolved"})))
        .await;
    let refused = say(&app, &token, &conversation, "one more thing").await;

    assert_eq!(resolved.body["status"], "resolved");
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.error_message().contains("resolved"), "{}", refused.error_message());
}

#[tokio::test]
async fn operators_filter_conversations_by_status() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, token) = app.session("org_acme", "Ada").await;
    let open = app.conversation("org_acme", &token).await;
    let closed = app.conversation("org_acme", &token).await;
    let operator = app.token("org_acme");
    app.send(
        Method::PATCH,
        &format!("/v1/orgs/org_acme/conversations/{closed}"),
        Some(&operator),
        Some(&json!({"status": "resolved"})),
    )
    .await;

    let resolved = app.get("/v1/orgs/org_acme/conversations?status=resolved", Some(&operator)).await;
    let unresolved = app.get("/v1/orgs/org_acme/conversations?status=unresolved", Some(&operator)).await;

    assert_eq!(ids(&resolved.body), [closed]);
    assert_eq!(ids(&unresolved.body), [open]);
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn pages_have_no_duplicates_or_gaps_while_conversations_arrive() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, token) = app.session("org_acme", "Ada").await;
    let mut before = Vec::new();
    for _ in 0..25 {
        before.push(app.conversation("org_acme", &token).await);
        app.clock.advance(chrono::Duration::milliseconds(1));
    }
    let operator = app.token("org_acme");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page =
            app.get(&format!("/v1/orgs/org_acme/conversations?limit=10{query}"), Some(&operator)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(ids(&page.body));
        let writers = (0..3).map(|_| app.conversation("org_acme", &token));
        futures::future::join_all(writers).await;
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    before.reverse();
    assert_eq!(seen, before, "exactly the conversations that existed, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

#[tokio::test]
async fn bad_conversation_input_gets_400_naming_the_field() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, token) = app.session("org_acme", "Ada").await;
    let conversation = app.conversation("org_acme", &token).await;
    let operator = app.token("org_acme");
    let path = format!("/v1/orgs/org_acme/conversations/{conversation}");

    let cases = [
        ("text", say(&app, &token, &conversation, "").await),
        ("text", say(&app, &token, &conversation, &"x".repeat(4001)).await),
        (
            "status",
            app.send(Method::PATCH, &path, Some(&operator), Some(&json!({"status": "archived"}))).await,
        ),
        ("query", app.get("/v1/orgs/org_acme/conversations?limit=0&x=1", Some(&operator)).await),
        ("limit", app.get("/v1/orgs/org_acme/conversations?limit=1000", Some(&operator)).await),
        ("cursor", app.get("/v1/orgs/org_acme/conversations?cursor=bogus", Some(&operator)).await),
        ("conversationId", app.get("/v1/orgs/org_acme/conversations/bad.id", Some(&operator)).await),
    ];

    for (field, answer) in cases {
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{field}: {}", answer.body);
        assert!(answer.error_message().starts_with(field), "{field}: {}", answer.error_message());
    }
    let messages = app.get(&format!("{path}/messages"), Some(&operator)).await;
    assert_eq!(messages.body["items"], json!([]), "nothing was written");
}

#[tokio::test]
async fn operators_read_the_organization() {
    let app = spawn_app().await;

    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;

    assert_eq!(org.status, StatusCode::OK, "{}", org.body);
    assert_eq!(org.body["id"], "org_acme");
    assert_eq!(org.body["subscriptionStatus"], "none");
    assert!(org.body["createdAt"].is_string());
}
