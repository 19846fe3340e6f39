use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::kv::{self, Operation, UpdateErrorKind};
use futures::{StreamExt, TryStreamExt};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{BUCKET, Ownership, PartitionsConfig};
use crate::actors::Tenants;
use crate::bus::{BusService, PartitionServer};
use crate::ids::NodeId;

pub(crate) struct PartitionsArgs {
    pub js: jetstream::Context,
    pub node: NodeId,
    pub config: PartitionsConfig,
    pub ownership: Ownership,
    pub bus: BusService,
    pub tenants: Tenants,
}

/// Entries nobody renews leave the bucket after this: dead nodes' membership keys, mostly.
const FORGET_AFTER: Duration = Duration::from_secs(120);

pub(super) struct LeaseActor;

pub(super) enum LeaseMsg {
    /// Renew, rebalance, claim; answered when asked.
    Tick(Option<RpcReplyPort<()>>),
    /// A key changed in the bucket: its revision and value (`None` once deleted).
    Seen(String, u64, Option<String>),
    ReleaseAll(RpcReplyPort<()>),
}

/// The last change of a key and when this node saw it.
struct Seen {
    revision: u64,
    holder: Option<String>,
    since: Instant,
}

struct Held {
    token: u64,
    revision: u64,
    renewed: Instant,
    server: PartitionServer,
}

pub(super) struct LeaseState {
    args: PartitionsArgs,
    kv: kv::Store,
    seen: HashMap<String, Seen>,
    held: BTreeMap<u16, Held>,
    watch: JoinHandle<()>,
    /// Set once the leases are given back: a heartbeat queued behind that must not renew the
    /// membership or claim again, or the next node waits out the TTL for them.
    leaving: bool,
}

fn partition_key(partition: u16) -> String {
    format!("p.{partition}")
}

/// Who an entry names as its holder; `None` once the key was deleted.
fn holder(entry: &kv::Entry) -> Option<String> {
    (entry.operation == Operation::Put).then(|| String::from_utf8_lossy(&entry.value).into_owned())
}

fn member_key(node: &NodeId) -> String {
    format!("node.{node}")
}

impl Actor for LeaseActor {
    type Msg = LeaseMsg;
    type State = LeaseState;
    type Arguments = PartitionsArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<LeaseMsg>,
        args: PartitionsArgs,
    ) -> Result<LeaseState, ActorProcessingErr> {
        let kv = args
            .js
            .create_or_update_key_value(kv::Config {
                bucket: BUCKET.into(),
                description: "assist partition leases and node memberships".into(),
                history: 1,
                max_age: FORGET_AFTER,
                ..Default::default()
            })
            .await?;
        let mut seen = HashMap::new();
        let now = Instant::now();
        let keys: Vec<String> = kv.keys().await?.try_collect().await?;
        for key in keys {
            if let Some(entry) = kv.entry(key.as_str()).await? {
                let holder = holder(&entry);
                seen.insert(key, Seen { revision: entry.revision, holder, since: now });
            }
        }
        let watch = tokio::spawn(watch(kv.clone(), myself.clone()));
        myself.send_interval(args.config.ttl / 4, || LeaseMsg::Tick(None));
        Ok(LeaseState { args, kv, seen, held: BTreeMap::new(), watch, leaving: false })
    }

    async fn handle(
        &self,
        _: ActorRef<LeaseMsg>,
        msg: LeaseMsg,
        state: &mut LeaseState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            LeaseMsg::Tick(reply) => {
                if !state.leaving {
                    state.tick().await;
                }
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
            }
            LeaseMsg::Seen(key, revision, holder) => state.observe(key, revision, holder),
            LeaseMsg::ReleaseAll(reply) => {
                state.leaving = true;
                let all: Vec<u16> = state.held.keys().copied().collect();
                for partition in all {
                    state.release(partition).await;
                }
                let _ = state.kv.delete(member_key(&state.args.node)).await;
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _: ActorRef<LeaseMsg>,
        state: &mut LeaseState,
    ) -> Result<(), ActorProcessingErr> {
        state.watch.abort();
        Ok(())
    }
}

