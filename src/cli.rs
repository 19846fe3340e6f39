//! Flags with environment fallbacks (the README's configuration table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use assist::Config;
use assist::ai::AiConfig;
use assist::auth::ClerkConfig;
use assist::bus::subjects::AdminTarget;
use assist::console::PublishableKey;
use assist::crypto::Secret;
use assist::http::limits::{Rate, RateLimits};
use assist::http::{ConnectionLimits, StreamLimits};
use assist::ids::OrgId;
use assist::ops::NodeId;
use assist::widget::WidgetConfig;

#[derive(Parser)]
#[command(
    name = "assist",
    version,
    about = "Multi-tenant AI voice-assistant backend",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `assist` with no command serves, taking the same flags as `assist serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(Box<ServeArgs>),
    /// Print the supervision tree of every node (asked over NATS).
    Tree(TreeArgs),
}

#[derive(Args)]
pub struct TreeArgs {
    /// NATS to ask; unset: the embedded server of a local `assist serve` (found through
    /// `<data dir>/nats/url` and `<data dir>/nats-credentials.json`).
    #[arg(long, env = "ASSIST_NATS_URL")]
    pub nats_url: Option<String>,
    #[arg(long, env = "ASSIST_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Print JSON (the shape of `GET /admin/tree`).
    #[arg(long)]
    pub json: bool,
    /// Show only this organization's actor.
    #[arg(long)]
    pub org: Option<String>,
    /// Ask only this node.
    #[arg(long)]
    pub node: Option<String>,
    /// How long to wait for the nodes' answers, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub deadline_ms: u64,
}

impl TreeArgs {
    pub async fn run(&self) -> anyhow::Result<()> {
        let url = match self.nats_url.as_deref().filter(|url| !url.is_empty()) {
            Some(url) => url.to_owned(),
            None => assist::bus::embedded::local_backend_url(&self.data_dir)?,
        };
        let deadline = Duration::from_millis(self.deadline_ms);
        let nats = assist::bus::connect(&url, "assist-tree", deadline.max(Duration::from_secs(2))).await?;
        let org = self.org.as_deref().map(OrgId::parse).transpose().context("--org")?;
        let target = match self.node.as_deref() {
            Some(node) => AdminTarget::Node(NodeId::parse(node).context("--node")?),
            None => AdminTarget::All,
        };
        let tree = assist::ops::tree::gather(&nats, target, org.as_ref(), deadline).await?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&tree)?);
        } else {
            print!("{}", tree.render());
        }
        Ok(())
    }
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Where the edge listens; `:PORT` means every interface, port 0 picks a free one.
    #[arg(long, env = "ASSIST_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: String,
    /// An external NATS server or cluster; unset starts the bundled nats-server.
    #[arg(long, env = "ASSIST_NATS_URL")]
    pub nats_url: Option<String>,
    /// SurrealDB: `surrealkv://path`, `mem://`, or `ws://host:port`.
    #[arg(long, env = "ASSIST_DB", default_value = "surrealkv://./data/assist.db")]
    pub db: String,
    /// Local state of the embedded defaults (NATS store, generated credentials).
    #[arg(long, env = "ASSIST_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Clerk JWKS URL (Frontend API `/.well-known/jwks.json`).
    #[arg(long, env = "ASSIST_CLERK_JWKS_URL")]
    pub clerk_jwks_url: Option<String>,
    /// Expected `iss` of Clerk session tokens.
    #[arg(long, env = "ASSIST_CLERK_ISSUER")]
    pub clerk_issuer: Option<String>,
    /// Allowed `azp` values, comma-separated.
    #[arg(long, env = "ASSIST_CLERK_AUTHORIZED_PARTIES", value_delimiter = ',')]
    pub clerk_authorized_parties: Vec<String>,
    /// Signing secret (`whsec_…`) of the Clerk webhook endpoint.
    #[arg(long, env = "ASSIST_CLERK_WEBHOOK_SECRET", hide_env_values = true)]
    pub clerk_webhook_secret: Option<String>,
    /// 32 bytes, base64: encrypts tenant secrets. Unset: `<data dir>/master.key`, created on first run.
    #[arg(long, env = "ASSIST_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Vapi API base URL.
    #[arg(long, env = "ASSIST_VAPI_BASE_URL", default_value = "https://api.vapi.ai")]
    pub vapi_base_url: String,
    /// An OpenAI-compatible API (OpenAI, Azure OpenAI's compatible endpoint, Ollama, vLLM, LM Studio).
    #[arg(long, env = "ASSIST_AI_BASE_URL", default_value = "https://api.openai.com/v1")]
    pub ai_base_url: String,
    /// The deployment's key for the AI provider; without it knowledge and the agent answer 503.
    #[arg(long, env = "ASSIST_AI_API_KEY", hide_env_values = true)]
    pub ai_api_key: Option<String>,
    /// The agent's chat model.
    #[arg(long, env = "ASSIST_AI_CHAT_MODEL", default_value = "gpt-4o-mini")]
    pub ai_chat_model: String,
    /// The embedding model.
    #[arg(long, env = "ASSIST_AI_EMBEDDING_MODEL", default_value = "text-embedding-3-small")]
    pub ai_embedding_model: String,
    /// Entries per embedding vector; must match the model, and is fixed once chunks are stored.
    #[arg(long, env = "ASSIST_AI_EMBEDDING_DIMENSIONS", default_value_t = 1536)]
    pub ai_embedding_dimensions: u32,
    /// Anonymous widget requests per second allowed from one client address (burst: 3x).
    #[arg(long, env = "ASSIST_WIDGET_RATE_PER_CLIENT", default_value_t = 20.0)]
    pub widget_rate_per_client: f64,
    /// Anonymous widget requests per second allowed for one organization (burst: 2x).
    #[arg(long, env = "ASSIST_WIDGET_RATE_PER_ORG", default_value_t = 500.0)]
    pub widget_rate_per_org: f64,
    /// Seconds a connection may take to send a request's headers (also between kept-alive
    /// requests) before it is closed.
    #[arg(long, env = "ASSIST_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds without a byte read or written before a connection is closed; keep it above the
    /// event streams' 15 s heartbeat.
    #[arg(long, env = "ASSIST_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Connections open at once from one client address (IPv6: one /64); raise it behind a proxy.
    #[arg(long, env = "ASSIST_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256)]
    pub max_connections_per_client: usize,
    /// Connections open at once in all; unset: derived from the open-files limit.
    #[arg(long, env = "ASSIST_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Event streams open at once for one contact session.
    #[arg(long, env = "ASSIST_STREAMS_PER_SESSION", default_value_t = 4)]
    pub streams_per_session: usize,
    /// Widget event streams open at once for one organization, on this node.
    #[arg(long, env = "ASSIST_WIDGET_STREAMS_PER_ORG", default_value_t = 2_000)]
    pub widget_streams_per_org: usize,
    /// Operator event streams open at once for one organization, on this node.
    #[arg(long, env = "ASSIST_OPERATOR_STREAMS_PER_ORG", default_value_t = 200)]
    pub operator_streams_per_org: usize,
    /// Browser origins allowed to call the dashboard routes, comma-separated.
    #[arg(long, env = "ASSIST_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Seconds without a request before an org actor is passivated.
    #[arg(long, env = "ASSIST_ORG_IDLE_SECS", default_value_t = 900)]
    pub org_idle_secs: u64,
    /// Org actors active at once on this node at most; beyond it the least recently used are
    /// passivated early.
    #[arg(long, env = "ASSIST_MAX_ACTIVE_ORGS", default_value_t = 50_000)]
    pub max_active_orgs: usize,
    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long, env = "ASSIST_LOG", default_value = "info")]
    pub log: String,
    #[arg(long, env = "ASSIST_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// Where the widget imports Vapi's web SDK (an ES module) from when a voice call starts.
    #[arg(long, env = "ASSIST_VAPI_WEB_SDK_URL", default_value = assist::widget::DEFAULT_VAPI_WEB_SDK_URL)]
    pub vapi_web_sdk_url: String,
    /// The Clerk publishable key (`pk_…`) the operator console at `/console` signs in with.
    #[arg(long, env = "ASSIST_CLERK_PUBLISHABLE_KEY")]
    pub clerk_publishable_key: Option<String>,
    /// Seed a demo organization and serve `/demo`, a page with its widget embedded.
    #[arg(long, env = "ASSIST_DEMO")]
    pub demo: bool,
    /// This node's id in the supervision tree; default: host name and a random suffix.
    #[arg(long, env = "ASSIST_NODE_ID")]
    pub node_id: Option<String>,
    /// Bearer token of `/admin/*`; unset turns those routes off.
    #[arg(long, env = "ASSIST_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Partitions organizations are split into; must equal the NATS mappings' count (checked at
    /// start-up).
    #[arg(long, env = "ASSIST_PARTITIONS", default_value_t = assist::bus::subjects::DEFAULT_PARTITIONS)]
    pub partitions: u16,
    /// Seconds a node may go without renewing its partition leases before others take them over.
    #[arg(long, env = "ASSIST_LEASE_TTL_SECS", default_value_t = 5)]
    pub lease_ttl_secs: u64,
    /// Characters per knowledge-base passage.
    #[arg(long, env = "ASSIST_CHUNK_SIZE", default_value_t = assist::knowledge::Chunking::default().size)]
    pub chunk_size: usize,
    /// Characters each passage shares with the one before it.
    #[arg(long, env = "ASSIST_CHUNK_OVERLAP", default_value_t = assist::knowledge::Chunking::default().overlap)]
    pub chunk_overlap: usize,
    /// Tokens (in and out together) each org's AI calls may use per month; past it, new chats
    /// go to a person.
    #[arg(long, env = "ASSIST_AI_MONTHLY_BUDGET_TOKENS", default_value_t = assist::actors::agent::AgentConfig::default().budget_tokens)]
    pub ai_monthly_budget_tokens: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl ServeArgs {
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::embedded();
        config.http_addr = parse_addr(&self.http_addr)?;
        config.nats_url = self.nats_url.clone().filter(|url| !url.is_empty());
        config.db = self.db.clone();
        config.data_dir = self.data_dir.clone();
        config.clerk = ClerkConfig {
            jwks_url: self.clerk_jwks_url.clone(),
            issuer: self.clerk_issuer.clone(),
            authorized_parties: self
                .clerk_authorized_parties
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        };
        config.clerk_webhook_secret = self.clerk_webhook_secret.clone().filter(|s| !s.is_empty());
        config.master_key = self.master_key.clone().filter(|k| !k.is_empty());
        config.vapi.base_url = self.vapi_base_url.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            self.ai_embedding_dimensions >= 1,
            "ASSIST_AI_EMBEDDING_DIMENSIONS: must be at least 1"
        );
        config.ai = AiConfig {
            base_url: self.ai_base_url.trim_end_matches('/').to_owned(),
            api_key: self.ai_api_key.clone().filter(|k| !k.is_empty()).map(Secret::new),
            chat_model: self.ai_chat_model.clone(),
            embedding_model: self.ai_embedding_model.clone(),
            embedding_dimensions: self.ai_embedding_dimensions,
            ..config.ai
        };
        let rate =
            |per_second: f64, burst: f64| Rate { per_second: per_second.max(0.1), burst: burst.max(1.0) };
        config.widget_rate = RateLimits {
            per_client: rate(self.widget_rate_per_client, self.widget_rate_per_client * 3.0),
            per_org: rate(self.widget_rate_per_org, self.widget_rate_per_org * 2.0),
        };
        config.connections = ConnectionLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            per_client: self.max_connections_per_client.max(1),
            total: self.max_connections.map(|total| total.max(1)),
        };
        config.streams = StreamLimits {
            per_session: self.streams_per_session,
            widget_per_org: self.widget_streams_per_org,
            operators_per_org: self.operator_streams_per_org,
        };
        config.dashboard_origins =
            self.cors_origins.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect();
        config.actors.idle_timeout = Duration::from_secs(self.org_idle_secs.max(1));
        config.actors.max_active = self.max_active_orgs.max(1);
        config.clerk_publishable_key = match self.clerk_publishable_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => Some(
                PublishableKey::parse(key)
                    .map_err(|problem| anyhow::anyhow!("ASSIST_CLERK_PUBLISHABLE_KEY: {problem}"))?,
            ),
            _ => None,
        };
        config.widget = WidgetConfig { vapi_web_sdk_url: self.vapi_web_sdk_url.clone(), demo: self.demo };
        if let Some(node) = self.node_id.as_deref().filter(|n| !n.is_empty()) {
            config.node_id = NodeId::parse(node).map_err(|e| anyhow::anyhow!(e.message))?;
        }
        config.admin_token = self.admin_token.clone().filter(|t| !t.is_empty());
        anyhow::ensure!(self.partitions >= 1, "ASSIST_PARTITIONS: must be at least 1");
        config.partitions.count = self.partitions;
        config.partitions.ttl = Duration::from_secs(self.lease_ttl_secs.clamp(1, 60));
        config.chunking = assist::knowledge::Chunking { size: self.chunk_size, overlap: self.chunk_overlap };
        config.chunking.check().map_err(|e| anyhow::anyhow!(e))?;
        config.agent.budget_tokens = self.ai_monthly_budget_tokens;
        Ok(config)
    }
}

