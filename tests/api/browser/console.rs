//! The operator console in a real browser (`tests/browser/console.mjs`): ClerkJS is replaced, at
//! the network layer, by a stand-in that signs in with tokens of the fake Clerk; the visitor
//! uses the real widget on a customer's page. And the demo sign-in of `serve --demo`, no Clerk.

use std::time::Duration;

use assist::auth::ClerkConfig;
use assist::console::PublishableKey;
use serde_json::json;

use super::{HostSite, ORG, browser_tools, run_script};
use crate::clerk_webhooks::{applied, deliver, event};
use crate::console::PUBLISHABLE_KEY;
use crate::fakes::openai::Script;
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
    let host_url = host.serve(&assist_url, ORG);
    // The agent answers the visitor from the org's stock list, streamed piece by piece.
    let agent = json!({"enabled": true, "instructions": "", "handoffMessage": "A person will reply."});
    assert_eq!(app.put(&format!("/v1/orgs/{ORG}/agent"), Some(&token), &agent).await.status, 200);
    let stock =
        crate::knowledge::add_text(&app, ORG, "Stock list", "The blue jacket is back in stock.").await;
    crate::knowledge::settled(&app, ORG, stock.body["id"].as_str().unwrap()).await;
    let pieces = ANSWER.iter().map(|p| (*p).to_owned()).collect();
    app.openai.script(Script::Text { pieces, delay: Duration::from_millis(1500) });

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
            ("VAPI_PUBLIC_KEY", PUBLIC_KEY),
            ("VAPI_PRIVATE_KEY", PRIVATE_KEY),
            ("VAPI_ASSISTANT", &assistant),
            ("VAPI_NUMBER", VAPI_NUMBER),
        ],
    )
    .await;
}

/// The pieces of the agent's answer, streamed slowly enough for the operator to watch them.
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

#[tokio::test]
async fn the_demo_operator_teaches_the_agent_and_watches_it_answer() {
    let chromium = browser_tools();
    let app = spawn_app_with(|config| {
        config.widget.demo = true;
        config.clerk = ClerkConfig::default();
    })
    .await;
    deliver(&app, "msg_demo_subscription", &event("subscription.active", "org_demo")).await;
    assert!(applied(&app, 1).await, "the subscription is applied");
    let answer = "Yes: unused items can be returned within 45 days.";
    app.openai.script(Script::text(answer));
    let assist_url = format!("http://{}", app.addr);

    run_script(
        "tests/browser/console-ai.mjs",
        &chromium,
        &[("ASSIST_URL", assist_url.as_str()), ("ANSWER", answer)],
    )
    .await;
}
