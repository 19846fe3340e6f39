use std::collections::HashMap;
use std::sync::Arc;

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::time::Instant;

use super::lifecycle::{Lifecycles, Phase, Waiter};
use super::table::Table;
use super::unknown::UnknownOrgs;
use super::{OrgStatus, TenantStats, Tenants};
use crate::actors::ActorConfig;
use crate::actors::OrgServices;
use crate::actors::org::{OrgActor, OrgArgs, OrgMail, OrgMsg};
use crate::actors::partitions::Ownership;
use crate::clock::Clock;
use crate::db::{Fence, Repos};
use crate::error::ApiError;
use crate::ids::OrgId;

pub(crate) struct TenantsActor;

pub(crate) struct TenantsArgs {
    table: Arc<Table>,
    stats: Arc<TenantStats>,
    repos: Repos,
    config: ActorConfig,
    clock: Clock,
    services: OrgServices,
    ownership: Ownership,
}

pub(crate) struct TenantsState {
    table: Arc<Table>,
    stats: Arc<TenantStats>,
    repos: Repos,
    config: ActorConfig,
    clock: Clock,
    services: OrgServices,
    /// The partitions this node holds: an org outside them is not activated here.
    ownership: Ownership,
    /// Each org's phase, recent failures and restarts.
    orgs: Lifecycles,
    /// Which org each live child actor serves, to read supervision events.
    by_actor: HashMap<ActorId, OrgId>,
}

pub(crate) enum TenantsMsg {
    /// Make sure the org has a running actor; answered once it is in the routing table.
    Activate(OrgId, Waiter),
    /// An activation started by this actor finished.
    Started(OrgId, Result<ActorRef<OrgMail>, String>),
    /// Periodic: passivate the org actors that have been idle longer than the idle timeout.
    Sweep,
    /// Periodic: delete expired contact sessions from the database.
    SweepSessions,
    /// Stop one org's actor now (its organization was deleted); answered once it is out of
    /// the routing table.
    Passivate(OrgId, RpcReplyPort<()>),
    /// Stop every org actor of a partition this node no longer holds.
    PassivatePartition(u16, RpcReplyPort<()>),
    /// A snapshot of every org actor, for the supervision tree.
    Statuses(RpcReplyPort<Vec<OrgStatus>>),
}

impl TenantsActor {
    /// Spawns the tenants actor under `supervisor` and returns its public handle.
    pub(crate) async fn start(
        supervisor: ActorCell,
        repos: Repos,
        config: ActorConfig,
        clock: Clock,
        services: OrgServices,
        ownership: Ownership,
    ) -> Result<Tenants, ractor::SpawnErr> {
        let (table, stats) = (Arc::new(Table::new()), Arc::new(TenantStats::default()));
        let call_timeout = config.call_timeout;
        let unknown = Arc::new(UnknownOrgs::new(repos.organizations()));
        let args = TenantsArgs {
            table: table.clone(),
            stats: stats.clone(),
            repos,
            config,
            clock,
            services,
            ownership: ownership.clone(),
        };
        let (actor, _) = Actor::spawn_linked(Some(tenants_name()), TenantsActor, args, supervisor).await?;
        Ok(Tenants { actor, table, stats, call_timeout, ownership, unknown })
    }
}

/// Actor names are process-global in ractor; several apps share a process in tests.
fn tenants_name() -> String {
    format!("tenants-{}", uuid::Uuid::new_v4().simple())
}

