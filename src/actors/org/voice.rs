//! Voice conversations from Vapi's server messages. Messages for one call may come twice or out
//! of order, so every effect is keyed by the call: the conversation's id derives from the org and
//! call id, each transcript line's id from the org, call, role and text, and the report's fields
//! are set, never appended. Applying any order of the same messages gives the same conversation.
//! Every derived id includes the org: another tenant naming the same call cannot collide.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::conversations::audience;
use super::state::OrgState;
use crate::error::ApiError;
use crate::ids::{ContactSessionId, ConversationId, MessageId};
use crate::model::conversation::{Channel, Conversation, Handler, Message, Role};
use crate::webhooks::vapi::{CallRef, EndOfCallReport, VapiEvent};

fn derived(prefix: &str, parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

fn role(raw: &str) -> Role {
    if raw == "user" { Role::User } else { Role::Assistant }
}

/// When a report's line was said. The wire bounds the offset; should one still be out of range
/// the line is placed at the call's start, since no outside number may panic the org's actor.
fn line_time(start: DateTime<Utc>, seconds_from_start: Option<f64>) -> DateTime<Utc> {
    let offset = seconds_from_start.and_then(|s| Duration::try_milliseconds((s * 1000.0) as i64));
    offset.and_then(|offset| start.checked_add_signed(offset)).unwrap_or(start)
}

impl OrgState {
    pub(super) async fn apply_voice(&mut self, event: VapiEvent) -> Result<(), ApiError> {
        match event {
            VapiEvent::StatusUpdate { call, ended_reason, .. } => {
                let mut conversation = self.call_conversation(&call).await?;
                if ended_reason.is_some() && conversation.ended_reason.is_none() {
                    conversation.ended_reason = ended_reason;
                    self.save_voice(&mut conversation).await?;
                }
            }
            VapiEvent::Transcript { call, role: who, is_final, text } => {
                if is_final && !text.trim().is_empty() {
                    let conversation = self.call_conversation(&call).await?;
                    let now = self.clock.now();
                    self.transcript_line(&conversation, &who, &text, now).await?;
                }
            }
            VapiEvent::EndOfCallReport(report) => self.end_of_call(report).await?,
            VapiEvent::Other { .. } => {}
        }
        Ok(())
    }

    /// The call's conversation, opened on the first message about the call. It is linked to the
    /// end-user when the widget passed a contact session of this org.
    async fn call_conversation(&mut self, call: &CallRef) -> Result<Conversation, ApiError> {
        let id = ConversationId::parse(&derived("conv", &[self.org.as_str(), &call.call_id]))?;
        if let Some(found) = self.repos.conversations().get(&self.org, &id).await? {
            return Ok(found);
        }
        let session = match call.contact_session_id.as_deref().map(ContactSessionId::parse) {
            Some(Ok(session)) => {
                self.repos.contact_sessions().get(&self.org, &session).await?.map(|s| s.session.id)
            }
            _ => None,
        };
        let mut conversation = Conversation::new(id, Channel::Voice, Handler::Ai, session, self.clock.now());
        conversation.call_id = Some(call.call_id.clone());
        self.open(conversation).await
    }

    async fn transcript_line(
        &self,
        conversation: &Conversation,
        who: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let call = conversation.call_id.as_deref().unwrap_or_default();
        let message = Message {
            id: MessageId::parse(&derived("msg", &[self.org.as_str(), call, who, text]))?,
            conversation_id: conversation.id.clone(),
            role: role(who),
            text: text.to_owned(),
            created_at: at,
            sources: Vec::new(),
        };
        if self.repos.messages().upsert(&self.org, &message).await? {
            self.emit("message", "created", audience(conversation), &message).await;
        }
        Ok(())
    }

    async fn end_of_call(&mut self, report: EndOfCallReport) -> Result<(), ApiError> {
        let mut conversation = self.call_conversation(&report.call).await?;
        let start = report.started_at.unwrap_or(conversation.created_at);
        for line in &report.messages {
            let at = line_time(start, line.seconds_from_start);
            self.transcript_line(&conversation, &line.role, &line.text, at).await?;
        }
        conversation.summary = report.summary.or(conversation.summary);
        conversation.recording_url = report.recording_url.or(conversation.recording_url);
        conversation.ended_reason = report.ended_reason.or(conversation.ended_reason);
        conversation.duration_seconds = report.duration_seconds.or(conversation.duration_seconds);
        conversation.cost = report.cost.or(conversation.cost);
        self.save_voice(&mut conversation).await
    }

    async fn save_voice(&self, conversation: &mut Conversation) -> Result<(), ApiError> {
        conversation.updated_at = self.clock.now();
        self.repos.conversations().set_voice(&self.org, conversation).await?;
        self.emit("conversation", "updated", audience(conversation), conversation).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_time_out_of_any_range_falls_back_to_the_start() {
        let start: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
        assert_eq!(line_time(start, Some(2.5)), start + Duration::milliseconds(2500));
        assert_eq!(line_time(start, None), start);
        for absurd in [1e300, -1e300, 1e13, f64::NAN] {
            assert_eq!(line_time(start, Some(absurd)), start, "{absurd}");
        }
        assert_eq!(line_time(DateTime::<Utc>::MAX_UTC, Some(1.0)), DateTime::<Utc>::MAX_UTC);
    }
}
