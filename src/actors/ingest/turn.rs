//! One turn of ingest: the events taken from the stream at once, applied one lane per org (and
//! one for the rest), then recorded in one transaction and acknowledged.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind};
use futures::FutureExt;
use futures::future::Shared;
use ractor::ActorProcessingErr;
use tokio::sync::oneshot;

use super::apply::{Failure, Outcome, apply, lane};
use super::{IngestArgs, IngestStats, MAX_DELIVER};
use crate::bus::subjects::{self, Source};
use crate::bus::system::{EVENT_ID, ORG};
use crate::db::webhook_events;
use crate::faults::{self, Fault};

/// Done when a lane of a turn has applied its events (or given up on them); the next turn's
/// lane of the same org waits for it, so an org's events stay in stream order across turns.
pub(super) type LaneDone = Shared<oneshot::Receiver<()>>;

/// What the turns of one ingest actor share.
pub(super) struct Turns {
    pub args: IngestArgs,
    /// The keys of the events applied lately, with the number of the turn that applied them. A
    /// turn asks the database which of its events were already applied while the turn before it
    /// may not have recorded its own yet; these cover that gap, so a duplicate is not applied
    /// twice. Turn `n + 1` asks before turn `n` has recorded, and may still be running when
    /// turn `n + 2` starts; it is done when turn `n + 3` starts, and turn `n`'s keys go then.
    applied: Mutex<HashMap<String, u64>>,
}

/// The event's source and upstream id; `None` for a message ingest cannot place.
fn identify(message: &jetstream::Message) -> Option<(Source, String)> {
    let event_id = message.headers.as_ref()?.get(EVENT_ID)?.as_str().to_owned();
    let source = subjects::parse_system(&message.subject).ok()?;
    Some((source, event_id))
}

/// One delivery of an event, as JetStream handed it over: what retrying it, dead-lettering it
/// or recording it needs.
struct Delivery {
    message: jetstream::Message,
    source: Source,
    event_id: String,
    /// How many times JetStream has delivered it, this time included.
    delivered: i64,
}

/// An event whose effects are committed: recorded with the rest of its turn, then acknowledged.
struct Applied {
    delivery: Delivery,
    outcome: Outcome,
}

impl Turns {
    pub(super) fn new(args: IngestArgs) -> Self {
        Self { args, applied: Mutex::default() }
    }

    /// Turn number `turn`: `batch` applied one lane per org, each after `after`'s lane of the
    /// same org, different orgs' at the same time; then the applied events are recorded in one
    /// transaction and acknowledged. Gives each of its lanes' done signals for the next turn.
    pub(super) fn start(
        self: &Arc<Self>,
        turn: u64,
        batch: Vec<jetstream::Message>,
        after: &HashMap<String, LaneDone>,
    ) -> (tokio::task::JoinHandle<Result<(), ActorProcessingErr>>, HashMap<String, LaneDone>) {
        self.applied().retain(|_, by| *by + 3 > turn);
        let mut lanes: HashMap<String, Vec<jetstream::Message>> = HashMap::new();
        for message in batch {
            let org = message.headers.as_ref().and_then(|h| h.get(ORG)).map(|v| v.as_str());
            lanes.entry(lane(org, &message.payload)).or_default().push(message);
        }
        let mut done = HashMap::new();
        let mut work = Vec::new();
        for (name, messages) in lanes {
            let (finished, signal) = oneshot::channel();
            done.insert(name.clone(), signal.shared());
            work.push((after.get(&name).cloned(), messages, finished));
        }
        let turns = self.clone();
        (tokio::spawn(async move { turns.run(turn, work).await }), done)
    }

