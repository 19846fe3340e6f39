//! The supervision tree: what one node reports about its actors ([`Local::report`]), and the
//! scatter-gather that asks every node at once ([`gather`]) and names the ones that stay silent.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use ractor::{ActorRef, ActorStatus};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;

use super::node;
use crate::actors::ingest::{IngestCounts, IngestStats};
use crate::actors::{OrgStatus, RootMsg, Tenants};
use crate::bus::BusError;
use crate::bus::subjects::{self, AdminTarget, AdminVerb};
use crate::ids::NodeId;
use crate::ids::OrgId;

/// How long `assist tree` and `/admin/tree` wait for the nodes by default.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(2);

/// Every node: the ones that answered with their tree, the silent ones by name.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tree {
    /// How long the nodes were given to answer.
    pub deadline_ms: u64,
    pub nodes: Vec<NodeReport>,
}

/// One node's answer, or its absence.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    #[schema(value_type = String)]
    pub node: NodeId,
    /// `ok`; `no_answer` when the node heartbeats in `assist_nodes` but did not answer in time;
    /// `error` when it answered that it could not build its tree.
    pub status: String,
    pub error: Option<String>,
    pub tree: Option<NodeTree>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeTree {
    pub version: String,
    pub uptime_ms: u64,
    pub root: ActorSummary,
    /// The partition leases this node holds: the orgs it owns are exactly theirs.
    pub partitions: PartitionsSummary,
    pub tenants: TenantsSummary,
    pub system_ingest: IngestSummary,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PartitionsSummary {
    /// Partitions in the whole cluster.
    pub count: u16,
    pub held: Vec<HeldLease>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HeldLease {
    pub partition: u16,
    /// The fencing token: the lease bucket's revision when this node claimed the partition.
    pub token: u64,
}

/// ractor's status of an actor: `running`, `draining`, `stopping`, `stopped`, … or `absent`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActorSummary {
    pub status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantsSummary {
    pub status: String,
    /// Org actors running, starting, stopping or suspended (filtered by `org` when asked).
    pub orgs: Vec<OrgStatus>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IngestSummary {
    pub status: String,
    pub restarts: u32,
    pub events: IngestCounts,
}

/// What a tree request may carry: an org to narrow the org actors to.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeRequest {
    pub org: Option<OrgId>,
}

/// This node's actors, as the admin responder reports them.
#[derive(Clone)]
pub struct Local {
    pub node: NodeId,
    started: Instant,
    root: ActorRef<RootMsg>,
    tenants: Tenants,
    ingest: Arc<IngestStats>,
    call_timeout: Duration,
}

fn status_name(status: Option<ActorStatus>) -> String {
    status.map_or_else(|| "absent".to_owned(), |s| format!("{s:?}").to_lowercase())
}

impl Local {
    pub(crate) fn new(
        node: NodeId,
        root: ActorRef<RootMsg>,
        tenants: Tenants,
        ingest: Arc<IngestStats>,
        call_timeout: Duration,
    ) -> Self {
        Self { node, started: Instant::now(), root, tenants, ingest, call_timeout }
    }

    pub async fn report(&self, org: Option<&OrgId>) -> NodeReport {
        match self.tree(org).await {
            Ok(tree) => {
                NodeReport { node: self.node.clone(), status: "ok".into(), error: None, tree: Some(tree) }
            }
            Err(error) => {
                NodeReport { node: self.node.clone(), status: "error".into(), error: Some(error), tree: None }
            }
        }
    }

    async fn tree(&self, org: Option<&OrgId>) -> Result<NodeTree, String> {
        let timeout_ms = u64::try_from(self.call_timeout.as_millis()).unwrap_or(u64::MAX);
        let ingest = ractor::call_t!(self.root, RootMsg::Ingest, timeout_ms)
            .map_err(|e| format!("root did not answer: {e}"))?;
        let mut orgs = self.tenants.statuses().await.map_err(|e| e.message)?;
        orgs.retain(|status| org.is_none_or(|org| status.org == *org));
        Ok(NodeTree {
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            root: ActorSummary { status: status_name(Some(self.root.get_status())) },
            partitions: PartitionsSummary {
                count: self.tenants.ownership().count(),
                held: self
                    .tenants
                    .ownership()
                    .held()
                    .into_iter()
                    .map(|(partition, token)| HeldLease { partition, token })
                    .collect(),
            },
            tenants: TenantsSummary { status: status_name(Some(self.tenants.actor_status())), orgs },
            system_ingest: IngestSummary {
                status: status_name(ingest.status),
                restarts: ingest.restarts,
                events: self.ingest.counts(),
            },
        })
    }
}

/// Asks `target` (one node or all) and gathers the answers until every expected node has
/// answered or `deadline` passes. Expected are the nodes heartbeating in `assist_nodes` (or the
/// one node asked for); those that did not answer are listed as `no_answer`.
pub async fn gather(
    nats: &async_nats::Client,
    target: AdminTarget,
    org: Option<&OrgId>,
    deadline: Duration,
) -> Result<Tree, BusError> {
    let until = Instant::now() + deadline;
    let expected: BTreeSet<NodeId> = match &target {
        AdminTarget::Node(node) => BTreeSet::from([node.clone()]),
        AdminTarget::All => node::expected(&jetstream::new(nats.clone())).await?.into_iter().collect(),
    };
    let err = |e: &dyn std::fmt::Display| BusError::Service(format!("asking for the tree: {e}"));
    let inbox = nats.new_inbox();
    let mut replies = nats.subscribe(inbox.clone()).await.map_err(|e| err(&e))?;
    let body = serde_json::to_vec(&TreeRequest { org: org.cloned() }).map_err(|e| err(&e))?;
    nats.publish_with_reply(subjects::admin(&target, AdminVerb::Tree), inbox, body.into())
        .await
        .map_err(|e| err(&e))?;
    let mut answered = BTreeMap::new();
    while expected.is_empty() || !expected.iter().all(|node| answered.contains_key(node)) {
        let Ok(Some(message)) = tokio::time::timeout_at(until, replies.next()).await else { break };
        match serde_json::from_slice::<NodeReport>(&message.payload) {
            Ok(report) => {
                answered.insert(report.node.clone(), report);
            }
            Err(e) => tracing::warn!(error = %e, "an unreadable tree answer"),
        }
    }
    for node in expected {
        answered.entry(node.clone()).or_insert(NodeReport {
            node,
            status: "no_answer".into(),
            error: Some(format!("no answer within {} ms", deadline.as_millis())),
            tree: None,
        });
    }
    let deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
    Ok(Tree { deadline_ms, nodes: answered.into_values().collect() })
}