impl Actor for TenantsActor {
    type Msg = TenantsMsg;
    type State = TenantsState;
    type Arguments = TenantsArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<TenantsMsg>,
        args: TenantsArgs,
    ) -> Result<TenantsState, ActorProcessingErr> {
        let period = (args.config.idle_timeout / 4).max(std::time::Duration::from_millis(10));
        myself.send_interval(period, || TenantsMsg::Sweep);
        myself.send_interval(args.config.session_sweep, || TenantsMsg::SweepSessions);
        Ok(TenantsState {
            table: args.table,
            stats: args.stats,
            repos: args.repos,
            config: args.config,
            clock: args.clock,
            services: args.services,
            ownership: args.ownership,
            orgs: Lifecycles::default(),
            by_actor: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<TenantsMsg>,
        msg: TenantsMsg,
        state: &mut TenantsState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            TenantsMsg::Activate(org, waiter) => state.activate(&myself, org, waiter),
            TenantsMsg::Started(org, result) => state.started(org, result),
            TenantsMsg::Sweep => state.sweep(),
            TenantsMsg::SweepSessions => state.sweep_sessions(),
            TenantsMsg::Passivate(org, reply) => {
                state.passivate([org]);
                let _ = reply.send(());
            }
            TenantsMsg::PassivatePartition(partition, reply) => {
                let orgs: Vec<OrgId> = state
                    .table
                    .read()
                    .keys()
                    .filter(|org| state.ownership.partition_of(org) == partition)
                    .cloned()
                    .collect();
                state.passivate(orgs);
                let _ = reply.send(());
            }
            TenantsMsg::Statuses(reply) => {
                let _ = reply.send(state.statuses());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<TenantsMsg>,
        event: SupervisionEvent,
        state: &mut TenantsState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => state.terminated(&myself, &cell, reason),
            SupervisionEvent::ActorFailed(cell, err) => state.failed(&myself, &cell, &err.to_string()),
            _ => {}
        }
        Ok(())
    }
}

impl TenantsState {
    fn activate(&mut self, myself: &ActorRef<TenantsMsg>, org: OrgId, waiter: Waiter) {
        if self.table.read().contains_key(&org) {
            let _ = waiter.send(Ok(()));
            return;
        }
        if self.ownership.token(&org).is_none() {
            let _ = waiter.send(Err(elsewhere(&org)));
            return;
        }
        let tenant = self.orgs.tenant(&org);
        if let Phase::Suspended(until) = tenant.phase {
            if Instant::now() < until {
                let _ = waiter.send(Err(ApiError::unavailable(format!(
                    "organization {org} failed repeatedly and is suspended; retry in {} s",
                    until.saturating_duration_since(Instant::now()).as_secs().max(1)
                ))));
                return;
            }
            tenant.phase = Phase::Idle;
            tenant.failures = Default::default();
        }
        match &mut tenant.phase {
            Phase::Starting(waiters) | Phase::Stopping(waiters) => waiters.push(waiter),
            _ => self.spawn(myself, org, vec![waiter]),
        }
    }

    /// Loads the org in a task of its own, so one slow database read never holds up the
    /// activation of other orgs.
    fn spawn(&mut self, myself: &ActorRef<TenantsMsg>, org: OrgId, waiters: Vec<Waiter>) {
        let Some(token) = self.ownership.token(&org) else {
            for waiter in waiters {
                let _ = waiter.send(Err(elsewhere(&org)));
            }
            self.orgs.enter(&org, Phase::Idle);
            return;
        };
        self.orgs.enter(&org, Phase::Starting(waiters));
        let args = OrgArgs {
            org: org.clone(),
            repos: self.repos.fenced(Fence { org: org.clone(), token }),
            clock: self.clock.clone(),
            master_key: self.services.master_key.clone(),
            events: self.services.events.clone(),
            ingestion: self.services.ingestion.clone(),
            agent: self.services.agent.clone(),
        };
        let tenants = myself.clone();
        tokio::spawn(async move {
            let result = Actor::spawn_linked(None, OrgActor, args, tenants.get_cell())
                .await
                .map(|(actor, _)| actor)
                .map_err(|e| e.to_string());
            let _ = tenants.send_message(TenantsMsg::Started(org, result));
        });
    }

    fn started(&mut self, org: OrgId, result: Result<ActorRef<OrgMail>, String>) {
        let waiters = match self.orgs.enter(&org, Phase::Idle) {
            Phase::Starting(waiters) => waiters,
            _ => Vec::new(),
        };
        let answer = match result {
            // The partition moved while the actor was loading: it must not serve here.
            Ok(actor) if self.ownership.token(&org).is_none() => {
                self.by_actor.insert(actor.get_id(), org.clone());
                self.orgs.enter(&org, Phase::Stopping(Vec::new()));
                actor.stop(Some("partition left".into()));
                Err(elsewhere(&org))
            }
            Ok(actor) => {
                TenantStats::bump(&self.stats.activated);
                self.by_actor.insert(actor.get_id(), org.clone());
                self.table.insert(org.clone(), actor);
                self.orgs.enter(&org, Phase::Active);
                self.evict_beyond_limit(&org);
                Ok(())
            }
            Err(cause) => {
                tracing::error!(%org, %cause, "org actor could not start");
                Err(ApiError::unprocessed(format!("organization {org} could not be loaded; retry")))
            }
        };
        for waiter in waiters {
            let _ = waiter.send(answer.clone());
        }
    }

    fn sweep(&mut self) {
        let now = self.table.now_ms();
        let idle_ms = u64::try_from(self.config.idle_timeout.as_millis()).unwrap_or(u64::MAX);
        let idle: Vec<OrgId> = self
            .table
            .read()
            .iter()
            .filter(|(_, entry)| now.saturating_sub(entry.last_used_ms()) >= idle_ms)
            .map(|(org, _)| org.clone())
            .collect();
        self.passivate(idle);
    }

    /// Over `max_active`, passivates the least recently used orgs (never `keep`, the one just
    /// started) down to 95% of it, so the scan over the table runs once per 5% of the limit
    /// rather than on every activation.
    fn evict_beyond_limit(&mut self, keep: &OrgId) {
        let limit = self.config.max_active;
        let mut by_use: Vec<(u64, OrgId)> = {
            let table = self.table.read();
            if table.len() <= limit {
                return;
            }
            table
                .iter()
                .filter(|(org, _)| *org != keep)
                .map(|(org, e)| (e.last_used_ms(), org.clone()))
                .collect()
        };
        let excess = (by_use.len() + 1).saturating_sub(limit - limit / 20);
        if excess < by_use.len() {
            by_use.select_nth_unstable(excess);
        }
        by_use.truncate(excess);
        tracing::info!(limit, evicted = excess, "more org actors active than ASSIST_MAX_ACTIVE_ORGS");
        TenantStats::add(&self.stats.evicted, excess);
        self.passivate(by_use.into_iter().map(|(_, org)| org));
    }

    fn passivate(&mut self, orgs: impl IntoIterator<Item = OrgId>) {
        let removed: Vec<_> = {
            let mut table = self.table.write();
            orgs.into_iter().filter_map(|org| table.remove(&org).map(|entry| (org, entry))).collect()
        };
        for (org, entry) in removed {
            tracing::debug!(%org, "passivating org actor");
            TenantStats::bump(&self.stats.passivated);
            self.orgs.enter(&org, Phase::Stopping(Vec::new()));
            // Queued behind every request routed before the removal above.
            let _ = entry.actor.send_message(OrgMsg::Passivate.into());
        }
    }

    /// Runs on a task of its own: a large delete must not hold up activations.
    fn sweep_sessions(&self) {
        let (sessions, now) = (self.repos.contact_sessions(), self.clock.now());
        tokio::spawn(async move {
            match sessions.delete_expired(now).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired contact sessions swept"),
                Err(err) => tracing::warn!(error = %err, "sweeping expired contact sessions"),
            }
        });
    }

    /// Takes the org out of the table if `cell` is still the actor serving it, and out of its
    /// running or stopping phase: the callers waiting for a replacement are returned.
    fn forget(&mut self, cell: &ActorCell) -> Option<(OrgId, Vec<Waiter>)> {
        let org = self.by_actor.remove(&cell.get_id())?;
        let mut orgs = self.table.write();
        if orgs.get(&org).is_some_and(|entry| entry.actor.get_id() == cell.get_id()) {
            orgs.remove(&org);
        }
        drop(orgs);
        let waiters = match self.orgs.enter(&org, Phase::Idle) {
            Phase::Stopping(waiters) => waiters,
            _ => Vec::new(),
        };
        Some((org, waiters))
    }

    fn terminated(&mut self, myself: &ActorRef<TenantsMsg>, cell: &ActorCell, reason: Option<String>) {
        let Some((org, waiters)) = self.forget(cell) else { return };
        tracing::debug!(%org, ?reason, "org actor stopped");
        if !waiters.is_empty() {
            self.spawn(myself, org, waiters);
        }
    }

    /// Restarts a failed org actor with its state reloaded from the database, unless it failed
    /// more than `max_restarts` times within `restart_window`: then the org is suspended for a
    /// window and reported, instead of crash-looping.
    fn failed(&mut self, myself: &ActorRef<TenantsMsg>, cell: &ActorCell, cause: &str) {
        let Some((org, waiters)) = self.forget(cell) else { return };
        TenantStats::bump(&self.stats.failed);
        let now = Instant::now();
        let window = self.config.restart_window;
        let tenant = self.orgs.tenant(&org);
        let failures = tenant.failures.record(now, window);
        if failures > self.config.max_restarts {
            tracing::error!(%org, cause, failures, "org actor keeps failing; suspended");
            tenant.phase = Phase::Suspended(now + window);
            for waiter in waiters {
                let _ = waiter.send(Err(ApiError::unavailable(format!(
                    "organization {org} failed repeatedly and is suspended"
                ))));
            }
            return;
        }
        tenant.restarts += 1;
        TenantStats::bump(&self.stats.restarted);
        tracing::warn!(%org, cause, "org actor failed; restarting it from the database");
        self.spawn(myself, org, waiters);
    }

    fn statuses(&self) -> Vec<OrgStatus> {
        let now = self.table.now_ms();
        let mut out: Vec<OrgStatus> = self
            .table
            .read()
            .iter()
            .map(|(org, entry)| OrgStatus {
                org: org.clone(),
                status: "active".into(),
                mailbox: Some(entry.pending()),
                restarts: self.orgs.restarts(org),
                uptime_ms: Some(now.saturating_sub(entry.started_ms)),
                idle_ms: Some(now.saturating_sub(entry.last_used_ms())),
            })
            .collect();
        out.extend(self.orgs.statuses(Instant::now()));
        out.sort_by(|a, b| a.org.cmp(&b.org));
        out
    }
}

/// Nothing was done here: the org belongs to another node (or none, between two owners).
fn elsewhere(org: &OrgId) -> ApiError {
    ApiError::unprocessed(format!("organization {org} is served by another node now; retry"))
}
