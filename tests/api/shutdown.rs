//! Graceful shutdown: the edge stops taking work, what is in flight finishes, actors stop
//! children-first, NATS is drained and `run_until_stopped` returns `Ok` within a bound.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::helpers::{answer, spawn_app_with};

/// A JWKS endpoint that answers a second late, proxying the fake Clerk's: the first operator
/// request of an app waits on it, which keeps that request in flight as long as the test needs.
struct SlowJwks {
    url: String,
    asked: Arc<Notify>,
    upstream: Arc<OnceLock<String>>,
}

impl SlowJwks {
    async fn start() -> Self {
        let (asked, upstream) = (Arc::new(Notify::new()), Arc::new(OnceLock::<String>::new()));
        let (notify, target) = (asked.clone(), upstream.clone());
        let app = Router::new().route(
            "/jwks.json",
            get(move || {
                let (notify, target) = (notify.clone(), target.clone());
                async move {
                    notify.notify_one();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let url = target.get().expect("the upstream is set").clone();
                    reqwest::get(url).await.unwrap().text().await.unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, asked, upstream }
    }
}

#[tokio::test]
async fn an_in_flight_request_completes_and_the_app_stops_cleanly_within_a_bound() {
    let slow = SlowJwks::start().await;
    let (url, upstream) = (slow.url.clone(), slow.upstream.clone());
    let mut app = spawn_app_with(move |c| {
        upstream.set(c.clerk.jwks_url.clone().expect("the fake Clerk's JWKS")).unwrap();
        c.clerk.jwks_url = Some(url);
    })
    .await;
    let request =
        app.http.get(app.url("/v1/orgs/org_a/widget-settings")).bearer_auth(app.token("org_a")).send();
    let in_flight =
        tokio::spawn(async move { answer(request.await.expect("answered during shutdown")).await });
    slow.asked.notified().await;

    let started = Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(15), app.stop()).await;

    assert!(matches!(stopped, Ok(Ok(()))), "run_until_stopped returns Ok in time: {stopped:?}");
    let finished = in_flight.await.unwrap();
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    assert!(started.elapsed() >= Duration::from_millis(500), "shutdown waited for the request");
    let refused = reqwest::Client::new().get(app.url("/healthz")).send().await;
    assert!(refused.is_err(), "no new work is taken after shutdown");
}

#[tokio::test]
async fn a_stopped_node_leaves_the_nodes_bucket() {
    let mut app = spawn_app_with(|c| c.node_id = assist::ops::NodeId::parse("node-leaving").unwrap()).await;
    let js = async_nats::jetstream::new(app.backend_nats().await);
    let bucket = js.get_key_value("assist_nodes").await.unwrap();
    assert!(bucket.get("node-leaving").await.unwrap().is_some(), "announced at start");

    app.stop().await.expect("stops cleanly");

    assert!(bucket.get("node-leaving").await.unwrap().is_none(), "withdrawn at shutdown");
}

/// With a heartbeat due every few milliseconds, one lands while the leases are being given
/// back; it must not claim them again, or the next node waits out the TTL for them.
#[tokio::test]
async fn a_stopped_node_gives_back_every_lease_even_with_a_heartbeat_due() {
    let mut app = spawn_app_with(|c| {
        c.node_id = assist::ops::NodeId::parse("node-releasing").unwrap();
        c.partitions.ttl = Duration::from_millis(40);
    })
    .await;
    let js = async_nats::jetstream::new(app.backend_nats().await);
    let bucket = js.get_key_value(assist::actors::partitions::BUCKET).await.unwrap();

    app.stop().await.expect("stops cleanly");

    let mut keys: Vec<String> =
        futures::TryStreamExt::try_collect(bucket.keys().await.unwrap()).await.unwrap();
    keys.sort();
    let mut held = Vec::new();
    for key in keys {
        if let Some(value) = bucket.get(&key).await.unwrap() {
            held.push((key, String::from_utf8_lossy(&value).into_owned()));
        }
    }
    assert!(held.is_empty(), "leases or membership left behind after a stop: {held:?}");
}
