//! Live updates over Server-Sent Events. A stream is authorized by the bus (the same single
//! place as every request), then reads the org's change feed from JetStream with an ordered
//! consumer: from the last event the client saw (`Last-Event-ID`) or from now. A client that
//! cannot keep up is disconnected rather than buffered without bound; every stream ends on
//! shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::Edge;
use crate::bus::events::{self, CONTACT_SESSION, PUBLIC};
use crate::bus::subjects::{self, Endpoint};
use crate::error::ApiError;
use crate::ids::{ContactSessionId, OrgId};

/// Events a client may have in flight before it counts as too slow and is disconnected.
const CLIENT_BUFFER: usize = 256;
const HEARTBEAT: Duration = Duration::from_secs(15);

pub(super) async fn operator_events(
    State(edge): State<Edge>,
    Path(org): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = ticket_only(query.as_deref());
    open(&edge, Endpoint::Events, &org, params, &headers).await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn widget_events(
    State(edge): State<Edge>,
    Path(org): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = ticket_only(query.as_deref());
    open(&edge, Endpoint::WidgetEvents, &org, params, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Only the ticket travels to the bus; the resume point is the edge's business.
fn ticket_only(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "ticket")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn open(
    edge: &Edge,
    endpoint: Endpoint,
    org: &str,
    params: HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let reply = edge.call(endpoint, org, params, None, headers, Ok(Bytes::new())).await?;
    let org = OrgId::parse(org)?;
    // The widget's stream is narrowed to the session the bus vouched for.
    let session = match endpoint {
        Endpoint::WidgetEvents => {
            Some(session_in(&reply.body).ok_or_else(|| ApiError::unauthenticated("no contact session"))?)
        }
        _ => None,
    };
    let resume = resume_after(headers);
    let deliver_policy = match resume {
        Some(last) => DeliverPolicy::ByStartSequence { start_sequence: last + 1 },
        None => DeliverPolicy::New,
    };
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "opening an event stream");
        ApiError::unavailable("live updates are unavailable; retry")
    };
    let stream = edge.js.get_stream(events::STREAM).await.map_err(|e| unavailable(&e))?;
    let config =
        OrderedConfig { filter_subject: subjects::events_of(&org), deliver_policy, ..Default::default() };
    let consumer = stream.create_consumer(config).await.map_err(|e| unavailable(&e))?;
    let messages = consumer.messages().await.map_err(|e| unavailable(&e))?;
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(pump(messages, tx, org, session, edge.shutdown.clone()));
    let events =
        futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx)) });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("keepalive")).into_response())
}

fn session_in(body: &Bytes) -> Option<ContactSessionId> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ContactSessionId::parse(value["contactSessionId"].as_str()?).ok()
}

/// `Last-Event-ID`: what EventSource sends on reconnect, and what other clients send to resume.
fn resume_after(headers: &HeaderMap) -> Option<u64> {
    headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// Moves events from the consumer to the client until the client leaves, falls behind, or the
/// node shuts down.
async fn pump(
    mut messages: async_nats::jetstream::consumer::pull::Ordered,
    tx: mpsc::Sender<Event>,
    org: OrgId,
    session: Option<ContactSessionId>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            () = tx.closed() => return,
            next = messages.next() => match next {
                Some(Ok(message)) => message,
                Some(Err(err)) => {
                    tracing::warn!(error = %err, %org, "event stream broke");
                    return;
                }
                None => return,
            },
        };
        if !visible(&message, session.as_ref()) {
            continue;
        }
        let Ok((resource, change)) = subjects::parse_event(&org, &message.subject) else { continue };
        let id = message.info().map(|i| i.stream_sequence).unwrap_or_default();
        let data = String::from_utf8_lossy(&message.payload);
        let event = Event::default().id(id.to_string()).event(format!("{resource}.{change}")).data(data);
        if tx.try_send(event).is_err() {
            tracing::info!(%org, "event stream client too slow; disconnected");
            return;
        }
    }
}

/// Operators see every event of their org; an end-user sees public ones and their own.
fn visible(message: &async_nats::jetstream::Message, session: Option<&ContactSessionId>) -> bool {
    let Some(session) = session else { return true };
    let header =
        |name: &str| message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_owned());
    header(PUBLIC).is_some() || header(CONTACT_SESSION).as_deref() == Some(session.as_str())
}
