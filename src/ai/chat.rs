//! A streamed chat completion turned into [`ChatEvent`]s: each server-sent event's text is
//! passed on as soon as it arrives; tool calls and usage follow at `[DONE]`. A silence longer
//! than the idle timeout, a stream cut short or an unreadable chunk ends it with an error.

use std::collections::VecDeque;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::Response;

use super::wire::{self, Assembly};
use super::{AiError, AiMetrics, Api};
use crate::bus::ai::ChatEvent;
use crate::ids::OrgId;
use crate::upstream::{Slot, chain};

/// The answer's events; the org's slot is held until the stream ends or is dropped.
pub(super) fn events(
    response: Response,
    idle: Duration,
    slot: Slot,
    org: OrgId,
    metrics: AiMetrics,
) -> BoxStream<'static, Result<ChatEvent, AiError>> {
    let reader = Reader {
        sse: response.bytes_stream().eventsource().boxed(),
        idle,
        assembly: Assembly::default(),
        ready: VecDeque::new(),
        ended: false,
        _slot: slot,
        org,
        metrics,
    };
    futures::stream::unfold(reader, |mut reader| async move {
        let event = reader.next().await?;
        Some((event, reader))
    })
    .boxed()
}

type Sse = BoxStream<'static, Result<Event, EventStreamError<reqwest::Error>>>;

struct Reader {
    sse: Sse,
    idle: Duration,
    assembly: Assembly,
    /// Events read but not yet handed over.
    ready: VecDeque<ChatEvent>,
    /// `[DONE]` or an error was read: nothing more comes after `ready`.
    ended: bool,
    _slot: Slot,
    org: OrgId,
    metrics: AiMetrics,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<ChatEvent, AiError>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            if let Err(error) = self.read().await {
                tracing::warn!(org = %self.org, %error, "a streamed chat answer failed");
                self.ended = true;
                return Some(Err(error));
            }
        }
    }

    /// Reads one server-sent event into `ready`.
    async fn read(&mut self) -> Result<(), AiError> {
        let event = match tokio::time::timeout(self.idle, self.sse.next()).await {
            Err(_) => {
                let ms = self.idle.as_millis();
                return Err(AiError::Unavailable(
                    Api::Chat,
                    format!("it fell silent mid-answer for {ms} ms"),
                ));
            }
            Ok(None) => return Err(AiError::Malformed(Api::Chat, "the stream ended before [DONE]".into())),
            Ok(Some(Err(err))) => {
                return Err(AiError::Unavailable(Api::Chat, format!("the stream broke: {}", chain(&err))));
            }
            Ok(Some(Ok(event))) => event,
        };
        let data = event.data.trim();
        if data == "[DONE]" {
            self.ended = true;
            let events = std::mem::take(&mut self.assembly).finish()?;
            if let Some(ChatEvent::Done { usage }) = events.last() {
                self.metrics.tokens(Api::Chat, *usage);
                tracing::info!(
                    org = %self.org, input_tokens = usage.input_tokens, output_tokens = usage.output_tokens,
                    "chat answer done"
                );
            }
            self.ready.extend(events);
        } else if !data.is_empty() {
            let chunk = wire::chunk(data)?;
            self.ready.extend(self.assembly.add(chunk).map(|text| ChatEvent::Delta { text }));
        }
        Ok(())
    }
}
