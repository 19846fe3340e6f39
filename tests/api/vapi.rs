//! Connecting a tenant's Vapi account and reading its assistants and numbers through the
//! private gateway, against a fake Vapi that follows the real contract.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::clerk_webhooks::{applied, deliver, event};
use crate::fakes::vapi::{sample_assistant, sample_twilio_number};
use crate::helpers::{Answer, TestApp, custom_settings, spawn_app};

pub(crate) const PUBLIC_KEY: &str = "0b0c3b5e-public-4f0e-9d7e-1a2b3c4d5e6f";
pub(crate) const PRIVATE_KEY: &str = "7c1e9a40-private-4b8f-a1d2-9e8f7a6b5c4d";

/// `org_acme`, known and with an active subscription.
pub(crate) async fn paying_org(app: &TestApp) {
    app.known_org("org_acme").await;
    deliver(app, "msg_sub_active", &event("subscription.active", "org_acme")).await;
    assert!(applied(app, 1).await);
}

pub(crate) async fn connect(app: &TestApp, token: &str, private: &str) -> Answer {
    let body = json!({"publicApiKey": PUBLIC_KEY, "privateApiKey": private});
    app.put("/v1/orgs/org_acme/plugins/vapi", Some(token), &body).await
}

#[tokio::test]
async fn an_admin_connects_vapi_and_the_private_key_never_comes_out() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let token = app.token("org_acme");

    let connected = connect(&app, &token, PRIVATE_KEY).await;
    let read = app.get("/v1/orgs/org_acme/plugins/vapi", Some(&token)).await;

    assert_eq!(connected.status, StatusCode::OK, "{}", connected.body);
    assert_eq!(connected.body["connected"], true);
    assert_eq!(connected.body["publicApiKey"], PUBLIC_KEY);
    assert!(connected.body["webhookSecret"].as_str().unwrap().len() >= 43, "shown once");
    assert_eq!(read.body["connected"], true);
    assert!(read.body.get("webhookSecret").is_none());
    for answer in [&connected, &read] {
        assert!(!answer.body.to_string().contains(PRIVATE_KEY));
    }
}

#[tokio::test]
async fn a_key_vapi_refuses_gets_400_and_nothing_is_stored() {
    let app = spawn_app().await;
    paying_org(&app).await;
    let token = app.token("org_acme");

    let refused = connect(&app, &token, "not-a-key-vapi-knows").await;

    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.error_message().starts_with("privateApiKey"), "{}", refused.error_message());
    assert_eq!(app.get("/v1/orgs/org_acme/plugins/vapi", Some(&token)).await.body["connected"], false);
}

#[tokio::test]
async fn connecting_needs_an_active_subscription() {
    let app = spawn_app().await;
    app.vapi.add_key(PRIVATE_KEY);

    let refused = connect(&app, &app.token("org_acme"), PRIVATE_KEY).await;

    assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(refused.error_code(), "payment_required");
    assert_eq!(app.vapi.requests(), 0, "Vapi was not asked");
}

/// Found by `scripts/fuzz`: a request without keys was answered 402 before its body was read.
#[tokio::test]
async fn a_malformed_body_is_refused_as_such_before_the_subscription_is_asked() {
    let app = spawn_app().await;
    let token = app.token("org_acme");

    let keyless = app.send(Method::PUT, "/v1/orgs/org_acme/plugins/vapi", Some(&token), None).await;
    let bad_key =
        app.put("/v1/orgs/org_acme/plugins/vapi", Some(&token), &json!({"publicApiKey": "x"})).await;

    assert_eq!(keyless.status, StatusCode::BAD_REQUEST, "{}", keyless.body);
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST, "{}", bad_key.body);
    assert_eq!(app.vapi.requests(), 0, "Vapi was not asked");
}

