//! Live updates over Server-Sent Events. A stream is authorized by the bus (the same single
//! place as every request), then gets its org's changes from the node's [`EventHub`] (one
//! subscription to the change feed for every stream on the node), after replaying from
//! JetStream what the client missed if it resumes (`Last-Event-ID`, see `feed`). A client that
//! cannot keep up is disconnected rather than buffered without bound; every stream ends on
//! shutdown.

mod caps;
mod feed;
mod hub;

pub use caps::StreamLimits;
pub use hub::EventHub;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use self::feed::Feed;
use super::Edge;
use crate::api::Endpoint;
use crate::error::ApiError;
use crate::ids::{ContactSessionId, OrgId};

const HEARTBEAT: Duration = Duration::from_secs(15);

pub(super) async fn operator_events(
    State(edge): State<Arc<Edge>>,
    Path(org): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = ticket_only(query.as_deref());
    open(&edge, Endpoint::Events, &org, params, &headers).await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn widget_events(
    State(edge): State<Arc<Edge>>,
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
    // Listen before replaying: see `feed`.
    let live = edge.events.listen(org.clone(), session.clone())?;
    let feed = match resume_after(headers)? {
        Some(last) => Feed::resume(&edge.js, &org, last, live, session).await.map_err(|e| {
            tracing::warn!(error = %e, "opening an event stream");
            ApiError::unavailable("live updates are unavailable; retry")
        })?,
        None => Feed::live(live, session),
    };
    let events = futures::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|event| (Ok::<_, Infallible>(event), feed))
    })
    .take_until(edge.shutdown.clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("keepalive")).into_response())
}

fn session_in(body: &Bytes) -> Option<ContactSessionId> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ContactSessionId::parse(value["contactSessionId"].as_str()?).ok()
}

/// `Last-Event-ID`: what EventSource sends on reconnect, and what other clients send to resume.
/// Absent or empty: live events only. Otherwise one of the ids the stream sends (a sequence).
fn resume_after(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    let refused = || ApiError::invalid("Last-Event-ID", "not an event id this stream sent");
    let text = value.to_str().map_err(|_| refused())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn resume(value: &'static str) -> Result<Option<u64>, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("last-event-id", HeaderValue::from_static(value));
        resume_after(&headers)
    }

    #[test]
    fn a_last_event_id_is_a_sequence_or_refused_naming_the_header() {
        assert_eq!(resume_after(&HeaderMap::new()), Ok(None));
        assert_eq!(resume(" "), Ok(None));
        assert_eq!(resume("42"), Ok(Some(42)));
        assert_eq!(resume("18446744073709551615"), Ok(Some(u64::MAX)));
        for bad in ["18446744073709551616", "-1", "4.2", "abc"] {
            assert_eq!(resume(bad).unwrap_err().message, "Last-Event-ID: not an event id this stream sent");
        }
    }
}
