//! The NATS door as other services see it: the users the bundled config gives out receive
//! nothing addressed to anyone else, and a store written before the config had accounts is kept.

use std::time::Duration;

use assist::bus::embedded::{Credentials, NatsServer};
use futures::StreamExt;
use serde_json::json;

use crate::events::Stream;
use crate::helpers::spawn_app;
use crate::vapi::{PRIVATE_KEY, connect, paying_org};

#[tokio::test]
async fn the_public_user_receives_no_reply_and_no_event_meant_for_others() {
    let app = spawn_app().await;
    let public = app.public_nats().await;
    let mut inboxes = public.subscribe("_INBOX.>").await.unwrap();
    public.flush().await.unwrap();

    // Replies that carry secrets (a session token, a webhook secret, a stream ticket), and
    // change-feed deliveries to the edge's event stream.
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let token = app.token("org_acme");
    let mut operators = Stream::operator(&app, "org_acme").await;
    assert_eq!(connect(&app, &token, PRIVATE_KEY).await.status, 200);
    let (_, session) = app.session("org_acme", "Ada").await;
    app.conversation("org_acme", &session).await;
    assert_eq!(app.post("/v1/orgs/org_acme/events/tickets", Some(&token), &json!({})).await.status, 201);
    operators.next().await;

    // Everything above was answered before this request was sent: had any of it reached the
    // public user, it would come first.
    let own = public.request("assist.v1.public.org_acme.widget.settings", "".into()).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), inboxes.next()).await.unwrap().unwrap();
    assert_eq!(
        first.payload,
        own.payload,
        "first on _INBOX.>: {:?}",
        String::from_utf8_lossy(&first.payload)
    );
}

#[tokio::test]
async fn the_public_user_may_not_listen_to_the_change_feed_or_everything() {
    let app = spawn_app().await;
    let (public, mut violations) = app.public_nats_watched().await;

    let _feed = public.subscribe("assist.v1.events.>").await.unwrap();
    let _all = public.subscribe(">").await.unwrap();
    public.flush().await.unwrap();

    let violations = violations.next(2).await;
    assert!(violations[0].contains("assist.v1.events.>"), "{violations:?}");
    assert!(violations[1].contains("Subscription to \">\""), "{violations:?}");
}

/// The previous release's bundled config had no accounts: its streams lived in NATS's global
/// account. Started with today's config on the same store, they are the backend's.
#[tokio::test]
async fn streams_stored_before_accounts_are_kept_by_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = Credentials::random();
    let old_config = include_str!("../fixtures/nats/before-accounts.conf");
    let old = NatsServer::start_with_config(dir.path(), old_config, credentials.clone(), None).await.unwrap();
    let js = async_nats::jetstream::new(backend(&old).await);
    assist::bus::system::ensure_streams(&js).await.unwrap();
    let subject =
        assist::bus::subjects::system(assist::bus::subjects::Source::Clerk, "user.created").unwrap();
    js.publish(subject, "{}".into()).await.unwrap().await.unwrap();
    old.stop().await;

    let server = NatsServer::start(dir.path(), credentials, None).await.unwrap();
    let mut stream = async_nats::jetstream::new(backend(&server).await)
        .get_stream(assist::bus::system::STREAM)
        .await
        .expect("the stream was kept");
    assert_eq!(stream.info().await.unwrap().state.messages, 1, "its unapplied webhook too");
}

async fn backend(server: &NatsServer) -> async_nats::Client {
    assist::bus::connect(&server.backend_url(), "test-upgrade", Duration::from_secs(5)).await.unwrap()
}

/// The public subjects check a Clerk token exactly as the HTTP edge does.
#[tokio::test]
async fn forged_tokens_are_refused_over_nats_as_over_http() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let public = app.public_nats().await;
    let base = || app.clerk.token().org("org_acme").role("org:admin");
    let forged = [
        ("alg none", base().alg_none()),
        ("HS256 with the public key", base().hs256_with_public_key()),
        ("tampered", base().tampered()),
        ("expired", base().expired().sign()),
        ("wrong issuer", base().wrong_issuer().sign()),
        ("unknown kid", base().unknown_kid().sign()),
        ("another org's", app.clerk.token().org("org_other").role("org:admin").sign()),
    ];

    for (what, token) in forged {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Authorization", format!("Bearer {token}").as_str());
        let reply = public
            .request_with_headers("assist.v1.public.org_acme.settings.get", headers, "".into())
            .await
            .unwrap();
        let code = reply.headers.as_ref().and_then(|h| h.get("Assist-Error-Code")).map(|v| v.to_string());
        assert!(
            matches!(code.as_deref(), Some("unauthenticated" | "forbidden")),
            "{what}: {code:?} {}",
            String::from_utf8_lossy(&reply.payload)
        );
    }
}

/// A caller that names a partition itself cannot reach an org through a node that does not own
/// it: the org's partition is checked against the subject's.
#[tokio::test]
async fn a_request_addressed_to_the_wrong_partition_is_refused() {
    let app = spawn_app().await;
    app.known_org("org_a").await;
    let public = app.public_nats().await;

    // org_a is in partition 9 (the bundled mappings); 3 is any other.
    let reply =
        public.request("assist.v1.partition.3.public.org_a.widget.settings", "".into()).await.unwrap();

    let code = reply.headers.as_ref().and_then(|h| h.get("Assist-Error-Code")).map(|v| v.to_string());
    assert_eq!(code.as_deref(), Some("invalid_argument"), "{}", String::from_utf8_lossy(&reply.payload));
}
