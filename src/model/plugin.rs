//! The Vapi plugin: an organization's connection to its own Vapi account. The private key goes
//! in and never comes out; callers see whether it is connected and the public key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::Secret;
use crate::error::ApiError;

/// `PUT /v1/orgs/{org}/plugins/vapi`. No `Debug`: it holds the private key.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VapiKeys {
    #[schema(min_length = 8, max_length = 128, pattern = r"^[A-Za-z0-9_-]+$")]
    pub public_api_key: String,
    #[schema(min_length = 8, max_length = 128, pattern = r"^[A-Za-z0-9_-]+$")]
    private_api_key: String,
}

impl VapiKeys {
    /// Vapi keys are UUID-like; anything else cannot be one, and is refused before Vapi is asked.
    pub fn validate(&self) -> Result<(), ApiError> {
        check_key("publicApiKey", &self.public_api_key)?;
        check_key("privateApiKey", &self.private_api_key)
    }

    pub fn private(&self) -> Secret {
        Secret::new(self.private_api_key.clone())
    }
}

fn check_key(field: &str, key: &str) -> Result<(), ApiError> {
    let ok = (8..=128).contains(&key.len())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(field, "must be a Vapi API key (8–128 letters, digits, '-' or '_')"))
    }
}

/// What operators see of the plugin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginView {
    pub connected: bool,
    pub public_api_key: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
}

impl PluginView {
    pub fn disconnected() -> Self {
        Self { connected: false, public_api_key: None, connected_at: None }
    }
}

/// The answer to connecting: the only time the webhook secret for Vapi's server messages is
/// shown (only its hash is kept).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedPlugin {
    #[serde(flatten)]
    pub plugin: PluginView,
    pub webhook_secret: String,
}
