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
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let public = async_nats::ConnectOptions::with_user_and_password(
        "public".into(),
        app.nats_server.credentials().public_password.clone(),
    )
    .event_callback(move |event| {
        let tx = events_tx.clone();
        async move {
            let _ = tx.send(event.to_string());
        }
    })
    .connect(format!("127.0.0.1:{}", app.nats_server.port()))
    .await
    .unwrap();

    let _feed = public.subscribe("assist.v1.events.>").await.unwrap();
    let _all = public.subscribe(">").await.unwrap();
    public.flush().await.unwrap();

    let mut violations = Vec::new();
    while violations.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
        if event.contains("Permissions Violation") {
            violations.push(event);
        }
    }
    assert!(violations[0].contains("assist.v1.events.>"), "{violations:?}");
    assert!(violations[1].contains("Subscription to \">\""), "{violations:?}");
}

/// The previous release's bundled config had no accounts: its streams lived in NATS's global
/// account. Started with today's config on the same store, they are the backend's.
#[tokio::test]
async fn streams_stored_before_accounts_are_kept_by_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = Credentials::random();
    let old = OldServer::start(dir.path(), &credentials).await;
    let js = async_nats::jetstream::new(old.connect().await);
    assist::bus::system::ensure_streams(&js).await.unwrap();
    let subject =
        assist::bus::subjects::system(assist::bus::subjects::Source::Clerk, "user.created").unwrap();
    js.publish(subject, "{}".into()).await.unwrap().await.unwrap();
    old.stop().await;

    let server = NatsServer::start(dir.path(), credentials, None).await.unwrap();
    let nats =
        assist::bus::connect(&server.backend_url(), "test-upgrade", Duration::from_secs(5)).await.unwrap();
    let mut stream = async_nats::jetstream::new(nats)
        .get_stream(assist::bus::system::STREAM)
        .await
        .expect("the stream was kept");
    assert_eq!(stream.info().await.unwrap().state.messages, 1, "its unapplied webhook too");
}

/// nats-server with the previous release's bundled config, on the layout `NatsServer` uses.
struct OldServer {
    child: tokio::process::Child,
    url: String,
}

impl OldServer {
    async fn start(dir: &std::path::Path, credentials: &Credentials) -> Self {
        let config = format!("{}/tests/fixtures/nats/before-accounts.conf", env!("CARGO_MANIFEST_DIR"));
        let binary = std::env::var("ASSIST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let ports = dir.join("old-ports");
        std::fs::create_dir_all(&ports).unwrap();
        let child = tokio::process::Command::new(binary)
            .args(["-c", &config, "-p", "-1", "-js", "-sd"])
            .arg(dir.join("jetstream"))
            .arg("--ports_file_dir")
            .arg(&ports)
            .env("ASSIST_NATS_BACKEND_PASSWORD", &credentials.backend_password)
            .env("ASSIST_NATS_PUBLIC_PASSWORD", &credentials.public_password)
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server runs");
        let pid = child.id().unwrap();
        let mut port = None;
        for _ in 0..500 {
            port = std::fs::read_dir(&ports)
                .unwrap()
                .flatten()
                .find(|e| e.file_name().to_string_lossy().ends_with(&format!("_{pid}.ports")))
                .and_then(|e| std::fs::read_to_string(e.path()).ok())
                .and_then(|text| text.split("127.0.0.1:").nth(1)?.split('"').next()?.parse::<u16>().ok());
            if port.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let port = port.expect("the old server reports its port");
        Self { child, url: format!("nats://assist:{}@127.0.0.1:{port}", credentials.backend_password) }
    }

    async fn connect(&self) -> async_nats::Client {
        assist::bus::connect(&self.url, "test-old", Duration::from_secs(5)).await.unwrap()
    }

    async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        tokio::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await.unwrap();
        self.child.wait().await.unwrap();
    }
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
