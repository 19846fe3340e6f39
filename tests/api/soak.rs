//! A bounded soak: many rounds of everything an org's users do at once, end-users, operators,
//! webhooks and event streams, after which nothing is left behind: no failed or restarted
//! actor, no lost, retried or dead-lettered event, every message where it belongs.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::clerk_webhooks::{applied, deliver, event};
use crate::events::Stream;
use crate::helpers::{TestApp, spawn_app_with};

const ORGS: usize = 8;
const ROUNDS: usize = 6;

async fn round(app: &TestApp, org: String, round: usize) {
    let (_, session) = app.session(&org, &format!("User{round}")).await;
    for _ in 0..3 {
        let stream = Stream::widget(app, &org, &session).await;
        drop(stream);
    }
    let conversation = app.conversation(&org, &session).await;
    let path = format!("/v1/widget/{org}/conversations/{conversation}/messages");
    for i in 0..5 {
        let sent =
            app.widget(Method::POST, &path, Some(&session), Some(&json!({"text": format!("m{i}")}))).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    }
    let token = app.token(&org);
    let reply = app
        .post(
            &format!("/v1/orgs/{org}/conversations/{conversation}/messages"),
            Some(&token),
            &json!({"text": "hi"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let read = app.widget(Method::GET, &path, Some(&session), None).await;
    assert_eq!(read.body["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn rounds_of_mixed_traffic_leave_nothing_behind() {
    let app = spawn_app_with(|config| config.connections.per_client = 128).await;
    let orgs: Vec<String> = (0..ORGS).map(|i| format!("org_soak{i}")).collect();
    for org in &orgs {
        app.known_org(org).await;
    }

    let app = &app;
    for r in 0..ROUNDS {
        let webhooks = orgs.iter().map(|org| {
            let body = event("organization.updated", org);
            let id = format!("msg_{org}_{r}");
            async move { deliver(app, &id, &body).await }
        });
        let users = orgs.iter().map(|org| round(app, org.clone(), r));
        let (delivered, ()) = tokio::join!(join_all(webhooks), async {
            join_all(users).await;
        });
        assert!(delivered.iter().all(|d| d.status == StatusCode::OK));
    }

    assert!(applied(app, (ORGS * ROUNDS) as u64).await);
    let ingest = app.ingest.counts();
    assert_eq!((ingest.retried, ingest.dead_lettered), (0, 0), "{ingest:?}");
    let tenants = app.tenants.counts();
    assert_eq!((tenants.failed, tenants.restarted), (0, 0), "{tenants:?}");
    assert_eq!(tenants.active, ORGS as u64, "one actor per org, none left over");
}
