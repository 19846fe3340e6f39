//! Several `assist serve` processes against one nats-server and one SurrealDB server: the
//! set-up of the scale-out tests. The SurrealDB server is the official one, built from the
//! crates.io package `surrealdb-server` (`tools/surreal`, see docs/tests.md); without it the tests
//! that need it say so and skip, so the default test run stays inside CI's time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use assist::bus::embedded::{Credentials, NatsServer};
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::fakes::clerk::FakeClerk;
use crate::fakes::vapi::FakeVapi;
use crate::helpers::WEBHOOK_SECRET;
use crate::process::spawn_assist;

pub const ADMIN: &str = "cluster-admin-token";
/// One master key for every node: a secret sealed by one must open on another.
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// `surreal` from `ASSIST_SURREAL_BIN` or `PATH`, if installed.
pub fn surreal_binary() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("ASSIST_SURREAL_BIN") {
        return Some(path.into());
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join("surreal"))
        .find(|path| path.is_file())
}

pub struct Node {
    pub base: String,
    output: Arc<Mutex<String>>,
    child: Option<Child>,
}

pub struct Cluster {
    dir: tempfile::TempDir,
    pub nats: NatsServer,
    pub clerk: FakeClerk,
    vapi: FakeVapi,
    _surreal: Child,
    pub db_url: String,
    pub nodes: Vec<Node>,
    pub http: reqwest::Client,
}

impl Cluster {
    /// `None` (after saying why) when the SurrealDB server is not installed.
    pub async fn start(nodes: usize) -> Option<Cluster> {
        let Some(surreal) = surreal_binary() else {
            eprintln!(
                "SKIPPED: the scale-out tests need the SurrealDB server (`surreal` on PATH or \
                 ASSIST_SURREAL_BIN); install it with `cargo install --locked --path tools/surreal`"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let nats = NatsServer::start(&dir.path().join("nats"), Credentials::random(), None).await.unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let surreal_log = std::fs::File::create(dir.path().join("surreal.log")).unwrap();
        let surreal = Command::new(surreal)
            .args(["start", "--bind", &format!("127.0.0.1:{port}"), "--unauthenticated", "memory"])
            .stdout(surreal_log.try_clone().unwrap())
            .stderr(surreal_log)
            .kill_on_drop(true)
            .spawn()
            .expect("the surreal binary runs");
        // Unauthenticated: a debug-built server spends about a second on each sign-in (argon2),
        // and under the whole suite's load that made node start-ups flaky. Ready once it says
        // so, not when the port opens.
        let log = dir.path().join("surreal.log");
        let up = crate::helpers::eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains("Started web server"))
        })
        .await;
        assert!(up, "the SurrealDB server did not start on port {port}");
        let mut cluster = Cluster {
            dir,
            nats,
            clerk: FakeClerk::start().await,
            vapi: FakeVapi::start().await,
            _surreal: surreal,
            db_url: format!("ws://127.0.0.1:{port}"),
            nodes: Vec::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        };
        for i in 0..nodes {
            cluster.add_node(&format!("node-{}", char::from(b'a' + u8::try_from(i).unwrap()))).await;
        }
        Some(cluster)
    }

    pub async fn add_node(&mut self, id: &str) {
        let data = self.dir.path().join(id);
        let env = [
            ("ASSIST_NODE_ID", id.to_owned()),
            ("ASSIST_NATS_URL", self.nats.backend_url()),
            ("ASSIST_DB", self.db_url.clone()),
            ("ASSIST_DATA_DIR", data.display().to_string()),
            ("ASSIST_MASTER_KEY", MASTER_KEY.to_owned()),
            ("ASSIST_ADMIN_TOKEN", ADMIN.to_owned()),
            ("ASSIST_CLERK_JWKS_URL", self.clerk.jwks_url()),
            ("ASSIST_CLERK_ISSUER", self.clerk.issuer().to_owned()),
            ("ASSIST_CLERK_AUTHORIZED_PARTIES", self.clerk.authorized_party().to_owned()),
            ("ASSIST_CLERK_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
            ("ASSIST_VAPI_BASE_URL", self.vapi.base_url()),
            ("ASSIST_LOG", "warn,assist=info".to_owned()),
        ];
        let output = Arc::new(Mutex::new(String::new()));
        let (child, base) = spawn_assist(&env, output.clone()).await;
        self.nodes.push(Node { base, output, child: Some(child) });
    }

    /// SIGKILL: the node gets no chance to hand anything over.
    pub async fn kill(&mut self, node: usize) {
        if let Some(mut child) = self.nodes[node].child.take() {
            child.kill().await.unwrap();
        }
    }

    /// SIGSTOP, then SIGCONT: a node that freezes (a long pause, a stalled VM) and wakes up
    /// believing it still owns what it owned.
    pub fn signal(&self, node: usize, signal: &str) {
        let pid = self.nodes[node].child.as_ref().and_then(Child::id).expect("a running node");
        let sent = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    pub fn alive(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|node| node.child.is_some())
    }

    /// What every node logged, for failure messages.
    pub fn logs(&self) -> String {
        let mut logs: Vec<String> =
            self.nodes.iter().map(|node| node.output.lock().unwrap().clone()).collect();
        logs.push(std::fs::read_to_string(self.dir.path().join("surreal.log")).unwrap_or_default());
        logs.join("\n")
    }

    pub fn token(&self, org: &str) -> String {
        self.clerk.token().org(org).role("org:admin").sign()
    }

    /// The whole cluster's supervision tree, asked through `node`.
    pub async fn tree(&self, node: &Node) -> Value {
        let response =
            self.http.get(format!("{}/admin/tree", node.base)).bearer_auth(ADMIN).send().await.unwrap();
        response.json().await.unwrap()
    }
}

/// `node → partitions it holds` and `node → orgs active on it`, read off a tree.
pub fn ownership(tree: &Value) -> Vec<(String, Vec<u64>, Vec<String>)> {
    let nodes = tree["nodes"].as_array().cloned().unwrap_or_default();
    nodes
        .iter()
        .filter(|node| node["status"] == "ok")
        .map(|node| {
            let held = node["tree"]["partitions"]["held"].as_array().cloned().unwrap_or_default();
            let orgs = node["tree"]["tenants"]["orgs"].as_array().cloned().unwrap_or_default();
            (
                node["node"].as_str().unwrap_or_default().to_owned(),
                held.iter().filter_map(|lease| lease["partition"].as_u64()).collect(),
                orgs.iter()
                    .filter(|org| org["status"] == "active")
                    .filter_map(|org| org["org"].as_str().map(str::to_owned))
                    .collect(),
            )
        })
        .collect()
}
