//! The NATS micro service `assist`. Its endpoints are the partitions this node holds a lease on
//! (`partition-<p>` on `assist.v1.partition.<p>.>`, see `subjects::partition`), added and
//! stopped as leases come and go, so a request reaches only the node that owns its org;
//! `$SRV.PING|INFO|STATS` answer for free and show which partitions a node serves. What a
//! request means is not the bus's business: it hands each one to the [`Serve`] it was started
//! with.

use std::sync::Arc;

use async_nats::service::{self, ServiceExt};
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::BusError;
use super::envelope::{self, Reply, header_safe};
use super::subjects;
use crate::error::ApiError;

pub const SERVICE_NAME: &str = "assist";

/// Answers one request taken from a partition inbox; `None` sends no reply at all.
pub type Serve =
    Arc<dyn Fn(async_nats::Message) -> BoxFuture<'static, Option<Result<Reply, ApiError>>> + Send + Sync>;

#[derive(Clone)]
pub struct BusService {
    service: Arc<service::Service>,
    serve: Serve,
}

/// One partition being served, until [`PartitionServer::stop`].
pub struct PartitionServer {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl BusService {
    pub async fn start(client: &async_nats::Client, serve: Serve) -> Result<Self, BusError> {
        let service = client
            .service_builder()
            .description(
                "assist public API (assist.v1.public.<org>.<resource>.<verb>), one endpoint per partition",
            )
            .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
            .await
            .map_err(|e| BusError::Service(e.to_string()))?;
        Ok(Self { service: Arc::new(service), serve })
    }

    /// Starts taking partition `p`'s requests (in the endpoint's queue group, so two nodes
    /// briefly subscribed during a handover still get each request once).
    pub async fn serve_partition(&self, partition: u16) -> Result<PartitionServer, BusError> {
        let mut endpoint = self
            .service
            .endpoint_builder()
            .name(format!("partition-{partition}"))
            .add(subjects::partition_inbox(partition))
            .await
            .map_err(|e| BusError::Service(e.to_string()))?;
        let (stop, this) = (CancellationToken::new(), self.clone());
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    next = endpoint.next() => match next {
                        Some(request) => drop(tokio::spawn(answer(this.serve.clone(), request))),
                        None => break,
                    },
                }
            }
            if let Err(err) = endpoint.stop().await {
                tracing::warn!(partition, error = %err, "unsubscribing a partition");
            }
        });
        Ok(PartitionServer { stop, task })
    }
}

impl PartitionServer {
    /// Unsubscribes; requests already taken finish on their own tasks.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn answer(serve: Serve, request: service::Request) {
    let Some(result) = serve(request.message.clone()).await else { return };
    let sent = match result {
        Ok(reply) => request.respond_with_headers(Ok(reply.body.clone()), reply.headers()).await,
        Err(err) => respond_error(&request, &err).await,
    };
    if let Err(err) = sent {
        tracing::warn!(subject = %request.message.subject, error = %err, "could not send the reply");
    }
}

async fn respond_error(request: &service::Request, err: &ApiError) -> Result<(), async_nats::PublishError> {
    let headers = envelope::error_headers(err);
    let error =
        service::error::Error { status: header_safe(&err.message), code: usize::from(err.code.status()) };
    request.respond_with_headers(Err(error), headers).await
}
