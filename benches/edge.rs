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
//!   (`load-fanout`, `load-webhooks`) for SSE fan-out and signed webhooks.
//!
//! The orchestrating process (this one, with no sub-command) only starts things, serves the
//! loopback Clerk JWKS, runs `wrk`, and prints the table (also written into `BENCHMARKS.md`).
//! Knobs: `BENCH_SECS` (seconds per wrk run, default 10), `BENCH_CONNS` (default 64),
//! `BENCH_STREAMS` (default 1000), `BENCH_WEBHOOKS` (default 5000), `BENCH_ONLY` (comma list of
//! `read,writes,webhooks,activation,fanout`; activation needs webhooks).

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

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected from it.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let sub = args.first().map(String::as_str).unwrap_or("");
    match sub {
        "serve-bare" => rt.block_on(serve_bare(&args[1], &args[2])),
        "serve-nats" => rt.block_on(serve_nats(&args[1], &args[2], &args[3])),
        "serve-naive" => rt.block_on(serve_naive(&args[1], &args[2])),
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
        "load-webhooks" => {
            rt.block_on(load_webhooks(&args[1], &args[2], args[3].parse().unwrap(), args[4].parse().unwrap()))
        }
        _ => rt.block_on(orchestrate()),
    }
}

// ---------------------------------------------------------------------------------------------
// References (separate processes)

async fn listen(port: &str) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.expect("bind reference")
}

async fn serve_bare(port: &str, body_file: &str) {
    let body = Bytes::from(std::fs::read(body_file).expect("read body"));
    let app = Router::new().route(
        "/v1/widget/{org}/settings",
        get(move |UrlPath(_org): UrlPath<String>| {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    axum::serve(listen(port).await, app).await.unwrap();
}

async fn serve_nats(port: &str, nats_url: &str, body_file: &str) {
    let body = Bytes::from(std::fs::read(body_file).expect("read body"));
    let client = async_nats::connect(nats_url).await.expect("connect to the reference nats-server");
    let mut requests = client.subscribe("bench.settings.*").await.unwrap();
    let responder = client.clone();
    tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            if let Some(reply) = msg.reply {
                let _ = responder.publish(reply, body.clone()).await;
            }
        }
    });
    client.flush().await.unwrap();
    let app = Router::new().route(
        "/v1/widget/{org}/settings",
        get(move |UrlPath(org): UrlPath<String>| {
            let client = client.clone();
            async move {
                match client.request(format!("bench.settings.{org}"), Bytes::new()).await {
                    Ok(msg) => ([(CONTENT_TYPE, "application/json")], msg.payload).into_response(),
                    Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                }
            }
        }),
    );
    axum::serve(listen(port).await, app).await.unwrap();
}

