//! The bus as other services see it: the micro-service protocol and the bundled permissions.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_micro_service_answers_ping_and_lists_its_endpoints() {
    let app = spawn_app().await;
    let nats = app.public_nats().await;

    let ping = nats.request("$SRV.PING.assist", "".into()).await.expect("ping answered");
    let info = nats.request("$SRV.INFO.assist", "".into()).await.expect("info answered");

    assert_eq!(serde_json::from_slice::<Value>(&ping.payload).unwrap()["name"], "assist");
    let info: Value = serde_json::from_slice(&info.payload).unwrap();
    let subjects: Vec<&str> =
        info["endpoints"].as_array().unwrap().iter().map(|e| e["subject"].as_str().unwrap()).collect();
    // A lone node holds every partition, and serves each as one endpoint.
    for partition in 0..16 {
        let subject = format!("assist.v1.partition.{partition}.>");
        assert!(subjects.contains(&subject.as_str()), "{subjects:?}");
    }
}

#[tokio::test]
async fn a_public_user_may_call_the_public_api() {
    let app = spawn_app().await;
    let nats = app.public_nats().await;

    let reply =
        nats.request("assist.v1.public.org_nobody.widget.settings", "".into()).await.expect("a reply");

    let code = reply.headers.as_ref().and_then(|h| h.get("Assist-Error-Code")).map(|v| v.as_str().to_owned());
    assert_eq!(code.as_deref(), Some("not_found"), "the request reached the service");
}

#[tokio::test]
async fn a_public_user_is_refused_on_private_and_system_subjects() {
    let app = spawn_app().await;
    let backend = app.backend_nats().await;
    let mut watched = backend.subscribe("assist.v1.>").await.unwrap();
    backend.flush().await.unwrap();
    let (public, mut violations) = app.public_nats_watched().await;

    public.publish("assist.v1.private.org_a.vapi.assistants", "x".into()).await.unwrap();
    public.publish("assist.v1.system.clerk.user.created", "x".into()).await.unwrap();
    public.publish("assist.v1.owner.org_a.apply", "x".into()).await.unwrap();
    public.publish("assist.v1.public.org_a.marker.sent", "x".into()).await.unwrap();
    public.flush().await.unwrap();

    let first = tokio::time::timeout(Duration::from_secs(5), watched.next()).await.unwrap().unwrap();
    assert_eq!(
        first.subject.as_str(),
        "assist.v1.partition.9.public.org_a.marker.sent",
        "only the public message got through, onto its org's partition"
    );
    let violations = violations.next(3).await;
    assert!(violations[0].contains("assist.v1.private.org_a.vapi.assistants"), "{violations:?}");
    assert!(violations[1].contains("assist.v1.system.clerk.user.created"), "{violations:?}");
    assert!(violations[2].contains("assist.v1.owner.org_a.apply"), "{violations:?}");
}
