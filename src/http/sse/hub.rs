//! The node's one live subscription to the change feed, fanned out in memory to the event
//! streams open on this node. With a JetStream consumer per stream, one change cost the server a
//! delivery per open stream (about 1,000 for a busy org); now it costs one delivery per node, and
//! the streams of the change's org get it from here.
//!
//! The subscription is an ordered JetStream consumer on every event subject, not a core NATS
//! subscription: only JetStream tells each event's stream sequence, which is the SSE id that a
//! reconnecting client resumes from and by which a resuming stream drops what its replay already
//! sent. An ordered consumer is ephemeral (nothing to clean up when the node goes), needs no acks,
//! and re-creates itself after a gap or a lost heartbeat from the last sequence it delivered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::{self, Message};
use axum::response::sse::Event;
use futures::StreamExt;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use super::caps::StreamLimits;
use crate::bus::BusError;
use crate::bus::events::{self, Audience};
use crate::bus::subjects;
use crate::error::ApiError;
use crate::http::settings_cache::SettingsCache;
use crate::ids::{ContactSessionId, OrgId};

/// Events a client may have in flight before it counts as too slow and is disconnected.
const CLIENT_BUFFER: usize = 256;
/// The pause before the feed is read again after its consumer failed, so an outage is retried
/// (and logged) once a second rather than in a tight loop.
const RESUBSCRIBE: Duration = Duration::from_secs(1);

/// One change as a stream sends it, with its stream sequence (the SSE id).
#[derive(Clone)]
pub(super) struct Delivery {
    pub seq: u64,
    pub event: Event,
}

impl Delivery {
    /// The SSE form of an event message: `id:` the stream sequence, `event: <resource>.<change>`,
    /// `data:` the JSON. `None` for a subject that is not an event's, or a message without a
    /// JetStream sequence.
    pub fn of(message: &Message) -> Option<(OrgId, Self)> {
        let seq = message.info().ok()?.stream_sequence;
        let (org, resource, change) = subjects::parse_event(&message.subject).ok()?;
        let data = String::from_utf8_lossy(&message.payload);
        let event = Event::default().id(seq.to_string()).event(format!("{resource}.{change}")).data(data);
        Some((org, Self { seq, event }))
    }
}

/// An open stream's end of the hub.
struct Listener {
    /// `None`: an operator, who sees every event of the org.
    viewer: Option<ContactSessionId>,
    tx: mpsc::Sender<Delivery>,
}

