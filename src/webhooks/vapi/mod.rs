//! Vapi server messages, typed. Vapi posts them to `/webhooks/vapi/{org}` while a call runs and
//! once after it ends; they are how a voice conversation reaches the dashboard.
//!
//! Vapi sends every message to one URL whatever its type. `tool-calls` is answered in the same
//! request (`tools.rs`); types assist does not use (`assistant-request`, …) parse to
//! [`VapiEvent::Other`] and are acknowledged, never refused. Vapi does not retry by default, so a
//! refusal is only for a message that claims a handled type and cannot be read.

mod tools;
mod wire;

pub use tools::{SEARCH_KNOWLEDGE, ToolCall, passages_for_voice, tool_calls};

use chrono::{DateTime, Utc};

use crate::error::ApiError;

/// The type Vapi gives a transcript when an assistant subscribes to final transcripts only. It
/// is the same message as `transcript`, already final.
const FINAL_TRANSCRIPT: &str = "transcript[transcriptType=\"final\"]";

#[derive(Clone, Debug, PartialEq)]
pub enum VapiEvent {
    /// The call moved (`queued`, `ringing`, `in-progress`, `forwarding`, `ended`); `ended_reason`
    /// is set once it ended.
    StatusUpdate { call: CallRef, status: String, ended_reason: Option<String> },
    /// One utterance, live. Partial transcripts are superseded by the final one for the same
    /// turn, so only final ones belong in the stored transcript.
    Transcript { call: CallRef, role: String, is_final: bool, text: String },
    /// Sent once, after the call and Vapi's post-call analysis.
    EndOfCallReport(EndOfCallReport),
    /// Any other type (`conversation-update`, `tool-calls`, `hang`, `speech-update`,
    /// `assistant-request`, …): acknowledged, not acted on.
    Other { kind: String },
}

impl VapiEvent {
    /// The call a message is about, for routing and logging; `None` for [`VapiEvent::Other`],
    /// whose `call` is not read.
    pub fn call(&self) -> Option<&CallRef> {
        match self {
            Self::StatusUpdate { call, .. } | Self::Transcript { call, .. } => Some(call),
            Self::EndOfCallReport(report) => Some(&report.call),
            Self::Other { .. } => None,
        }
    }
}

