//! The AI agent answering the widget's chats from the org's knowledge: streamed in order,
//! committed with its sources, handing off and resolving by tool call, silenced by a person,
//! surviving provider faults without losing a message.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::events::Stream;
use crate::fakes::openai::Script;
use crate::helpers::{Answer, TestApp, spawn_app, spawn_app_with};
use crate::knowledge::{RETURNS, add_text, settled};
use crate::vapi::paying_org;

pub const ORG: &str = "org_acme";
const HANDOFF: &str = "One moment: a person from our team will take it from here.";

/// A paying org with the agent on and the returns policy in its knowledge.
pub async fn agent_org(app: &TestApp) {
    paying_org(app).await;
    let settings =
        json!({"enabled": true, "instructions": "Answer in one sentence.", "handoffMessage": HANDOFF});
    let put = app.put(&format!("/v1/orgs/{ORG}/agent"), Some(&app.token(ORG)), &settings).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let id = add_text(app, ORG, "Returns policy", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(app, ORG, &id).await["status"], "ready");
}

/// An end-user's session token and a new conversation.
pub async fn chat(app: &TestApp) -> (String, Value) {
    let (_, token) = app.session(ORG, "Ada").await;
    let started =
        app.widget(Method::POST, &format!("/v1/widget/{ORG}/conversations"), Some(&token), None).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    (token, started.body)
}

pub async fn say(app: &TestApp, token: &str, conversation: &str, text: &str) -> Answer {
    let path = format!("/v1/widget/{ORG}/conversations/{conversation}/messages");
    app.widget(Method::POST, &path, Some(token), Some(&json!({"text": text}))).await
}

/// The conversation's transcript as `(role, text)`, once its last message is not the end-user's.
pub async fn transcript_settled(app: &TestApp, conversation: &str) -> Vec<Value> {
    let path = format!("/v1/orgs/{ORG}/conversations/{conversation}/messages");
    for _ in 0..400 {
        let page = app.get(&path, Some(&app.token(ORG))).await;
        let items = page.body["items"].as_array().unwrap().clone();
        if items.last().is_some_and(|m| m["role"] != "user") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("conversation {conversation} was never answered");
}

async fn conversation(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/orgs/{ORG}/conversations/{id}"), Some(&app.token(ORG))).await.body
}

#[tokio::test]
async fn the_agent_streams_a_grounded_answer_that_names_its_source() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    assert_eq!(started["handler"], "ai");
    let id = started["id"].as_str().unwrap();
    let mut widget = Stream::widget(&app, ORG, &token).await;
    let answer = "You can return unused items within 45 days of delivery, free of charge.";
    app.openai.script(Script::text(answer));
    let sent = say(&app, &token, id, "How long do I have to return a kettle?").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);

    let (mut streamed, mut seq) = (String::new(), 0);
    let finished = loop {
        let event = widget.next().await;
        match event.event.as_str() {
            "message.delta" => {
                assert_eq!(event.data["seq"], seq, "deltas arrive in order");
                assert_eq!(event.data["conversationId"], id);
                streamed.push_str(event.data["text"].as_str().unwrap());
                seq += 1;
            }
            "message.created" if event.data["role"] == "assistant" => break event.data,
            _ => {}
        }
    };
    assert!(seq > 1, "the answer came in several pieces");
    assert_eq!(streamed.trim(), finished["text"]);
    assert_eq!(finished["text"], answer);
    assert_eq!(finished["sources"][0]["title"], "Returns policy");
    let prompt = app.openai.bodies("/v1/chat/completions").pop().unwrap().to_string();
    assert!(prompt.contains("45 days of delivery"), "the passage is in the prompt: {prompt}");
    assert!(prompt.contains("Answer in one sentence."), "the instructions are in the prompt");
    assert!(!prompt.contains(crate::fakes::openai::TEST_KEY));
    let usage = app.get(&format!("/v1/orgs/{ORG}/agent/usage"), Some(&app.token(ORG))).await;
    assert!(usage.body["inputTokens"].as_u64().unwrap() > 0, "{}", usage.body);
    assert!(usage.body["outputTokens"].as_u64().unwrap() > 0, "{}", usage.body);
}

