//! Start-up and shutdown, shared by the binary and the tests: `App::build` connects everything
//! and binds the listener (port 0 allowed), `App::run_until_stopped` serves until the shutdown
//! future resolves, then drains children-first.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorRef};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::actors::OrgServices;
use crate::actors::agent::Agent;
use crate::actors::ai::AiGatewayArgs;
use crate::actors::ingest::{IngestArgs, IngestStats, Owners};
use crate::actors::ingestion::Ingestion;
use crate::actors::partitions::{Ownership, Partitions, PartitionsArgs};
use crate::actors::tenants::TenantsActor;
use crate::actors::vapi::GatewayArgs;
use crate::actors::{Child, Root, RootMsg, Tenants};
use crate::ai::AiClient;
use crate::api::Context;
use crate::auth::{Authenticator, DemoOperator};
use crate::bus::embedded::{Credentials, NatsServer};
use crate::bus::events::EventPublisher;
use crate::bus::uploads::Uploads;
use crate::bus::{BusError, BusService};
use crate::config::Config;
use crate::console::ConsoleOptions;
use crate::crypto::{CryptoError, MasterKey};
use crate::db::{Db, DbError, Repos};
use crate::http::{
    AdminToken, ConnectionLimits, Edge, EdgeOptions, EdgeService, EventHub, SettingsCache, router,
};
use crate::ids::OrgId;
use crate::ops::admin::AdminService;
use crate::ops::metrics::Sources;
use crate::ops::node::Presence;
use crate::ops::tree::Local;
use crate::ops::{Metrics, NodeId};
use crate::vapi::VapiClient;
use crate::webhooks::svix::SvixVerifier;
use crate::widget::DEMO_ORG;

