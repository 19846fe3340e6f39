//! The operator console in a real browser (`tests/browser/console.mjs`): ClerkJS is replaced, at
//! the network layer, by a stand-in that signs in with tokens of the fake Clerk; the visitor
//! uses the real widget on a customer's page. And the demo sign-in of `serve --demo`, no Clerk.

use std::time::Duration;

use assist::auth::ClerkConfig;
use assist::bus::subjects;
use assist::console::PublishableKey;
use assist::ids::OrgId;
use serde_json::json;

use super::{HostSite, ORG, browser_tools, run_script};
use crate::clerk_webhooks::{applied, deliver, event};
use crate::console::PUBLISHABLE_KEY;
use crate::fakes::vapi::{sample_assistant, sample_twilio_number};
use crate::helpers::spawn_app_with;
use crate::vapi::{PRIVATE_KEY, PUBLIC_KEY};

const OTHER_ORG: &str = "org_console_other";
const ADMIN_TOKEN: &str = "console-admin-token";
const VAPI_NUMBER: &str = "+14155550199";
/// Long enough for the whole script: the stand-in hands out the same token throughout.
const TOKEN_SECS: i64 = 600;

#[tokio::test]
async fn an_operator_answers_a_visitor_live_and_changes_the_widget_from_the_console() {
    let chromium = browser_tools();
    let host = HostSite::bind().await;
    let app = spawn_app_with(|config| {
        config.clerk_publishable_key = Some(PublishableKey::parse(PUBLISHABLE_KEY).unwrap());
        config.admin_token = Some(ADMIN_TOKEN.into());
    })
    .await;
    let assist_url = format!("http://{}", app.addr);
    // Vapi can be connected only by a paying org; its fake account has an assistant and a number.
    app.known_org(ORG).await;
    deliver(&app, "msg_console_subscription", &event("subscription.active", ORG)).await;
    assert!(applied(&app, 1).await, "the subscription is applied");
    app.vapi.add_key(PRIVATE_KEY);
    let assistant = app.vapi.add_assistant(sample_assistant("Front desk"));
    app.vapi.add_phone_number(sample_twilio_number(VAPI_NUMBER, Some(&assistant)));
    let token = app.clerk.token().org(ORG).role("org:admin").valid_for(TOKEN_SECS).sign();
    let other =
        app.clerk.token().org(OTHER_ORG).role("org:admin").user("user_other").valid_for(TOKEN_SECS).sign();
    let host_url = host.serve(&assist_url);
    let dir = tempfile::tempdir().unwrap();
    let ask = dir.path().join("answer-this-conversation");
    let answering = tokio::spawn(answer_when_asked(app.backend_nats().await, ask.clone()));

    run_script(
        "tests/browser/console.mjs",
        &chromium,
        &[
            ("ASSIST_URL", assist_url.as_str()),
            ("HOST_URL", &host_url),
            ("ORG", ORG),
            ("TOKEN", &token),
            ("OTHER_ORG", OTHER_ORG),
            ("OTHER_TOKEN", &other),
            ("PUBLISHABLE_KEY", PUBLISHABLE_KEY),
            ("CLERK_ORIGIN", "https://clerk.console.test"),
            ("ADMIN_TOKEN", ADMIN_TOKEN),
            ("ANSWER_REQUEST", ask.to_str().unwrap()),
            ("VAPI_PUBLIC_KEY", PUBLIC_KEY),
            ("VAPI_PRIVATE_KEY", PRIVATE_KEY),
            ("VAPI_ASSISTANT", &assistant),
            ("VAPI_NUMBER", VAPI_NUMBER),
        ],
    )
    .await;
    answering.abort();
}

/// What the console must render of a streamed answer, whatever writes it: once the script names
/// the open conversation (in the file `ask`), an answer goes on the org's change feed as its
/// actor publishes one: `message.delta` pieces, then `message.created` with the whole text and
/// its sources. It stands in for the agent, whose routes this branch does not have.
async fn answer_when_asked(nats: async_nats::Client, ask: std::path::PathBuf) {
    let conversation = loop {
        match tokio::fs::read_to_string(&ask).await {
            Ok(id) if !id.is_empty() => break id,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let org = OrgId::parse(ORG).unwrap();
    let js = async_nats::jetstream::new(nats);
    let publish = async |change: &'static str, body: serde_json::Value| {
        let subject = subjects::event(&org, "message", change);
        js.publish(subject, body.to_string().into()).await.unwrap().await.unwrap();
    };
    let message = "msg_0123456789abcdef0123456789abcdef";
    for (seq, text) in ANSWER.iter().enumerate() {
        let delta = json!({"conversationId": conversation, "messageId": message, "seq": seq, "text": text});
        publish("delta", delta).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let whole = json!({
        "id": message, "conversationId": conversation, "role": "assistant", "text": ANSWER.concat(),
        "createdAt": "2026-01-15T09:00:01Z", "sources": [{"documentId": "doc_stock", "title": "Stock list"}],
    });
    publish("created", whole).await;
}

/// The pieces of the streamed answer, in order.
const ANSWER: [&str; 4] = ["Let me check: ", "the blue jacket ", "is back ", "in stock."];

#[tokio::test]
async fn the_demo_operator_signs_in_without_clerk_and_sees_a_visitor_arrive() {
    let chromium = browser_tools();
    let app = spawn_app_with(|config| {
        config.widget.demo = true;
        config.clerk = ClerkConfig::default();
    })
    .await;
    let assist_url = format!("http://{}", app.addr);

    run_script("tests/browser/console-demo.mjs", &chromium, &[("ASSIST_URL", assist_url.as_str())]).await;
}
