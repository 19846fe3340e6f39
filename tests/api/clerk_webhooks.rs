//! Clerk webhooks end to end: Svix-signed deliveries stored durably, applied by system ingest
//! once in effect, whatever is replayed, duplicated, crashed or down.

use std::time::Duration;

use assist::faults::{self, Fault};
use assist::webhooks::svix::SvixVerifier;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Answer, TestApp, WEBHOOK_SECRET, answer, eventually, spawn_app, spawn_app_with};

/// A documented Clerk payload from `tests/fixtures/clerk`, re-pointed at `org`.
pub(crate) fn event(name: &str, org: &str) -> Value {
    let path = format!("{}/tests/fixtures/clerk/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let data = &mut event["data"];
    if data["object"] == "organization" {
        data["id"] = org.into();
    } else if data.get("organization").is_some() {
        data["organization"]["id"] = org.into();
    } else if data.get("payer").is_some() {
        data["payer"]["organization_id"] = org.into();
    }
    event
}

/// [`event`] as Clerk's version of `updated_at` (ms).
fn event_as_of(name: &str, org: &str, updated_at: i64) -> Value {
    let mut body = event(name, org);
    body["data"]["updated_at"] = updated_at.into();
    body
}

async fn deliver_at(app: &TestApp, id: &str, body: &Value, timestamp: i64, secret: &str) -> Answer {
    let body = body.to_string();
    let signature = SvixVerifier::new(secret).unwrap().sign(id, timestamp, body.as_bytes());
    let request = app
        .http
        .post(app.url("/webhooks/clerk"))
        .header("svix-id", id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .header("content-type", "application/json")
        .body(body);
    answer(request.send().await.unwrap()).await
}

pub(crate) async fn deliver(app: &TestApp, id: &str, body: &Value) -> Answer {
    deliver_at(app, id, body, app.clock.now().timestamp(), WEBHOOK_SECRET).await
}

pub(crate) async fn applied(app: &TestApp, n: u64) -> bool {
    eventually(Duration::from_secs(10), || app.ingest.counts().applied >= n).await
}

#[tokio::test]
async fn a_signed_organization_event_makes_the_organization_known() {
    let app = spawn_app().await;

    let delivered = deliver(&app, "msg_org_created", &event("organization.created", "org_acme")).await;

    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);
    assert!(applied(&app, 1).await);
    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::OK);
    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;
    assert_eq!(org.body["name"], "Acme");
    assert_eq!(org.body["slug"], "acme");
    assert_eq!(org.body["memberCount"], 1);
}