/// An edge with no actors and no bus: every request reads the org's settings from SurrealDB
/// (surrealkv on disk, assist's own repository) and serializes them.
async fn serve_naive(port: &str, db_dir: &str) {
    use assist::db::{Db, widget_settings::WidgetSettingsRepo};
    use assist::ids::OrgId;
    use assist::model::widget_settings::WidgetSettings;
    let db = Db::connect(&format!("surrealkv://{db_dir}/db")).await.expect("open naive db");
    let repo = WidgetSettingsRepo::new(db);
    let settings: WidgetSettings = serde_json::from_value(bench_settings("naive")).unwrap();
    for i in 0..WARM_ORGS {
        repo.put(&OrgId::parse(&org_name(i)).unwrap(), &settings).await.unwrap();
    }
    let app = Router::new().route(
        "/v1/widget/{org}/settings",
        get(move |UrlPath(org): UrlPath<String>| {
            let repo = repo.clone();
            async move {
                let Ok(org) = OrgId::parse(&org) else {
                    return axum::http::StatusCode::BAD_REQUEST.into_response();
                };
                match repo.get(&org).await {
                    Ok(Some(s)) => ([(CONTENT_TYPE, "application/json")], serde_json::to_vec(&s).unwrap())
                        .into_response(),
                    Ok(None) => axum::http::StatusCode::NOT_FOUND.into_response(),
                    Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    );
    axum::serve(listen(port).await, app).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Load generators (separate processes); each prints one JSON line on stdout.

/// Opens `streams` operator SSE streams on one org, then changes its widget settings `rounds`
/// times; latency is from sending the PUT to each stream reading the `settings.updated` event.
async fn load_fanout(base: &str, org: &str, token: &str, streams: usize, rounds: usize) {
    let client = reqwest::Client::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let opened = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let url = format!("{base}/v1/orgs/{org}/events");
    let mut tasks = Vec::new();
    for _ in 0..streams {
        let (client, url, token, tx, opened, failed) =
            (client.clone(), url.clone(), token.to_owned(), tx.clone(), opened.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let resp = match client.get(&url).bearer_auth(&token).send().await {
                Ok(r) if r.status().is_success() => r,
                _ => {
                    failed.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            };
            opened.fetch_add(1, Ordering::SeqCst);
            let mut body = resp.bytes_stream();
            let mut buf = String::new();
            let mut event = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(nl) = buf.find('\n') {
                    let line: String = buf.drain(..=nl).collect();
                    let line = line.trim_end();
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim().to_owned();
                    } else if let Some(data) = line.strip_prefix("data:") {
                        if event == "settings.updated" {
                            if let Ok(v) = serde_json::from_str::<Value>(data.trim()) {
                                if let Some(round) = v["welcomeMessage"]
                                    .as_str()
                                    .and_then(|m| m.strip_prefix("bench round "))
                                    .and_then(|r| r.parse::<usize>().ok())
                                {
                                    let _ = tx.send((round, now));
                                }
                            }
                        }
                    } else if line.is_empty() {
                        event.clear();
                    }
                }
            }
        }));
    }
    drop(tx);
    let open_deadline = Instant::now() + Duration::from_secs(60);
    while opened.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < streams
        && Instant::now() < open_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open = opened.load(Ordering::SeqCst);
    let mut latencies = Vec::new();
    let mut lost = 0usize;
    for round in 0..rounds {
        let t0 = Instant::now();
        let put = client
            .put(format!("{base}/v1/orgs/{org}/widget-settings"))
            .bearer_auth(token)
            .json(&bench_settings(&format!("bench round {round}")))
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "PUT settings: {}", put.status());
        let mut got = 0;
        let deadline = t0 + Duration::from_secs(10);
        while got < open {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((r, at))) if r == round => {
                    latencies.push(at.duration_since(t0).as_secs_f64() * 1e3);
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        lost += open - got;
        // Pacing between commits (not a readiness wait): lets the streams drain.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let out = json!({
        "streams": open, "failed": failed.load(Ordering::SeqCst), "rounds": rounds,
        "deliveries": latencies.len(), "lost": lost,
        "p50_ms": pct(&latencies, 0.50), "p99_ms": pct(&latencies, 0.99), "max_ms": latencies.last().copied().unwrap_or(f64::NAN),
    });
    println!("{out}");
    std::process::exit(0);
}

/// Reads each of `n` orgs' widget settings once from `conns` connections, timing every request:
/// right after a restart, each is the org actor's cold activation.
async fn load_touch(base: &str, prefix: &str, n: usize, conns: usize) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let results: Vec<(bool, f64)> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/v1/widget/{prefix}{i}/settings");
            async move {
                let t = Instant::now();
                let ok = client.get(url).send().await.map(|r| r.status().is_success()).unwrap_or(false);
                (ok, t.elapsed().as_secs_f64() * 1e3)
            }
        })
        .buffer_unordered(conns)
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|(ok, _)| !ok).count();
    let mut ms: Vec<f64> = results.into_iter().map(|(_, ms)| ms).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{}",
        json!({"n": n, "failed": failed, "per_s": n as f64 / secs, "p50_ms": pct(&ms, 0.5), "p99_ms": pct(&ms, 0.99), "max_ms": ms.last()})
    );
    std::process::exit(0);
}