impl Listener {
    /// Queues the delivery if the listener may see it; `false` once the listener is gone or too
    /// slow, so the hub forgets it (a too slow client's stream then ends after what is queued).
    fn offer(&self, audience: &Audience, org: &OrgId, delivery: &Delivery) -> bool {
        if !audience.includes(self.viewer.as_ref()) {
            return !self.tx.is_closed();
        }
        match self.tx.try_send(delivery.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::info!(%org, "event stream client too slow; disconnected");
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// The open streams of each org on this node. Cheap to clone; the edge holds one per node.
#[derive(Clone)]
pub struct EventHub {
    listeners: Arc<Mutex<HashMap<OrgId, Vec<Listener>>>>,
    /// Kept current from the same feed.
    settings: SettingsCache,
    limits: StreamLimits,
}

impl EventHub {
    /// Subscribes to the change feed from its current end and fans it out, to the streams and
    /// to `settings`, until `shutdown`.
    pub async fn start(
        js: &jetstream::Context,
        settings: SettingsCache,
        limits: StreamLimits,
        shutdown: CancellationToken,
    ) -> Result<Self, BusError> {
        let stream = js.get_stream(events::STREAM).await.map_err(|e| BusError::JetStream(e.to_string()))?;
        let next = stream.cached_info().state.last_sequence + 1;
        let messages = subscribe(js, next).await?;
        let hub = Self { listeners: Arc::default(), settings, limits };
        tokio::spawn(hub.clone().run(js.clone(), messages, next, shutdown));
        Ok(hub)
    }

    /// A stream's feed of the org's events it may see (`viewer`: see [`Listener`]), from every
    /// event the hub reads from now on. Up to [`CLIENT_BUFFER`] wait; beyond that the stream ends.
    /// Refused when the org already has as many streams for the viewer as [`StreamLimits`] allow.
    pub(super) fn listen(
        &self,
        org: OrgId,
        viewer: Option<ContactSessionId>,
    ) -> Result<mpsc::Receiver<Delivery>, ApiError> {
        let mut listeners = self.lock();
        let streams = listeners.entry(org).or_default();
        // Streams that ended since the org's last event are forgotten here.
        streams.retain(|l| !l.tx.is_closed());
        self.limits.admit(streams.iter().map(|l| l.viewer.as_ref()), viewer.as_ref())?;
        let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
        streams.push(Listener { viewer, tx });
        Ok(rx)
    }

    /// Reads the feed. `next` is the sequence after the last event read: a consumer that failed
    /// is replaced by one starting there, so no event is skipped, which a stream switching from
    /// its replay to the hub relies on.
    async fn run(
        self,
        js: jetstream::Context,
        mut messages: Ordered,
        mut next: u64,
        shutdown: CancellationToken,
    ) {
        loop {
            let read = tokio::select! {
                () = shutdown.cancelled() => return,
                read = messages.next() => read,
            };
            match read {
                Some(Ok(message)) => {
                    if let Ok(info) = message.info() {
                        next = info.stream_sequence + 1;
                    }
                    self.settings.observe(&message.subject, &message.payload);
                    if let Some((org, delivery)) = Delivery::of(&message) {
                        self.dispatch(&org, Audience::of(message.headers.as_ref()), &delivery);
                    }
                    continue;
                }
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "change feed subscription broke; resubscribing")
                }
                None => tracing::warn!("change feed subscription ended; resubscribing"),
            }
            // Resubscribing resumes where the feed broke, but a change that arrives meanwhile
            // must not be served stale until then.
            self.settings.clear();
            messages = loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RESUBSCRIBE) => {}
                }
                match subscribe(&js, next).await {
                    Ok(messages) => break messages,
                    Err(err) => tracing::warn!(error = %err, "change feed unavailable"),
                }
            };
        }
    }

    fn dispatch(&self, org: &OrgId, audience: Audience, delivery: &Delivery) {
        let mut listeners = self.lock();
        let Some(streams) = listeners.get_mut(org) else { return };
        streams.retain(|l| l.offer(&audience, org, delivery));
        if streams.is_empty() {
            listeners.remove(org);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<OrgId, Vec<Listener>>> {
        // Nothing panics while holding the lock; if something did, the map is still consistent.
        self.listeners.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every org's events from stream sequence `start` on.
async fn subscribe(js: &jetstream::Context, start: u64) -> Result<Ordered, BusError> {
    let failed =
        |e: &dyn std::fmt::Display| BusError::JetStream(format!("subscribing to the change feed: {e}"));
    let stream = js.get_stream(events::STREAM).await.map_err(|e| failed(&e))?;
    let config = OrderedConfig {
        filter_subject: subjects::events_all(),
        deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: start },
        ..Default::default()
    };
    let consumer = stream.create_consumer(config).await.map_err(|e| failed(&e))?;
    consumer.messages().await.map_err(|e| failed(&e))
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc::error::TryRecvError;

    use super::*;

    fn hub() -> EventHub {
        EventHub {
            listeners: Arc::default(),
            settings: SettingsCache::default(),
            limits: StreamLimits::default(),
        }
    }

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn delivery(seq: u64) -> Delivery {
        Delivery { seq, event: Event::default().id(seq.to_string()) }
    }

    /// Every sequence queued for `rx`, and whether its stream ended after them.
    fn drain(rx: &mut mpsc::Receiver<Delivery>) -> (Vec<u64>, bool) {
        let mut seqs = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(delivery) => seqs.push(delivery.seq),
                Err(end) => return (seqs, end == TryRecvError::Disconnected),
            }
        }
    }

    #[test]
    fn a_stream_more_than_its_buffer_behind_gets_what_was_queued_then_ends() {
        let hub = hub();
        let mut rx = hub.listen(org("org_a"), None).unwrap();

        for seq in 1..=CLIENT_BUFFER as u64 + 1 {
            hub.dispatch(&org("org_a"), Audience::Operators, &delivery(seq));
        }

        let (seqs, ended) = drain(&mut rx);
        assert_eq!(seqs, (1..=CLIENT_BUFFER as u64).collect::<Vec<_>>());
        assert!(ended, "the hub let go of the slow stream");
        assert!(hub.lock().is_empty(), "and forgot the org without streams");
    }

    #[test]
    fn each_stream_gets_only_its_orgs_events_for_its_audience() {
        let (ada, eve) =
            (ContactSessionId::parse("cs_ada").unwrap(), ContactSessionId::parse("cs_eve").unwrap());
        let hub = hub();
        let mut operator = hub.listen(org("org_a"), None).unwrap();
        let mut widget = hub.listen(org("org_a"), Some(ada.clone())).unwrap();
        let mut other_org = hub.listen(org("org_b"), None).unwrap();

        hub.dispatch(&org("org_a"), Audience::Operators, &delivery(1));
        hub.dispatch(&org("org_a"), Audience::Contact(eve), &delivery(2));
        hub.dispatch(&org("org_a"), Audience::Contact(ada), &delivery(3));
        hub.dispatch(&org("org_a"), Audience::Everyone, &delivery(4));

        assert_eq!(drain(&mut operator), (vec![1, 2, 3, 4], false));
        assert_eq!(drain(&mut widget), (vec![3, 4], false));
        assert_eq!(drain(&mut other_org), (vec![], false));
    }

    #[test]
    fn a_closed_stream_is_forgotten() {
        let hub = hub();
        drop(hub.listen(org("org_a"), None).unwrap());
        let open = hub.listen(org("org_a"), None).unwrap();

        assert_eq!(hub.lock()[&org("org_a")].len(), 1, "pruned when the next stream listens");
        hub.dispatch(&org("org_a"), Audience::Operators, &delivery(1));
        drop(open);
        hub.dispatch(&org("org_a"), Audience::Operators, &delivery(2));
        assert!(hub.lock().is_empty(), "pruned on the org's next event");
    }
}
