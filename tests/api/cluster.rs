//! Several `assist serve` processes against one nats-server and one SurrealDB server: the
//! set-up of the scale-out tests. The SurrealDB server is the official one, built from the
//! crates.io package `surrealdb-server` (`tools/surreal`) once per machine by
//! `scripts/ensure-surreal`, which `scripts/test` runs. Without it these tests fail, naming what
//! is missing; `ASSIST_SKIP_SCALE_OUT=1 scripts/test` leaves them out of the run and says so.

use std::path::{Path, PathBuf};
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

/// How the nodes reach the SurrealDB server.
#[derive(Clone, Copy, Debug)]
pub enum DbAuth {
    /// A server started `--unauthenticated`.
    None,
    /// A server with a root user the nodes sign in as (`ws://user:password@host:port`), as in
    /// production.
    Root,
}

/// `surreal` from `ASSIST_SURREAL_BIN` or `PATH`. Missing, it fails the test.
fn surreal_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ASSIST_SURREAL_BIN") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "ASSIST_SURREAL_BIN={} is not a file", path.display());
        return path;
    }
    let on_path = std::env::var_os("PATH").and_then(|dirs| {
        std::env::split_paths(&dirs).map(|dir| dir.join("surreal")).find(|path| path.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "the scale-out tests need the SurrealDB server: no `surreal` on PATH and \
             ASSIST_SURREAL_BIN is unset. `scripts/test` builds it once (`scripts/ensure-surreal` \
             prints its path); `ASSIST_SKIP_SCALE_OUT=1 scripts/test` leaves these tests out"
        )
    })
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
    /// `None` (after saying so) when the scale-out tests are opted out.
    pub async fn start(nodes: usize, auth: DbAuth) -> Cluster {
        let surreal = surreal_binary();
        let dir = tempfile::tempdir().unwrap();
        let nats = NatsServer::start(&dir.path().join("nats"), Credentials::random(), None).await.unwrap();
        let (surreal, db_url) = start_surreal(&surreal, dir.path(), auth).await;
        let mut cluster = Cluster {
            dir,
            nats,
            clerk: FakeClerk::start().await,
            vapi: FakeVapi::start().await,
            _surreal: surreal,
            db_url,
            nodes: Vec::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        };
        for i in 0..nodes {
            cluster.add_node(&format!("node-{}", char::from(b'a' + u8::try_from(i).unwrap()))).await;
        }
        cluster
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

/// Starts the SurrealDB server in memory; the child and the URL the nodes use. The server
/// cannot be told to pick its own port and report it, so a port is picked here; when another
/// process takes it first, the server exits and another port is tried.
async fn start_surreal(binary: &Path, dir: &Path, auth: DbAuth) -> (Child, String) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let password = format!("{:032x}", rand::random::<u128>());
    let log = dir.join("surreal.log");
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(binary);
        command.args(["start", "--bind", &format!("127.0.0.1:{port}")]);
        let url = match auth {
            DbAuth::None => {
                command.arg("--unauthenticated");
                format!("ws://127.0.0.1:{port}")
            }
            DbAuth::Root => {
                command.args(["--user", "root", "--pass", &password]);
                format!("ws://root:{password}@127.0.0.1:{port}")
            }
        };
        let output = std::fs::File::create(&log).unwrap();
        let mut child = command
            .arg("memory")
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .kill_on_drop(true)
            .spawn()
            .expect("the surreal binary runs");
        // Ready once it says so (`/ready`), not when the port opens: it listens before its
        // start-up work is done.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let ready = http.get(format!("http://127.0.0.1:{port}/ready")).send().await;
            if ready.is_ok_and(|answer| answer.status().is_success()) {
                return (child, url);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(text.contains("in use"), "the SurrealDB server did not become ready on port {port}:\n{text}");
    }
    panic!("the SurrealDB server found no free port in 5 tries");
}
