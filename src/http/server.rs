//! The edge's own accept loop, so every connection is bounded: each holds a file descriptor, and
//! a process out of descriptors can accept nothing, not even `/healthz`. Connections are capped
//! per client and in all (over a cap: answered 503 and closed at once), must send their headers
//! in time (also between kept-alive requests), and are closed once nothing moves on them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::EdgeService;
use super::limits::client_key;
use crate::error::ApiError;

/// What bounds the edge's connections.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A connection must send a request's headers within this, from when it opens and again
    /// after each response while kept alive: silent and slowly-sending connections are closed.
    pub header_timeout: Duration,
    /// A connection on which no byte was read or written for this long is closed (a stalled
    /// body, a client no longer reading its stream). Longer than the event streams' heartbeat
    /// and any request's own deadline.
    pub idle_timeout: Duration,
    /// Open connections from one client: an IPv4 address or an IPv6 /64.
    pub per_client: usize,
    /// Open connections in all; `None`: derived from the open-files limit at start.
    pub total: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            per_client: 256,
            total: None,
        }
    }
}

/// Descriptors kept from clients for the rest: database files, NATS, outgoing HTTP, logs.
const RESERVED_FDS: u64 = 256;
/// The open-files limit assumed where it cannot be read.
const USUAL_FD_LIMIT: u64 = 1024;

impl ConnectionLimits {
    /// The total cap: the configured one, else a tenth of the open-files limit and
    /// [`RESERVED_FDS`] below it.
    pub fn total_within(&self, fd_limit: Option<u64>) -> usize {
        let limit = fd_limit.unwrap_or(USUAL_FD_LIMIT);
        let derived = (limit - limit / 10).saturating_sub(RESERVED_FDS).max(1);
        self.total.unwrap_or_else(|| usize::try_from(derived).unwrap_or(usize::MAX))
    }
}

/// Raises this process's soft limit on open files to its hard limit, so the connection cap can
/// sit high; returns the soft limit in force.
#[cfg(target_os = "linux")]
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes only into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Some(raised.rlim_cur);
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(target_os = "linux"))]
pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting, lets
/// every connection finish its request in flight and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: EdgeService,
    limits: ConnectionLimits,
    total: usize,
    shutdown: CancellationToken,
) {
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(total as usize));
    let clients = Clients::default();
    let refusal = refusal();
    loop {
        let (stream, remote) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "refused a connection: the node's connection limit is reached");
            let _ = stream.try_write(&refusal);
            continue;
        };
        let Some(client) = clients.admit(remote.ip(), limits.per_client) else {
            tracing::debug!(%remote, "refused a connection: the client's connection limit is reached");
            let _ = stream.try_write(&refusal);
            continue;
        };
        let held = Held { _slot: slot, _client: client };
        tokio::spawn(connection(stream, remote, router.clone(), limits, shutdown.clone(), held));
    }
    drop(listener);
    // Every connection gives its slot back when it ends.
    let _ = slots.acquire_many(total).await;
}

/// The whole answer to a connection over a cap, written before it is closed.
fn refusal() -> Vec<u8> {
    let body = ApiError::unavailable("too many connections; retry").body().to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A peer that gave up before being accepted is skipped; anything else (such as running out of
/// descriptors) pauses accepting briefly rather than spinning on it.
async fn accept_failed(err: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(error = %err, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// What a connection holds while open and gives back when it ends.
struct Held {
    _slot: OwnedSemaphorePermit,
    _client: ClientSlot,
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: EdgeService,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    _held: Held,
) {
    let activity = Activity::new();
    let io = TokioIo::new(Watched { io: stream, activity: activity.clone() });
    // Client addresses feed the widget routes' per-client rate limit.
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request)
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let mut conn = pin!(http.serve_connection(io, service));
    let mut draining = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(err) = served {
                    tracing::debug!(%remote, error = %err, "connection ended");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = activity.silent_for(limits.idle_timeout) => {
                tracing::debug!(%remote, "closed a connection on which nothing moved");
                return;
            }
        }
    }
}

/// Open connections per client.
#[derive(Clone, Default)]
struct Clients(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection of a client; counted until dropped.
struct ClientSlot {
    clients: Clients,
    key: IpAddr,
}

impl Clients {
    fn admit(&self, ip: IpAddr, limit: usize) -> Option<ClientSlot> {
        let key = client_key(ip);
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_default();
        if *count >= limit {
            if *count == 0 {
                open.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(ClientSlot { clients: self.clone(), key })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Entry::Occupied(mut count) = open.entry(self.key) {
            *count.get_mut() = count.get().saturating_sub(1);
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}

/// When a byte last moved on a connection, in milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self { opened: Instant::now(), last_ms: Arc::default() }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `idle`.
    async fn silent_for(&self, idle: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let Some(deadline) = last.checked_add(idle) else { return std::future::pending().await };
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// A socket that records its activity.
struct Watched {
    io: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_admitted_up_to_its_cap_and_again_once_a_connection_closes() {
        let clients = Clients::default();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8::2".parse().unwrap();
        let first = clients.admit(ip, 2).unwrap();
        let _second = clients.admit(neighbour, 2).unwrap();

        assert!(clients.admit(ip, 2).is_none(), "one /64 is one client");
        assert!(clients.admit("192.0.2.1".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(clients.admit(ip, 2).is_some());
    }

    #[test]
    fn the_total_cap_leaves_room_below_the_open_files_limit() {
        let limits = ConnectionLimits::default();
        assert_eq!(limits.total_within(Some(1024)), 666);
        assert_eq!(limits.total_within(None), 666);
        assert_eq!(limits.total_within(Some(100)), 1);
        assert_eq!(ConnectionLimits { total: Some(10), ..limits }.total_within(Some(1024)), 10);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
        let raised = raise_fd_limit().unwrap();
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes only into the struct it is given.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        assert_eq!((raised, limit.rlim_cur), (limit.rlim_max, limit.rlim_max));
    }
}
