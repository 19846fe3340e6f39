//! Anonymous requests naming organizations nobody made known: refused without starting an
//! actor or writing anything, and forgotten as soon as the org becomes known.

use reqwest::StatusCode;

use crate::clerk_webhooks::{applied, deliver, event};
use crate::helpers::spawn_app;

#[tokio::test]
async fn made_up_orgs_start_no_actor_and_write_nothing() {
    let app = spawn_app().await;

    for i in 0..200 {
        let org = format!("org_madeup{i}");
        let settings = app.get(&format!("/v1/widget/{org}/settings"), None).await;
        let session = app
            .post(
                &format!("/v1/widget/{org}/sessions"),
                None,
                &serde_json::json!({"name": "Eve", "email": "eve@example.com"}),
            )
            .await;
        assert_eq!(settings.status, StatusCode::NOT_FOUND, "{}", settings.body);
        assert_eq!(session.status, StatusCode::NOT_FOUND, "{}", session.body);
        assert_eq!(settings.error_message(), format!("organization {org} is not known to assist"));
    }

    let counts = app.tenants.counts();
    assert_eq!((counts.activated, counts.active), (0, 0), "no actor, so no activation transaction");
}

#[tokio::test]
async fn an_org_refused_a_moment_ago_serves_once_an_operator_makes_it_known() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::NOT_FOUND);

    app.known_org("org_acme").await;
    app.tenants.passivate(&assist::ids::OrgId::parse("org_acme").unwrap()).await.unwrap();

    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_org_refused_a_moment_ago_serves_once_clerk_makes_it_known() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::NOT_FOUND);

    deliver(&app, "msg_org_created", &event("organization.created", "org_acme")).await;

    assert!(applied(&app, 1).await);
    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::OK);
}
