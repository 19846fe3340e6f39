//! Connections are bounded: silent ones and ones that never finish their headers are closed in
//! time, one client cannot hold more than its share, the node never takes more than it can
//! serve, and it keeps answering throughout. The attacker connects from another loopback
//! address (127.0.0.2) than the test's own requests.

use std::net::SocketAddr;
use std::time::Duration;

use assist::http::ConnectionLimits;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::helpers::{TestApp, spawn_app_with};

const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
const IDLE_TIMEOUT: Duration = Duration::from_secs(1);
const ATTACKER: [u8; 4] = [127, 0, 0, 2];
const UNFINISHED: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: assist\r\nX-Slow: ";
/// Answered, then the connection is kept alive and left silent.
const KEPT_ALIVE: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: assist\r\n\r\n";

/// The header timeout is the one that closes silent connections here; the idle timeout is far.
fn limits(per_client: usize, total: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: HEADER_TIMEOUT,
        idle_timeout: HEADER_TIMEOUT * 10,
        per_client,
        total: Some(total),
    }
}

/// The first of each three connections is kept alive after a request, the others send half
/// of a request's headers or nothing.
fn attack(i: usize) -> &'static [u8] {
    [KEPT_ALIVE, UNFINISHED, b""][i % 3]
}

/// Opens a connection from `from`, sends `first` and nothing more, and watches it: how long
/// after `start` the server closed it, or `None` if it is still open four header timeouts on.
async fn connect(
    app: &TestApp,
    from: [u8; 4],
    first: &'static [u8],
    start: Instant,
) -> JoinHandle<Option<Duration>> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(app.addr).await.unwrap();
    tokio::spawn(async move {
        let _ = stream.write_all(first).await;
        let mut buf = [0u8; 512];
        // A refused connection first reads its 503; a closed one reads 0 or a reset.
        let closed = async { while matches!(stream.read(&mut buf).await, Ok(1..)) {} };
        tokio::time::timeout(HEADER_TIMEOUT * 4, closed).await.ok().map(|()| start.elapsed())
    })
}

async fn closed(watched: Vec<JoinHandle<Option<Duration>>>) -> Vec<Option<Duration>> {
    futures::future::join_all(watched).await.into_iter().map(Result::unwrap).collect()
}

async fn healthz(app: &TestApp) -> Result<StatusCode, reqwest::Error> {
    // A fresh client each time: a pooled connection would not show whether new ones are taken.
    reqwest::Client::new().get(app.url("/healthz")).send().await.map(|r| r.status())
}

#[tokio::test]
async fn many_idle_connections_from_one_client_neither_starve_others_nor_stay_open() {
    let app = spawn_app_with(|c| c.connections = limits(20, 1000)).await;
    app.known_org("org_acme").await;
    let start = Instant::now();
    let mut watched = Vec::new();
    for i in 0..200 {
        watched.push(connect(&app, ATTACKER, attack(i), start).await);
    }

    assert_eq!(healthz(&app).await.unwrap(), StatusCode::OK);
    let real = app.get("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme"))).await;
    assert_eq!(real.status, StatusCode::OK, "{}", real.body);

    let closed = closed(watched).await;
    assert!(closed.iter().all(Option::is_some), "every idle connection is closed in time");
    let at_once = closed.iter().flatten().filter(|after| **after < HEADER_TIMEOUT).count();
    let timed_out = closed.iter().flatten().filter(|after| **after >= HEADER_TIMEOUT).count();
    assert_eq!((at_once, timed_out), (180, 20), "those over the client's cap are closed at once");
}

#[tokio::test]
async fn a_full_node_refuses_new_connections_at_once_and_recovers_when_they_time_out() {
    let app = spawn_app_with(|c| c.connections = limits(1000, 50)).await;
    let start = Instant::now();
    let mut watched = Vec::new();
    for i in 0..60 {
        watched.push(connect(&app, ATTACKER, attack(i), start).await);
    }

    let refused = tokio::time::timeout(HEADER_TIMEOUT / 2, healthz(&app)).await;
    assert!(
        matches!(refused, Ok(Err(_)) | Ok(Ok(StatusCode::SERVICE_UNAVAILABLE))),
        "refused at once, neither served nor left waiting: {refused:?}"
    );
    let closed = closed(watched).await;
    assert!(closed.iter().all(Option::is_some), "every idle connection is closed in time");
    assert_eq!(healthz(&app).await.unwrap(), StatusCode::OK, "served again once they are gone");
}

#[tokio::test]
async fn a_request_whose_body_stalls_is_closed_once_nothing_moves() {
    let app = spawn_app_with(|c| {
        c.connections = ConnectionLimits { idle_timeout: IDLE_TIMEOUT, ..limits(20, 1000) }
    })
    .await;
    let start = Instant::now();
    let head = b"POST /v1/widget/org_acme/sessions HTTP/1.1\r\nHost: assist\r\n\
                 content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"name\":";

    let closed = closed(vec![connect(&app, [127, 0, 0, 1], head, start).await]).await;

    let after = closed[0].expect("closed");
    assert!(after >= IDLE_TIMEOUT, "not before the idle timeout: {after:?}");
}
