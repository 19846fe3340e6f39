//! One answer: retrieve, stream, report.

use std::time::Duration;

use futures::StreamExt;

use super::prompt::{self, HANDOFF, RESOLVE};
use super::{Action, AgentConfig, Answer, AnswerReport, Turn};
use crate::bus::ai::{self, ChatEvent, Usage};
use crate::bus::events::EventPublisher;
use crate::bus::subjects::{self, OwnerVerb};
use crate::db::chunks::Chunks;
use crate::error::ApiError;
use crate::ids::{MessageId, OrgId};
use crate::model::agent::{MessageDelta, Suggestion};
use crate::model::conversation::Message;
use crate::model::knowledge::SearchHit;

/// Pieces of text are gathered this long (or to this length) before they go out as one
/// `message.delta`: each delta is an event stored on the change feed.
const DELTA_EVERY: Duration = Duration::from_millis(40);
const DELTA_CHARS: usize = 48;

pub(super) async fn run(
    nats: &async_nats::Client,
    events: &EventPublisher,
    config: AgentConfig,
    deadline: Duration,
    turn: &Turn,
    message_id: &MessageId,
) -> (Answer, Usage) {
    let mut usage = Usage::default();
    let hits = match retrieve(
        nats,
        &turn.org,
        &turn.chunks,
        &turn.transcript,
        config.passages,
        deadline,
        &mut usage,
    )
    .await
    {
        Ok(hits) => hits,
        Err(err) => return (Answer::Failed { reason: err.message }, usage),
    };
    let request = prompt::answer(&turn.instructions, &hits, &turn.transcript);
    let mut stream = match ai::chat(nats, &turn.org, &request, config.stall).await {
        Ok(stream) => stream,
        Err(err) => return (Answer::Failed { reason: err.message }, usage),
    };
    let mut out = Deltas { events, turn, message_id, seq: 0, pending: String::new(), text: String::new() };
    let mut action = None;
    let mut tick = tokio::time::interval(DELTA_EVERY);
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = tick.tick() => {
                out.flush().await;
                continue;
            }
        };
        match event {
            Some(Ok(ChatEvent::Delta { text })) => {
                out.push(&text);
                if out.pending.len() >= DELTA_CHARS {
                    out.flush().await;
                }
            }
            Some(Ok(ChatEvent::ToolCall { name, .. })) if name == HANDOFF => action = Some(Action::Handoff),
            Some(Ok(ChatEvent::ToolCall { name, .. })) if name == RESOLVE => {
                action = action.or(Some(Action::Resolve))
            }
            Some(Ok(ChatEvent::ToolCall { name, .. })) => {
                return (
                    Answer::Failed { reason: format!("the model called an unknown tool `{name}`") },
                    usage,
                );
            }
            Some(Ok(ChatEvent::Done { usage: used })) => {
                usage += used;
                break;
            }
            Some(Err(err)) => return (Answer::Failed { reason: err.message }, usage),
            None => {
                return (Answer::Failed { reason: "the answer ended before it was complete".into() }, usage);
            }
        }
    }
    out.flush().await;
    let text = out.text.trim().to_owned();
    if text.is_empty() && action.is_none() {
        return (Answer::Failed { reason: "the model answered with nothing".into() }, usage);
    }
    (Answer::Answered { text, sources: prompt::sources(&hits), action }, usage)
}

/// The org's passages closest to what the customer asked since the last answer.
async fn retrieve(
    nats: &async_nats::Client,
    org: &OrgId,
    chunks: &Chunks,
    transcript: &[Message],
    passages: usize,
    deadline: Duration,
    usage: &mut Usage,
) -> Result<Vec<SearchHit>, ApiError> {
    let question = prompt::question(transcript);
    if question.trim().is_empty() {
        return Ok(Vec::new());
    }
    let (vector, used) = ai::embed_one(nats, org, question, deadline).await?;
    *usage += used;
    Ok(chunks.search(org, &vector, passages).await?)
}

/// The answer's text as it streams: published in order, in pieces of a few words.
struct Deltas<'a> {
    events: &'a EventPublisher,
    turn: &'a Turn,
    message_id: &'a MessageId,
    seq: u32,
    pending: String,
    text: String,
}

impl Deltas<'_> {
    fn push(&mut self, piece: &str) {
        self.pending.push_str(piece);
        self.text.push_str(piece);
    }

    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let delta = MessageDelta {
            conversation_id: self.turn.conversation.clone(),
            message_id: self.message_id.clone(),
            seq: self.seq,
            text: std::mem::take(&mut self.pending),
        };
        self.events.publish(&self.turn.org, "message", "delta", self.turn.audience.clone(), &delta).await;
        self.seq += 1;
    }
}

/// Tells the org's owner, wherever it lives by then.
pub(super) async fn tell_owner(
    nats: &async_nats::Client,
    org: &OrgId,
    report: &AnswerReport,
    deadline: Duration,
) {
    let body = match serde_json::to_vec(report) {
        Ok(body) => body,
        Err(err) => return tracing::error!(error = %err, "encoding an answer report"),
    };
    let subject = subjects::owner(org, OwnerVerb::Answered);
    if let Err(err) = crate::bus::request(nats, subject, Default::default(), body.into(), deadline).await {
        // The conversation stays owed an answer; the org's next activation answers it.
        tracing::warn!(%org, conversation = %report.conversation_id, error = %err, "could not report an answer");
    }
}

/// A reply an operator may send: grounded in the same passages the agent would see.
pub(crate) async fn draft(
    nats: &async_nats::Client,
    config: AgentConfig,
    deadline: Duration,
    org: &OrgId,
    chunks: &Chunks,
    transcript: &[Message],
) -> Result<(Suggestion, Usage), ApiError> {
    let mut usage = Usage::default();
    let hits = retrieve(nats, org, chunks, transcript, config.passages, deadline, &mut usage).await?;
    let mut stream = ai::chat(nats, org, &prompt::draft(&hits, transcript), config.stall).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::Delta { text: piece } => text.push_str(&piece),
            ChatEvent::ToolCall { .. } => {}
            ChatEvent::Done { usage: used } => usage += used,
        }
    }
    Ok((Suggestion { text: text.trim().to_owned(), sources: prompt::sources(&hits) }, usage))
}