/// Feeds every change of the bucket to the actor, re-watching after a NATS outage.
async fn watch(kv: kv::Store, actor: ActorRef<LeaseMsg>) {
    loop {
        match kv.watch_all().await {
            Ok(mut changes) => {
                while let Some(change) = changes.next().await {
                    let Ok(entry) = change else { break };
                    let holder = holder(&entry);
                    if actor.send_message(LeaseMsg::Seen(entry.key, entry.revision, holder)).is_err() {
                        return;
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "watching {BUCKET}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl LeaseState {
    fn observe(&mut self, key: String, revision: u64, holder: Option<String>) {
        match self.seen.get_mut(&key) {
            Some(seen) if seen.revision >= revision => {}
            Some(seen) => *seen = Seen { revision, holder, since: Instant::now() },
            None => drop(self.seen.insert(key, Seen { revision, holder, since: Instant::now() })),
        }
    }

    async fn tick(&mut self) {
        let (ttl, now) = (self.args.config.ttl, Instant::now());
        let me = self.args.node.to_string();
        if let Err(err) = self.kv.put(member_key(&self.args.node), me.clone().into()).await {
            tracing::warn!(error = %err, "renewing this node's membership in {BUCKET}");
        }
        let mut lost = Vec::new();
        for (partition, held) in &mut self.held {
            match self.kv.update(partition_key(*partition), me.clone().into(), held.revision).await {
                Ok(revision) => (held.revision, held.renewed) = (revision, now),
                Err(err) if err.kind() == UpdateErrorKind::WrongLastRevision => lost.push(*partition),
                Err(err) if now.duration_since(held.renewed) >= ttl => {
                    tracing::warn!(partition, error = %err, "lease not renewed within its TTL");
                    lost.push(*partition);
                }
                Err(err) => {
                    tracing::warn!(partition, error = %err, "renewing a lease; retrying next heartbeat")
                }
            }
        }
        for partition in lost {
            tracing::warn!(partition, "lease lost; stopping its orgs here");
            self.drop_partition(partition).await;
        }
        let (target, someone_short) = self.fair_share(now);
        while self.held.len() > target && someone_short {
            let Some(&partition) = self.held.keys().next_back() else { break };
            self.release(partition).await;
        }
        for (partition, orphaned) in self.claimable(now) {
            if self.held.len() >= target && !orphaned {
                continue;
            }
            self.claim(partition).await;
        }
    }

    /// This node's fair share, and whether another live node holds less than its own. Shares
    /// are `floor(partitions / live)`, one more for the first `partitions % live` nodes in id
    /// order, so every node computes the same split from the same memberships.
    fn fair_share(&self, now: Instant) -> (usize, bool) {
        let ttl = self.args.config.ttl;
        let me = self.args.node.as_str();
        let fresh = |seen: &Seen| seen.holder.is_some() && now.duration_since(seen.since) < ttl;
        let mut live: Vec<&str> = self
            .seen
            .iter()
            .filter(|(_, seen)| fresh(seen))
            .filter_map(|(key, _)| key.strip_prefix("node."))
            .filter(|node| *node != me)
            .chain([me])
            .collect();
        live.sort_unstable();
        let count = usize::from(self.args.ownership.count());
        let share = |rank: usize| count / live.len() + usize::from(rank < count % live.len());
        let mut holdings: HashMap<&str, usize> = HashMap::new();
        for (key, seen) in &self.seen {
            if let (Some(_), Some(holder), true) =
                (key.strip_prefix("p."), seen.holder.as_deref(), fresh(seen))
            {
                *holdings.entry(holder).or_default() += 1;
            }
        }
        let mine = live.iter().position(|node| *node == me).map_or(0, share);
        let someone_short = live
            .iter()
            .enumerate()
            .any(|(rank, node)| *node != me && holdings.get(node).copied().unwrap_or(0) < share(rank));
        (mine, someone_short)
    }

    /// Partitions nobody holds, or whose holder stopped renewing, starting at a place of this
    /// node's own so that several claimers rarely race for the same key; `true` when it has gone
    /// unclaimed for a whole TTL, which any node then takes whatever its share, so that nodes
    /// disagreeing for a moment about who is alive never leave a partition without an owner.
    fn claimable(&self, now: Instant) -> Vec<(u16, bool)> {
        let (count, ttl) = (self.args.ownership.count(), self.args.config.ttl);
        let me = self.args.node.as_str();
        let start = crate::bus::subjects::partition_of_token(me, count);
        (0..count)
            .map(|i| (start + i) % count)
            .filter(|p| !self.held.contains_key(p))
            .filter_map(|p| match self.seen.get(&partition_key(p)) {
                None => Some((p, false)),
                Some(seen) => {
                    let quiet = now.duration_since(seen.since);
                    match &seen.holder {
                        None => Some((p, quiet >= ttl)),
                        Some(holder) if holder == me => Some((p, false)),
                        Some(_) if quiet >= ttl => Some((p, quiet >= ttl * 2)),
                        Some(_) => None,
                    }
                }
            })
            .collect()
    }

    async fn claim(&mut self, partition: u16) {
        let key = partition_key(partition);
        let value = self.args.node.to_string();
        let claimed = match self.seen.get(&key) {
            Some(Seen { holder: Some(_), revision, .. }) => {
                self.kv.update(&key, value.into(), *revision).await.map_err(|e| e.to_string())
            }
            _ => self.kv.create(&key, value.into()).await.map_err(|e| e.to_string()),
        };
        let token = match claimed {
            Ok(token) => token,
            Err(err) => {
                tracing::debug!(partition, error = %err, "another node claimed the partition first");
                return;
            }
        };
        self.args.ownership.insert(partition, token);
        match self.args.bus.serve_partition(partition).await {
            Ok(server) => {
                tracing::info!(partition, token, "partition lease claimed");
                self.held.insert(partition, Held { token, revision: token, renewed: Instant::now(), server });
            }
            Err(err) => {
                tracing::warn!(partition, error = %err, "cannot serve a claimed partition; giving it back");
                self.args.ownership.remove(partition);
                let _ = self.kv.delete_expect_revision(&key, Some(token)).await;
            }
        }
    }

    /// Stops serving a partition on this node: no new requests, its org actors passivated.
    async fn drop_partition(&mut self, partition: u16) -> Option<u64> {
        let held = self.held.remove(&partition)?;
        self.args.ownership.remove(partition);
        held.server.stop().await;
        if let Err(err) = self.args.tenants.passivate_partition(partition).await {
            tracing::warn!(partition, error = %err, "passivating a partition's orgs");
        }
        tracing::info!(partition, token = held.token, "partition left");
        Some(held.revision)
    }

    /// Gives a held partition back for another node to claim at once.
    async fn release(&mut self, partition: u16) {
        let Some(revision) = self.drop_partition(partition).await else { return };
        if let Err(err) = self.kv.delete_expect_revision(partition_key(partition), Some(revision)).await {
            tracing::warn!(partition, error = %err, "deleting a released lease; it will expire instead");
        }
    }
}
