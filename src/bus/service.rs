//! The NATS micro service `assist`: one endpoint per public operation, all in the default queue
//! group so any number of nodes share the load, and `$SRV.PING|INFO|STATS` answer for free.

use std::sync::Arc;

use async_nats::service::{self, ServiceExt};
use futures::StreamExt;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::envelope::{self, header_safe};
use super::subjects::{self, Endpoint};
use super::{BusError, Context, dispatch};
use crate::error::ApiError;
use crate::ops::Metrics;

pub const SERVICE_NAME: &str = "assist";

pub struct BusService {
    service: service::Service,
    tasks: Vec<JoinHandle<()>>,
}

impl BusService {
    pub async fn start(
        client: &async_nats::Client,
        ctx: Context,
        metrics: Metrics,
    ) -> Result<Self, BusError> {
        let service = client
            .service_builder()
            .description("assist public API: assist.v1.public.<org>.<resource>.<verb>")
            .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
            .await
            .map_err(|e| BusError::Service(e.to_string()))?;
        let ctx = Arc::new(ctx);
        let mut tasks = Vec::new();
        for endpoint in Endpoint::ALL {
            let mut requests = service
                .endpoint_builder()
                .name(endpoint.name())
                .add(subjects::public_any_org(endpoint))
                .await
                .map_err(|e| BusError::Service(e.to_string()))?;
            let (ctx, metrics) = (ctx.clone(), metrics.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(request) = requests.next().await {
                    tokio::spawn(serve(ctx.clone(), metrics.clone(), endpoint, request));
                }
            }));
        }
        Ok(Self { service, tasks })
    }

    /// Unsubscribes every endpoint; requests already taken finish on their own tasks.
    pub async fn stop(self) {
        if let Err(err) = self.service.stop().await {
            tracing::warn!(error = %err, "stopping the NATS service");
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn serve(ctx: Arc<Context>, metrics: Metrics, endpoint: Endpoint, request: service::Request) {
    let headers = request.message.headers.as_ref();
    let request_id = envelope::header(headers, envelope::REQUEST_ID).unwrap_or("-").to_owned();
    let span = tracing::info_span!("request", endpoint = %endpoint.name(), request_id = %request_id);
    let result = async {
        let (org, _) = subjects::parse_public(request.message.subject.as_str())?;
        let input = dispatch::Input { headers, body: &request.message.payload };
        dispatch::dispatch(&ctx, endpoint, org, input).await
    }
    .instrument(span.clone())
    .await;
    metrics.observe_nats(&endpoint.name(), result.as_ref().err().map(|err| err.code));
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