const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Documents a node reads and embeds at once; the others wait their turn.
const INGESTIONS_AT_ONCE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("actor system: {0}")]
    Actors(String),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    MasterKey(#[from] CryptoError),
    #[error("seeding the demo organization: {0}")]
    Demo(crate::error::ApiError),
    #[error("ASSIST_CLERK_WEBHOOK_SECRET: {0}")]
    WebhookSecret(#[from] crate::webhooks::svix::WebhookError),
}

pub struct App {
    listener: TcpListener,
    router: EdgeService,
    connections: ConnectionLimits,
    /// The most connections served at once (see `ConnectionLimits::total_within`).
    max_connections: usize,
    nats: async_nats::Client,
    nats_server: Option<NatsServer>,
    data_dir: std::path::PathBuf,
    node: NodeId,
    metrics: Metrics,
    presence: Presence,
    admin: AdminService,
    root: ActorRef<RootMsg>,
    ingest_stats: Arc<IngestStats>,
    root_task: JoinHandle<()>,
    tenants: Tenants,
    partitions: Partitions,
    shutdown: CancellationToken,
}

impl App {
    pub async fn build(config: Config) -> Result<Self, AppError> {
        // async-nats and surrealdb bring both rustls providers; pick one before any TLS.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let (nats_server, nats_url) = match &config.nats_url {
            Some(url) => (None, url.clone()),
            None => {
                let server = start_embedded_nats(&config).await?;
                let url = server.backend_url();
                (Some(server), url)
            }
        };
        let metrics = Metrics::default();
        let nats = crate::bus::connect(&nats_url, "assist", config.request_timeout).await?;
        let db = Db::connect(&config.db).await?;
        let master_key = match &config.master_key {
            Some(encoded) => MasterKey::from_base64(encoded)?,
            None => MasterKey::load_or_create(&config.data_dir)?,
        };
        let js = async_nats::jetstream::new(nats.clone());
        crate::bus::system::ensure_streams(&js).await?;
        crate::bus::check_partitioning(&nats, config.partitions.count).await?;
        let ownership = Ownership::new(config.partitions.count);
        let uploads = Uploads::open(&js).await?;
        let ingestion = Ingestion::new(
            nats.clone(),
            Repos::new(&db),
            uploads.clone(),
            config.chunking,
            config.request_timeout,
            INGESTIONS_AT_ONCE,
        );
        let (root, root_task) =
            Actor::spawn(None, Root, ()).await.map_err(|e| AppError::Actors(e.to_string()))?;
        let repos = Repos::new(&db);
        let tenants = TenantsActor::start(
            root.get_cell(),
            repos.clone(),
            config.actors.clone(),
            config.clock.clone(),
            OrgServices {
                master_key: master_key.clone(),
                events: EventPublisher::new(js.clone()),
                ingestion,
                agent: Agent::new(
                    nats.clone(),
                    EventPublisher::new(js.clone()),
                    config.agent,
                    config.request_timeout,
                ),
            },
            ownership.clone(),
        )
        .await
        .map_err(|e| AppError::Actors(e.to_string()))?;
        let ingest_stats = Arc::new(IngestStats::default());
        let ingest = IngestArgs {
            js: js.clone(),
            owners: Owners {
                nats: nats.clone(),
                deadline: config.request_timeout.min(config.ingest_ack_wait / 2),
            },
            repos: repos.clone(),
            stats: ingest_stats.clone(),
            ack_wait: config.ingest_ack_wait,
        };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
        let gateway = GatewayArgs {
            nats: nats.clone(),
            client: VapiClient::new(config.vapi.clone(), http.clone()).with_metrics(metrics.vapi()),
            repos: repos.clone(),
            master_key: master_key.clone(),
        };
        // No overall timeout: a streamed answer is bounded by the client's idle timeout instead.
        let ai_http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build()?;
        let ai = AiGatewayArgs {
            nats: nats.clone(),
            client: AiClient::new(config.ai.clone(), ai_http).with_metrics(metrics.ai()),
            repos: repos.clone(),
            master_key: master_key.clone(),
        };
        let children =
            [Child::Ingest(Box::new(ingest)), Child::Vapi(Box::new(gateway)), Child::Ai(Box::new(ai))];
        for child in children {
            ractor::call_t!(root, RootMsg::Start, 10_000, child)
                .map_err(|e| AppError::Actors(e.to_string()))?
                .map_err(AppError::Actors)?;
        }
        // With `--demo` the console offers a demo operator; it is let in like a Clerk operator.
        let demo = config
            .widget
            .demo
            .then(|| OrgId::parse(DEMO_ORG).map(DemoOperator::generate))
            .transpose()
            .map_err(AppError::Demo)?;
        let auth = match demo.clone() {
            Some(demo) => Authenticator::with_demo(config.clerk.clone(), http, demo),
            None => Authenticator::new(config.clerk.clone(), http),
        };
        let ctx = Context {
            tenants: tenants.clone(),
            auth: auth.clone(),
            nats: nats.clone(),
            uploads: uploads.clone(),
            ai_missing: config.ai.missing_setting(),
            request_timeout: config.request_timeout,
        };
        let bus = BusService::start(&nats, crate::api::serve(ctx, metrics.clone())).await?;
        let node = config.node_id.clone();
        let partitions = Partitions::start(
            root.get_cell(),
            PartitionsArgs {
                js: js.clone(),
                node: node.clone(),
                config: config.partitions.clone(),
                ownership,
                bus,
                tenants: tenants.clone(),
            },
        )
        .await
        .map_err(|e| AppError::Actors(e.to_string()))?;
        partitions.settle().await.map_err(|e| AppError::Actors(e.message))?;
        if config.widget.demo {
            crate::widget::seed_demo(&tenants).await.map_err(AppError::Demo)?;
        }
        let local = Local::new(
            node.clone(),
            root.clone(),
            tenants.clone(),
            ingest_stats.clone(),
            config.actors.call_timeout,
        );
        let admin = AdminService::start(&nats, local).await?;
        let presence = Presence::announce(&js, node.clone()).await?;
        metrics.watch(Sources {
            tenants: tenants.clone(),
            ingest: ingest_stats.clone(),
            nats: nats.clone(),
            repos: repos.clone(),
        });
        let shutdown = CancellationToken::new();
        let clerk_webhooks = config.clerk_webhook_secret.as_deref().map(SvixVerifier::new).transpose()?;
        let fd_limit = crate::http::server::raise_fd_limit();
        let max_connections = config.connections.total_within(fd_limit);
        tracing::info!(?fd_limit, max_connections, "open files limit");
        let listener = TcpListener::bind(config.http_addr)
            .await
            .map_err(|source| AppError::Listen { addr: config.http_addr, source })?;
        // Last, so a build that fails leaves no subscription behind.
        let settings = SettingsCache::default();
        let events = EventHub::start(&js, settings.clone(), config.streams, shutdown.clone()).await?;
        let edge = Edge {
            nats: nats.clone(),
            js,
            db,
            request_timeout: config.request_timeout,
            clerk_webhooks,
            clock: config.clock.clone(),
            shutdown: shutdown.clone(),
            events,
            settings,
            metrics: metrics.clone(),
            admin_token: config.admin_token.as_deref().filter(|t| !t.is_empty()).map(AdminToken::new),
            auth,
            uploads,
        };
        let options = EdgeOptions {
            body_limit: config.body_limit,
            widget_rate: config.widget_rate,
            dashboard_origins: config.dashboard_origins.clone(),
            widget: config.widget.clone(),
            console: ConsoleOptions { clerk: config.clerk_publishable_key.clone(), demo },
        };
        Ok(Self {
            listener,
            router: router(edge, options),
            connections: config.connections,
            max_connections,
            nats,
            nats_server,
            data_dir: config.data_dir.clone(),
            node,
            metrics,
            presence,
            admin,
            root,
            ingest_stats,
            root_task,
            tenants,
            partitions,
            shutdown,
        })
    }

    /// The address the edge really listens on (after port 0 was resolved).
    pub fn http_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn tenants(&self) -> &Tenants {
        &self.tenants
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// This node's id in the supervision tree.
    pub fn node_id(&self) -> &NodeId {
        &self.node
    }

    /// The app's metrics registry (also the handle the Vapi client records into).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// System ingest's counters (received, applied, duplicates, dead-lettered, …).
    pub fn ingest_stats(&self) -> Arc<IngestStats> {
        self.ingest_stats.clone()
    }

    /// Serves until `shutdown` resolves (or the actor tree fails), then stops taking requests,
    /// lets in-flight ones finish, stops the actors children-first, drains NATS and stops the
    /// embedded nats-server.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let Self {
            listener,
            router,
            connections,
            max_connections,
            nats,
            nats_server,
            data_dir,
            presence,
            admin,
            root,
            mut root_task,
            tenants,
            partitions,
            shutdown: streams,
            ..
        } = self;
        // One token stops the edge and ends the long-lived streams, which would otherwise hold
        // the graceful shutdown open.
        let server =
            crate::http::server::serve(listener, router, connections, max_connections, streams.clone());
        let stopping = async {
            shutdown.await;
            streams.cancel();
        };
        let outcome = tokio::select! {
            _ = async { tokio::join!(server, stopping) } => Ok(()),
            _ = &mut root_task => Err(AppError::Actors("the actor tree stopped after a failure".into())),
        };
        partitions.release_all().await;
        admin.stop();
        presence.withdraw().await;
        tenants.shutdown(DRAIN_TIMEOUT).await;
        let _ = root.stop_and_wait(Some("shutdown".into()), Some(DRAIN_TIMEOUT)).await;
        // Drain flushes what is pending and closes the connection, so the client does not try
        // to reconnect to the embedded server stopping below.
        if let Err(err) = nats.drain().await {
            tracing::warn!(error = %err, "draining NATS at shutdown");
        }
        if let Some(server) = nats_server {
            server.stop().await;
            crate::bus::embedded::remove_url_file(&data_dir);
        }
        tracing::info!("stopped");
        outcome
    }
}

async fn start_embedded_nats(config: &Config) -> Result<NatsServer, AppError> {
    let dir = config.data_dir.join("nats");
    std::fs::create_dir_all(&dir)?;
    let credentials = Credentials::load_or_create(&config.data_dir)?;
    let server = NatsServer::start(&dir, credentials, None).await?;
    crate::bus::embedded::write_url_file(&config.data_dir, &server)?;
    tracing::info!(
        port = server.port(),
        "started the bundled nats-server (credentials in {}/nats-credentials.json)",
        config.data_dir.display()
    );
    Ok(server)
}
