//! Voice uses the same knowledge: Vapi's `tool-calls` message for `search_knowledge` is answered
//! in the same request with the org's passages, and only with that org's.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, answer, spawn_app};
use crate::knowledge::{RETURNS, add_text, settled};
use crate::vapi::{PRIVATE_KEY, connect, paying_org};

async fn tool_calls(app: &TestApp, secret: &str, calls: Value) -> Answer {
    let body =
        json!({"message": {"type": "tool-calls", "toolCallList": calls, "call": {"id": "call-tools-1"}}});
    let request =
        app.http.post(app.url("/webhooks/vapi/org_acme")).header("X-Vapi-Secret", secret).json(&body);
    answer(request.send().await.unwrap()).await
}

#[tokio::test]
async fn vapi_search_knowledge_tool_calls_are_answered_with_the_orgs_passages() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let secret = connect(&app, &app.token("org_acme"), PRIVATE_KEY).await.body["webhookSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let ours =
        add_text(&app, "org_acme", "Returns policy", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    settled(&app, "org_acme", &ours).await;
    let theirs =
        add_text(&app, "org_rival", "Rival returns", "Rival returns are accepted within 9 days.").await;
    settled(&app, "org_rival", theirs.body["id"].as_str().unwrap()).await;

    let calls = json!([
        {"id": "tc_1", "type": "function", "function": {"name": "search_knowledge", "arguments": {"query": "how long for returns"}}},
        {"id": "tc_2", "type": "function", "function": {"name": "search_knowledge", "arguments": "{\"query\": \"returns\"}"}},
        {"id": "tc_3", "type": "function", "function": {"name": "transfer_money", "arguments": {}}}
    ]);
    let answered = tool_calls(&app, &secret, calls).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let results = answered.body["results"].as_array().unwrap();
    assert_eq!(results[0]["toolCallId"], "tc_1");
    let text = results[0]["result"].as_str().unwrap();
    assert!(text.contains("45 days") && text.contains("Returns policy"), "{text}");
    assert!(!text.contains("9 days"), "never another org's passage: {text}");
    assert!(results[1]["result"].as_str().unwrap().contains("45 days"));
    assert!(results[2]["error"].as_str().unwrap().contains("transfer_money"));

    let forged = tool_calls(&app, "wrong-secret", json!([])).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}
