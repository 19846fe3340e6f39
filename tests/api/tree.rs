//! The supervision tree: `GET /admin/tree`, the admin subjects, `assist tree`, and a node that
//! heartbeats but stays silent.

use std::net::SocketAddr;
use std::time::Duration;

use assist::bus::subjects::AdminTarget;
use assist::ids::OrgId;
use assist::ops::NodeId;
use assist::ops::tree::Tree;
use assist::{App, Config};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::time::Instant;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const ADMIN: &str = "admin-token-for-tests";

async fn node(id: &str) -> TestApp {
    let id = id.to_owned();
    spawn_app_with(move |c| {
        c.node_id = NodeId::parse(&id).unwrap();
        c.admin_token = Some(ADMIN.into());
    })
    .await
}

/// The `nodes` of `GET /admin/tree{query}`, asked with the admin token.
async fn tree(app: &TestApp, query: &str) -> Vec<Value> {
    let answer = app.get(&format!("/admin/tree{query}"), Some(ADMIN)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["nodes"].as_array().expect("nodes").clone()
}

fn names(nodes: &[Value]) -> Vec<(&str, &str)> {
    nodes.iter().map(|n| (n["node"].as_str().unwrap(), n["status"].as_str().unwrap())).collect()
}

#[tokio::test]
async fn the_tree_shows_the_node_its_actors_and_each_org_actor() {
    let app = node("node-a").await;
    app.known_org("org_a").await;

    let nodes = tree(&app, "").await;

    assert_eq!(names(&nodes), [("node-a", "ok")]);
    let tree = &nodes[0]["tree"];
    assert_eq!(tree["root"]["status"], "running");
    assert_eq!(tree["tenants"]["status"], "running");
    assert_eq!(tree["systemIngest"]["status"], "running");
    assert_eq!(tree["systemIngest"]["restarts"], 0);
    assert_eq!(tree["systemIngest"]["events"]["received"], 0);
    let org = &tree["tenants"]["orgs"][0];
    assert_eq!((org["org"].as_str(), org["status"].as_str()), (Some("org_a"), Some("active")));
    assert_eq!((org["mailbox"].as_u64(), org["restarts"].as_u64()), (Some(0), Some(0)));
    assert!(org["uptimeMs"].is_u64() && org["idleMs"].is_u64(), "{org}");
}

#[tokio::test]
async fn the_tree_can_be_narrowed_to_one_org() {
    let app = node("node-a").await;
    app.known_org("org_a").await;
    app.known_org("org_b").await;

    let nodes = tree(&app, "?org=org_b").await;
    let bad = app.get("/admin/tree?org=a.b", Some(ADMIN)).await;

    let orgs = nodes[0]["tree"]["tenants"]["orgs"].as_array().unwrap();
    assert_eq!(orgs.iter().map(|o| o["org"].as_str().unwrap()).collect::<Vec<_>>(), ["org_b"]);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn the_admin_route_needs_the_admin_token_and_is_absent_without_one() {
    let app = node("node-a").await;
    let operator = app.token("org_a");

    for token in [None, Some("wrong"), Some(operator.as_str()), Some("admin-token-for-test")] {
        let refused = app.get("/admin/tree", token).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(refused.error_code(), "unauthenticated");
    }
    let off = spawn_app().await;
    assert_eq!(off.get("/admin/tree", Some(ADMIN)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_node_that_heartbeats_but_does_not_answer_is_listed_as_silent() {
    let app = node("node-a").await;
    let js = async_nats::jetstream::new(app.backend_nats().await);
    let nodes_bucket = js.get_key_value("assist_nodes").await.expect("the nodes bucket exists");
    nodes_bucket.put("ghost-1", "0.1.0".into()).await.unwrap();

    let started = Instant::now();
    let nodes = tree(&app, "").await;

    assert_eq!(names(&nodes), [("ghost-1", "no_answer"), ("node-a", "ok")]);
    assert!(nodes[0]["error"].as_str().unwrap().contains("no answer within"), "{}", nodes[0]);
    assert!(started.elapsed() < Duration::from_secs(5), "the deadline bounds the wait");
}

#[tokio::test]
async fn every_node_on_the_bus_answers_the_fan_out_and_a_stopped_one_leaves() {
    let app = node("node-a").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::embedded();
    config.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.nats_url = Some(app.nats_server.backend_url());
    config.db = "mem://".into();
    config.data_dir = dir.path().to_owned();
    config.node_id = NodeId::parse("node-b").unwrap();
    let second = App::build(config).await.expect("a second node builds");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(second.run_until_stopped(async {
        let _ = stopped.await;
    }));

    assert_eq!(names(&tree(&app, "").await), [("node-a", "ok"), ("node-b", "ok")]);
    stop.send(()).unwrap();
    running.await.unwrap().expect("node-b stops cleanly");
    assert_eq!(names(&tree(&app, "").await), [("node-a", "ok")], "a node that stopped cleanly is not silent");
}

#[tokio::test]
async fn one_node_answers_on_its_own_subject_and_an_unknown_verb_gets_an_error() {
    let app = node("node-a").await;
    let nats = app.backend_nats().await;

    let own = nats.request("assist.v1.admin.node-a.tree", "".into()).await.expect("an answer");
    let unknown = nats.request("assist.v1.admin.node-a.reboot", "".into()).await.expect("an answer");

    let report: Value = serde_json::from_slice(&own.payload).unwrap();
    assert_eq!((report["node"].as_str(), report["status"].as_str()), (Some("node-a"), Some("ok")));
    let code =
        unknown.headers.as_ref().and_then(|h| h.get("Assist-Error-Code")).map(|v| v.as_str().to_owned());
    assert_eq!(code.as_deref(), Some("not_found"));
}

/// What `assist tree` does (the binary only parses its flags around this): connect, gather,
/// render. The binary itself is not run here, as a shared target dir may hold another build.
async fn assist_tree(url: &str, target: AdminTarget, org: Option<&str>) -> Tree {
    let nats = assist::bus::connect(url, "assist-tree", Duration::from_secs(2)).await.expect("connects");
    let org = org.map(|o| OrgId::parse(o).unwrap());
    assist::ops::tree::gather(&nats, target, org.as_ref(), Duration::from_secs(2)).await.expect("a tree")
}

#[tokio::test]
async fn assist_tree_prints_every_node_as_text_or_json() {
    let app = node("node-a").await;
    app.known_org("org_a").await;
    app.known_org("org_b").await;
    let url = app.nats_server.backend_url();

    let all = assist_tree(&url, AdminTarget::All, None).await;
    let one = assist_tree(&url, AdminTarget::Node(NodeId::parse("node-a").unwrap()), Some("org_b")).await;

    let json = serde_json::to_value(&all).unwrap();
    assert_eq!(names(json["nodes"].as_array().unwrap()), [("node-a", "ok")]);
    let text = all.render();
    assert!(text.starts_with("node node-a  ok  v"), "{text}");
    assert!(text.contains("org:org_a  active  mailbox 0"), "{text}");
    assert!(text.contains("system-ingest  running  restarts 0"), "{text}");
    let one = one.render();
    assert!(one.contains("org:org_b") && !one.contains("org:org_a"), "{one}");
}

#[tokio::test]
async fn assist_tree_finds_the_embedded_server_of_a_local_serve() {
    let mut app = spawn_app_with(|c| {
        c.nats_url = None;
        c.node_id = NodeId::parse("node-local").unwrap();
    })
    .await;

    let url = assist::bus::embedded::local_backend_url(app.data_dir()).expect("the URL file and credentials");
    let text = assist_tree(&url, AdminTarget::All, None).await.render();

    assert!(text.starts_with("node node-local  ok"), "{text}");
    app.stop().await.expect("the app stops cleanly");
    assert!(!app.data_dir().join("nats/url").exists(), "the URL file goes with the server");
}
