//! Reading a server-sent event stream as `(event, data, arrival)`, for the scenarios that wait
//! on assist's streams.

use super::*;

/// Calls `on_event` with each event's name, its data and when its bytes arrived, until the
/// stream ends or `on_event` answers `false`.
pub(crate) async fn each_event(
    response: reqwest::Response,
    mut on_event: impl FnMut(&str, &str, Instant) -> bool,
) {
    let mut body = response.bytes_stream();
    let (mut buf, mut event, mut data) = (String::new(), String::new(), String::new());
    while let Some(Ok(chunk)) = body.next().await {
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(nl) = buf.find('\n') {
            let line: String = buf.drain(..=nl).collect();
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(more) = line.strip_prefix("data:") {
                data.push_str(more.strip_prefix(' ').unwrap_or(more));
            } else if line.is_empty() {
                if !event.is_empty() && !on_event(&event, &data, now) {
                    return;
                }
                event.clear();
                data.clear();
            }
        }
    }
}