#[tokio::test]
async fn a_forged_signature_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let body = event("organization.created", "org_forged");

    let forged = deliver_at(
        &app,
        "msg_forged",
        &body,
        app.clock.now().timestamp(),
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    deliver(&app, "msg_real", &event("organization.created", "org_real")).await;

    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert!(forged.error_message().starts_with("svix-signature"), "{}", forged.error_message());
    assert!(applied(&app, 1).await);
    assert_eq!(app.ingest.counts().received, 1, "only the genuine event reached the stream");
    assert_eq!(app.get("/v1/widget/org_forged/settings", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_replay_outside_the_five_minute_tolerance_is_refused() {
    let app = spawn_app().await;
    let body = event("organization.created", "org_acme");

    let old = deliver_at(&app, "msg_old", &body, app.clock.now().timestamp() - 301, WEBHOOK_SECRET).await;
    let ahead = deliver_at(&app, "msg_ahead", &body, app.clock.now().timestamp() + 301, WEBHOOK_SECRET).await;

    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    assert_eq!(ahead.status, StatusCode::BAD_REQUEST);
    assert!(old.error_message().starts_with("svix-timestamp"), "{}", old.error_message());
}

/// Svix retries a failed delivery for more than a day, so an older version of an organization may
/// come after a newer one; `data.updated_at` tells them apart.
#[tokio::test]
async fn a_late_retry_of_an_older_organization_version_does_not_undo_a_newer_one() {
    let app = spawn_app().await;
    let version = |name: &str, updated_at: i64| {
        let mut body = event_as_of("organization.updated", "org_acme", updated_at);
        body["data"]["name"] = name.into();
        body
    };

    deliver(&app, "msg_org_v2", &version("Acme Two", 1_762_000_002_000)).await;
    assert!(applied(&app, 1).await);
    deliver(&app, "msg_org_v1", &version("Acme One", 1_762_000_001_000)).await;
    assert!(applied(&app, 2).await);

    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;
    assert_eq!(org.body["name"], "Acme Two", "{}", org.body);
    deliver(&app, "msg_org_v3", &version("Acme Three", 1_762_000_003_000)).await;
    assert!(applied(&app, 3).await);
    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;
    assert_eq!(org.body["name"], "Acme Three", "{}", org.body);
}

#[tokio::test]
async fn a_late_retry_of_an_older_billing_event_does_not_change_the_subscription_status() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;

    let active = event_as_of("subscription.active", "org_acme", 1_762_000_002_000);
    deliver(&app, "msg_sub_active", &active).await;
    let late = event_as_of("subscription.pastDue", "org_acme", 1_762_000_001_000);
    deliver(&app, "msg_sub_past_due", &late).await;
    assert!(applied(&app, 2).await);

    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;
    assert_eq!(org.body["subscriptionStatus"], "active", "{}", org.body);
}

/// A member's removal may be delivered before a retry of their joining, whose first delivery
/// failed: the removed member must not come back.
#[tokio::test]
async fn a_late_retry_of_a_membership_creation_does_not_bring_a_removed_member_back() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let members =
        async || app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await.body["memberCount"].clone();

    deliver(&app, "msg_mem_deleted", &event("organizationMembership.deleted", "org_acme")).await;
    assert!(applied(&app, 1).await);
    deliver(&app, "msg_mem_created", &event("organizationMembership.created", "org_acme")).await;
    assert!(applied(&app, 2).await);
    assert_eq!(members().await, Value::Null, "no member recorded");

    // The same person invited again: a new membership.
    let mut again = event("organizationMembership.created", "org_acme");
    again["data"]["id"] = "orgmem_2pLkMem00000000000002".into();
    deliver(&app, "msg_mem_again", &again).await;
    assert!(applied(&app, 3).await);
    assert_eq!(members().await, 1);
}

#[tokio::test]
async fn a_redelivered_event_is_applied_once() {
    let app = spawn_app().await;
    let body = event("organizationMembership.created", "org_acme");
    app.known_org("org_acme").await;

    let first = deliver(&app, "msg_member", &body).await;
    let again = deliver(&app, "msg_member", &body).await;
    assert!(applied(&app, 1).await);
    // Hours later, past JetStream's window: the same svix-id straight into the stream.
    let js = async_nats::jetstream::new(app.backend_nats().await);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Assist-Event-Id", "msg_member");
    let subject = "assist.v1.system.clerk.organizationMembership.created";
    js.publish_with_headers(subject, headers, body.to_string().into()).await.unwrap().await.unwrap();

    assert_eq!(first.body["duplicate"], false);
    assert_eq!(again.body["duplicate"], true);
    assert!(eventually(Duration::from_secs(10), || app.ingest.counts().duplicates == 1).await);
    assert_eq!(app.ingest.counts().applied, 1);
}

#[tokio::test]
async fn a_burst_applies_each_orgs_events_in_order_and_a_duplicate_once() {
    // Straight into the stream, faster than ingest takes them: ingest takes them in several
    // turns, two of which may be in flight at once. JetStream's redelivery of an event not
    // acknowledged in time, or a retry of one that timed out, would reorder them; on a loaded
    // machine the 1 s acknowledgement wait of the other tests is too short for that.
    let app = spawn_app_with(|config| config.ingest_ack_wait = Duration::from_secs(30)).await;
    let js = async_nats::jetstream::new(app.backend_nats().await);
    let publish = |subject: String, id: String, body: Value| {
        let js = js.clone();
        async move {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Assist-Event-Id", id.as_str());
            js.publish_with_headers(subject, headers, body.to_string().into()).await.unwrap()
        }
    };
    let mut acks = Vec::new();
    for i in 0..60 {
        let mut renamed = event("organization.updated", "org_acme");
        renamed["data"]["name"] = format!("Acme {i}").into();
        let subject = "assist.v1.system.clerk.organization.updated".to_owned();
        acks.push(publish(subject.clone(), format!("msg_rename_{i}"), renamed.clone()).await);
        if i == 30 {
            acks.push(publish(subject, format!("msg_rename_{i}"), renamed).await);
        }
        let other = event("organization.created", &format!("org_other{i}"));
        let subject = "assist.v1.system.clerk.organization.created".to_owned();
        acks.push(publish(subject, format!("msg_other_{i}"), other).await);
    }
    for ack in acks {
        ack.await.unwrap();
    }

    assert!(applied(&app, 120).await);
    let once = eventually(Duration::from_secs(10), || app.ingest.counts().duplicates == 1).await;
    assert!(once, "{:?}", app.ingest.counts());
    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;
    assert_eq!(org.body["name"], "Acme 59", "the org's last event is the one that stays");
    assert_eq!(app.ingest.counts().applied, 120);
}

#[tokio::test]
async fn billing_events_set_the_subscription_status_in_either_spelling() {
    let app = spawn_app().await;
    let token = app.token("org_acme");
    app.known_org("org_acme").await;

    deliver(&app, "msg_active", &event("subscription.active", "org_acme")).await;
    assert!(applied(&app, 1).await);
    let active = app.get("/v1/orgs/org_acme", Some(&token)).await.body["subscriptionStatus"].clone();
    deliver(&app, "msg_past_due", &event("subscription.pastDue", "org_acme")).await;
    assert!(applied(&app, 2).await);
    let past_due = app.get("/v1/orgs/org_acme", Some(&token)).await.body["subscriptionStatus"].clone();

    assert_eq!(active, "active");
    assert_eq!(past_due, "past_due");
}

#[tokio::test]
async fn a_deleted_organization_stops_being_served() {
    let app = spawn_app().await;
    deliver(&app, "msg_created", &event("organization.created", "org_gone")).await;
    assert!(applied(&app, 1).await);
    assert_eq!(app.get("/v1/widget/org_gone/settings", None).await.status, StatusCode::OK);

    deliver(&app, "msg_deleted", &event("organization.deleted", "org_gone")).await;
    assert!(applied(&app, 2).await);

    let org = assist::ids::OrgId::parse("org_gone").unwrap();
    assert!(eventually(Duration::from_secs(5), || !app.tenants.is_active(&org)).await, "its actor stopped");
    // The edge kept the settings it served; the deletion on the change feed drops them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while app.get("/v1/widget/org_gone/settings", None).await.status != StatusCode::NOT_FOUND {
        assert!(tokio::time::Instant::now() < deadline, "still served after its deletion");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unknown_event_types_are_acknowledged_and_counted() {
    let app = spawn_app().await;

    let delivered = deliver(&app, "msg_session", &event("session.created", "org_acme")).await;

    assert_eq!(delivered.status, StatusCode::OK);
    assert!(eventually(Duration::from_secs(10), || app.ingest.counts().unknown == 1).await);
}

#[tokio::test]
async fn an_ingest_crash_mid_event_still_applies_it_exactly_once_in_effect() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    faults::arm(Fault::PanicAfterApply, "msg_crash");

    deliver(&app, "msg_crash", &event("organizationMembership.created", "org_acme")).await;

    assert!(applied(&app, 1).await, "redelivered after the restart and applied");
    let org = app.get("/v1/orgs/org_acme", Some(&app.token("org_acme"))).await;
    assert_eq!(org.body["memberCount"], 1);
    assert_eq!(app.ingest.counts().applied, 1);
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_dead_lettered_after_bounded_deliveries() {
    let app = spawn_app().await;
    faults::arm(Fault::FailApply, "msg_poison");

    deliver(&app, "msg_poison", &event("organization.created", "org_poison")).await;

    assert!(eventually(Duration::from_secs(15), || app.ingest.counts().dead_lettered == 1).await);
    let counts = app.ingest.counts();
    assert_eq!(counts.retried, 4, "five deliveries in all");
    let js = async_nats::jetstream::new(app.backend_nats().await);
    let info = js.get_stream("ASSIST_DEADLETTER").await.unwrap().info().await.unwrap().clone();
    assert_eq!(info.state.messages, 1);
}

#[tokio::test]
async fn a_malformed_known_event_is_dead_lettered_at_once() {
    let app = spawn_app().await;
    let mut body = event("organization.created", "org_acme");
    body["data"]["id"] = "not a valid id".into();

    deliver(&app, "msg_malformed", &body).await;

    assert!(eventually(Duration::from_secs(10), || app.ingest.counts().dead_lettered == 1).await);
    assert_eq!(app.ingest.counts().retried, 0);
}

#[tokio::test]
async fn while_nats_is_down_webhooks_get_503_and_the_retry_is_applied() {
    let mut app = spawn_app().await;
    let body = event("organization.created", "org_acme");

    app.restart_nats(async |app: &TestApp| {
        let refused = deliver(app, "msg_outage", &body).await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    })
    .await;
    let mut retried = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        retried = deliver(&app, "msg_outage", &body).await.status;
        if retried == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert_eq!(retried, StatusCode::OK, "Svix's retry is stored once NATS is back");
    assert!(applied(&app, 1).await);
    assert_eq!(app.get("/v1/widget/org_acme/settings", None).await.status, StatusCode::OK);
}
