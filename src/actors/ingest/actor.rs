use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::jetstream::{self, AckKind};
use futures::{FutureExt, StreamExt};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::apply::{Failure, Outcome, Owners, apply, lane};
use super::{IngestStats, MAX_DELIVER};
use crate::bus::subjects::{self, Source};
use crate::bus::system::{CONSUMER, EVENT_ID, ORG, STREAM};
use crate::db::{Repos, webhook_events};
use crate::faults::{self, Fault};

pub(crate) struct IngestActor;

#[derive(Clone)]
pub(crate) struct IngestArgs {
    pub js: jetstream::Context,
    /// Org-scoped effects go to the org's owner, on this node or another.
    pub owners: Owners,
    pub repos: Repos,
    pub stats: Arc<IngestStats>,
    /// How long a delivered event may go unacknowledged before JetStream delivers it again.
    pub ack_wait: Duration,
}

pub(crate) struct IngestState {
    args: IngestArgs,
    messages: pull::Stream,
}

pub(crate) enum IngestMsg {
    /// Take the next event from the stream (self-sent, so stop signals get in between).
    Pull,
}

/// How long one pull waits for an event before giving the mailbox a turn.
const PULL_WAIT: Duration = Duration::from_millis(250);
/// Events taken in one turn at most (and asked of JetStream in one pull): applied concurrently
/// across orgs, in stream order within one. A turn takes what has arrived, so under load it
/// is as large as the stream delivers at once (about 50–130 events in the webhook benchmark),
/// and its fixed costs (the duplicate check, the record, the rounds of group commits that its
/// activations and writes go through) are shared by all of them: with at most 64 a turn,
/// webhooks were applied at 1,320/s, with 512 at 1,445–1,725/s (BENCHMARKS.md).
const BATCH: usize = 512;

impl Actor for IngestActor {
    type Msg = IngestMsg;
    type State = IngestState;
    type Arguments = IngestArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<IngestMsg>,
        args: IngestArgs,
    ) -> Result<IngestState, ActorProcessingErr> {
        let stream = args.js.get_stream(STREAM).await?;
        let config = pull::Config {
            durable_name: Some(CONSUMER.into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: args.ack_wait,
            max_deliver: MAX_DELIVER,
            filter_subjects: vec![subjects::system_all(Source::Clerk), subjects::system_all(Source::Vapi)],
            ..Default::default()
        };
        let consumer = stream.get_or_create_consumer(CONSUMER, config).await?;
        let messages = consumer.stream().max_messages_per_batch(BATCH).messages().await?;
        myself.send_message(IngestMsg::Pull)?;
        Ok(IngestState { args, messages })
    }

    async fn handle(
        &self,
        myself: ActorRef<IngestMsg>,
        msg: IngestMsg,
        state: &mut IngestState,
    ) -> Result<(), ActorProcessingErr> {
        let IngestMsg::Pull = msg;
        let mut batch = Vec::new();
        match tokio::time::timeout(PULL_WAIT, state.messages.next()).await {
            Ok(Some(Ok(message))) => batch.push(message),
            Ok(Some(Err(err))) => tracing::warn!(error = %err, "system ingest: pulling"),
            Ok(None) => return Err("the system event consumer ended".into()),
            Err(_) => {}
        }
        while !batch.is_empty() && batch.len() < BATCH {
            match state.messages.next().now_or_never() {
                Some(Some(Ok(message))) => batch.push(message),
                _ => break,
            }
        }
        state.process_batch(batch).await?;
        myself.send_message(IngestMsg::Pull)?;
        Ok(())
    }
}

/// The event's source and upstream id; `None` for a message ingest cannot place.
fn identify(message: &jetstream::Message) -> Option<(Source, String)> {
    let event_id = message.headers.as_ref()?.get(EVENT_ID)?.as_str().to_owned();
    let source = subjects::parse_system(&message.subject).ok()?;
    Some((source, event_id))
}

/// An event whose effects are committed: recorded with the rest of its turn, then acknowledged.
struct Applied {
    message: jetstream::Message,
    source: Source,
    event_id: String,
    outcome: Outcome,
    delivered: i64,
}

