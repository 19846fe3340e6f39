//! The actor tree under stress: crashes, restart limits, passivation.

use std::time::Duration;

use assist::faults::Fault;
use assist::ids::OrgId;
use reqwest::StatusCode;

use crate::helpers::{advance_time, custom_settings, eventually, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_org_actor_that_panics_mid_request_is_restarted_and_keeps_the_committed_write() {
    let app = spawn_app().await;
    let token = app.token("org_crash");
    let org = OrgId::parse("org_crash").unwrap();
    app.get("/v1/orgs/org_crash/widget-settings", Some(&token)).await;
    assist::faults::arm(Fault::PanicAfterWrite, org.as_str());

    let crashed = app.put("/v1/orgs/org_crash/widget-settings", Some(&token), &custom_settings()).await;

    assert_eq!(crashed.status, StatusCode::SERVICE_UNAVAILABLE, "{}", crashed.body);
    let after = app.get("/v1/orgs/org_crash/widget-settings", Some(&token)).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body, custom_settings(), "the write committed before the panic survives");
    let status = app.tenants.statuses().await.unwrap().into_iter().find(|s| s.org == org).unwrap();
    assert_eq!((status.status.as_str(), status.restarts), ("active", 1));
}

#[tokio::test]
async fn an_org_that_keeps_failing_is_suspended_not_restarted_forever() {
    let app = spawn_app_with(|c| c.actors.max_restarts = 1).await;
    let token = app.token("org_flaky");
    let org = OrgId::parse("org_flaky").unwrap();

    for _ in 0..2 {
        assist::faults::arm(Fault::PanicAfterWrite, org.as_str());
        app.put("/v1/orgs/org_flaky/widget-settings", Some(&token), &custom_settings()).await;
    }
    let refused = app.get("/v1/orgs/org_flaky/widget-settings", Some(&token)).await;

    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.error_message().contains("suspended"), "{}", refused.error_message());
    let statuses = app.tenants.statuses().await.unwrap();
    assert!(statuses.iter().any(|s| s.org == org && s.status == "suspended"), "{statuses:?}");
    let other = app.get("/v1/orgs/org_fine/widget-settings", Some(&app.token("org_fine"))).await;
    assert_eq!(other.status, StatusCode::OK, "other organizations are unaffected");
}

#[tokio::test]
async fn an_idle_org_actor_is_passivated_and_comes_back_with_its_state() {
    let app = spawn_app_with(|c| c.actors.idle_timeout = Duration::from_millis(200)).await;
    let token = app.token("org_sleepy");
    let org = OrgId::parse("org_sleepy").unwrap();
    app.put("/v1/orgs/org_sleepy/widget-settings", Some(&token), &custom_settings()).await;
    assert!(app.tenants.is_active(&org));

    assert!(eventually(Duration::from_secs(5), || !app.tenants.is_active(&org)).await, "passivated");
    // The dashboard's read, not the widget's: the edge may answer that one from its copy.
    let read = app.get("/v1/orgs/org_sleepy/widget-settings", Some(&token)).await;

    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, custom_settings());
    assert!(app.tenants.is_active(&org), "reactivated on demand");
}

#[tokio::test]
async fn beyond_the_active_limit_the_least_recently_used_org_is_passivated_and_comes_back() {
    let app = spawn_app_with(|c| c.actors.max_active = 3).await;
    let orgs = ["org_lru1", "org_lru2", "org_lru3", "org_lru4", "org_lru5"];
    for (i, org) in orgs.iter().enumerate() {
        let (path, token) = (format!("/v1/orgs/{org}/widget-settings"), app.token(org));
        assert_eq!(app.put(&path, Some(&token), &custom_settings()).await.status, StatusCode::OK);
        assert!(app.tenants.counts().active <= 3, "after {} activations", i + 1);
        // Each org's last use a moment after the previous one's, without waiting for it.
        advance_time(Duration::from_millis(5)).await;
    }
    let active = |org: &str| app.tenants.is_active(&OrgId::parse(org).unwrap());
    assert!(!active("org_lru1") && !active("org_lru2"), "the two used longest ago made room");
    assert!(active("org_lru5"), "the org just started is never the one evicted");
    assert_eq!(app.tenants.counts().evicted, 2);

    let read = app.get("/v1/orgs/org_lru1/widget-settings", Some(&app.token("org_lru1"))).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, custom_settings(), "an evicted org comes back with its state");
    assert!(active("org_lru1"));
    assert!(app.tenants.counts().active <= 3);
}