fn parse_addr(raw: &str) -> anyhow::Result<SocketAddr> {
    let full = if raw.starts_with(':') { format!("0.0.0.0{raw}") } else { raw.to_owned() };
    full.parse()
        .with_context(|| format!("ASSIST_HTTP_ADDR: {raw:?} is not an address like 127.0.0.1:8080 or :8080"))
}

pub fn init_logging(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    let builder = tracing_subscriber::fmt().with_env_filter(log_filter(filter)?);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// ractor opens an INFO span for each actor that stays open as long as the actor runs: enabled,
/// it costs every active org a few KB more, and ractor logs at info only
/// from its factories, which assist does not use. So ractor is held at warn unless the filter
/// names it.
fn log_filter(spec: &str) -> anyhow::Result<tracing_subscriber::EnvFilter> {
    let filter =
        tracing_subscriber::EnvFilter::try_new(spec).with_context(|| format!("ASSIST_LOG: {spec:?}"))?;
    if spec.contains("ractor") {
        return Ok(filter);
    }
    Ok(filter.add_directive("ractor=warn".parse()?))
}

/// Ctrl-C or SIGTERM: both mean "drain and stop".
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, log_filter};

    #[test]
    fn a_publishable_key_that_names_no_host_is_refused_naming_its_setting() {
        // base64("not a host$")
        let cli =
            Cli::try_parse_from(["assist", "--clerk-publishable-key", "pk_test_bm90IGEgaG9zdCQ"]).unwrap();
        let err = cli.serve.config().unwrap_err().to_string();
        assert!(err.starts_with("ASSIST_CLERK_PUBLISHABLE_KEY: encodes \"not a host\""), "{err}");
        let cli =
            Cli::try_parse_from(["assist", "--clerk-publishable-key", "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"]);
        let key = cli.unwrap().serve.config().unwrap().clerk_publishable_key.unwrap();
        assert_eq!(key.frontend_api(), "https://clerk.example.com");
    }

    #[test]
    fn ractor_logs_at_warn_unless_the_filter_names_it() {
        assert!(log_filter("info").unwrap().to_string().contains("ractor=warn"));
        assert!(log_filter("debug,hyper=info").unwrap().to_string().contains("ractor=warn"));
        let named = log_filter("info,ractor=debug").unwrap().to_string();
        assert!(named.contains("ractor=debug") && !named.contains("ractor=warn"), "{named}");
        assert!(log_filter("info,=").is_err());
    }
}