impl IngestState {
    /// One lane per org (and one for the rest): an org's events are applied in stream order,
    /// different orgs' at the same time, so one slow activation does not hold up the others.
    /// The applied events of the turn are then recorded in one transaction and acknowledged.
    async fn process_batch(&self, batch: Vec<jetstream::Message>) -> Result<(), ActorProcessingErr> {
        let ids: Vec<(Source, String)> = batch.iter().filter_map(identify).collect();
        let ids: Vec<(Source, &str)> = ids.iter().map(|(source, event)| (*source, event.as_str())).collect();
        let seen = self.args.repos.webhook_events.seen(&ids).await.map_err(|err| err.to_string());
        let seen = &seen;
        let mut lanes: HashMap<String, Vec<jetstream::Message>> = HashMap::new();
        for message in batch {
            let org = message.headers.as_ref().and_then(|h| h.get(ORG)).map(|v| v.as_str());
            lanes.entry(lane(org, &message.payload)).or_default().push(message);
        }
        let lanes = lanes.into_values().map(|lane| async move {
            let mut applied = Vec::new();
            for message in lane {
                applied.extend(self.process(message, seen).await?);
            }
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
        message: jetstream::Message,
        seen: &Result<HashSet<String>, String>,
    ) -> Result<Option<Applied>, ActorProcessingErr> {
        let stats = &self.args.stats;
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        if delivered == 1 {
            IngestStats::bump(&stats.received);
        }
        let Some((source, event_id)) = identify(&message) else {
            self.dead_letter(&message, Source::Clerk, "-", "no event id or not a system subject", delivered)
                .await?;
            return Ok(None);
        };
        let span = tracing::info_span!("ingest", source = source.as_str(), event = %event_id, delivered);
        let _enter = span.enter();
        match seen {
            Ok(seen) if seen.contains(&webhook_events::key(source, &event_id)) => {
                IngestStats::bump(&stats.duplicates);
                message.ack().await?;
                return Ok(None);
            }
            Ok(_) => {}
            Err(err) => {
                self.retry_or_give_up(&message, source, &event_id, err, delivered).await?;
                return Ok(None);
            }
        }
        let applied = match faults::fires(Fault::FailApply, &event_id) {
            true => Err(Failure::Transient(crate::error::ApiError::unavailable("injected failure"))),
            false => {
                let org = message.headers.as_ref().and_then(|h| h.get(ORG)).map(|v| v.as_str());
                apply(source, org, &message.payload, &self.args.owners, &self.args.repos).await
            }
        };
        match applied {
            Ok(outcome) => {
                if faults::fires(Fault::PanicAfterApply, &event_id) {
                    panic!("injected fault: ingest panics after applying {event_id}");
                }
                return Ok(Some(Applied { message, source, event_id, outcome, delivered }));
            }
            Err(Failure::Permanent(err)) => {
                self.dead_letter(&message, source, &event_id, &err.message, delivered).await?;
            }
            Err(failure @ Failure::Transient(_)) => {
                self.retry_or_give_up(&message, source, &event_id, failure.reason(), delivered).await?;
            }
        }
        Ok(None)
    }

    async fn record_and_ack(&self, applied: Vec<Applied>) -> Result<(), ActorProcessingErr> {
        let records: Vec<(Source, &str, &str)> =
            applied.iter().map(|done| (done.source, done.event_id.as_str(), done.outcome.kind())).collect();
        if let Err(err) = self.args.repos.webhook_events.record_many(&records).await {
            for done in &applied {
                let (message, source, event_id) = (&done.message, done.source, &done.event_id);
                self.retry_or_give_up(message, source, event_id, &err.to_string(), done.delivered).await?;
            }
            return Ok(());
        }
        for done in applied {
            match &done.outcome {
                Outcome::Applied(_) => IngestStats::bump(&self.args.stats.applied),
                Outcome::Unknown(kind) => {
                    tracing::info!(kind, event = %done.event_id, "unknown event type acknowledged");
                    IngestStats::bump(&self.args.stats.unknown);
                }
            }
            done.message.ack().await?;
        }
        Ok(())
    }

    async fn retry_or_give_up(
        &self,
        message: &jetstream::Message,
        source: Source,
        event_id: &str,
        reason: &str,
        delivered: i64,
    ) -> Result<(), ActorProcessingErr> {
        if delivered >= MAX_DELIVER {
            return self.dead_letter(message, source, event_id, reason, delivered).await;
        }
        tracing::warn!(reason, "system event failed; it will be delivered again");
        IngestStats::bump(&self.args.stats.retried);
        let backoff = Duration::from_millis(100 * 2u64.pow(u32::try_from(delivered - 1).unwrap_or(0).min(6)));
        message.ack_with(AckKind::Nak(Some(backoff))).await?;
        Ok(())
    }

    /// Parks the event with why it failed, then acknowledges it: it will not be retried again.
    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        source: Source,
        event_id: &str,
        reason: &str,
        delivered: i64,
    ) -> Result<(), ActorProcessingErr> {
        tracing::error!(reason, delivered, "system event dead-lettered");
        let mut headers = HeaderMap::new();
        headers.insert(EVENT_ID, event_id);
        headers.insert("Assist-Original-Subject", message.subject.as_str());
        headers.insert("Assist-Failure", crate::bus::envelope::header_safe(reason).as_str());
        headers.insert("Assist-Deliveries", delivered.to_string().as_str());
        let subject = subjects::dead_letter(source);
        self.args.js.publish_with_headers(subject, headers, message.payload.clone()).await?.await?;
        IngestStats::bump(&self.args.stats.dead_lettered);
        message.ack_with(AckKind::Term).await?;
        Ok(())
    }
}
