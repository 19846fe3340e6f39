//! An org may bring its own key for the AI provider: sealed, never shown again, used for every
//! call made for the org; without it and without a deployment key the AI routes answer 503.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::fakes::openai::TEST_KEY;
use crate::helpers::spawn_app_with;
use crate::knowledge::{RETURNS, add_text, search, settled};

const ORG: &str = "org_byok";

#[tokio::test]
async fn an_org_brings_its_own_ai_key_and_its_calls_use_it() {
    let app = spawn_app_with(|config| config.ai.api_key = None).await;
    let (admin, path) = (app.token(ORG), format!("/v1/orgs/{ORG}/plugins/ai"));
    assert_eq!(add_text(&app, ORG, "Returns", RETURNS).await.status, StatusCode::SERVICE_UNAVAILABLE);

    let member = app.clerk.token().org(ORG).role("org:member").sign();
    let denied = app.put(&path, Some(&member), &json!({"apiKey": TEST_KEY})).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad = app.put(&path, Some(&admin), &json!({"apiKey": "has spaces in it"})).await;
    assert!(bad.error_message().starts_with("apiKey:"), "{}", bad.body);
    let set = app.put(&path, Some(&admin), &json!({"apiKey": TEST_KEY})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["connected"], true);
    assert_eq!(set.body["keyHint"], &TEST_KEY[TEST_KEY.len() - 4..]);
    assert!(!set.body.to_string().contains(TEST_KEY), "the key never comes back");

    let id = add_text(&app, ORG, "Returns", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, ORG, &id).await["status"], "ready");
    assert_eq!(search(&app, ORG, "returns").await.len(), 1);
    let sent = app.openai.requests().into_iter().filter_map(|r| r.authorization).collect::<Vec<_>>();
    assert!(!sent.is_empty() && sent.iter().all(|a| a == &format!("Bearer {TEST_KEY}")), "{sent:?}");
    let other = add_text(&app, "org_other", "Returns", RETURNS).await;
    assert_eq!(other.status, StatusCode::SERVICE_UNAVAILABLE, "another org does not share the key");

    let removed = app.send(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(removed.body["connected"], false);
    let refused = app
        .post(&format!("/v1/orgs/{ORG}/knowledge/search"), Some(&admin), &json!({"query": "returns"}))
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    assert!(refused.error_message().contains("ASSIST_AI_API_KEY"));
}
