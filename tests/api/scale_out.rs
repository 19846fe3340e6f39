//! Many nodes, one owner per organization: partitions spread over the nodes, a joining node takes
//! a fair share, and when a node dies its orgs answer again on the others within the bound,
//! with no acknowledged write lost and never two owners at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use assist::bus::subjects::partition_of;
use assist::ids::OrgId;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::cluster::{Cluster, DbAuth, ownership};

const PARTITIONS: u64 = 16;
/// The handover bound of the issue (the default lease TTL is 5 s).
const BOUND: Duration = Duration::from_secs(10);

/// Polls the cluster's tree through `via` until `check` holds; the last ownership read.
async fn settle(
    cluster: &Cluster,
    via: usize,
    check: impl Fn(&[(String, Vec<u64>, Vec<String>)]) -> bool,
) -> Vec<(String, Vec<u64>, Vec<String>)> {
    let until = Instant::now() + Duration::from_secs(40);
    loop {
        let owned = ownership(&cluster.tree(&cluster.nodes[via]).await);
        if check(&owned) || Instant::now() > until {
            return owned;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every partition held, by exactly one node.
fn exactly_once(owned: &[(String, Vec<u64>, Vec<String>)]) -> bool {
    let all: Vec<u64> = owned.iter().flat_map(|(_, held, _)| held.iter().copied()).collect();
    all.len() == usize::try_from(PARTITIONS).unwrap()
        && all.iter().copied().collect::<BTreeSet<_>>().len() == all.len()
}

/// No org active on two nodes, and each only where its partition is held.
fn assert_single_owners(owned: &[(String, Vec<u64>, Vec<String>)]) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (node, held, orgs) in owned {
        for org in orgs {
            if let Some(other) = seen.insert(org, node) {
                panic!("{org} is active on {node} and {other} at once: {owned:?}");
            }
            let partition = u64::from(partition_of(&OrgId::parse(org).unwrap(), 16));
            assert!(
                held.contains(&partition),
                "{org} (partition {partition}) runs on {node} without its lease: {owned:?}"
            );
        }
    }
}

async fn create_session(cluster: &Cluster, base: &str, org: &str, name: &str) -> (StatusCode, Value) {
    let body = json!({"name": name, "email": format!("{name}@example.com")});
    let response =
        cluster.http.post(format!("{base}/v1/widget/{org}/sessions")).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn orgs_spread_over_nodes_a_joiner_gets_a_share_and_a_dead_node_is_replaced() {
    spread_join_and_replace(DbAuth::None).await;
}

#[tokio::test]
async fn signed_in_to_the_database_orgs_spread_a_joiner_gets_a_share_and_a_dead_node_is_replaced() {
    spread_join_and_replace(DbAuth::Root).await;
}

async fn spread_join_and_replace(auth: DbAuth) {
    let mut cluster = Cluster::start(2, auth).await;
    let owned =
        settle(&cluster, 0, |o| o.len() == 2 && exactly_once(o) && o.iter().all(|(_, h, _)| h.len() == 8))
            .await;
    assert!(
        exactly_once(&owned) && owned.iter().all(|(_, held, _)| held.len() == 8),
        "two nodes share 8 and 8: {owned:?}"
    );

    cluster.add_node("node-c").await;
    let owned =
        settle(&cluster, 2, |o| o.len() == 3 && exactly_once(o) && o.iter().all(|(_, h, _)| h.len() >= 5))
            .await;
    assert!(
        owned.len() == 3
            && exactly_once(&owned)
            && owned.iter().all(|(_, held, _)| (5..=6).contains(&held.len())),
        "a joining node takes a fair share (6/5/5): {owned:?}"
    );

    // Many orgs, each reached through every node: requests find the one owner wherever they enter.
    let orgs: Vec<String> = (0..24).map(|i| format!("org_scale{i}")).collect();
    let mut acked: Vec<(String, String)> = Vec::new();
    for (i, org) in orgs.iter().enumerate() {
        let entry = &cluster.nodes[i % 3].base;
        let known = cluster
            .http
            .get(format!("{entry}/v1/orgs/{org}/widget-settings"))
            .bearer_auth(cluster.token(org))
            .send()
            .await
            .unwrap();
        let status = known.status();
        assert_eq!(status, StatusCode::OK, "{}\n{}", known.text().await.unwrap(), cluster.logs());
        for node in &cluster.nodes {
            let (status, created) = create_session(&cluster, &node.base, org, "before").await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            acked.push((org.clone(), created["token"].as_str().unwrap().to_owned()));
        }
    }
    let owned = ownership(&cluster.tree(&cluster.nodes[0]).await);
    assert_single_owners(&owned);
    let busy = owned.iter().filter(|(_, _, orgs)| !orgs.is_empty()).count();
    assert_eq!(busy, 3, "the orgs spread over every node: {owned:?}");

    // node-b dies without a word. Each org gets exactly one request, sent at once through the
    // survivors; the edge holds it until the org has an owner again.
    cluster.kill(1).await;
    let killed = Instant::now();
    let survivors: Vec<String> = cluster.alive().map(|node| node.base.clone()).collect();
    let requests = orgs.iter().enumerate().map(|(i, org)| {
        let (cluster, base) = (&cluster, survivors[i % survivors.len()].clone());
        async move {
            let (status, created) = create_session(cluster, &base, org, "after").await;
            (org.clone(), status, created, killed.elapsed())
        }
    });
    let sampling = async {
        let mut samples = Vec::new();
        while killed.elapsed() < BOUND {
            samples.push(ownership(&cluster.tree(&cluster.nodes[0]).await));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        samples
    };
    let (answers, samples) = tokio::join!(futures::future::join_all(requests), sampling);
    for (org, status, created, took) in answers {
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{org} after the loss of a node: {created}\n{}",
            cluster.logs()
        );
        assert!(took <= BOUND, "{org} answered {took:?} after the kill (bound {BOUND:?})");
        acked.push((org, created["token"].as_str().unwrap().to_owned()));
    }
    for sample in &samples {
        assert_single_owners(sample);
    }
    let owned = settle(&cluster, 0, exactly_once).await;
    assert!(exactly_once(&owned), "the survivors hold every partition: {owned:?}");
    assert!(owned.iter().all(|(node, _, _)| node != "node-b"), "{owned:?}");

    // Every acknowledged write, before and after the loss, is there.
    for (i, (org, token)) in acked.iter().enumerate() {
        let base = &survivors[i % survivors.len()];
        let current = cluster
            .http
            .get(format!("{base}/v1/widget/{org}/sessions/current"))
            .header("X-Contact-Session", token)
            .send()
            .await
            .unwrap();
        assert_eq!(current.status(), StatusCode::OK, "an acknowledged session of {org} is lost");
    }
}

#[tokio::test]
async fn a_nats_that_does_not_partition_org_subjects_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // nats-server picks its port (`-p -1`) and writes it to a ports file once it listens.
    let binary = std::env::var("ASSIST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
    let mut plain = tokio::process::Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", "-1", "-js", "--ports_file_dir"])
        .arg(dir.path())
        .arg("-sd")
        .arg(dir.path().join("js"))
        .kill_on_drop(true)
        .spawn()
        .expect("nats-server runs");
    let ports_file = dir.path().join(format!("nats-server_{}.ports", plain.id().unwrap()));
    let mut url = None;
    let listening = crate::helpers::eventually(Duration::from_secs(10), || {
        let ports: Option<Value> =
            std::fs::read(&ports_file).ok().and_then(|b| serde_json::from_slice(&b).ok());
        url = ports.and_then(|ports| ports["nats"][0].as_str().map(str::to_owned));
        url.is_some()
    })
    .await;
    assert!(listening, "nats-server reported no client URL");
    let url = url.unwrap();

    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_assist"))
        .env("ASSIST_HTTP_ADDR", "127.0.0.1:0")
        .env("ASSIST_NATS_URL", &url)
        .env("ASSIST_DB", "mem://")
        .env("ASSIST_DATA_DIR", dir.path().join("data"))
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "assist must not serve without partitioning");
    assert!(stderr.contains("add the `mappings` block of config/nats-server.conf"), "{stderr}");
    plain.kill().await.unwrap();
}

#[tokio::test]
async fn a_frozen_node_wakes_up_without_its_orgs_and_writes_nothing() {
    frozen_node_wakes_up(DbAuth::None).await;
}

#[tokio::test]
async fn signed_in_to_the_database_a_frozen_node_wakes_up_without_its_orgs_and_writes_nothing() {
    frozen_node_wakes_up(DbAuth::Root).await;
}

async fn frozen_node_wakes_up(auth: DbAuth) {
    let cluster = Cluster::start(2, auth).await;
    let owned =
        settle(&cluster, 0, |o| o.len() == 2 && exactly_once(o) && o.iter().all(|(_, h, _)| h.len() == 8))
            .await;
    let of_b: Vec<u64> =
        owned.iter().find(|(node, _, _)| node == "node-b").map(|(_, held, _)| held.clone()).unwrap();
    let org = (0..1000)
        .map(|i| format!("org_frozen{i}"))
        .find(|org| of_b.contains(&u64::from(partition_of(&OrgId::parse(org).unwrap(), 16))))
        .expect("node-b holds a partition");
    let (a, b) = (cluster.nodes[0].base.clone(), cluster.nodes[1].base.clone());
    let put = |base: String, welcome: &'static str| {
        let (http, token, org) = (cluster.http.clone(), cluster.token(&org), org.clone());
        async move {
            let mut settings = crate::helpers::custom_settings();
            settings["welcomeMessage"] = json!(welcome);
            let url = format!("{base}/v1/orgs/{org}/widget-settings");
            let response = http.put(url).bearer_auth(token).json(&settings).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    assert_eq!(put(b.clone(), "written on node-b").await.0, StatusCode::OK);

    cluster.signal(1, "-STOP");
    let owned = settle(&cluster, 0, |o| o.len() == 1 && exactly_once(o)).await;
    assert!(owned.len() == 1 && exactly_once(&owned), "node-a took everything over: {owned:?}");
    assert_eq!(put(a.clone(), "written on node-a").await.0, StatusCode::OK);

    // node-b wakes up with its org actor, its old token and its subscriptions coming back.
    cluster.signal(1, "-CONT");
    // Its edge answers 503 until its NATS connection is back; then the write lands once, on
    // whichever node owns the org.
    let woke = Instant::now();
    let mut through_b = put(b.clone(), "after the wake-up, through node-b").await;
    while through_b.0 != StatusCode::OK && woke.elapsed() < BOUND {
        tokio::time::sleep(Duration::from_millis(200)).await;
        through_b = put(b.clone(), "after the wake-up, through node-b").await;
    }
    assert_eq!(through_b.0, StatusCode::OK, "{}\n{}", through_b.1, cluster.logs());
    let (status, body) = put(a.clone(), "after the wake-up, through node-a").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let owned = settle(&cluster, 0, |o| o.len() == 2 && exactly_once(o)).await;
    assert_single_owners(&owned);
    let read = cluster
        .http
        .get(format!("{a}/v1/orgs/{org}/widget-settings"))
        .bearer_auth(cluster.token(&org))
        .send();
    let read: Value = read.await.unwrap().json().await.unwrap();
    assert_eq!(
        read["welcomeMessage"], "after the wake-up, through node-a",
        "the last acknowledged write wins"
    );
    let logs = cluster.logs();
    assert!(logs.contains("lease lost"), "node-b noticed it lost its leases:\n{logs}");
}

/// Every node answers the widget's settings from its own copy; a change made through one node
/// reaches the copy on the others by the change feed, well before a copy expires unconfirmed.
#[tokio::test]
async fn a_settings_change_through_one_node_reaches_the_widget_on_every_node() {
    settings_change_reaches_every_node(DbAuth::None).await;
}

#[tokio::test]
async fn signed_in_to_the_database_a_settings_change_reaches_the_widget_on_every_node() {
    settings_change_reaches_every_node(DbAuth::Root).await;
}

async fn settings_change_reaches_every_node(auth: DbAuth) {
    let cluster = Cluster::start(2, auth).await;
    settle(&cluster, 0, |o| o.len() == 2 && exactly_once(o)).await;
    let (org, token) = ("org_copies", cluster.token("org_copies"));
    let widget = |node: usize| {
        let url = format!("{}/v1/widget/{org}/settings", cluster.nodes[node].base);
        let http = cluster.http.clone();
        async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let put = |settings: Value| {
        let url = format!("{}/v1/orgs/{org}/widget-settings", cluster.nodes[0].base);
        cluster.http.put(url).bearer_auth(&token).json(&settings).send()
    };
    let mut settings = crate::helpers::custom_settings();
    assert_eq!(put(settings.clone()).await.unwrap().status(), StatusCode::OK);
    for node in 0..2 {
        assert_eq!(widget(node).await["welcomeMessage"], settings["welcomeMessage"], "node {node} copies it");
    }

    settings["welcomeMessage"] = json!("Changed on node 0");
    assert_eq!(put(settings).await.unwrap().status(), StatusCode::OK);

    assert_eq!(
        widget(0).await["welcomeMessage"],
        "Changed on node 0",
        "read-your-write on the writer's node"
    );
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let seen = widget(1).await["welcomeMessage"].clone();
        if seen == "Changed on node 0" {
            break;
        }
        assert!(Instant::now() < until, "node 1 still serves {seen}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
