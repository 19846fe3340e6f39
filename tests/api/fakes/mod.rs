//! Loopback fakes of the services assist calls, each following its real contract; and what
//! they share: a server on a free port that stops when dropped, and a count of requests in
//! flight.

pub mod clerk;
pub mod openai;
mod openai_answers;
pub mod vapi;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A fake's server on 127.0.0.1; it stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    pub async fn start(app: Router, name: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind {name}: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{name}'s address: {e}"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve a fake");
        });
        Self { addr, task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Requests being answered now, and the most there ever were at once.
#[derive(Default)]
pub struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

/// One request counted as in flight until dropped (a streamed answer keeps it in its body).
pub struct Entered(Arc<InFlight>);

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> Entered {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        Entered(Arc::clone(self))
    }

    pub fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}
