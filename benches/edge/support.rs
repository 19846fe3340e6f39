//! Processes, readiness, the loopback JWKS, wrk output and the table rows the scenarios share.

use super::*;

pub(crate) struct Proc {
    pub(crate) name: String,
    pub(crate) child: Child,
}

impl Proc {
    pub(crate) fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let out = std::fs::File::create(log).unwrap();
        cmd.stdout(out.try_clone().unwrap()).stderr(out);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc { name: name.to_owned(), child }
    }
    pub(crate) fn pid(&self) -> u32 {
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

pub(crate) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

pub(crate) fn org_name(i: usize) -> String {
    format!("org_bench{i}")
}

pub(crate) fn bench_settings(welcome: &str) -> Value {
    json!({
        "welcomeMessage": welcome,
        "assistantId": null,
        "voice": "nova",
        "theme": {"primaryColor": "#ff5500", "position": "bottom-left", "mode": "dark"},
        "suggestions": ["Pricing", "Book a demo"],
        "phoneNumber": "+14155550123"
    })
}

pub(crate) fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

/// Operations (whether each succeeded, its milliseconds) that took `secs` in all, as the JSON the
/// scenarios read: count, failures, rate, p50, p99 and the slowest.
pub(crate) fn latency_summary(results: Vec<(bool, f64)>, secs: f64) -> Value {
    let n = results.len();
    let failed = results.iter().filter(|(ok, _)| !ok).count();
    let mut ms: Vec<f64> = results.into_iter().map(|(_, ms)| ms).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    json!({"n": n, "failed": failed, "per_s": n as f64 / secs, "p50_ms": pct(&ms, 0.5), "p99_ms": pct(&ms, 0.99), "max_ms": ms.last()})
}

/// Polls `url` until it answers 2xx (readiness), failing after `limit`.
pub(crate) async fn ready(client: &reqwest::Client, url: &str, limit: Duration, what: &str) {
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

pub(crate) struct Jwks {
    pub(crate) encoding: EncodingKey,
    pub(crate) url: String,
}

pub(crate) async fn start_jwks() -> Jwks {
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
    pub(crate) fn token(&self, org: &str) -> String {
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
pub(crate) struct WrkResult {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) requests: u64,
    pub(crate) non_2xx: u64,
    pub(crate) socket_errors: u64,
}

impl WrkResult {
    /// The median of each figure over several runs of the same load; counts are summed.
    pub(crate) fn median<'a>(runs: impl Iterator<Item = &'a WrkResult> + Clone) -> WrkResult {
        WrkResult {
            rps: median(runs.clone().map(|r| r.rps)),
            p50_ms: median(runs.clone().map(|r| r.p50_ms)),
            p99_ms: median(runs.clone().map(|r| r.p99_ms)),
            requests: runs.clone().map(|r| r.requests).sum(),
            non_2xx: runs.clone().map(|r| r.non_2xx).sum(),
            socket_errors: runs.map(|r| r.socket_errors).sum(),
        }
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub(crate) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2.0,
    }
}

pub(crate) fn parse_ms(s: &str) -> f64 {
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

pub(crate) struct Ctx {
    pub(crate) tmp: PathBuf,
    pub(crate) conns: usize,
    pub(crate) log: Vec<String>,
}

impl Ctx {
    /// Runs wrk against `base` with a Lua script cycling through `paths` (`post` sends a
    /// contact-session body).
    pub(crate) fn wrk(
        &mut self,
        label: &str,
        base: &str,
        paths: &[String],
        post: bool,
        secs: u64,
    ) -> WrkResult {
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

pub(crate) struct Row {
    pub(crate) figure: String,
    pub(crate) value: String,
    pub(crate) reference: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    pub(crate) verdict: &'static str,
}

pub(crate) fn row(
    figure: &str,
    value: String,
    reference: String,
    ratio: String,
    target: &str,
    ok: Option<bool>,
) -> Row {
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

/// User and system CPU time of this process so far, every thread (`/proc/self/stat`, in the
/// kernel's clock ticks, 100 a second on Linux).
pub(crate) fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|t| t.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

pub(crate) fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub(crate) fn machine() -> String {
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

pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A counter or gauge from assist's `/metrics`, by a part of its name.
pub(crate) async fn metric(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.split_whitespace().next().is_some_and(|metric| metric.contains(name)))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}
