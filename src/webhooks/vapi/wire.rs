//! What Vapi sends, as far as assist reads it, and how each message becomes a [`VapiEvent`].
//! Vapi's spelling (camelCase, `artifact`, `assistantOverrides`) stays in this file.

use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{CallRef, EndOfCallReport, TranscriptLine, VapiEvent};
use crate::error::ApiError;
use crate::webhooks::{decode, non_empty};

const CONTACT_SESSION_KEY: &str = "contactSessionId";
/// Longer than any call Vapi places: a number of seconds beyond it is not a call's, and one far
/// enough out overflows the time arithmetic that places transcript lines.
const MAX_CALL_SECONDS: f64 = 86_400.0;
/// The years a call of Vapi's may have happened in, for the same reasons.
const CALL_YEARS: std::ops::Range<i32> = 2000..2100;

pub(super) fn kind(body: &[u8]) -> Result<String, ApiError> {
    decode::<Envelope<Head>>(body).map(|envelope| envelope.message.kind)
}

pub(super) fn status_update(body: &[u8]) -> Result<VapiEvent, ApiError> {
    let msg = message::<StatusUpdate>(body)?;
    Ok(VapiEvent::StatusUpdate {
        call: msg.call.into(),
        status: msg.status,
        ended_reason: non_empty(msg.ended_reason),
    })
}

/// `final_by_type` is set for the `transcript[transcriptType="final"]` type, whose name already
/// says what `transcriptType` would.
pub(super) fn transcript(body: &[u8], final_by_type: bool) -> Result<VapiEvent, ApiError> {
    let msg = message::<Transcript>(body)?;
    let is_final = match msg.transcript_type.as_deref() {
        Some("final") => true,
        Some("partial") => false,
        None if final_by_type => true,
        None => return Err(ApiError::invalid("message.transcriptType", "missing")),
        Some(_) => return Err(ApiError::invalid("message.transcriptType", "must be partial or final")),
    };
    Ok(VapiEvent::Transcript { call: msg.call.into(), role: msg.role, is_final, text: msg.transcript })
}

/// Every number and time is checked against what a real call can have, naming the field: the
/// report is refused (and dead-lettered by ingest) rather than applied with an absurd value.
pub(super) fn end_of_call_report(body: &[u8]) -> Result<EndOfCallReport, ApiError> {
    let msg = message::<EndOfCall>(body)?;
    let artifact = msg.artifact.unwrap_or_default();
    let lines = artifact.messages.unwrap_or_default();
    for (i, line) in lines.iter().enumerate() {
        let field = format!("message.artifact.messages[{i}].secondsFromStart");
        within(&field, line.seconds_from_start, MAX_CALL_SECONDS)?;
    }
    let started_at = during_calls("message.startedAt", msg.started_at)?;
    let ended_at = during_calls("message.endedAt", msg.ended_at)?;
    let duration_seconds = within("message.durationSeconds", msg.duration_seconds, MAX_CALL_SECONDS)?;
    let duration_ms = within("message.durationMs", msg.duration_ms, MAX_CALL_SECONDS * 1000.0)?;
    let cost = within("message.cost", msg.cost, f64::MAX)?;
    let analysis_summary = msg.analysis.and_then(|analysis| analysis.summary);
    let elapsed = match (started_at, ended_at) {
        (Some(start), Some(end)) if end >= start => Some((end - start).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    Ok(EndOfCallReport {
        call: msg.call.into(),
        ended_reason: non_empty(msg.ended_reason),
        started_at,
        ended_at,
        duration_seconds: duration_seconds.or(duration_ms.map(|ms| ms / 1000.0)).or(elapsed),
        cost,
        summary: non_empty(analysis_summary).or_else(|| non_empty(msg.summary)),
        recording_url: non_empty(artifact.recording_url).or_else(|| non_empty(msg.recording_url)),
        transcript: non_empty(artifact.transcript).or_else(|| non_empty(msg.transcript)),
        messages: lines.into_iter().filter_map(Line::spoken).collect(),
    })
}

fn within(field: &str, value: Option<f64>, max: f64) -> Result<Option<f64>, ApiError> {
    match value {
        Some(number) if !(0.0..=max).contains(&number) => {
            Err(ApiError::invalid(field, format!("must be between 0 and {max}")))
        }
        _ => Ok(value),
    }
}

fn during_calls(field: &str, value: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match value {
        Some(at) if !CALL_YEARS.contains(&at.year()) => Err(ApiError::invalid(
            field,
            format!("must be a time from {} to {}", CALL_YEARS.start, CALL_YEARS.end - 1),
        )),
        _ => Ok(value),
    }
}

fn message<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    decode::<Envelope<T>>(body).map(|envelope| envelope.message)
}

#[derive(Deserialize)]
struct Envelope<T> {
    message: T,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
}

/// The free-form objects that may carry the contact session are read as raw JSON, so whatever
/// else a tenant put in them can never make a message unreadable.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Call {
    id: String,
    #[serde(default)]
    metadata: Value,
    assistant_overrides: Option<Overrides>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Overrides {
    #[serde(default)]
    variable_values: Value,
    #[serde(default)]
    metadata: Value,
}

impl From<Call> for CallRef {
    fn from(call: Call) -> Self {
        let overrides = call.assistant_overrides;
        let contact_session_id = contact_session(&call.metadata).or_else(|| {
            let overrides = overrides.as_ref()?;
            contact_session(&overrides.variable_values).or_else(|| contact_session(&overrides.metadata))
        });
        Self { call_id: call.id, contact_session_id }
    }
}

fn contact_session(holder: &Value) -> Option<String> {
    let id = holder.get(CONTACT_SESSION_KEY)?.as_str()?;
    (!id.is_empty()).then(|| id.to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusUpdate {
    call: Call,
    status: String,
    ended_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transcript {
    call: Call,
    role: String,
    transcript_type: Option<String>,
    transcript: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndOfCall {
    call: Call,
    ended_reason: Option<String>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    duration_seconds: Option<f64>,
    duration_ms: Option<f64>,
    cost: Option<f64>,
    analysis: Option<Analysis>,
    artifact: Option<Artifact>,
    summary: Option<String>,
    recording_url: Option<String>,
    transcript: Option<String>,
}

#[derive(Deserialize)]
struct Analysis {
    summary: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Artifact {
    recording_url: Option<String>,
    transcript: Option<String>,
    messages: Option<Vec<Line>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    role: String,
    message: Option<String>,
    seconds_from_start: Option<f64>,
}

impl Line {
    fn spoken(self) -> Option<TranscriptLine> {
        if self.role == "system" || self.role.starts_with("tool_call") {
            return None;
        }
        let text = non_empty(self.message)?;
        let role = if self.role == "bot" { "assistant".to_owned() } else { self.role };
        Some(TranscriptLine { role, text, seconds_from_start: self.seconds_from_start })
    }
}
