//! Load generators, each a separate process that prints one JSON line on stdout.

use super::*;

/// Opens `streams` operator SSE streams on one org, then changes its widget settings `rounds`
/// times; latency is from sending the PUT to each stream reading the `settings.updated` event.
pub(crate) async fn load_fanout(base: &str, org: &str, token: &str, streams: usize, rounds: usize) {
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
pub(crate) async fn load_touch(base: &str, prefix: &str, n: usize, conns: usize) {
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
    println!("{}", latency_summary(results, start.elapsed().as_secs_f64()));
    std::process::exit(0);
}

/// Sends `n` signed `organization.created` deliveries (distinct orgs) from 64 concurrent
/// connections, then waits until every org is known to the widget (applied).
pub(crate) async fn load_webhooks(base: &str, prefix: &str, n: usize, conns: usize) {
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
    let (applied_before, duplicates_before) = ingest_counts(&client, base).await;
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
    // Applied: ingest's own count (`/metrics`), read every 20 ms, so the measurement adds no load.
    // Gives up only below 100 applied a second (the run then reports what was not applied).
    let deadline = Instant::now() + Duration::from_secs(120 + n as u64 / 100);
    let mut applied = 0;
    while Instant::now() < deadline {
        applied = ingest_counts(&client, base).await.0 - applied_before;
        if applied >= n as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let applied_secs = start.elapsed().as_secs_f64();
    // None lost: then every org must answer on the widget route (not timed).
    let results: Vec<bool> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/v1/widget/{prefix}{i}/settings");
            async move { client.get(url).send().await.map(|r| r.status().is_success()).unwrap_or(false) }
        })
        .buffer_unordered(conns)
        .collect()
        .await;
    let not_applied = results.iter().filter(|ok| !**ok).count();
    let duplicates = ingest_counts(&client, base).await.1 - duplicates_before;
    let out = json!({
        "sent": n, "accepted": accepted.load(Ordering::SeqCst), "refused": refused.load(Ordering::SeqCst),
        "accept_secs": accept_secs, "accepted_per_s": accepted.load(Ordering::SeqCst) as f64 / accept_secs,
        "applied": applied, "applied_secs": applied_secs, "not_applied": not_applied,
        "applied_per_s": applied.min(n as u64) as f64 / applied_secs, "duplicates": duplicates,
    });
    println!("{out}");
    std::process::exit(0);
}

/// Ingest's counters of applied and of already-applied (acknowledged again) events.
async fn ingest_counts(client: &reqwest::Client, base: &str) -> (u64, u64) {
    (
        metric(client, base, "webhook_events_applied").await,
        metric(client, base, "webhook_events_duplicated").await,
    )
}
