//! The knowledge scenario: documents through the API until one org holds `BENCH_KB_CHUNKS`
//! passages and `BENCH_KB_ORGS` others hold 1,000 each; the rate they are ingested at against
//! the fake provider; search latency and recall@5 of each org's planted answer; resident memory;
//! whether documents of one org added at once all become ready; and SurrealDB alone ranking the
//! same passages (`db-search`).

use std::collections::HashMap;

use super::*;

/// Operator requests in flight while documents are added.
const POSTERS: usize = 8;
/// Timed searches in each case, one in flight.
const SEARCHES: usize = 300;
/// Each small org's passages.
const SMALL_CHUNKS: usize = 1000;
/// Corpus seeds of the big org and the burst's, apart from the small orgs' 0..n.
const BIG: usize = 1_000_000;
const BURST: usize = 2_000_000;
/// Tries of a document that fails before the scenario gives up on it.
const ATTEMPTS: usize = 5;
/// Documents of one org added at once in the burst.
const BURST_DOCS: usize = 20;

/// What the scenario needs of the orchestrator.
pub(crate) struct Kb<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) base: &'a str,
    pub(crate) jwks: &'a Jwks,
    pub(crate) pid: u32,
}

/// One ingested set of orgs: each org's planted document, and how the ingestion went.
struct Loaded {
    planted: HashMap<String, String>,
    docs: usize,
    /// Documents that became ready, at one try or another.
    ready: usize,
    chunks: u64,
    /// Tries that failed (a document that failed and was added again counts once per failure).
    failed: usize,
    /// The first failed document's reason, for the log.
    why: Option<String>,
    secs: f64,
}

fn small_org(i: usize) -> String {
    format!("org_kb{i}")
}