/// Sends `n` signed `organization.created` deliveries (distinct orgs) from 64 concurrent
/// connections, then waits until every org is known to the widget (applied).
async fn load_webhooks(base: &str, prefix: &str, n: usize, conns: usize) {
    let client = reqwest::Client::new();
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/clerk/organization.created.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let verifier = Arc::new(SvixVerifier::new(WEBHOOK_SECRET).unwrap());
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..conns {
        let (client, fixture, verifier, next, accepted, refused) = (
            client.clone(),
            fixture.clone(),
            verifier.clone(),
            next.clone(),
            accepted.clone(),
            refused.clone(),
        );
        let (base, prefix) = (base.to_owned(), prefix.to_owned());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let mut event = fixture.clone();
                event["data"]["id"] = json!(format!("{prefix}{i}"));
                event["data"]["slug"] = json!(format!("{prefix}{i}").replace('_', "-"));
                event["data"]["name"] = json!(format!("Bench {i}"));
                let body = event.to_string();
                let id = format!("msg_{prefix}{i}");
                let ts = unix_now();
                let sig = verifier.sign(&id, ts, body.as_bytes());
                let resp = client
                    .post(format!("{base}/webhooks/clerk"))
                    .header("svix-id", &id)
                    .header("svix-timestamp", ts.to_string())
                    .header("svix-signature", sig)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => accepted.fetch_add(1, Ordering::SeqCst),
                    _ => refused.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let accept_secs = start.elapsed().as_secs_f64();
    // Applied = the org is known to the widget. Poll the stragglers until none is left.
    let mut pending: Vec<usize> = (0..n).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !pending.is_empty() && Instant::now() < deadline {
        let results: Vec<(usize, bool)> =
            futures::stream::iter(pending.clone())
                .map(|i| {
                    let client = client.clone();
                    let url = format!("{base}/v1/widget/{prefix}{i}/settings");
                    async move {
                        (i, client.get(url).send().await.map(|r| r.status().is_success()).unwrap_or(false))
                    }
                })
                .buffer_unordered(conns)
                .collect()
                .await;
        pending = results.into_iter().filter(|(_, ok)| !ok).map(|(i, _)| i).collect();
    }
    let applied_secs = start.elapsed().as_secs_f64();
    let out = json!({
        "sent": n, "accepted": accepted.load(Ordering::SeqCst), "refused": refused.load(Ordering::SeqCst),
        "accept_secs": accept_secs, "accepted_per_s": accepted.load(Ordering::SeqCst) as f64 / accept_secs,
        "applied_secs": applied_secs, "not_applied": pending.len(),
        "applied_per_s": (n - pending.len()) as f64 / applied_secs,
    });
    println!("{out}");
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------------
// Orchestration

struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let out = std::fs::File::create(log).unwrap();
        cmd.stdout(out.try_clone().unwrap()).stderr(out);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc { name: name.to_owned(), child }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first so assist stops its own nats-server; then make sure.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn org_name(i: usize) -> String {
    format!("org_bench{i}")
}

fn bench_settings(welcome: &str) -> Value {
    json!({
        "welcomeMessage": welcome,
        "assistantId": null,
        "voice": "nova",
        "theme": {"primaryColor": "#ff5500", "position": "bottom-left", "mode": "dark"},
        "suggestions": ["Pricing", "Book a demo"],
        "phoneNumber": "+14155550123"
    })
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

/// Polls `url` until it answers 2xx (readiness), failing after `limit`.
async fn ready(client: &reqwest::Client, url: &str, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{what} not ready at {url} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

struct Jwks {
    encoding: EncodingKey,
    url: String,
}

async fn start_jwks() -> Jwks {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    let public = private.to_public_key();
    let jwks = json!({"keys": [{
        "use": "sig", "kty": "RSA", "kid": KID, "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]});
    let app =
        Router::new().route("/.well-known/jwks.json", get(move || async move { axum::Json(jwks.clone()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Jwks {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        url: format!("http://{addr}/.well-known/jwks.json"),
    }
}

impl Jwks {
    /// A Clerk v1 session token for an admin of `org`, valid for two hours.
    fn token(&self, org: &str) -> String {
        let now = unix_now();
        let claims = json!({
            "sub": "user_bench", "iss": "https://clerk.bench.local", "azp": "https://dashboard.bench.local",
            "exp": now + 7200, "iat": now, "nbf": now - 10, "sid": "sess_bench",
            "org_id": org, "org_role": "org:admin", "org_slug": org.replace('_', "-"),
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    non_2xx: u64,
    socket_errors: u64,
}

fn parse_ms(s: &str) -> f64 {
    let s = s.trim();
    let (num, mul) = if let Some(v) = s.strip_suffix("us") {
        (v, 1e-3)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1e3)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * mul
}

struct Ctx {
    tmp: PathBuf,
    conns: usize,
    log: Vec<String>,
}

impl Ctx {
    /// Runs wrk against `base` with a Lua script cycling through `paths` (`post` sends a
    /// contact-session body).
    fn wrk(&mut self, label: &str, base: &str, paths: &[String], post: bool, secs: u64) -> WrkResult {
        let script = self.tmp.join(format!("{}.lua", label.replace(|c: char| !c.is_alphanumeric(), "_")));
        let list = paths.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(",");
        let mut lua = format!("local paths = {{{list}}}\nlocal i = 0\n");
        if post {
            lua.push_str("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
            lua.push_str("wrk.body = '{\"name\":\"Bench User\",\"email\":\"bench@example.com\",\"metadata\":{\"userAgent\":\"wrk\",\"language\":\"en-US\"}}'\n");
        }
        lua.push_str(
            "request = function()\n  i = i + 1\n  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n",
        );
        std::fs::write(&script, lua).unwrap();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(self.conns);
        let out = Command::new("wrk")
            .args([
                "-t",
                &threads.to_string(),
                "-c",
                &self.conns.to_string(),
                "-d",
                &format!("{secs}s"),
                "--latency",
                "-s",
            ])
            .arg(&script)
            .arg(base)
            .output()
            .expect("run wrk (scripts/bench installs it)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut r = WrkResult::default();
        let mut in_dist = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("Latency Distribution") {
                in_dist = true;
                continue;
            }
            if in_dist {
                if let Some(v) = t.strip_prefix("50%") {
                    r.p50_ms = parse_ms(v);
                } else if let Some(v) = t.strip_prefix("99%") {
                    r.p99_ms = parse_ms(v);
                    in_dist = false;
                }
            }
            if let Some(v) = t.strip_prefix("Requests/sec:") {
                r.rps = v.trim().parse().unwrap_or(f64::NAN);
            } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
                r.non_2xx = v.trim().parse().unwrap_or(0);
            } else if t.starts_with("Socket errors:") {
                r.socket_errors =
                    t.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum();
            } else if t.contains(" requests in ") {
                r.requests = t.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
            }
        }
        self.log.push(format!("{label}: {r:?}"));
        eprintln!(
            "  {label}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}, socket errors {}",
            r.rps, r.p50_ms, r.p99_ms, r.non_2xx, r.socket_errors
        );
        r
    }
}

struct Row {
    figure: String,
    value: String,
    reference: String,
    ratio: String,
    target: String,
    verdict: &'static str,
}

fn row(figure: &str, value: String, reference: String, ratio: String, target: &str, ok: Option<bool>) -> Row {
    Row {
        figure: figure.to_owned(),
        value,
        reference,
        ratio,
        target: target.to_owned(),
        verdict: match ok {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "—",
        },
    }
}

fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map(|kib| format!("{:.1} GiB RAM", kib as f64 / 1048576.0))
        .unwrap_or_default();
    format!("{cores} cores (nproc), {cpu}, {mem}")
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn orchestrate() {
    let secs: u64 = env_or("BENCH_SECS", 10);
    let conns: usize = env_or("BENCH_CONNS", 64);
    let streams: usize = env_or("BENCH_STREAMS", 1000);
    let n_webhooks: usize = env_or("BENCH_WEBHOOKS", 5000);
    let only: Vec<String> = std::env::var("BENCH_ONLY")
        .unwrap_or_else(|_| "read,writes,webhooks,activation,fanout".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let want = |s: &str| only.iter().any(|o| o == s);
    let tmp = tempfile::Builder::new().prefix("assist-bench-").tempdir().unwrap();
    let mut ctx = Ctx { tmp: tmp.path().to_owned(), conns, log: Vec::new() };
    let me = std::env::current_exe().unwrap();
    let http = reqwest::Client::new();
    let started = chrono::Utc::now();
    eprintln!("bench: machine {}", machine());

    // Loopback Clerk and assist itself.
    let jwks = start_jwks().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let assist_cmd = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_assist"));
        cmd.arg("serve")
            .env("ASSIST_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("ASSIST_DATA_DIR", tmp.path().join("data"))
            .env("ASSIST_DB", format!("surrealkv://{}/db", tmp.path().display()))
            .env("ASSIST_CLERK_JWKS_URL", &jwks.url)
            .env("ASSIST_CLERK_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("ASSIST_LOG", std::env::var("BENCH_ASSIST_LOG").unwrap_or_else(|_| "warn".into()))
            .env_remove("ASSIST_NATS_URL");
        cmd
    };
    let t = Instant::now();
    let mut assist = Proc::spawn("assist", assist_cmd(), &tmp.path().join("assist.log"));
    ready(&http, &format!("{base}/readyz"), Duration::from_secs(60), "assist").await;
    eprintln!("bench: assist ready in {:.2} s (pid {})", t.elapsed().as_secs_f64(), assist.pid());
    let rss_idle = vm_rss_kib(assist.pid());

    // Warm orgs: known through an operator request, then one widget read each (actor active).
    let orgs: Vec<String> = (0..WARM_ORGS).map(org_name).collect();
    for org in &orgs {
        let r = http.get(format!("{base}/v1/orgs/{org}")).bearer_auth(jwks.token(org)).send().await.unwrap();
        assert!(r.status().is_success(), "operator GET /v1/orgs/{org}: {}", r.status());
        let r = http
            .put(format!("{base}/v1/orgs/{org}/widget-settings"))
            .bearer_auth(jwks.token(org))
            .json(&bench_settings("Welcome to the bench! Ask us anything."))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "PUT settings {org}: {}", r.status());
    }
    let body = http
        .get(format!("{base}/v1/widget/{}/settings", orgs[0]))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let body_file = tmp.path().join("settings.json");
    std::fs::write(&body_file, &body).unwrap();
    let read_paths: Vec<String> = orgs.iter().map(|o| format!("/v1/widget/{o}/settings")).collect();
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    if want("read") {
        eprintln!("bench: (1) hot read, {conns} connections, {secs} s each");
        // References: separate processes, run one at a time while assist idles.
        let bare_port = free_port();
        let bare = Proc::spawn(
            "serve-bare",
            {
                let mut c = Command::new(&me);
                c.args(["serve-bare", &bare_port.to_string()]).arg(&body_file);
                c
            },
            &tmp.path().join("bare.log"),
        );
        let bare_base = format!("http://127.0.0.1:{bare_port}");
        ready(&http, &format!("{bare_base}{}", read_paths[0]), Duration::from_secs(20), "bare axum").await;
        ctx.wrk("warmup bare", &bare_base, &read_paths, false, 2);
        let r_bare = ctx.wrk("bare axum", &bare_base, &read_paths, false, secs);
        drop(bare);

        let nats_port = free_port();
        let nats_bin = std::env::var("ASSIST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let nats = Proc::spawn(
            "reference nats-server",
            {
                let mut c = Command::new(nats_bin);
                c.args(["-a", "127.0.0.1", "-p", &nats_port.to_string()]);
                c
            },
            &tmp.path().join("nats-ref.log"),
        );
        // Readiness of the reference nats-server: it accepts TCP connections.
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", nats_port)).await.is_err() {
            assert!(Instant::now() < deadline, "reference nats-server did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let hop_port = free_port();
        let hop_base = format!("http://127.0.0.1:{hop_port}");
        let hop = Proc::spawn(
            "serve-nats",
            {
                let mut c = Command::new(&me);
                c.args(["serve-nats", &hop_port.to_string(), &format!("nats://127.0.0.1:{nats_port}")])
                    .arg(&body_file);
                c
            },
            &tmp.path().join("hop.log"),
        );
        ready(&http, &format!("{hop_base}{}", read_paths[0]), Duration::from_secs(20), "bare NATS hop").await;
        ctx.wrk("warmup hop", &hop_base, &read_paths, false, 2);
        let r_hop = ctx.wrk("bare axum + 1 NATS hop", &hop_base, &read_paths, false, secs);
        drop(hop);
        drop(nats);

        let naive_port = free_port();
        let naive_dir = tmp.path().join("naive");
        std::fs::create_dir_all(&naive_dir).unwrap();
        let naive = Proc::spawn(
            "serve-naive",
            {
                let mut c = Command::new(&me);
                c.args(["serve-naive", &naive_port.to_string()]).arg(&naive_dir);
                c
            },
            &tmp.path().join("naive.log"),
        );
        let naive_base = format!("http://127.0.0.1:{naive_port}");
        ready(
            &http,
            &format!("{naive_base}{}", read_paths[WARM_ORGS - 1]),
            Duration::from_secs(60),
            "naive SurrealDB edge",
        )
        .await;
        ctx.wrk("warmup naive", &naive_base, &read_paths, false, 2);
        let r_naive = ctx.wrk("naive edge (SurrealDB per request)", &naive_base, &read_paths, false, secs);
        drop(naive);

        ctx.wrk("warmup assist", &base, &read_paths, false, 2);
        let r_assist = ctx.wrk("assist", &base, &read_paths, false, secs);
        if r_assist.non_2xx + r_assist.socket_errors > 0 {
            notes.push(format!(
                "hot read: assist answered {} non-2xx and {} socket errors",
                r_assist.non_2xx, r_assist.socket_errors
            ));
        }
        let tp = r_assist.rps / r_bare.rps;
        rows.push(row(
            "Hot read throughput (req/s), 64 warm orgs",
            format!("{:.0}", r_assist.rps),
            format!("bare axum {:.0}", r_bare.rps),
            format!("{:.0}%", tp * 100.0),
            "≥ 50% of bare axum",
            Some(tp >= 0.5),
        ));
        rows.push(row(
            "Hot read throughput vs the bus's limit",
            format!("{:.0}", r_assist.rps),
            format!(
                "bare axum + 1 NATS hop {:.0} ({:.0}% of bare)",
                r_hop.rps,
                r_hop.rps / r_bare.rps * 100.0
            ),
            format!("{:.0}%", r_assist.rps / r_hop.rps * 100.0),
            "≈ 100% (actors, auth, serialization cost next to nothing)",
            None,
        ));
        let p = r_assist.p99_ms / r_bare.p99_ms;
        rows.push(row(
            &format!("Hot read p99 latency at {conns} connections"),
            format!("{:.2} ms (p50 {:.2})", r_assist.p99_ms, r_assist.p50_ms),
            format!("bare axum {:.2} ms; + NATS hop {:.2} ms", r_bare.p99_ms, r_hop.p99_ms),
            format!("{p:.1}×"),
            "≤ 2× bare axum",
            Some(p <= 2.0),
        ));
        let nv = r_assist.rps / r_naive.rps;
        rows.push(row(
            "Hot read vs a naive edge (SurrealDB per request)",
            format!("{:.0}", r_assist.rps),
            format!("naive {:.0} (p99 {:.2} ms)", r_naive.rps, r_naive.p99_ms),
            format!("{nv:.1}×"),
            "≥ 3×",
            Some(nv >= 3.0),
        ));
    }

    if want("writes") {
        eprintln!("bench: (2) contact-session writes, {conns} connections, {secs} s each");
        let one = vec![format!("/v1/widget/{}/sessions", orgs[0])];
        let many: Vec<String> = orgs.iter().map(|o| format!("/v1/widget/{o}/sessions")).collect();
        let w_one = ctx.wrk("sessions, one org", &base, &one, true, secs);
        let w_many = ctx.wrk("sessions, 64 orgs", &base, &many, true, secs);
        for (label, w) in [("one organization", w_one), (&*format!("spread over {WARM_ORGS} orgs"), w_many)] {
            let ok = (w.requests.saturating_sub(w.non_2xx)) as f64 / secs as f64;
            rows.push(row(
                &format!("Contact sessions created /s, {label} (surrealkv, persisted before 201)"),
                format!("{ok:.0} (p99 {:.1} ms)", w.p99_ms),
                "target 5,000/s".into(),
                format!("{:.0}% of target", ok / 5000.0 * 100.0),
                "≥ 5,000/s",
                Some(ok >= 5000.0),
            ));
            if w.non_2xx + w.socket_errors > 0 {
                notes.push(format!(
                    "writes ({label}): {} non-2xx, {} socket errors",
                    w.non_2xx, w.socket_errors
                ));
            }
        }
    }

    if want("webhooks") {
        eprintln!("bench: (4) {n_webhooks} signed Clerk organization.created deliveries, 64 connections");
        let rss_before = vm_rss_kib(assist.pid());
        let out = Command::new(&me)
            .args(["load-webhooks", &base, "org_wh", &n_webhooks.to_string(), "64"])
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&out.stdout)}));
        eprintln!("  webhooks: {v}");
        ctx.log.push(format!("webhooks: {v}"));
        let acc = v["accepted_per_s"].as_f64().unwrap_or(f64::NAN);
        let app = v["applied_per_s"].as_f64().unwrap_or(f64::NAN);
        rows.push(row(
            "Clerk webhooks accepted /s (signed, stored in JetStream before 200)",
            format!("{acc:.0} ({} of {n_webhooks}, {} refused)", v["accepted"], v["refused"]),
            "target 2,000/s".into(),
            format!("{:.0}% of target", acc / 2000.0 * 100.0),
            "≥ 2,000/s",
            Some(acc >= 2000.0),
        ));
        rows.push(row(
            "Clerk webhooks applied /s (org known to the widget; first send to last applied)",
            format!("{app:.0} ({} not applied)", v["not_applied"]),
            "target 2,000/s".into(),
            format!("{:.0}% of target", app / 2000.0 * 100.0),
            "≥ 2,000/s, none lost",
            Some(app >= 2000.0 && v["not_applied"].as_u64() == Some(0)),
        ));
        // Memory: every org of the webhook run was applied through its actor and then read by
        // the widget, so it is active now.
        let rss_after = vm_rss_kib(assist.pid());
        let per_org = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / n_webhooks as f64;
        rows.push(row(
            &format!("Resident memory per active org ({n_webhooks} orgs activated by the webhook run)"),
            format!(
                "{:.1} KB/org (VmRSS {:.0} → {:.0} MiB)",
                per_org / 1000.0,
                rss_before as f64 / 1024.0,
                rss_after as f64 / 1024.0
            ),
            format!("idle process {:.0} MiB", rss_idle as f64 / 1024.0),
            format!(
                "{:.0} MiB projected for 100k",
                per_org * 100_000.0 / 1048576.0 + rss_idle as f64 / 1024.0
            ),
            "≤ 1 GiB for 100k orgs",
            Some(per_org * 100_000.0 + rss_idle as f64 * 1024.0 <= 1073741824.0),
        ));
    }

    if want("webhooks") && want("activation") {
        // Restart assist on the same store: every org is known and none is active, so the first
        // read of each org is a cold activation (loading its state from surrealkv).
        eprintln!("bench: (3) cold activation of {n_webhooks} orgs after a restart, 4 connections");
        drop(assist);
        assist = Proc::spawn("assist", assist_cmd(), &tmp.path().join("assist-2.log"));
        ready(&http, &format!("{base}/readyz"), Duration::from_secs(60), "assist (restarted)").await;
        let rss0 = vm_rss_kib(assist.pid());
        let touch = || {
            let out = Command::new(&me)
                .args(["load-touch", &base, "org_wh", &n_webhooks.to_string(), "4"])
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            serde_json::from_slice::<Value>(&out.stdout)
                .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&out.stdout)}))
        };
        let cold = touch();
        let rss1 = vm_rss_kib(assist.pid());
        let warm = touch();
        eprintln!("  cold: {cold}\n  warm: {warm}");
        ctx.log.push(format!("activation cold: {cold}\nactivation warm: {warm}"));
        let p99 = cold["p99_ms"].as_f64().unwrap_or(f64::NAN);
        rows.push(row(
            &format!(
                "Cold activation ({n_webhooks} known orgs, first widget read after a restart, 4 connections)"
            ),
            format!(
                "p50 {:.2} ms, p99 {p99:.2} ms ({} failed)",
                cold["p50_ms"].as_f64().unwrap_or(f64::NAN),
                cold["failed"]
            ),
            format!(
                "same reads again, warm: p50 {:.2} ms, p99 {:.2} ms",
                warm["p50_ms"].as_f64().unwrap_or(f64::NAN),
                warm["p99_ms"].as_f64().unwrap_or(f64::NAN)
            ),
            format!("{:.1}× (p99)", p99 / warm["p99_ms"].as_f64().unwrap_or(f64::NAN)),
            "p99 < 5 ms",
            Some(p99 < 5.0 && cold["failed"].as_u64() == Some(0)),
        ));
        let per_org = rss1.saturating_sub(rss0) as f64 * 1024.0 / n_webhooks as f64;
        rows.push(row(
            &format!("Resident memory per activated org (cold activation of {n_webhooks} orgs)"),
            format!(
                "{:.1} KB/org (VmRSS {:.0} → {:.0} MiB)",
                per_org / 1000.0,
                rss0 as f64 / 1024.0,
                rss1 as f64 / 1024.0
            ),
            format!("restarted process {:.0} MiB", rss0 as f64 / 1024.0),
            format!("{:.0} MiB projected for 100k", (per_org * 100_000.0 + rss0 as f64 * 1024.0) / 1048576.0),
            "≤ 1 GiB for 100k orgs",
            Some(per_org * 100_000.0 + rss0 as f64 * 1024.0 <= 1073741824.0),
        ));
    }

    if want("fanout") {
        let org = &orgs[1];
        let token = jwks.token(org);
        let run = |streams: usize, rounds: usize| {
            let out = Command::new(&me)
                .args(["load-fanout", &base, org, &token, &streams.to_string(), &rounds.to_string()])
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            serde_json::from_slice::<Value>(&out.stdout)
                .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&out.stdout)}))
        };
        eprintln!("bench: (5) fan-out, reference 1 stream then {streams} streams");
        let one = run(1, 50);
        eprintln!("  1 stream: {one}");
        let many = run(streams, 20);
        eprintln!("  {streams} streams: {many}");
        ctx.log.push(format!("fanout 1: {one}\nfanout {streams}: {many}"));
        let p99 = many["p99_ms"].as_f64().unwrap_or(f64::NAN);
        let p99_one = one["p99_ms"].as_f64().unwrap_or(f64::NAN);
        rows.push(row(
            &format!(
                "Fan-out, commit (PUT settings sent) to delivery on {} open operator SSE streams",
                many["streams"]
            ),
            format!(
                "p50 {:.1} ms, p99 {p99:.1} ms ({} deliveries, {} lost)",
                many["p50_ms"].as_f64().unwrap_or(f64::NAN),
                many["deliveries"],
                many["lost"]
            ),
            format!(
                "1 stream: p50 {:.1} ms, p99 {p99_one:.1} ms",
                one["p50_ms"].as_f64().unwrap_or(f64::NAN)
            ),
            format!("{:.1}× (p99)", p99 / p99_one),
            "p99 < 50 ms",
            Some(p99 < 50.0 && many["lost"].as_u64() == Some(0)),
        ));
    }

    drop(assist);
    let command = "scripts/bench";
    let mut table = String::new();
    table.push_str(&format!(
        "Machine: {}  \nDate: {} UTC  \nCommand: `{command}` (BENCH_SECS={secs}, BENCH_CONNS={conns}); load from `wrk` and the harness's own load processes on loopback, all on the same machine as assist\n\n",
        machine(),
        started.format("%Y-%m-%d %H:%M")
    ));
    table.push_str("| figure | assist | reference (same run) | ratio | target | |\n| --- | --- | --- | --- | --- | --- |\n");
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.value, r.reference, r.ratio, r.target, r.verdict
        ));
    }
    for n in &notes {
        table.push_str(&format!("\n- {n}"));
    }
    table.push_str("\n\n<details><summary>raw runs</summary>\n\n```\n");
    for l in &ctx.log {
        table.push_str(l);
        table.push('\n');
    }
    table.push_str("```\n\n</details>\n");
    println!("\n{table}");
    write_benchmarks_md(&table);
    let _ = std::io::stdout().flush();
}

/// Replaces the generated part of BENCHMARKS.md (between the markers), keeping the prose.
fn write_benchmarks_md(table: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let (begin, end) = ("<!-- bench:begin -->", "<!-- bench:end -->");
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| format!("# Benchmarks\n\n{begin}\n{end}\n"));
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{table}{}", &old[..b], &old[e..]),
        _ => format!("{old}\n{begin}\n{table}{end}\n"),
    };
    std::fs::write(path, new).unwrap();
    eprintln!("bench: table written to {path}");
}
