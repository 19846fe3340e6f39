//! The admin responder: each node answers `assist.v1.admin.<node>.<verb>` and the fan-out
//! `assist.v1.admin.all.<verb>` on plain subscriptions (no queue group), so a fan-out reaches
//! every node. Unknown verbs get an error reply in the micro-service shape.

use bytes::Bytes;
use futures::StreamExt;
use tokio::task::JoinHandle;

use super::tree::{Local, TreeRequest};
use crate::bus::BusError;
use crate::bus::envelope;
use crate::bus::subjects::{self, AdminVerb};
use crate::error::{ApiError, Chain};

pub struct AdminService {
    task: JoinHandle<()>,
}

impl AdminService {
    pub async fn start(nats: &async_nats::Client, local: Local) -> Result<Self, BusError> {
        let err = |e: async_nats::SubscribeError| BusError::Service(format!("admin subjects: {e}"));
        let [mine, all] = subjects::admin_inbox(&local.node);
        let mine = nats.subscribe(mine).await.map_err(err)?;
        let all = nats.subscribe(all).await.map_err(err)?;
        let nats = nats.clone();
        let task = tokio::spawn(async move {
            let mut requests = futures::stream::select(mine, all);
            while let Some(request) = requests.next().await {
                tokio::spawn(answer(nats.clone(), local.clone(), request));
            }
        });
        Ok(Self { task })
    }

    /// Unsubscribes (the subscriptions end with the task).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn answer(nats: async_nats::Client, local: Local, request: async_nats::Message) {
    let Some(reply) = request.reply else { return };
    let answered = match subjects::parse_admin(&request.subject) {
        Ok((_, AdminVerb::Tree)) => tree(&local, &request.payload).await,
        Err(err) => Err(err),
    };
    let sent = match answered {
        Ok(body) => nats.publish(reply, body).await,
        Err(err) => nats.publish_with_headers(reply, envelope::error_headers(&err), Bytes::new()).await,
    };
    if let Err(err) = sent {
        tracing::warn!(error = %err, "could not answer an admin request");
    }
}

async fn tree(local: &Local, body: &[u8]) -> Result<Bytes, ApiError> {
    let request: TreeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TreeRequest::default()
    } else {
        crate::model::decode(body)?
    };
    let report = local.report(request.org.as_ref()).await;
    serde_json::to_vec(&report).map(Bytes::from).map_err(|e| {
        tracing::error!(cause = %Chain(&e), "internal error");
        ApiError::internal()
    })
}
