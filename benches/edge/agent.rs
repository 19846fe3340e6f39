//! The agent scenario: `BENCH_AGENT_CONVERSATIONS` paying orgs with the agent on, one
//! conversation each (the gateway allows a few provider calls in flight per org, so one org's
//! many conversations would measure that limit, not the agent). The fake provider starts every
//! answer [`FIRST_TOKEN`] after the request and streams a word every as long; `load-agent`
//! times each end-user message from its POST to the first `message.delta` on the widget's
//! stream, at 1 conversation and with every conversation answering at once.

use super::*;
use crate::fakes::openai::{FakeOpenAi, Script};

/// The fake provider's pause before each piece of an answer, the first one included.
pub(crate) const FIRST_TOKEN: Duration = Duration::from_millis(50);
const ANSWER: &str = "You can return unused items within 45 days of delivery, free of charge, from any of our \
                      stores or by post with the prepaid label in the parcel; refunds reach your card within \
                      five working days.";
const RETURNS: &str = "Returns: unused items may be returned within 45 days of delivery, free of charge. \
                       Refunds reach the card used within five working days.";
const QUESTION: &str = "How long do I have to return a kettle?";

fn agent_org(i: usize) -> String {
    format!("org_agent{i}")
}

/// An active subscription for `org`, as Clerk's signed webhook delivers it.
async fn subscribe(http: &reqwest::Client, base: &str, org: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/clerk/subscription.active.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["data"]["payer"]["organization_id"] = json!(org);
    let (body, id, ts) = (event.to_string(), format!("msg_sub_{org}"), unix_now());
    let signature = SvixVerifier::new(WEBHOOK_SECRET).unwrap().sign(&id, ts, body.as_bytes());
    let r = http
        .post(format!("{base}/webhooks/clerk"))
        .header("svix-id", &id)
        .header("svix-timestamp", ts.to_string())
        .header("svix-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "subscription.active for {org}: {}", r.status());
}

/// Makes `org` a paying org with the agent on and one document, and opens a conversation in it:
/// `{"org", "token", "id"}` of the end-user's session and conversation.
async fn prepare(kb: &knowledge::Kb<'_>, org: String) -> Value {
    let (http, base, token) = (kb.http, kb.base, kb.jwks.token(&org));
    let r = http.get(format!("{base}/v1/orgs/{org}")).bearer_auth(&token).send().await.unwrap();
    assert!(r.status().is_success(), "operator GET /v1/orgs/{org}: {}", r.status());
    subscribe(http, base, &org).await;
    let settings = json!({"enabled": true, "instructions": "Answer in one sentence.", "handoffMessage": "A person will answer soon."});
    // 402 until ingest applies the subscription.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = http
            .put(format!("{base}/v1/orgs/{org}/agent"))
            .bearer_auth(&token)
            .json(&settings)
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            break;
        }
        assert!(r.status() == 402 && Instant::now() < deadline, "PUT agent of {org}: {}", r.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let added = http
        .post(format!("{base}/v1/orgs/{org}/knowledge"))
        .bearer_auth(&token)
        .json(&json!({"title": "Returns policy", "text": RETURNS}))
        .send()
        .await
        .unwrap();
    let doc = added.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Value = http
            .get(format!("{base}/v1/orgs/{org}/knowledge/{doc}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if got["status"] == "ready" {
            break;
        }
        assert!(got["status"] == "processing" && Instant::now() < deadline, "document of {org}: {got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let session: Value = http
        .post(format!("{base}/v1/widget/{org}/sessions"))
        .json(&json!({"name": "Bench User", "email": "bench@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = session["token"].as_str().expect("a contact session").to_owned();
    let started: Value = http
        .post(format!("{base}/v1/widget/{org}/conversations"))
        .header("X-Contact-Session", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(started["handler"], "ai", "a new chat of {org} is the agent's: {started}");
    json!({"org": org, "token": session, "id": started["id"]})
}

pub(crate) async fn run(
    kb: knowledge::Kb<'_>,
    fake: &FakeOpenAi,
    me: &Path,
    tmp: &Path,
    rows: &mut Vec<Row>,
    log: &mut Vec<String>,
) {
    let n: usize = env_or("BENCH_AGENT_CONVERSATIONS", 200);
    let rounds_one: usize = env_or("BENCH_AGENT_ROUNDS", 30);
    eprintln!("bench: (7) agent: {n} paying orgs with the agent on, one conversation each");
    let conversations: Vec<Value> = futures::stream::iter((0..n).map(agent_org))
        .map(|org| prepare(&kb, org))
        .buffer_unordered(8)
        .collect()
        .await;
    let file = tmp.join("conversations.json");
    std::fs::write(&file, Value::Array(conversations).to_string()).unwrap();
    let script =
        Script::Text { pieces: ANSWER.split_inclusive(' ').map(str::to_owned).collect(), delay: FIRST_TOKEN };
    let load = |count: usize, rounds: usize| {
        (0..count * rounds).for_each(|_| fake.script(script.clone()));
        let out = Command::new(me)
            .arg("load-agent")
            .arg(&file)
            .args([kb.base.to_owned(), count.to_string(), rounds.to_string(), kb.pid.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&out.stdout)}))
    };
    let one = load(1, rounds_one);
    eprintln!("  1 conversation: {one}");
    let many = load(n, 3);
    eprintln!("  {n} conversations: {many}");
    log.push(format!("agent 1: {one}\nagent {n}: {many}"));
    let ms = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
    for (label, v, target) in
        [("1 conversation", &one, 100.0), (&*format!("{n} conversations at once"), &many, 250.0)]
    {
        let p99 = ms(v, "p99_ms");
        rows.push(row(
            &format!(
                "Agent overhead, {label} (POST to first `message.delta`, less the fake's {} ms)",
                FIRST_TOKEN.as_millis()
            ),
            format!(
                "p50 {:.1} ms, p99 {p99:.1} ms ({} answers, {} failed)",
                ms(v, "p50_ms"),
                v["n"],
                v["failed"]
            ),
            "—".into(),
            "—".into(),
            &format!("p99 < {target:.0} ms"),
            Some(p99 < target && v["failed"].as_u64() == Some(0)),
        ));
    }
    let (before, during, in_flight) = (
        many["rss_before_kib"].as_u64().unwrap_or(0),
        many["rss_streaming_kib"].as_u64().unwrap_or(0),
        many["in_flight"].as_u64().unwrap_or(0),
    );
    let per_reply = during.saturating_sub(before) as f64 * 1024.0 / in_flight.max(1) as f64;
    rows.push(row(
        "Resident memory per reply in flight (first round, every reply streaming)",
        format!(
            "{:.0} KB ({in_flight} in flight; {:.0} → {:.0} MiB)",
            per_reply / 1000.0,
            before as f64 / 1024.0,
            during as f64 / 1024.0
        ),
        "—".into(),
        format!("{:.0} MiB per 10k replies", per_reply * 10_000.0 / 1048576.0),
        "≤ 100 KB",
        Some(per_reply <= 100_000.0 && in_flight > 0),
    ));
}

/// What a conversation's widget stream reports to its task.
enum Seen {
    FirstDelta(Instant),
    Answered,
}

/// The first `count` conversations of `file` (`prepare`'s), each on its own widget stream,
/// `rounds` times: every conversation's end-user asks at once, each waits for its answer's first
/// delta (timed) and its `message.created`. VmRSS of `pid` before the first round and once every
/// reply of it streams.
pub(crate) async fn load_agent(file: &str, base: &str, count: usize, rounds: usize, pid: u32) {
    let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let client = reqwest::Client::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(count + 1));
    let streaming = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in all.into_iter().take(count) {
        let (org, token, id) = (
            c["org"].as_str().unwrap().to_owned(),
            c["token"].as_str().unwrap().to_owned(),
            c["id"].as_str().unwrap().to_owned(),
        );
        let stream = client
            .get(format!("{base}/v1/widget/{org}/events"))
            .header("X-Contact-Session", &token)
            .send()
            .await
            .unwrap();
        assert!(stream.status().is_success(), "widget stream of {org}: {}", stream.status());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let conversation = id.clone();
        tokio::spawn(sse::each_event(stream, move |event, data, at| {
            let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            let seen = match event {
                "message.delta" if data["conversationId"] == conversation.as_str() && data["seq"] == 0 => {
                    Some(Seen::FirstDelta(at))
                }
                "message.created" if data["role"] == "assistant" => Some(Seen::Answered),
                _ => None,
            };
            seen.is_none_or(|seen| tx.send(seen).is_ok())
        }));
        let base = base.to_owned();
        let (client, barrier, streaming, answered) =
            (client.clone(), barrier.clone(), streaming.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            for _ in 0..rounds {
                barrier.wait().await;
                let t0 = Instant::now();
                let sent = client
                    .post(format!("{base}/v1/widget/{org}/conversations/{id}/messages"))
                    .header("X-Contact-Session", &token)
                    .json(&json!({"text": QUESTION}))
                    .send()
                    .await;
                let ok = sent.is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
                let first = match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                    Ok(Some(Seen::FirstDelta(at))) if ok => Some(at.duration_since(t0)),
                    _ => None,
                };
                streaming.fetch_add(1, Ordering::SeqCst);
                let done = first.is_some()
                    && matches!(
                        tokio::time::timeout(Duration::from_secs(30), rx.recv()).await,
                        Ok(Some(Seen::Answered))
                    );
                answered.fetch_add(1, Ordering::SeqCst);
                let ms = first.map_or(f64::NAN, |d| (d.as_secs_f64() - FIRST_TOKEN.as_secs_f64()) * 1e3);
                results.push((done, ms));
            }
            results
        }));
    }
    let (mut rss_before, mut rss_streaming, mut in_flight) = (0, 0, 0);
    for round in 0..rounds {
        let before = vm_rss_kib(pid);
        barrier.wait().await;
        let target = (round + 1) * count;
        let deadline = Instant::now() + Duration::from_secs(60);
        while streaming.load(Ordering::SeqCst) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if round == 0 {
            (rss_before, rss_streaming) = (before, vm_rss_kib(pid));
            in_flight = target - answered.load(Ordering::SeqCst).min(target);
        }
        while answered.load(Ordering::SeqCst) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Pacing between rounds: the answers are committed, their last events delivered.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut results = Vec::new();
    for task in tasks {
        results.extend(task.await.unwrap());
    }
    // A message without a first delta has no time: counted as failed, left out of the times.
    let (n, failed) = (results.len(), results.iter().filter(|(ok, _)| !ok).count());
    let mut summary = latency_summary(results.into_iter().filter(|(_, ms)| ms.is_finite()).collect(), 1.0);
    (summary["n"], summary["failed"]) = (json!(n), json!(failed));
    summary["rss_before_kib"] = json!(rss_before);
    summary["rss_streaming_kib"] = json!(rss_streaming);
    summary["in_flight"] = json!(in_flight);
    println!("{summary}");
    std::process::exit(0);
}
