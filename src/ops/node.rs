//! Which node this is, and which nodes exist. Each node heartbeats its id into the JetStream
//! key-value bucket `assist_nodes`, whose entries expire after [`NODE_TTL`]: the tree asks every
//! node at once and compares the answers with the bucket, so a node that is up in the bucket
//! but does not answer is reported as silent rather than left out.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::TryStreamExt;
use tokio::task::JoinHandle;

use crate::bus::BusError;
use crate::ids::NodeId;

pub const NODES_BUCKET: &str = "assist_nodes";
/// How often a node renews its entry.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// An entry not renewed for this long is dropped: the node is gone, not silent.
const NODE_TTL: Duration = Duration::from_secs(30);

/// This node's entry in `assist_nodes`, renewed until [`Presence::withdraw`].
pub struct Presence {
    kv: kv::Store,
    node: NodeId,
    task: JoinHandle<()>,
}

impl Presence {
    pub async fn announce(js: &jetstream::Context, node: NodeId) -> Result<Self, BusError> {
        let kv = js
            .create_or_update_key_value(kv::Config {
                bucket: NODES_BUCKET.into(),
                description: "assist nodes alive (heartbeats)".into(),
                history: 1,
                max_age: NODE_TTL,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::JetStream(format!("bucket {NODES_BUCKET}: {e}")))?;
        kv.put(node.as_str(), env!("CARGO_PKG_VERSION").into())
            .await
            .map_err(|e| BusError::JetStream(format!("bucket {NODES_BUCKET}: {e}")))?;
        let task = tokio::spawn(heartbeat(kv.clone(), node.clone()));
        Ok(Self { kv, node, task })
    }

    /// Leaves the bucket, so a node that stopped cleanly is not reported as silent.
    pub async fn withdraw(self) {
        self.task.abort();
        if let Err(err) = self.kv.delete(self.node.as_str()).await {
            tracing::warn!(error = %err, "removing this node from {NODES_BUCKET}");
        }
    }
}

async fn heartbeat(kv: kv::Store, node: NodeId) {
    let mut every = tokio::time::interval(HEARTBEAT_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(err) = kv.put(node.as_str(), env!("CARGO_PKG_VERSION").into()).await {
            tracing::warn!(error = %err, "node heartbeat");
        }
    }
}

/// The nodes whose heartbeat is current; none when no node ever started on this NATS.
pub async fn expected(js: &jetstream::Context) -> Result<Vec<NodeId>, BusError> {
    let err = |e: &dyn std::fmt::Display| BusError::JetStream(format!("bucket {NODES_BUCKET}: {e}"));
    let kv = match js.get_key_value(NODES_BUCKET).await {
        Ok(kv) => kv,
        Err(e) if e.kind() == jetstream::context::KeyValueErrorKind::GetBucket => return Ok(Vec::new()),
        Err(e) => return Err(err(&e)),
    };
    let keys: Vec<String> = kv.keys().await.map_err(|e| err(&e))?.try_collect().await.map_err(|e| err(&e))?;
    Ok(keys.iter().filter_map(|key| NodeId::parse(key).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::NodeId;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let (a, b) = (NodeId::generate(), NodeId::generate());
        assert!(NodeId::parse(a.as_str()).is_ok(), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_fan_out_token_and_subject_breakers_are_refused() {
        for bad in ["all", "", "a.b", "a*", "a b"] {
            assert!(NodeId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