#[tokio::test]
async fn only_an_admin_may_connect_or_disconnect() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let member = app.clerk.token().org("org_acme").role("org:member").sign();

    let put = connect(&app, &member, PRIVATE_KEY).await;
    let delete = app.send(Method::DELETE, "/v1/orgs/org_acme/plugins/vapi", Some(&member), None).await;

    assert_eq!(put.status, StatusCode::FORBIDDEN);
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operators_list_assistants_and_numbers_as_a_safe_subset() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let assistant = app.vapi.add_assistant(sample_assistant("Front desk"));
    app.vapi.add_phone_number(sample_twilio_number("+14155550123", Some(&assistant)));
    let token = app.token("org_acme");
    connect(&app, &token, PRIVATE_KEY).await;

    let assistants = app.get("/v1/orgs/org_acme/vapi/assistants", Some(&token)).await;
    let numbers = app.get("/v1/orgs/org_acme/vapi/phone-numbers", Some(&token)).await;

    assert_eq!(assistants.status, StatusCode::OK, "{}", assistants.body);
    assert_eq!(assistants.body["items"][0]["id"], assistant.as_str());
    assert_eq!(assistants.body["items"][0]["name"], "Front desk");
    assert!(assistants.body["items"][0].get("server").is_none(), "raw Vapi fields stay behind");
    assert_eq!(numbers.body["items"][0]["number"], "+14155550123");
    assert_eq!(numbers.body["items"][0]["assistantId"], assistant.as_str());
    let text = numbers.body.to_string();
    assert!(!text.contains("twilioAuthToken") && !text.contains("twilioAccountSid"), "{text}");
}

#[tokio::test]
async fn listing_without_a_connection_is_404() {
    let app = spawn_app().await;

    let answer = app.get("/v1/orgs/org_acme/vapi/assistants", Some(&app.token("org_acme"))).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.error_message().contains("Vapi is not connected"));
}

async fn widget(app: &TestApp) -> Value {
    app.get("/v1/widget/org_acme/settings", None).await.body
}

#[tokio::test]
async fn the_widget_offers_voice_only_when_it_can_work() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let token = app.token("org_acme");
    let mut settings = custom_settings();
    settings["assistantId"] = "asst_front_desk".into();

    let before = widget(&app).await;
    connect(&app, &token, PRIVATE_KEY).await;
    let connected_without_assistant = widget(&app).await;
    app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &settings).await;
    let ready = widget(&app).await;
    deliver(&app, "msg_sub_past_due", &event("subscription.pastDue", "org_acme")).await;
    assert!(applied(&app, 2).await);
    // A change from Clerk reaches the edge's cached view with the change feed, a moment later.
    let mut lapsed = widget(&app).await;
    for _ in 0..250 {
        if lapsed["voiceEnabled"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        lapsed = widget(&app).await;
    }

    assert_eq!(before["voiceEnabled"], false);
    assert_eq!(connected_without_assistant["voiceEnabled"], false);
    assert_eq!(ready["voiceEnabled"], true);
    assert_eq!(ready["vapiPublicKey"], PUBLIC_KEY);
    assert_eq!(ready["assistantId"], "asst_front_desk");
    assert_eq!(lapsed["voiceEnabled"], false, "a subscription that stops being active turns voice off");
    assert!(lapsed.get("vapiPublicKey").is_none());
    assert!(!ready.to_string().contains(PRIVATE_KEY));
}

#[tokio::test]
async fn a_failing_vapi_answers_503_fast_and_leaves_other_routes_alone() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let token = app.token("org_acme");
    connect(&app, &token, PRIVATE_KEY).await;
    app.vapi.fail_next(1000, 500);

    let mut last = StatusCode::OK;
    for _ in 0..4 {
        last = app.get("/v1/orgs/org_acme/vapi/assistants", Some(&token)).await.status;
    }
    let calls = app.vapi.requests();
    let fast = app.get("/v1/orgs/org_acme/vapi/assistants", Some(&token)).await;

    assert_eq!(last, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fast.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.vapi.requests(), calls, "the open breaker does not call Vapi");
    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn disconnecting_removes_the_plugin() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let token = app.token("org_acme");
    connect(&app, &token, PRIVATE_KEY).await;

    let deleted = app.send(Method::DELETE, "/v1/orgs/org_acme/plugins/vapi", Some(&token), None).await;

    assert_eq!(deleted.body["connected"], false);
    assert_eq!(
        app.get("/v1/orgs/org_acme/vapi/assistants", Some(&token)).await.status,
        StatusCode::NOT_FOUND
    );
}
