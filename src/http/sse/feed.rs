//! What one event stream sends: on resume, the org's events after the client's last id replayed
//! from JetStream, then the hub's live events, without a gap or a repeat between the two.
//!
//! The stream listens to the hub *before* the replay's consumer is created, so every event
//! stored after that reaches it live, and the replay reads until JetStream says nothing is
//! pending, which covers everything stored before. The two overlap by whatever was stored in
//! between; both are in stream order, so dropping live events at or below the last sequence sent
//! removes exactly the repeats.

use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::{self, Message};
use axum::response::sse::Event;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::hub::Delivery;
use crate::bus::BusError;
use crate::bus::events::{self, Audience};
use crate::bus::subjects;
use crate::ids::{ContactSessionId, OrgId};

/// How long a replay may wait for an event JetStream said was pending. One that stalls (the
/// event expired meanwhile, or JetStream went away) ends the stream; the client resumes.
const REPLAY_STALL: Duration = Duration::from_secs(10);

pub(super) struct Feed {
    /// `Some` until the replay has caught up.
    replay: Option<Ordered>,
    live: mpsc::Receiver<Delivery>,
    /// `None`: an operator, who sees every event of the org.
    viewer: Option<ContactSessionId>,
    /// The sequence of the last event sent (or skipped as not the viewer's).
    last: u64,
}

impl Feed {
    /// Live events only.
    pub fn live(live: mpsc::Receiver<Delivery>, viewer: Option<ContactSessionId>) -> Self {
        Self { replay: None, live, viewer, last: 0 }
    }

    /// The org's events after `last` from JetStream, then `live` (which must already be
    /// listening). `last` comes from the client: beyond the stream's last sequence it is
    /// bounded to it, so the stream neither overflows nor holds back the events to come.
    pub async fn resume(
        js: &jetstream::Context,
        org: &OrgId,
        last: u64,
        live: mpsc::Receiver<Delivery>,
        viewer: Option<ContactSessionId>,
    ) -> Result<Self, BusError> {
        let failed = |e: &dyn std::fmt::Display| BusError::JetStream(format!("replaying events: {e}"));
        let stream = js.get_stream(events::STREAM).await.map_err(|e| failed(&e))?;
        let last = last.min(stream.cached_info().state.last_sequence);
        let config = OrderedConfig {
            filter_subject: subjects::events_of(org),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: last.saturating_add(1) },
            ..Default::default()
        };
        let consumer = stream.create_consumer(config).await.map_err(|e| failed(&e))?;
        let replay = match consumer.cached_info().num_pending {
            0 => None,
            _ => Some(consumer.messages().await.map_err(|e| failed(&e))?),
        };
        Ok(Self { replay, live, viewer, last })
    }

    /// The next event to send; `None` ends the stream (the hub dropped it as too slow, or the
    /// replay failed).
    pub async fn next(&mut self) -> Option<Event> {
        while let Some(replay) = &mut self.replay {
            let message = match tokio::time::timeout(REPLAY_STALL, replay.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(err))) => return stop(&err),
                Ok(None) => return stop(&"the consumer ended"),
                Err(_) => return stop(&"no event within the stall bound"),
            };
            let Ok(info) = message.info() else { return stop(&"an event without a sequence") };
            if info.pending == 0 {
                self.replay = None;
            }
            self.last = info.stream_sequence;
            if let Some(event) = self.visible(&message) {
                return Some(event);
            }
        }
        loop {
            let delivery = self.live.recv().await?;
            if delivery.seq > self.last {
                self.last = delivery.seq;
                return Some(delivery.event);
            }
        }
    }

    /// The hub filters live events by audience itself; replayed ones are filtered here.
    fn visible(&self, message: &Message) -> Option<Event> {
        let audience = Audience::of(message.headers.as_ref());
        audience.includes(self.viewer.as_ref()).then(|| Delivery::of(message)).flatten().map(|(_, d)| d.event)
    }
}

fn stop(reason: &dyn std::fmt::Display) -> Option<Event> {
    tracing::warn!(%reason, "event stream replay broke; the client resumes");
    None
}
