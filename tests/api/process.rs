//! The real `assist` binary as a child process, for what only a process can show: surviving
//! SIGKILL, and everything it writes to its terminal.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assist::bus::embedded::{Credentials, NatsServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::fakes::clerk::FakeClerk;
use crate::fakes::openai::{FakeOpenAi, TEST_KEY};
use crate::fakes::vapi::FakeVapi;
use crate::helpers::WEBHOOK_SECRET;

/// One `assist serve` process with its own data directory, NATS server and fakes; restartable
/// on the same data.
pub struct ChildApp {
    pub dir: tempfile::TempDir,
    pub nats: NatsServer,
    pub clerk: FakeClerk,
    pub vapi: FakeVapi,
    pub openai: FakeOpenAi,
    pub base: String,
    /// Everything the process wrote to stdout and stderr, across restarts.
    pub output: Arc<Mutex<String>>,
    child: Option<Child>,
}

impl ChildApp {
    pub async fn start(log: &str) -> ChildApp {
        let dir = tempfile::tempdir().unwrap();
        let nats = NatsServer::start(&dir.path().join("nats"), Credentials::random(), None).await.unwrap();
        let mut app = ChildApp {
            dir,
            nats,
            clerk: FakeClerk::start().await,
            vapi: FakeVapi::start().await,
            openai: FakeOpenAi::start().await,
            base: String::new(),
            output: Arc::default(),
            child: None,
        };
        app.spawn(log).await;
        app
    }

    async fn spawn(&mut self, log: &str) {
        let data = self.dir.path().join("data");
        let env = [
            ("ASSIST_NATS_URL", self.nats.backend_url()),
            ("ASSIST_DB", format!("surrealkv://{}", data.join("assist.db").display())),
            ("ASSIST_DATA_DIR", data.display().to_string()),
            ("ASSIST_CLERK_JWKS_URL", self.clerk.jwks_url()),
            ("ASSIST_CLERK_ISSUER", self.clerk.issuer().to_owned()),
            ("ASSIST_CLERK_AUTHORIZED_PARTIES", self.clerk.authorized_party().to_owned()),
            ("ASSIST_CLERK_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
            ("ASSIST_VAPI_BASE_URL", self.vapi.base_url()),
            ("ASSIST_AI_BASE_URL", self.openai.base_url()),
            ("ASSIST_AI_API_KEY", TEST_KEY.to_owned()),
            ("ASSIST_AI_EMBEDDING_DIMENSIONS", "256".to_owned()),
            ("ASSIST_LOG", log.to_owned()),
        ];
        let (child, base) = spawn_assist(&env, self.output.clone()).await;
        (self.child, self.base) = (Some(child), base);
    }

    /// SIGKILL: no shutdown path runs, nothing is flushed on the way out.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    pub async fn restart(&mut self, log: &str) {
        self.kill().await;
        self.spawn(log).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

/// Starts `assist serve` with `env` (on top of a free port, JSON logs and no widget rate limit)
/// and waits until it listens: the child and its base URL. Output goes to `output`.
pub async fn spawn_assist(env: &[(&str, String)], output: Arc<Mutex<String>>) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assist"));
    command
        .env("ASSIST_HTTP_ADDR", "127.0.0.1:0")
        .env("ASSIST_LOG_FORMAT", "json")
        .env("ASSIST_WIDGET_RATE_PER_CLIENT", "100000")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the assist binary runs");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let (output, tx) = (output.clone(), tx.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("listening on http://") {
                    let addr = line[at + "listening on ".len()..].split('"').next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                output.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    let base = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
    let base =
        base.ok().flatten().unwrap_or_else(|| panic!("assist did not start:\n{}", output.lock().unwrap()));
    (child, base)
}
