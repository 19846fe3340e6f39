//! The parts of Vapi's objects that assist passes on. They are an allow-list on purpose: Vapi's
//! phone numbers carry the tenant's telephony credentials (`twilioAuthToken`, …) and assistants
//! carry prompts and server secrets, so anything not named here is dropped while parsing and can
//! never be serialized back to a caller.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Assistant {
    pub id: String,
    pub name: Option<String>,
    pub first_message: Option<String>,
    pub voice: Option<VoiceSummary>,
    pub model: Option<ModelSummary>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoiceSummary {
    pub provider: Option<String>,
    pub voice_id: Option<String>,
}

/// The model's `messages` (the system prompt) are left out: they are the tenant's own
/// configuration, not something a dashboard list needs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelSummary {
    pub provider: Option<String>,
    pub model: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    pub id: String,
    pub number: Option<String>,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub status: Option<String>,
    pub assistant_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_assistant_keeps_only_the_documented_subset() {
        let raw = json!({
            "id": "asst_1", "orgId": "vapi_org", "name": "Front desk", "firstMessage": "Hi!",
            "model": {"provider": "openai", "model": "gpt-4o", "messages": [{"role": "system", "content": "prompt"}]},
            "voice": {"provider": "11labs", "voiceId": "burt"},
            "server": {"url": "https://hooks.example", "secret": "whsec"},
            "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z"
        });
        let assistant: Assistant = serde_json::from_value(raw).unwrap();
        assert_eq!(
            serde_json::to_value(&assistant).unwrap(),
            json!({
                "id": "asst_1", "name": "Front desk", "firstMessage": "Hi!",
                "voice": {"provider": "11labs", "voiceId": "burt"},
                "model": {"provider": "openai", "model": "gpt-4o"}
            })
        );
    }

    #[test]
    fn a_phone_number_drops_provider_credentials() {
        let raw = json!({
            "id": "pn_1", "orgId": "vapi_org", "provider": "twilio", "number": "+14155550123",
            "twilioAccountSid": "AC123", "twilioAuthToken": "tok", "status": "active",
            "assistantId": "asst_1", "createdAt": "2024-01-01T00:00:00.000Z"
        });
        let number: PhoneNumber = serde_json::from_value(raw).unwrap();
        let text = serde_json::to_string(&number).unwrap();
        assert!(!text.contains("AC123") && !text.contains("tok\""), "{text}");
        assert_eq!(number.assistant_id.as_deref(), Some("asst_1"));
        assert_eq!(number.name, None);
    }
}