#[tokio::test]
async fn a_handoff_tool_call_hands_the_conversation_to_a_person() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    let id = started["id"].as_str().unwrap();
    app.openai.script(Script::tool_call("handoff", json!({"reason": "wants a person"})));
    say(&app, &token, id, "I want to talk to a human").await;
    let transcript = transcript_settled(&app, id).await;
    let last = transcript.last().unwrap();
    assert_eq!((&last["role"], &last["text"]), (&json!("assistant"), &json!(HANDOFF)));
    let handed = conversation(&app, id).await;
    assert_eq!((&handed["handler"], &handed["status"]), (&json!("waiting"), &json!("escalated")));
    let calls = app.openai.bodies("/v1/chat/completions").len();
    say(&app, &token, id, "hello?").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.openai.bodies("/v1/chat/completions").len(), calls, "the agent is silent once handed off");
}

#[tokio::test]
async fn a_resolve_tool_call_resolves_the_conversation() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    let id = started["id"].as_str().unwrap();
    app.openai.script(Script::ToolCalls {
        text: "Glad I could help!".into(),
        calls: vec![("resolve".into(), "{}".into())],
    });
    say(&app, &token, id, "Thanks, that answers it").await;
    let transcript = transcript_settled(&app, id).await;
    assert_eq!(transcript.last().unwrap()["text"], "Glad I could help!");
    for _ in 0..100 {
        if conversation(&app, id).await["status"] == "resolved" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the conversation was not resolved");
}

#[tokio::test]
async fn an_operator_reply_silences_the_agent_until_it_is_handed_back() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    let id = started["id"].as_str().unwrap();
    let admin = app.token(ORG);
    let reply = app
        .post(
            &format!("/v1/orgs/{ORG}/conversations/{id}/messages"),
            Some(&admin),
            &json!({"text": "Hi, Sam here."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(conversation(&app, id).await["handler"], "human");
    say(&app, &token, id, "Hi Sam").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        app.openai.bodies("/v1/chat/completions").is_empty(),
        "the agent is silent while a person answers"
    );

    let back = app
        .send(
            Method::PATCH,
            &format!("/v1/orgs/{ORG}/conversations/{id}"),
            Some(&admin),
            Some(&json!({"handler": "ai"})),
        )
        .await;
    assert_eq!((back.status, &back.body["handler"]), (StatusCode::OK, &json!("ai")), "{}", back.body);
    app.openai.script(Script::text("Sure, returns take 45 days."));
    say(&app, &token, id, "And returns?").await;
    assert_eq!(transcript_settled(&app, id).await.last().unwrap()["text"], "Sure, returns take 45 days.");
}

#[tokio::test]
async fn a_provider_outage_hands_off_and_loses_nothing() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    let id = started["id"].as_str().unwrap();
    app.openai.fail_next(1_000, 500, None);
    let sent = say(&app, &token, id, "Where is my parcel?").await;
    assert_eq!(sent.status, StatusCode::CREATED, "the end-user never sees the outage: {}", sent.body);
    let transcript = transcript_settled(&app, id).await;
    let roles: Vec<&str> = transcript.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "system", "assistant"], "{transcript:?}");
    assert_eq!(transcript[0]["text"], "Where is my parcel?");
    assert_eq!(transcript[2]["text"], HANDOFF);
    assert_eq!(conversation(&app, id).await["handler"], "waiting");
}

