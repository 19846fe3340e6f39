//! The public operations: each is declared once ([`operations`]), and its subject tokens, HTTP
//! route, access level and OpenAPI entry follow from that declaration, as does the call of its
//! handler. Handlers authenticate (in this one place, for HTTP and NATS callers alike), decode
//! and validate the input, then run an `OrgState` method inside the org's actor.
//!
//! This layer sits above both the bus, which carries requests and knows no actor, and the
//! actors, which know no operation: it is where the two meet.

mod agent;
mod call;
mod dashboard;
mod knowledge;
mod operations;
mod spec;
mod widget;

use std::sync::Arc;

use futures::FutureExt;
use tracing::Instrument;

pub use call::Context;
pub(crate) use call::Input;
pub use operations::Endpoint;
pub use spec::{Access, Body, Operation, Schemas, Served, body, page};

use self::call::Call;
use crate::actors::org::Refusal;
use crate::bus::Serve;
use crate::bus::envelope::{self, Reply};
use crate::bus::subjects::{self, OwnerVerb, PublicOperation, Routed};
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::ops::Metrics;

impl PublicOperation for Endpoint {
    const ALL: &'static [Self] = &Endpoint::ALL;

    fn tokens(self) -> (&'static str, &'static str) {
        self.spec().tokens
    }
}

impl Endpoint {
    /// The operation's name in logs and metrics (`settings-get`).
    pub fn name(self) -> String {
        let (resource, verb) = self.tokens();
        format!("{resource}-{verb}")
    }
}

/// Runs one operation for `org`.
pub(crate) async fn dispatch(
    ctx: &Context,
    endpoint: Endpoint,
    org: OrgId,
    input: Input<'_>,
) -> Result<Reply, ApiError> {
    let call = Call { ctx, org, input };
    // Callers who prove nothing about the org are refused before any actor starts for an org
    // nobody made known: looking up a made-up org must write nothing.
    match endpoint.spec().access {
        Access::Anonymous => call.at().gate(Refusal::NotFound).await?,
        Access::Contact => call.at().gate(Refusal::Session).await?,
        Access::Operator => {}
    }
    operations::handle(endpoint, call).await
}

/// How the bus service answers what arrives on this node's partitions: public operations, and
/// the org-scoped events system ingest hands to the org's owner.
pub fn serve(ctx: Context, metrics: Metrics) -> Serve {
    let ctx = Arc::new(ctx);
    Arc::new(move |message| Box::pin(answer(ctx.clone(), metrics.clone(), message)))
}

async fn answer(
    ctx: Arc<Context>,
    metrics: Metrics,
    message: async_nats::Message,
) -> Option<Result<Reply, ApiError>> {
    let headers = message.headers.as_ref();
    let request_id = envelope::header(headers, envelope::REQUEST_ID)
        .filter(|id| envelope::is_plain_request_id(id))
        .unwrap_or("-")
        .to_owned();
    let routed = subjects::parse_partitioned::<Endpoint>(message.subject.as_str());
    let name = match &routed {
        Ok((_, Routed::Public(_, endpoint))) => endpoint.name(),
        Ok((_, Routed::Owner(_, OwnerVerb::Probe))) => return None,
        Ok((_, Routed::Owner(_, OwnerVerb::Apply))) => "owner-apply".to_owned(),
        Ok((_, Routed::Owner(_, OwnerVerb::Ingested))) => "owner-ingested".to_owned(),
        Ok((_, Routed::Owner(_, OwnerVerb::Answered))) => "owner-answered".to_owned(),
        Ok((_, Routed::Owner(_, OwnerVerb::Search))) => "owner-search".to_owned(),
        Err(_) => "unknown".to_owned(),
    };
    let span = tracing::info_span!("request", endpoint = %name, request_id = %request_id);
    let result = async {
        let (partition, routed) = routed?;
        if partition != ctx.tenants.ownership().partition_of(routed.org()) {
            let message = format!("organization {} is not in partition {partition}", routed.org());
            return Err(ApiError::invalid("subject", message));
        }
        match routed {
            Routed::Public(org, endpoint) => {
                dispatch(&ctx, endpoint, org, Input { headers, body: &message.payload }).await
            }
            Routed::Owner(org, OwnerVerb::Answered) => {
                let report = crate::model::decode(&message.payload)?;
                let org = ctx.tenants.org(&org);
                org.run(move |state| async move { state.answered(report).await }.boxed()).await?;
                Reply::json(&serde_json::json!({"applied": true}))
            }
            Routed::Owner(org, OwnerVerb::Search) => agent::voice_search(&ctx, org, &message.payload).await,
            Routed::Owner(org, OwnerVerb::Ingested) => {
                let report = crate::model::decode(&message.payload)?;
                let org = ctx.tenants.org(&org);
                org.run(move |state| async move { state.document_ingested(report).await }.boxed()).await?;
                Reply::json(&serde_json::json!({"applied": true}))
            }
            Routed::Owner(org, _) => {
                crate::actors::ingest::apply_owned(&ctx.tenants, &org, headers, &message.payload)
                    .await
                    .and_then(|()| Reply::json(&serde_json::json!({"applied": true})))
            }
        }
    }
    .instrument(span)
    .await;
    metrics.observe_nats(&name, result.as_ref().err().map(|err| err.code));
    Some(result)
}

#[cfg(test)]
mod tests;