    /// The keys applied lately; a panic elsewhere leaves them as valid as before.
    fn applied(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.applied.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Events whose record failed: they will be delivered again, and must not pass for
    /// duplicates then.
    fn forget(&self, applied: &[Applied]) {
        let mut lately = self.applied();
        for done in applied {
            lately.remove(&webhook_events::key(done.delivery.source, &done.delivery.event_id));
        }
    }

    async fn run(
        &self,
        turn: u64,
        lanes: Vec<(Option<LaneDone>, Vec<jetstream::Message>, oneshot::Sender<()>)>,
    ) -> Result<(), ActorProcessingErr> {
        let ids: Vec<(Source, String)> =
            lanes.iter().flat_map(|(_, lane, _)| lane.iter().filter_map(identify)).collect();
        let ids: Vec<(Source, &str)> = ids.iter().map(|(source, event)| (*source, event.as_str())).collect();
        let seen = self.args.repos.webhook_events().seen(&ids).await.map_err(|err| err.to_string());
        let seen = &seen;
        let lanes = lanes.into_iter().map(|(after, lane, finished)| async move {
            if let Some(after) = after {
                // A lane whose turn failed has applied what it could: go on either way.
                let _ = after.await;
            }
            let mut applied = Vec::new();
            for message in lane {
                applied.extend(self.process(turn, message, seen).await?);
            }
            let _ = finished.send(());
            Ok::<_, ActorProcessingErr>(applied)
        });
        let applied: Vec<Applied> =
            futures::future::try_join_all(lanes).await?.into_iter().flatten().collect();
        self.record_and_ack(applied).await
    }

    /// Applies one event; `Some` when its effects are committed and it awaits its record.
    /// `seen` holds the keys of the turn's events already applied, or why they could not be read.
    async fn process(
        &self,
        turn: u64,
        message: jetstream::Message,
        seen: &Result<HashSet<String>, String>,
    ) -> Result<Option<Applied>, ActorProcessingErr> {
        let stats = &self.args.stats;
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        if delivered == 1 {
            IngestStats::bump(&stats.received);
        }
        let Some((source, event_id)) = identify(&message) else {
            let unplaced = Delivery { message, source: Source::Clerk, event_id: "-".into(), delivered };
            self.dead_letter(&unplaced, "no event id or not a system subject").await?;
            return Ok(None);
        };
        let delivery = Delivery { message, source, event_id, delivered };
        let (message, event_id) = (&delivery.message, &delivery.event_id);
        let span = tracing::info_span!("ingest", source = source.as_str(), event = %event_id, delivered);
        let _enter = span.enter();
        let key = webhook_events::key(source, event_id);
        let applied_lately = self.applied().contains_key(&key);
        match seen {
            Ok(seen) if applied_lately || seen.contains(&key) => {
                IngestStats::bump(&stats.duplicates);
                message.ack().await?;
                return Ok(None);
            }
            Ok(_) => {}
            Err(err) => {
                self.retry_or_give_up(&delivery, err).await?;
                return Ok(None);
            }
        }
        let applied = match faults::fires(Fault::FailApply, event_id) {
            true => Err(Failure::Transient(crate::error::ApiError::unavailable("injected failure"))),
            false => {
                let org = message.headers.as_ref().and_then(|h| h.get(ORG)).map(|v| v.as_str());
                apply(source, org, &message.payload, &self.args.owners, &self.args.repos).await
            }
        };
        match applied {
            Ok(outcome) => {
                if faults::fires(Fault::PanicAfterApply, event_id) {
                    panic!("injected fault: ingest panics after applying {event_id}");
                }
                self.applied().insert(key, turn);
                return Ok(Some(Applied { delivery, outcome }));
            }
            Err(Failure::Permanent(err)) => self.dead_letter(&delivery, &err.message).await?,
            Err(failure @ Failure::Transient(_)) => {
                self.retry_or_give_up(&delivery, failure.reason()).await?
            }
        }
        Ok(None)
    }

    async fn record_and_ack(&self, applied: Vec<Applied>) -> Result<(), ActorProcessingErr> {
        let records: Vec<(Source, &str, &str)> = applied
            .iter()
            .map(|done| (done.delivery.source, done.delivery.event_id.as_str(), done.outcome.kind()))
            .collect();
        if let Err(err) = self.args.repos.webhook_events().record_many(&records).await {
            self.forget(&applied);
            for done in &applied {
                self.retry_or_give_up(&done.delivery, &err.to_string()).await?;
            }
            return Ok(());
        }
        for done in applied {
            match &done.outcome {
                Outcome::Applied(_) => IngestStats::bump(&self.args.stats.applied),
                Outcome::Unknown(kind) => {
                    tracing::info!(kind, event = %done.delivery.event_id, "unknown event type acknowledged");
                    IngestStats::bump(&self.args.stats.unknown);
                }
            }
            done.delivery.message.ack().await?;
        }
        Ok(())
    }

    async fn retry_or_give_up(&self, delivery: &Delivery, reason: &str) -> Result<(), ActorProcessingErr> {
        let delivered = delivery.delivered;
        if delivered >= MAX_DELIVER {
            return self.dead_letter(delivery, reason).await;
        }
        tracing::warn!(reason, "system event failed; it will be delivered again");
        IngestStats::bump(&self.args.stats.retried);
        let backoff = Duration::from_millis(100 * 2u64.pow(u32::try_from(delivered - 1).unwrap_or(0).min(6)));
        delivery.message.ack_with(AckKind::Nak(Some(backoff))).await?;
        Ok(())
    }

    /// Parks the event with why it failed, then acknowledges it: it will not be retried again.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), ActorProcessingErr> {
        let Delivery { message, source, event_id, delivered } = delivery;
        tracing::error!(reason, delivered, "system event dead-lettered");
        let mut headers = HeaderMap::new();
        headers.insert(EVENT_ID, event_id.as_str());
        headers.insert("Assist-Original-Subject", message.subject.as_str());
        headers.insert("Assist-Failure", crate::bus::envelope::header_safe(reason).as_str());
        headers.insert("Assist-Deliveries", delivered.to_string().as_str());
        let subject = subjects::dead_letter(*source);
        self.args.js.publish_with_headers(subject, headers, message.payload.clone()).await?.await?;
        IngestStats::bump(&self.args.stats.dead_lettered);
        message.ack_with(AckKind::Term).await?;
        Ok(())
    }
}
