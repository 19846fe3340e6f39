//! The org actor's contact-session operations: creating them, proving a token, extending it.

use chrono::Duration;

use ractor::ActorRef;

use super::mail::{OrgMail, OrgMsg};
use super::state::{OrgState, PendingSession, Reply};
use crate::auth::Operator;
use crate::db::contact_sessions::ContactSessions;
use crate::error::ApiError;
use crate::ids::{ContactSessionId, OrgId};
use crate::model::contact_session::{
    ContactSession, CreatedSession, CurrentSession, LIFETIME_HOURS, NewContactSession, REFRESH_BELOW_HOURS,
    SESSION_REFUSED, SessionToken,
};

/// Sessions committed together at most; a larger queue is committed in several transactions.
const MAX_BATCH: usize = 256;

/// One transaction for the batch, then every caller gets its answer.
async fn commit(sessions: &ContactSessions, org: &OrgId, batch: Vec<PendingSession>) {
    let rows: Vec<(ContactSession, String)> =
        batch.iter().map(|p| (p.session.clone(), p.token_hash.clone())).collect();
    let committed = sessions.create_many(org, &rows).await.map_err(ApiError::from);
    for pending in batch {
        let _ = pending.reply.send(committed.clone().map(|()| pending.created));
    }
}

impl OrgState {
    /// Prepares a session and queues it for the next commit: the caller is answered once the
    /// batch it joined is committed ([`OrgState::commit_sessions`]). `true` when the queue was
    /// empty, i.e. a commit must be scheduled.
    pub(super) fn queue_session(&mut self, new: NewContactSession, reply: Reply<CreatedSession>) -> bool {
        if let Err(err) = self.require_known() {
            let _ = reply.send(Err(err));
            return false;
        }
        let now = self.clock.now();
        let session = ContactSession {
            id: ContactSessionId::generate(now),
            name: new.name,
            email: new.email,
            metadata: new.metadata,
            created_at: now,
            expires_at: now + Duration::hours(LIFETIME_HOURS),
        };
        let token = SessionToken::generate(session.id.clone());
        let created = CreatedSession {
            contact_session_id: session.id.clone(),
            token: token.reveal(),
            expires_at: session.expires_at,
        };
        self.pending_sessions.push(PendingSession { session, token_hash: token.hash(), created, reply });
        self.pending_sessions.len() == 1
    }

    /// Starts committing the queued sessions on a task of their own, unless a batch is being
    /// committed already: that one sends [`OrgMsg::SessionsCommitted`] when it is done. So a
    /// busy org gathers the next batch while the database commits the last one, instead of
    /// idling between them.
    pub(super) fn commit_sessions(&mut self, myself: &ActorRef<OrgMail>) {
        if self.committing.is_some() || self.pending_sessions.is_empty() {
            return;
        }
        let batch = self.next_batch();
        let (sessions, org, myself) = (self.repos.contact_sessions(), self.org.clone(), myself.clone());
        self.committing = Some(tokio::spawn(async move {
            commit(&sessions, &org, batch).await;
            let _ = myself.send_message(OrgMsg::SessionsCommitted.into());
        }));
    }

    /// Waits for the batch being committed, if any: before any other write of this org.
    pub(super) async fn settle_sessions(&mut self) {
        if let Some(task) = self.committing.take() {
            let _ = task.await;
        }
    }

    /// Commits every queued session here and now: the actor is stopping.
    pub(super) async fn commit_sessions_now(&mut self) {
        while !self.pending_sessions.is_empty() {
            let batch = self.next_batch();
            commit(&self.repos.contact_sessions(), &self.org, batch).await;
        }
    }

    /// The oldest queued sessions, at most [`MAX_BATCH`] of them.
    fn next_batch(&mut self) -> Vec<PendingSession> {
        let take = self.pending_sessions.len().min(MAX_BATCH);
        self.pending_sessions.drain(..take).collect()
    }

    /// Proves the end-user: the session exists in this org, the secret matches, it has not
    /// expired. An active end-user's session is extended when less than four hours remain.
    /// Every failure reads the same, so tokens cannot be probed.
    pub(super) async fn authenticate(&mut self, token: &SessionToken) -> Result<ContactSession, ApiError> {
        let refused = || ApiError::unauthenticated(SESSION_REFUSED);
        let stored =
            self.repos.contact_sessions().get(&self.org, &token.session).await?.ok_or_else(refused)?;
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
            self.repos.contact_sessions().extend(&self.org, &session.id, session.expires_at).await?;
        }
        Ok(session)
    }

    pub(crate) async fn current_session(&mut self, token: &SessionToken) -> Result<CurrentSession, ApiError> {
        let session = self.authenticate(token).await?;
        Ok(CurrentSession {
            contact_session_id: session.id,
            name: session.name,
            email: session.email,
            expires_at: session.expires_at,
        })
    }

    pub(crate) async fn contact_session(
        &mut self,
        operator: &Operator,
        id: &ContactSessionId,
    ) -> Result<ContactSession, ApiError> {
        self.first_sight(operator).await?;
        let stored = self.repos.contact_sessions().get(&self.org, id).await?;
        stored
            .map(|s| s.session)
            .ok_or_else(|| ApiError::not_found(format!("contact session {id} not found")))
    }
}
