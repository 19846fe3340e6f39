//! The org actor's Vapi plugin: who may connect it, sealing the private key, and whether voice
//! can be offered to the widget.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::state::OrgState;
use crate::auth::Operator;
use crate::bus::events::Audience;
use crate::crypto::Secret;
use crate::db::plugins::StoredPlugin;
use crate::error::{ApiError, ErrorCode};
use crate::model::plugin::{ConnectedPlugin, PluginView};

/// The sealed key is bound to its org: copied to another org's record, it does not open.
pub(crate) fn key_context(org: &crate::ids::OrgId) -> String {
    format!("vapi-private-key:{org}")
}

/// The same binding for an org's own AI key.
pub(crate) fn ai_key_context(org: &crate::ids::OrgId) -> String {
    format!("ai-api-key:{org}")
}

impl OrgState {
    pub(super) fn plugin_view(&self) -> PluginView {
        match &self.plugin {
            Some(p) => PluginView {
                connected: true,
                public_api_key: Some(p.public_api_key.clone()),
                connected_at: Some(p.connected_at),
            },
            None => PluginView::disconnected(),
        }
    }

    pub(crate) async fn get_plugin(&mut self, operator: &Operator) -> Result<PluginView, ApiError> {
        self.first_sight(operator).await?;
        Ok(self.plugin_view())
    }

    /// Connecting is an admin's decision and a paid feature.
    pub(crate) async fn may_connect(&mut self, operator: &Operator) -> Result<(), ApiError> {
        self.first_sight(operator).await?;
        if !operator.is_admin() {
            return Err(ApiError::forbidden("only an organization admin may change the Vapi connection"));
        }
        if !self.subscription_active {
            return Err(ApiError::new(
                ErrorCode::PaymentRequired,
                "connecting Vapi needs an active subscription",
            ));
        }
        Ok(())
    }

    /// Stores a key the gateway has already checked with Vapi.
    pub(crate) async fn connect(
        &mut self,
        operator: &Operator,
        public_api_key: String,
        private_api_key: Secret,
    ) -> Result<ConnectedPlugin, ApiError> {
        self.may_connect(operator).await?;
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let stored = StoredPlugin {
            public_api_key,
            private_api_key_sealed: self
                .master_key
                .seal(private_api_key.expose().as_bytes(), &key_context(&self.org)),
            webhook_secret_hash: Some(crate::crypto::hash_webhook_secret(&secret)),
            connected_at: self.clock.now(),
        };
        self.repos.plugins().put(&self.org, &stored).await?;
        tracing::info!(org = %self.org, user = %operator.user_id, "Vapi connected");
        self.plugin = Some(Box::new(stored));
        self.emit("plugin", "updated", Audience::Operators, &self.plugin_view()).await;
        self.emit_public_settings().await;
        Ok(ConnectedPlugin { plugin: self.plugin_view(), webhook_secret: secret })
    }

    pub(crate) async fn disconnect(&mut self, operator: &Operator) -> Result<PluginView, ApiError> {
        self.first_sight(operator).await?;
        if !operator.is_admin() {
            return Err(ApiError::forbidden("only an organization admin may change the Vapi connection"));
        }
        self.repos.plugins().delete(&self.org).await?;
        self.plugin = None;
        tracing::info!(org = %self.org, user = %operator.user_id, "Vapi disconnected");
        self.emit("plugin", "updated", Audience::Operators, &self.plugin_view()).await;
        self.emit_public_settings().await;
        Ok(self.plugin_view())
    }

    /// Listing Vapi resources needs a connected plugin; any member may look.
    pub(crate) async fn require_vapi(&mut self, operator: &Operator) -> Result<(), ApiError> {
        self.first_sight(operator).await?;
        match self.plugin {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found("Vapi is not connected for this organization")),
        }
    }

    /// Voice is offered only when it can work: connected, an assistant chosen, subscription active.
    pub(super) fn voice(&self, assistant_id: Option<&String>) -> Option<(String, String)> {
        let plugin = self.plugin.as_ref()?;
        let assistant = assistant_id?;
        self.subscription_active.then(|| (plugin.public_api_key.clone(), assistant.clone()))
    }
}