impl Kb<'_> {
    /// Makes `org` known and opens its operator stream: the documents it reports ready or
    /// failed, by id.
    async fn watch(&self, org: &str, token: &str) -> tokio::sync::mpsc::UnboundedReceiver<(String, Value)> {
        let r =
            self.http.get(format!("{}/v1/orgs/{org}", self.base)).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "operator GET /v1/orgs/{org}: {}", r.status());
        let stream = self
            .http
            .get(format!("{}/v1/orgs/{org}/events", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(stream.status().is_success(), "operator stream of {org}: {}", stream.status());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(sse::each_event(stream, move |event, data, _| {
            let doc: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            event != "knowledge.updated"
                || doc["status"] == "processing"
                || tx.send((doc["id"].as_str().unwrap_or_default().to_owned(), doc)).is_ok()
        }));
        rx
    }

    /// Adds a document; its id.
    async fn add(&self, org: &str, token: &str, title: &str, text: String) -> String {
        let r = self
            .http
            .post(format!("{}/v1/orgs/{org}/knowledge", self.base))
            .bearer_auth(token)
            .json(&json!({"title": title, "text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED, "add a document to {org}");
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// Adds every org's documents (`(corpus seed, org, filler documents)`), [`POSTERS`] orgs at
    /// a time and each org's one after the other (the next once the last is ready or failed on
    /// the org's stream), its planted answer last.
    async fn load(&self, orgs: &[(usize, String, usize)]) -> Loaded {
        let mut watched = Vec::new();
        for (seed, org, docs) in orgs {
            let token = self.jwks.token(org);
            let rx = self.watch(org, &token).await;
            watched.push((*seed, org.clone(), *docs, token, rx));
        }
        let start = Instant::now();
        let settled: Vec<Vec<(String, Value)>> = futures::stream::iter(watched)
            .map(|(seed, org, docs, token, mut rx)| async move {
                let mut done = Vec::new();
                for d in 0..=docs {
                    let (title, text) = match d < docs {
                        true => (format!("Guide {d}"), corpus::document(seed, d)),
                        false => ("Shipping".to_owned(), corpus::planted(seed)),
                    };
                    // A failed document is added again, as its error asks; the tries are counted.
                    for attempt in 1..=ATTEMPTS {
                        let id = self.add(&org, &token, &title, text.clone()).await;
                        let doc = loop {
                            match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
                                Ok(Some((settled, doc))) if settled == id => break doc,
                                Ok(Some(_)) => {}
                                _ => panic!("document {id} of {org} still processing after 2 minutes"),
                            }
                        };
                        let ready = doc["status"] == "ready";
                        done.push((org.clone(), doc));
                        if ready || attempt == ATTEMPTS {
                            break;
                        }
                    }
                }
                done
            })
            .buffer_unordered(POSTERS)
            .collect()
            .await;
        let secs = start.elapsed().as_secs_f64();
        let all: Vec<(String, Value)> = settled.into_iter().flatten().collect();
        let ready = all.iter().filter(|(_, doc)| doc["status"] == "ready").count();
        Loaded {
            planted: all
                .iter()
                .filter(|(_, doc)| doc["title"] == "Shipping" && doc["status"] == "ready")
                .map(|(org, doc)| (org.clone(), doc["id"].as_str().unwrap_or_default().to_owned()))
                .collect(),
            docs: orgs.iter().map(|(_, _, docs)| docs + 1).sum(),
            ready,
            chunks: all.iter().filter_map(|(_, doc)| doc["chunks"].as_u64()).sum(),
            failed: all.len() - ready,
            why: all.iter().find_map(|(_, doc)| doc["error"].as_str().map(str::to_owned)),
            secs,
        }
    }

    /// `n` documents of one org added at once: how many fail. Ingestion runs a few documents
    /// at once per node, so several of this org's are staged together.
    async fn burst(&self, n: usize) -> (usize, Option<String>) {
        let org = "org_kb_burst";
        let token = self.jwks.token(org);
        let mut rx = self.watch(org, &token).await;
        let ids: Vec<String> = futures::stream::iter(0..n)
            .map(|d| self.add(org, &token, "Burst", corpus::document(BURST, d)))
            .buffer_unordered(POSTERS)
            .collect()
            .await;
        let mut settled = HashMap::new();
        while ids.iter().any(|id| !settled.contains_key(id)) {
            match tokio::time::timeout(Duration::from_secs(300), rx.recv()).await {
                Ok(Some((id, doc))) => settled.insert(id, doc),
                _ => panic!("burst documents still processing after 5 minutes"),
            };
        }
        let failed: Vec<&Value> = settled.values().filter(|doc| doc["status"] != "ready").collect();
        (failed.len(), failed.first().and_then(|doc| doc["error"].as_str().map(str::to_owned)))
    }

    /// One search of `org` for [`corpus::QUERY`]: its milliseconds, and the document ids of the
    /// passages found, best first.
    async fn search(&self, org: &str, token: &str) -> (f64, Vec<String>) {
        let t = Instant::now();
        let r = self
            .http
            .post(format!("{}/v1/orgs/{org}/knowledge/search", self.base))
            .bearer_auth(token)
            .json(&json!({"query": corpus::QUERY, "limit": 5}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "search {org}: {}", r.status());
        let body: Value = r.json().await.unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let ids = body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["documentId"].as_str().map(str::to_owned));
        (ms, ids.collect())
    }

    /// `SEARCHES` timed searches cycling over `orgs`, one in flight.
    async fn timed(&self, orgs: &[String]) -> Value {
        let tokens: Vec<String> = orgs.iter().map(|o| self.jwks.token(o)).collect();
        let start = Instant::now();
        let mut results = Vec::with_capacity(SEARCHES);
        for i in 0..SEARCHES {
            let at = i % orgs.len();
            results.push((true, self.search(&orgs[at], &tokens[at]).await.0));
        }
        latency_summary(results, start.elapsed().as_secs_f64())
    }

    /// Whether each org's planted document is among its first five passages (the first search
    /// of each org: the one that reads its vectors into memory).
    async fn recall(&self, planted: &HashMap<String, String>) -> (usize, usize) {
        let mut found = 0;
        for (org, id) in planted {
            found += usize::from(self.search(org, &self.jwks.token(org)).await.1.contains(id));
        }
        (found, planted.len())
    }
}

pub(crate) async fn run(kb: Kb<'_>, me: &Path, tmp: &Path, rows: &mut Vec<Row>, log: &mut Vec<String>) {
    let big_chunks: usize = env_or("BENCH_KB_CHUNKS", 10_000);
    let n_orgs: usize = env_or("BENCH_KB_ORGS", 100);
    eprintln!("bench: (6) knowledge: one org of {big_chunks} passages, then {n_orgs} orgs of {SMALL_CHUNKS}");
    let rss0 = vm_rss_kib(kb.pid);
    let big_org = "org_kb_big".to_owned();
    let big = kb.load(&[(BIG, big_org.clone(), big_chunks / corpus::PASSAGES_PER_DOC)]).await;
    let rss1 = vm_rss_kib(kb.pid);
    let (big_found, _) = kb.recall(&big.planted).await;
    let rss2 = vm_rss_kib(kb.pid);
    let big_search = kb.timed(std::slice::from_ref(&big_org)).await;
    eprintln!(
        "  big org: {} docs, {} chunks in {:.1} s; search {big_search}",
        big.docs, big.chunks, big.secs
    );
    let orgs: Vec<(usize, String, usize)> =
        (0..n_orgs).map(|i| (i, small_org(i), SMALL_CHUNKS / corpus::PASSAGES_PER_DOC)).collect();
    let small = kb.load(&orgs).await;
    let rss3 = vm_rss_kib(kb.pid);
    let (small_found, small_orgs) = kb.recall(&small.planted).await;
    let rss4 = vm_rss_kib(kb.pid);
    let names: Vec<String> = (0..n_orgs).map(small_org).collect();
    let small_search = kb.timed(&names).await;
    eprintln!(
        "  {n_orgs} orgs: {} docs, {} chunks in {:.1} s ({:?}); search {small_search}",
        small.docs, small.chunks, small.secs, small.why
    );
    log.push(format!(
        "knowledge: big {} docs {} chunks {:.1} s, search {big_search}; small {} docs {} chunks {:.1} s, search \
         {small_search}; VmRSS KiB {rss0} {rss1} {rss2} {rss3} {rss4}",
        big.docs, big.chunks, big.secs, small.docs, small.chunks, small.secs
    ));

    let (burst_failed, burst_why) = kb.burst(BURST_DOCS).await;
    eprintln!("  {BURST_DOCS} documents of one org at once: {burst_failed} failed ({burst_why:?})");
    log.push(format!("knowledge burst: {burst_failed} of {BURST_DOCS} failed: {burst_why:?}"));

    // SurrealDB alone, while assist idles.
    let dir = tmp.join("db-search");
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(me)
        .arg("db-search")
        .arg(&dir)
        .args([big_chunks.to_string(), n_orgs.to_string(), SMALL_CHUNKS.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let db: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    eprintln!("  SurrealDB alone: {db}");
    log.push(format!("knowledge, surrealdb alone: {db}"));

    let ms = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
    for (label, assist, alone) in [
        (format!("one org of {} passages", big.chunks), &big_search, &db["big"]),
        (
            format!("{n_orgs} orgs of {} passages, cycling", small.chunks / n_orgs.max(1) as u64),
            &small_search,
            &db["small"],
        ),
    ] {
        let p99 = ms(assist, "p99_ms");
        rows.push(row(
            &format!("Knowledge search, {label} (HTTP, top 5, 1 in flight)"),
            format!("p50 {:.1} ms, p99 {p99:.1} ms", ms(assist, "p50_ms")),
            format!(
                "SurrealDB alone (cosine over the org's rows): p50 {:.1} ms, p99 {:.1} ms",
                ms(alone, "p50_ms"),
                ms(alone, "p99_ms")
            ),
            format!("1/{:.0} of SurrealDB alone (p99)", ms(alone, "p99_ms") / p99),
            "p99 < 50 ms",
            Some(p99 < 50.0),
        ));
    }
    let (found, asked) = (big_found + small_found, big.planted.len() + small_orgs);
    rows.push(row(
        "Recall@5 of the planted answers",
        format!("{found} of {asked} orgs ({} orgs' answer never became ready)", n_orgs + 1 - asked),
        "—".into(),
        format!("{:.0}%", found as f64 * 100.0 / asked as f64),
        "100%",
        Some(found == asked),
    ));
    for (label, loaded) in [("one org", &big), (&*format!("{n_orgs} orgs"), &small)] {
        let per_min = loaded.ready as f64 * 60.0 / loaded.secs;
        rows.push(row(
            &format!(
                "Documents ingested /min, {label} ({} passages each, each org's one at a time)",
                corpus::PASSAGES_PER_DOC
            ),
            format!(
                "{per_min:.0}/min, {:.0} passages/s ({} of {} ready; {} tries failed)",
                loaded.chunks as f64 / loaded.secs,
                loaded.ready,
                loaded.docs,
                loaded.failed
            ),
            "target 300/min".into(),
            format!("{:.0}% of target", per_min / 3.0),
            "≥ 300/min, none failed",
            Some(per_min >= 300.0 && loaded.failed == 0),
        ));
    }
    rows.push(row(
        &format!("Documents of one org added at once ({BURST_DOCS}, 8 in flight)"),
        format!("{burst_failed} of {BURST_DOCS} failed"),
        burst_why.map_or("—".into(), |why| format!("\"{why}\"")),
        "—".into(),
        "none failed",
        Some(burst_failed == 0),
    ));
    // Raw vectors: 1536 little-endian f32 per passage.
    let raw_mib = 1536.0 * 4.0 * 10_000.0 / 1048576.0;
    let per_10k = |kib: u64, chunks: u64| kib as f64 / 1024.0 * 10_000.0 / chunks.max(1) as f64;
    let (ingest_index, index_only, small_all) = (
        per_10k(rss2.saturating_sub(rss0), big.chunks),
        per_10k(rss2.saturating_sub(rss1), big.chunks),
        per_10k(rss4.saturating_sub(rss2), small.chunks),
    );
    rows.push(row(
        "Resident memory per 10,000 passages (VmRSS growth, ingested and searched)",
        format!(
            "one org {ingest_index:.0} MiB (its first search {index_only:.0}); {n_orgs} orgs {small_all:.0} MiB"
        ),
        format!("raw vectors {raw_mib:.0} MiB"),
        format!("{:.1}× raw (one org)", ingest_index / raw_mib),
        "≤ 2× raw",
        Some(ingest_index <= 2.0 * raw_mib && small_all <= 2.0 * raw_mib),
    ));
}
