//! The references, each a separate process: bare axum, bare axum plus one NATS hop, a naive edge
//! reading SurrealDB on every request, and SurrealDB alone writing contact sessions.

use super::*;

pub(crate) async fn listen(port: &str) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.expect("bind reference")
}

pub(crate) async fn serve_bare(port: &str, body_file: &str) {
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

pub(crate) async fn serve_nats(port: &str, nats_url: &str, body_file: &str) {
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
pub(crate) async fn serve_naive(port: &str, db_dir: &str) {
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

/// The database's own limit for the writes scenario: assist's contact-session repository on
/// surrealkv (on disk, synced), fenced as an org actor's is (each transaction also rewrites the
/// org's fence), no HTTP, no NATS, no actors, for `secs` seconds. `batch`: one
/// org's sessions 64 to a transaction, one transaction after the other (what a busy org actor
/// does); `spread`: 64 writers, one session per transaction (64 orgs, one request each in
/// flight); `spread:<n>`: the same from `n` writers, so the group commit's transactions hold
/// fewer rows (to tell SurrealDB's cost per transaction from its cost per row). Prints `{"rows_per_s":
/// …, "cpu_us_per_row": …}`, the process's CPU time (every thread) per row written, counted
/// from when the database is open, so its opening and schema are not charged to the rows.
pub(crate) async fn db_writes(db_dir: &str, mode: &str, secs: u64) {
    use assist::db::{Db, Repos};
    use assist::ids::{ContactSessionId, OrgId};
    use assist::model::contact_session::ContactSession;
    let (writers, per_txn) = match (mode, mode.strip_prefix("spread:")) {
        ("batch", _) => (1, 64),
        ("spread", _) => (64, 1),
        (_, Some(n)) => (n.parse().expect("spread:<writers>: a number of writers"), 1),
        _ => panic!("db-writes mode {mode:?}: expected batch, spread or spread:<writers>"),
    };
    let db = Db::connect(&format!("surrealkv://{db_dir}/db")).await.expect("open the reference db");
    let repos = Repos::new(&db);
    let session = || {
        let now = chrono::Utc::now();
        let metadata = serde_json::from_value(json!({"userAgent": "bench", "language": "en"})).unwrap();
        let session = ContactSession {
            id: ContactSessionId::generate(now),
            name: "Bench".into(),
            email: "bench@example.com".into(),
            metadata,
            created_at: now,
            expires_at: now,
        };
        (session, "0".repeat(64))
    };
    let cpu_before = cpu_secs();
    let rows = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (repos, rows) = (repos.clone(), rows.clone());
            let org = OrgId::parse(&org_name(w)).unwrap();
            tokio::spawn(async move {
                let owner = repos.fenced(assist::db::Fence { org: org.clone(), token: 1 });
                owner.activate(&org).await.map(drop).expect("raise the reference's fence");
                let sessions = owner.contact_sessions();
                while Instant::now() < until {
                    let batch: Vec<_> = (0..per_txn).map(|_| session()).collect();
                    sessions.create_many(&org, &batch).await.expect("reference write");
                    rows.fetch_add(per_txn, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rows = rows.load(Ordering::Relaxed) as f64;
    println!(
        "{}",
        json!({"rows_per_s": rows / secs as f64, "cpu_us_per_row": (cpu_secs() - cpu_before) * 1e6 / rows})
    );
}

/// The database's own limit for a cold activation: `n` orgs, each with an organization row
/// and widget settings, activated once under a lease token and then again under a newer one
/// (what a restarted node does: raise every fence, read four rows), the second pass timed from
/// 4 tasks as the scenario's 4 connections. Prints the same figures as `load-touch`.
pub(crate) async fn db_activations(db_dir: &str, n: usize) {
    use assist::db::{Db, Fence, Repos};
    use assist::ids::OrgId;
    use assist::model::widget_settings::WidgetSettings;
    let db = Db::connect(&format!("surrealkv://{db_dir}/db")).await.expect("open the reference db");
    let repos = Repos::new(&db);
    let pass = |token: u64, conns: usize| {
        let repos = repos.clone();
        futures::stream::iter(0..n)
            .map(move |i| {
                let repos = repos.clone();
                async move {
                    let org = OrgId::parse(&format!("org_act{i}")).unwrap();
                    let owner = repos.fenced(Fence { org: org.clone(), token });
                    let t = Instant::now();
                    let activated = owner.activate(&org).await.map(drop);
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    if token == 1 {
                        owner.organizations().ensure(&org).await.expect("seed the organization");
                        owner.widget_settings().put(&org, &WidgetSettings::default()).await.expect("seed");
                    }
                    (activated.is_ok(), ms)
                }
            })
            .buffer_unordered(conns)
            .collect::<Vec<_>>()
    };
    pass(1, 16).await;
    let start = Instant::now();
    let results = pass(2, 4).await;
    println!("{}", latency_summary(results, start.elapsed().as_secs_f64()));
}

/// SurrealDB alone ranking the knowledge scenario's passages: the same corpus (`corpus.rs`),
/// embedded by the same hashed-word function at 1536 dimensions, stored as SurrealDB number
/// arrays on surrealkv with an index on the org, and ranked exactly by
/// `vector::similarity::cosine` over the org's rows, the query's vector given. Prints
/// `{"big": …, "small": …}` as `latency_summary`, with the load's duration.
pub(crate) async fn db_search(db_dir: &str, big_chunks: usize, orgs: usize, small_chunks: usize) {
    let db = surrealdb::engine::any::connect(format!("surrealkv://{db_dir}/db"))
        .await
        .expect("open the reference db");
    db.use_ns("bench").use_db("bench").await.unwrap();
    db.query(
        "DEFINE TABLE ref_chunks SCHEMAFULL; DEFINE FIELD org ON ref_chunks TYPE string; \
         DEFINE FIELD text ON ref_chunks TYPE string; DEFINE FIELD embedding ON ref_chunks TYPE array<float>; \
         DEFINE INDEX ref_chunks_org ON ref_chunks FIELDS org;",
    )
    .await
    .unwrap()
    .check()
    .expect("the reference's schema");
    let vector = |text: &str| -> Vec<f64> {
        fakes::openai::embedding(text, 1536).into_iter().map(f64::from).collect()
    };
    let start = Instant::now();
    let big_org = "org_big".to_owned();
    let mut sets = vec![(1_000_000, big_org.clone(), big_chunks / corpus::PASSAGES_PER_DOC)];
    sets.extend((0..orgs).map(|i| (i, format!("org_{i}"), small_chunks / corpus::PASSAGES_PER_DOC)));
    for (seed, org, docs) in &sets {
        let texts: Vec<String> = (0..*docs)
            .flat_map(|d| (0..corpus::PASSAGES_PER_DOC).map(move |at| corpus::passage(*seed, d, at)))
            .chain([corpus::planted(*seed)])
            .collect();
        for batch in texts.chunks(250) {
            let rows = batch
                .iter()
                .map(|text| json!({"org": org, "embedding": vector(text), "text": text}))
                .collect();
            db.query("INSERT INTO ref_chunks $rows RETURN NONE")
                .bind(("rows", Value::Array(rows)))
                .await
                .unwrap()
                .check()
                .expect("load the reference's passages");
        }
    }
    let load_secs = start.elapsed().as_secs_f64();
    let query = vector(corpus::QUERY);
    let timed = |orgs: Vec<String>, n: usize| {
        let (db, query) = (db.clone(), query.clone());
        async move {
            let start = Instant::now();
            let mut results = Vec::with_capacity(n);
            for i in 0..n {
                let t = Instant::now();
                let found: Result<Vec<Value>, surrealdb::Error> = async {
                    db.query(
                        "SELECT text, vector::similarity::cosine(embedding, $q) AS score FROM ref_chunks \
                         WHERE org = $org ORDER BY score DESC LIMIT 5",
                    )
                    .bind(("q", query.clone()))
                    .bind(("org", orgs[i % orgs.len()].clone()))
                    .await?
                    .take(0)
                }
                .await;
                results.push((found.is_ok_and(|rows| rows.len() == 5), t.elapsed().as_secs_f64() * 1e3));
            }
            latency_summary(results, start.elapsed().as_secs_f64())
        }
    };
    let big = timed(vec![big_org], 30).await;
    let small = timed((0..orgs).map(|i| format!("org_{i}")).collect(), orgs.max(1)).await;
    println!("{}", json!({"big": big, "small": small, "load_secs": load_secs}));
}
