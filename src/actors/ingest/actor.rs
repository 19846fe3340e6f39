use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use futures::{FutureExt, StreamExt};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

use super::turn::{LaneDone, Turns};
use super::{IngestArgs, MAX_DELIVER};
use crate::bus::subjects::{self, Source};
use crate::bus::system::{CONSUMER, STREAM};

pub(crate) struct IngestActor;

pub(crate) struct IngestState {
    turns: Arc<Turns>,
    messages: pull::Stream,
    /// Turns started so far: the number of the next.
    started: u64,
    /// The last turn started, still applying or recording while the next one is taken.
    previous: Option<Running>,
}

struct Running {
    task: JoinHandle<Result<(), ActorProcessingErr>>,
    lanes: HashMap<String, LaneDone>,
}

pub(crate) enum IngestMsg {
    /// Take the next event from the stream (self-sent, so stop signals get in between).
    Pull,
}

/// How long one pull waits for an event before giving the mailbox a turn.
const PULL_WAIT: Duration = Duration::from_millis(250);
/// Events taken in one turn at most (and asked of JetStream in one pull): applied concurrently
/// across orgs, in stream order within one. A turn takes what has arrived, so under load it
/// is as large as the stream delivers at once, and its fixed costs (the duplicate check, the
/// record, the rounds of group commits that its activations and writes go through) are shared
/// by all of them: larger turns apply more events per second.
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
        Ok(IngestState { turns: Arc::new(Turns::new(args)), messages, started: 0, previous: None })
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
        state.turn(batch).await?;
        myself.send_message(IngestMsg::Pull)?;
        Ok(())
    }

    /// A stop lets the turn in flight finish, as it did when a turn ran inside `handle`: its
    /// events are then acknowledged rather than delivered again after their wait.
    async fn post_stop(
        &self,
        _: ActorRef<IngestMsg>,
        state: &mut IngestState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(previous) = state.previous.take() {
            let _ = previous.task.await;
        }
        Ok(())
    }
}

impl IngestState {
    /// Starts `batch` as a turn of its own, then waits for the turn before it: two turns are in
    /// flight at most, so one's waits on the database (its chain of group commits, its record)
    /// overlap the next one's work, and an org's events in the second wait for its events in the
    /// first. A turn that panicked brings the actor down as if it had panicked here.
    async fn turn(&mut self, batch: Vec<jetstream::Message>) -> Result<(), ActorProcessingErr> {
        let previous = self.previous.take();
        if !batch.is_empty() {
            let after = previous.as_ref().map(|p| &p.lanes).cloned().unwrap_or_default();
            let (task, lanes) = self.turns.start(self.started, batch, &after);
            self.started += 1;
            self.previous = Some(Running { task, lanes });
        }
        let Some(previous) = previous else { return Ok(()) };
        match previous.task.await {
            Ok(outcome) => outcome,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(err.into()),
        }
    }
}
