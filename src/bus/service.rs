//! The NATS micro service `assist`. Its endpoints are the partitions this node holds a lease on
//! (`partition-<p>` on `assist.v1.partition.<p>.>`, see `subjects::partition`), added and
//! stopped as leases come and go, so a request reaches only the node that owns its org;
//! `$SRV.PING|INFO|STATS` answer for free and show which partitions a node serves.

use std::sync::Arc;

use async_nats::service::{self, ServiceExt};
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::envelope::{self, Reply, header_safe};
use super::subjects::{self, OwnerVerb, Routed};
use super::{BusError, Context, dispatch};
use crate::error::ApiError;
use crate::ops::Metrics;

pub const SERVICE_NAME: &str = "assist";

#[derive(Clone)]
pub struct BusService {
    service: Arc<service::Service>,
    ctx: Arc<Context>,
    metrics: Metrics,
}

/// One partition being served, until [`PartitionServer::stop`].
pub struct PartitionServer {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl BusService {
    pub async fn start(
        client: &async_nats::Client,
        ctx: Context,
        metrics: Metrics,
    ) -> Result<Self, BusError> {
        let service = client
            .service_builder()
            .description(
                "assist public API (assist.v1.public.<org>.<resource>.<verb>), one endpoint per partition",
            )
            .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
            .await
            .map_err(|e| BusError::Service(e.to_string()))?;
        Ok(Self { service: Arc::new(service), ctx: Arc::new(ctx), metrics })
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
                        Some(request) => drop(tokio::spawn(serve(this.ctx.clone(), this.metrics.clone(), request))),
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

async fn serve(ctx: Arc<Context>, metrics: Metrics, request: service::Request) {
    let headers = request.message.headers.as_ref();
    let request_id = envelope::header(headers, envelope::REQUEST_ID)
        .filter(|id| envelope::is_plain_request_id(id))
        .unwrap_or("-")
        .to_owned();
    let routed = subjects::parse_partitioned(request.message.subject.as_str());
    let name = match &routed {
        Ok((_, Routed::Public(_, endpoint))) => endpoint.name(),
        Ok((_, Routed::Owner(_, OwnerVerb::Probe))) => return,
        Ok((_, Routed::Owner(_, OwnerVerb::Apply))) => "owner-apply".to_owned(),
        Err(_) => "unknown".to_owned(),
    };
    let span = tracing::info_span!("request", endpoint = %name, request_id = %request_id);
    let result = async {
        let (partition, routed) = routed?;
        if partition != ctx.tenants.ownership().partition_of(routed.org()) {
            let message = format!("organization {} is not in partition {partition}", routed.org());
            return Err(ApiError::invalid("subject", message));
        }
        match (partition, routed) {
            (_, Routed::Public(org, endpoint)) => {
                let input = dispatch::Input { headers, body: &request.message.payload };
                dispatch::dispatch(&ctx, endpoint, org, input).await
            }
            (_, Routed::Owner(org, _)) => {
                crate::actors::ingest::apply_owned(&ctx.tenants, &org, headers, &request.message.payload)
                    .await
                    .and_then(|()| Reply::json(&serde_json::json!({"applied": true})))
            }
        }
    }
    .instrument(span.clone())
    .await;
    metrics.observe_nats(&name, result.as_ref().err().map(|err| err.code));
    let sent = match result {
        Ok(reply) => request.respond_with_headers(Ok(reply.body.clone()), reply.headers()).await,
        Err(err) => respond_error(&request, &err).await,
    };
    if let Err(err) = sent {
        span.in_scope(|| tracing::warn!(error = %err, "could not send the reply"));
    }
}

async fn respond_error(request: &service::Request, err: &ApiError) -> Result<(), async_nats::PublishError> {
    let headers = envelope::error_headers(err);
    let error =
        service::error::Error { status: header_safe(&err.message), code: usize::from(err.code.status()) };
    request.respond_with_headers(Err(error), headers).await
}
