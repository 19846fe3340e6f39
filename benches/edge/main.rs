//! The benchmark harness (issue 11): `scripts/bench`, or `cargo bench --bench edge`.
//!
//! Every figure is measured next to a reference taken in the same run, on the same machine, and
//! reported as a ratio. Everything under load runs in its own process on loopback:
//!
//! - `assist serve` (the release binary, its bundled nats-server, surrealkv on disk in a temp dir);
//! - the references, this binary re-executed: `serve-bare` (a bare axum handler serving the
//!   widget settings' bytes from memory), `serve-nats` (the same handler doing one bare NATS
//!   request-reply round trip to a responder holding the bytes) and `serve-naive` (an edge that
//!   reads the settings from SurrealDB on every request);
//! - the load: `wrk` for the HTTP request/reply scenarios, and this binary re-executed
//!   (`load-fanout`, `load-webhooks`, `load-agent`) for SSE fan-out, signed webhooks and the
//!   agent's conversations; `db-search`, SurrealDB alone ranking the knowledge scenario's passages.
//!
//! The orchestrating process (this one, with no sub-command) only starts things, serves the
//! loopback Clerk JWKS and the tests' fake OpenAI-compatible provider, runs `wrk`, adds the
//! knowledge scenario's documents, and prints the table (also written into `BENCHMARKS.md`).
//! Knobs: `BENCH_SECS` (seconds per wrk run, default 10), `BENCH_CONNS` (default 64),
//! `BENCH_STREAMS` (default 1000), `BENCH_WEBHOOKS` (default 20000), `BENCH_ONLY` (comma list of
//! `read,writes,webhooks,activation,fanout,knowledge,agent`; activation needs webhooks),
//! `BENCH_KB_CHUNKS` (passages of the big org, default 10000), `BENCH_KB_ORGS` (orgs of 1,000
//! passages, default 100), `BENCH_AGENT_CONVERSATIONS` (default 200), `BENCH_AGENT_ROUNDS`
//! (answers timed at one conversation, default 30), `BENCH_MEMORY_LIMIT` (run assist in a memory
//! cgroup of that size, e.g. `1G`; see `confine.rs`).

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assist::webhooks::svix::SvixVerifier;
use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KID: &str = "ins_bench_1";
/// Orgs made known (and warm) before the request/reply scenarios.
const WARM_ORGS: usize = 64;
/// Rounds of the hot read and the writes: in each, every target runs `BENCH_SECS`, in turn.
const ROUNDS: usize = 3;

/// The same allocator as assist, so the references differ from it only in what they do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected from it.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    // Assist always installs a subscriber. With none at all, tracing's `log` fallback (a feature
    // in SurrealDB's tree) records the fields of every disabled span, and SurrealDB formats a
    // storage key for one on every read and write: 7% of the references' time, measured.
    tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())
        .expect("a tracing subscriber for the references");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let sub = args.first().map(String::as_str).unwrap_or("");
    match sub {
        "serve-bare" => rt.block_on(serve_bare(&args[1], &args[2])),
        "serve-nats" => rt.block_on(serve_nats(&args[1], &args[2], &args[3])),
        "serve-naive" => rt.block_on(serve_naive(&args[1], &args[2])),
        "db-writes" => rt.block_on(db_writes(&args[1], &args[2], args[3].parse().unwrap())),
        "db-activations" => rt.block_on(db_activations(&args[1], args[2].parse().unwrap())),
        "load-fanout" => rt.block_on(load_fanout(
            &args[1],
            &args[2],
            &args[3],
            args[4].parse().unwrap(),
            args[5].parse().unwrap(),
        )),
        "load-touch" => {
            rt.block_on(load_touch(&args[1], &args[2], args[3].parse().unwrap(), args[4].parse().unwrap()))
        }
        "db-search" => rt.block_on(db_search(
            &args[1],
            args[2].parse().unwrap(),
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
        )),
        "load-agent" => rt.block_on(agent::load_agent(
            &args[1],
            &args[2],
            args[3].parse().unwrap(),
            args[4].parse().unwrap(),
            args[5].parse().unwrap(),
        )),
        "load-webhooks" => {
            rt.block_on(load_webhooks(&args[1], &args[2], args[3].parse().unwrap(), args[4].parse().unwrap()))
        }
        _ => rt.block_on(orchestrate()),
    }
}

mod agent;
mod confine;
mod corpus;
/// The tests' loopback fakes, shared rather than copied: the OpenAI-compatible one serves the
/// knowledge and agent scenarios.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/api/fakes/mod.rs"]
mod fakes;
mod knowledge;
mod load;
mod references;
mod scenarios;
mod sse;
mod support;

use confine::*;
use load::*;
use references::*;
use scenarios::*;
use support::*;