/// Which call, and which of assist's conversations it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRef {
    /// Vapi's call id.
    pub call_id: String,
    /// The widget puts the contact session into the call it starts; depending on how the call
    /// was started Vapi echoes it in `call.metadata`, `call.assistantOverrides.variableValues`
    /// or `call.assistantOverrides.metadata` (looked up in that order). `None` for calls the
    /// widget did not start (a phone call). It is not validated here: it is only a lookup key.
    pub contact_session_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndOfCallReport {
    pub call: CallRef,
    /// `customer-ended-call`, `assistant-ended-call`, `silence-timed-out`, …
    pub ended_reason: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `durationSeconds`, else `durationMs` / 1000, else `endedAt - startedAt`: real payloads
    /// carry different subsets of the three.
    pub duration_seconds: Option<f64>,
    /// USD.
    pub cost: Option<f64>,
    /// `analysis.summary`, else the top-level `summary` older payloads send.
    pub summary: Option<String>,
    /// `artifact.recordingUrl`, else the top-level `recordingUrl`.
    pub recording_url: Option<String>,
    /// `artifact.transcript`, else the top-level `transcript`.
    pub transcript: Option<String>,
    /// `artifact.messages`, without the system prompt, tool calls and their results, or lines
    /// with no text: none of them is part of the conversation an operator reads.
    pub messages: Vec<TranscriptLine>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptLine {
    /// `user` or `assistant`. Vapi's artifact says `bot` where its live transcripts say
    /// `assistant`; it is renamed so both sources agree.
    pub role: String,
    pub text: String,
    pub seconds_from_start: Option<f64>,
}

/// Reads `message.type` first, then decodes the message as that type, so an error names the
/// field path inside the whole payload (`message.call.id: missing`).
pub fn parse(body: &[u8]) -> Result<VapiEvent, ApiError> {
    let kind = wire::kind(body)?;
    let event = match kind.as_str() {
        "status-update" => wire::status_update(body)?,
        "transcript" => wire::transcript(body, false)?,
        FINAL_TRANSCRIPT => wire::transcript(body, true)?,
        "end-of-call-report" => VapiEvent::EndOfCallReport(wire::end_of_call_report(body)?),
        _ => VapiEvent::Other { kind },
    };
    Ok(event)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse_message(message: Value) -> Result<VapiEvent, ApiError> {
        parse(json!({ "message": message }).to_string().as_bytes())
    }

    fn session_of(call: Value) -> Option<String> {
        let event = parse_message(json!({"type": "status-update", "status": "ringing", "call": call}));
        event.unwrap().call().and_then(|call| call.contact_session_id.clone())
    }

    fn report(extra: Value) -> EndOfCallReport {
        let mut message = json!({"type": "end-of-call-report", "call": {"id": "call_1"}});
        if let (Some(message), Some(extra)) = (message.as_object_mut(), extra.as_object()) {
            message.extend(extra.clone());
        }
        match parse_message(message).unwrap() {
            VapiEvent::EndOfCallReport(report) => report,
            other => panic!("not a report: {other:?}"),
        }
    }

    #[test]
    fn the_contact_session_is_looked_up_in_metadata_then_overrides() {
        let everywhere = json!({"id": "c", "metadata": {"contactSessionId": "a"},
            "assistantOverrides": {"variableValues": {"contactSessionId": "b"}, "metadata": {"contactSessionId": "c"}}});
        assert_eq!(session_of(everywhere).as_deref(), Some("a"));
        let overrides = json!({"id": "c", "assistantOverrides": {"variableValues": {"contactSessionId": "b"},
            "metadata": {"contactSessionId": "c"}}});
        assert_eq!(session_of(overrides).as_deref(), Some("b"));
        let override_metadata =
            json!({"id": "c", "assistantOverrides": {"metadata": {"contactSessionId": "c"}}});
        assert_eq!(session_of(override_metadata).as_deref(), Some("c"));
    }

    #[test]
    fn a_contact_session_that_is_not_a_string_is_ignored() {
        assert_eq!(session_of(json!({"id": "c", "metadata": {"contactSessionId": 7}})), None);
        assert_eq!(session_of(json!({"id": "c", "metadata": "free text"})), None);
    }

    #[test]
    fn a_message_without_a_call_id_names_the_field() {
        let err = parse_message(json!({"type": "status-update", "status": "ended", "call": {}})).unwrap_err();
        assert_eq!(err.message, "message.call.id: missing");
    }

    #[test]
    fn a_message_without_a_type_names_the_field() {
        assert_eq!(parse_message(json!({"call": {"id": "c"}})).unwrap_err().message, "message.type: missing");
        assert_eq!(parse(b"{}").unwrap_err().message, "message: missing");
    }

    #[test]
    fn the_final_only_transcript_type_is_final_without_saying_so() {
        let event = parse_message(json!({"type": FINAL_TRANSCRIPT, "call": {"id": "c"}, "role": "user",
            "transcript": "hello"}));
        assert!(matches!(event.unwrap(), VapiEvent::Transcript { is_final: true, .. }));
    }

    #[test]
    fn a_transcript_type_other_than_partial_or_final_is_refused() {
        let err = parse_message(json!({"type": "transcript", "call": {"id": "c"}, "role": "user",
            "transcriptType": "draft", "transcript": "hello"}))
        .unwrap_err();
        assert_eq!(err.message, "message.transcriptType: must be partial or final");
    }

    #[test]
    fn report_lines_keep_only_the_conversation() {
        let report = report(json!({"artifact": {"messages": [
            {"role": "system", "message": "You are helpful", "secondsFromStart": 0},
            {"role": "bot", "message": "Hi!", "secondsFromStart": 0.5},
            {"role": "tool_calls", "message": "", "toolCalls": []},
            {"role": "tool_call_result", "result": "ok"},
            {"role": "user", "message": "Hello", "secondsFromStart": 2.25}
        ]}}));
        let lines: Vec<_> = report.messages.iter().map(|l| (l.role.as_str(), l.text.as_str())).collect();
        assert_eq!(lines, [("assistant", "Hi!"), ("user", "Hello")]);
        assert_eq!(report.messages[1].seconds_from_start, Some(2.25));
    }

    #[test]
    fn an_end_before_the_start_gives_no_duration() {
        let report = report(json!({"startedAt": "2026-11-02T10:00:10Z", "endedAt": "2026-11-02T10:00:00Z"}));
        assert_eq!(report.duration_seconds, None);
    }

    #[test]
    fn a_start_time_that_is_not_iso_names_the_field() {
        let err = parse_message(
            json!({"type": "end-of-call-report", "call": {"id": "c"}, "startedAt": "yesterday"}),
        )
        .unwrap_err();
        assert!(err.message.starts_with("message.startedAt: "), "{}", err.message);
    }

    #[test]
    fn absurd_numbers_and_times_are_refused_naming_the_field() {
        let refused = |extra: Value| {
            let mut message = json!({"type": "end-of-call-report", "call": {"id": "c"}});
            message.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            parse_message(message).unwrap_err().message
        };
        let line = |seconds: f64| {
            json!({"artifact": {"messages": [
            {"role": "bot", "message": "Hi!", "secondsFromStart": 1},
            {"role": "user", "message": "Hello", "secondsFromStart": seconds}]}})
        };
        assert_eq!(
            refused(line(1e300)),
            "message.artifact.messages[1].secondsFromStart: must be between 0 and 86400"
        );
        assert_eq!(
            refused(line(-1.0)),
            "message.artifact.messages[1].secondsFromStart: must be between 0 and 86400"
        );
        assert_eq!(
            refused(json!({"startedAt": "9999-12-31T23:59:59Z"})),
            "message.startedAt: must be a time from 2000 to 2099"
        );
        assert!(refused(json!({"endedAt": "1970-01-01T00:00:00Z"})).starts_with("message.endedAt: "));
        assert!(refused(json!({"durationSeconds": 1e300})).starts_with("message.durationSeconds: "));
        assert!(refused(json!({"durationMs": -5})).starts_with("message.durationMs: "));
        assert!(refused(json!({"cost": -0.5})).starts_with("message.cost: "));
        assert_eq!(report(json!({"artifact": {"messages": []}, "cost": 0.2})).cost, Some(0.2));
    }

    #[test]
    fn empty_strings_fall_through_to_the_top_level_fields() {
        let report = report(json!({"analysis": {"summary": ""}, "summary": "Short call.",
            "artifact": {"recordingUrl": ""}, "recordingUrl": "https://example.com/r.wav"}));
        assert_eq!(report.summary.as_deref(), Some("Short call."));
        assert_eq!(report.recording_url.as_deref(), Some("https://example.com/r.wav"));
    }
}