#[tokio::test]
async fn two_quick_messages_get_one_answer() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    let id = started["id"].as_str().unwrap();
    let slow = Script::Text {
        pieces: vec!["Looking ".into(), "into ".into(), "it".into()],
        delay: Duration::from_millis(300),
    };
    app.openai.script(slow);
    app.openai.script(Script::text("Both: returns take 45 days and we ship to Norway."));
    say(&app, &token, id, "Do you ship to Norway?").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    say(&app, &token, id, "And how long for returns?").await;
    let transcript = transcript_settled(&app, id).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let transcript_later = transcript_settled(&app, id).await;
    assert_eq!(transcript.len(), transcript_later.len(), "no second answer came later");
    let answers: Vec<&Value> = transcript_later.iter().filter(|m| m["role"] == "assistant").collect();
    assert_eq!(answers.len(), 1, "{transcript_later:?}");
    assert!(answers[0]["text"].as_str().unwrap().starts_with("Both"));
    let last_prompt = app.openai.bodies("/v1/chat/completions").pop().unwrap().to_string();
    assert!(
        last_prompt.contains("Norway") && last_prompt.contains("returns?"),
        "the answer takes both into account"
    );
}

#[tokio::test]
async fn agent_settings_are_checked_and_need_a_paying_admin() {
    let app = spawn_app().await;
    let path = format!("/v1/orgs/{ORG}/agent");
    let admin = app.token(ORG);
    let on = json!({"enabled": true, "instructions": "", "handoffMessage": "Soon."});
    let unpaid = app.put(&path, Some(&admin), &on).await;
    assert_eq!(unpaid.status, StatusCode::PAYMENT_REQUIRED, "{}", unpaid.body);
    paying_org(&app).await;
    let long = json!({"enabled": true, "instructions": "x".repeat(4001), "handoffMessage": "Soon."});
    assert!(app.put(&path, Some(&admin), &long).await.error_message().starts_with("instructions:"));
    let extra = json!({"enabled": true, "instructions": "", "handoffMessage": "Soon.", "model": "gpt-5"});
    assert!(app.put(&path, Some(&admin), &extra).await.error_message().contains("model"));
    let member = app.clerk.token().org(ORG).role("org:member").sign();
    assert_eq!(app.put(&path, Some(&member), &on).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&member)).await.body["enabled"], false);
    assert_eq!(app.put(&path, Some(&admin), &on).await.status, StatusCode::OK);
    assert_eq!(app.get(&path, Some(&member)).await.body["enabled"], true);
}

#[tokio::test]
async fn past_the_budget_new_chats_wait_for_a_person_with_a_note() {
    // Embedding the org's document alone uses more than this.
    let app = spawn_app_with(|config| config.agent.budget_tokens = 1).await;
    agent_org(&app).await;
    let usage = app.get(&format!("/v1/orgs/{ORG}/agent/usage"), Some(&app.token(ORG))).await;
    assert!(usage.body["inputTokens"].as_u64().unwrap() >= 1, "{}", usage.body);
    assert_eq!(usage.body["budgetTokens"], 1);
    let (_, later) = chat(&app).await;
    assert_eq!(later["handler"], "waiting");
    let transcript = transcript_settled(&app, later["id"].as_str().unwrap()).await;
    assert_eq!(transcript[0]["role"], "system");
    assert!(transcript[0]["text"].as_str().unwrap().contains("budget"));
}

#[tokio::test]
async fn an_operator_gets_a_drafted_reply_grounded_in_the_knowledge() {
    let app = spawn_app().await;
    agent_org(&app).await;
    let (token, started) = chat(&app).await;
    let id = started["id"].as_str().unwrap();
    app.openai.script(Script::tool_call("handoff", json!({})));
    say(&app, &token, id, "Can I return a used kettle?").await;
    transcript_settled(&app, id).await;
    app.openai.script(Script::text("Unused items can be returned within 45 days."));
    let drafted = app
        .post(&format!("/v1/orgs/{ORG}/conversations/{id}/suggestion"), Some(&app.token(ORG)), &json!({}))
        .await;
    assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.body);
    assert_eq!(drafted.body["text"], "Unused items can be returned within 45 days.");
    assert_eq!(drafted.body["sources"][0]["title"], "Returns policy");
    let foreign = app
        .post(
            &format!("/v1/orgs/org_other/conversations/{id}/suggestion"),
            Some(&app.token("org_other")),
            &json!({}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
}
