//! The org actor's contact-session operations: creating them, proving a token, extending it.

use chrono::Duration;

use super::actor::OrgState;
use crate::auth::Operator;
use crate::error::ApiError;
use crate::ids::ContactSessionId;
use crate::model::contact_session::{
    ContactSession, CreatedSession, CurrentSession, LIFETIME_HOURS, NewContactSession, REFRESH_BELOW_HOURS,
    SessionToken,
};

impl OrgState {
    pub(super) async fn create_session(
        &mut self,
        new: NewContactSession,
    ) -> Result<CreatedSession, ApiError> {
        self.require_known()?;
        let now = self.clock.now();
        let session = ContactSession {
            id: ContactSessionId::generate(),
            name: new.name,
            email: new.email,
            metadata: new.metadata,
            created_at: now,
            expires_at: now + Duration::hours(LIFETIME_HOURS),
        };
        let token = SessionToken::generate(session.id.clone());
        self.repos.contact_sessions.create(&self.org, &session, &token.hash()).await?;
        Ok(CreatedSession {
            contact_session_id: session.id,
            token: token.reveal(),
            expires_at: session.expires_at,
        })
    }

    /// Proves the end-user: the session exists in this org, the secret matches, it has not
    /// expired. An active end-user's session is extended when less than four hours remain.
    /// Every failure reads the same, so tokens cannot be probed.
    pub(super) async fn authenticate(&mut self, token: &SessionToken) -> Result<ContactSession, ApiError> {
        let refused =
            || ApiError::unauthenticated("X-Contact-Session: missing, invalid or expired contact session");
        let stored = self.repos.contact_sessions.get(&self.org, &token.session).await?.ok_or_else(refused)?;
        if !token.matches(&stored.token_hash) {
            return Err(refused());
        }
        let mut session = stored.session;
        let now = self.clock.now();
        if session.expires_at <= now {
            return Err(refused());
        }
        if session.expires_at - now < Duration::hours(REFRESH_BELOW_HOURS) {
            session.expires_at = now + Duration::hours(LIFETIME_HOURS);
            self.repos.contact_sessions.extend(&self.org, &session.id, session.expires_at).await?;
        }
        Ok(session)
    }

    pub(super) async fn current_session(&mut self, token: &SessionToken) -> Result<CurrentSession, ApiError> {
        let session = self.authenticate(token).await?;
        Ok(CurrentSession {
            contact_session_id: session.id,
            name: session.name,
            email: session.email,
            expires_at: session.expires_at,
        })
    }

    pub(super) async fn contact_session(
        &mut self,
        operator: &Operator,
        id: &ContactSessionId,
    ) -> Result<ContactSession, ApiError> {
        self.first_sight(operator).await?;
        let stored = self.repos.contact_sessions.get(&self.org, id).await?;
        stored
            .map(|s| s.session)
            .ok_or_else(|| ApiError::not_found(format!("contact session {id} not found")))
    }
}
