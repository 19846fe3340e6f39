//! A store written by the release before the knowledge base and the agent opens and serves:
//! its conversations (no `handler`, no `awaiting_agent`) read as handled by a person, its
//! messages (no `sources`) read as before, and both can be answered.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app_with;

const ORG: &str = "org_old";

/// The previous release's schema and records written the way it wrote them.
async fn previous_release_store(path: &std::path::Path) {
    let db = surrealdb::engine::any::connect(format!("surrealkv://{}", path.display())).await.unwrap();
    db.use_ns("assist").use_db("assist").await.unwrap();
    let schema = include_str!("../fixtures/db/schema-before-knowledge.surql");
    db.query(schema).await.unwrap().check().unwrap();
    db.query(
        "CREATE organizations:org_old SET org = 'org_old', name = 'Old Co', deleted = false;
         CREATE conversations:conv_old SET conversation = 'conv_old', org = 'org_old', status = 'escalated',
             channel = 'chat', created_at = d'2026-01-10T09:00:00Z', updated_at = d'2026-01-10T09:05:00Z';
         CREATE messages:msg_old SET message = 'msg_old', org = 'org_old', conversation = 'conv_old',
             role = 'user', text = 'Is my order shipped?', created_at = d'2026-01-10T09:00:00Z';",
    )
    .await
    .unwrap()
    .check()
    .unwrap();
}

#[tokio::test]
async fn a_store_from_before_the_agent_opens_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assist.db");
    previous_release_store(&path).await;
    let app = spawn_app_with(|config| config.db = format!("surrealkv://{}", path.display())).await;
    let token = app.token(ORG);

    let conversation = app.get(&format!("/v1/orgs/{ORG}/conversations/conv_old"), Some(&token)).await;
    assert_eq!(conversation.status, StatusCode::OK, "{}", conversation.body);
    assert_eq!(conversation.body["handler"], "human");
    assert_eq!(conversation.body["status"], "escalated");
    let messages = app.get(&format!("/v1/orgs/{ORG}/conversations/conv_old/messages"), Some(&token)).await;
    assert_eq!(messages.body["items"][0]["text"], "Is my order shipped?");
    assert!(messages.body["items"][0].get("sources").is_none());

    let reply = json!({"text": "Yes, it left yesterday."});
    let sent =
        app.post(&format!("/v1/orgs/{ORG}/conversations/conv_old/messages"), Some(&token), &reply).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let listed = app.get(&format!("/v1/orgs/{ORG}/conversations"), Some(&token)).await;
    assert_eq!(listed.body["items"][0]["handler"], "human");
    let documents = app.get(&format!("/v1/orgs/{ORG}/knowledge"), Some(&token)).await;
    assert_eq!(documents.status, StatusCode::OK, "the new tables exist: {}", documents.body);
}
