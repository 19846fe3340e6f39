use futures::FutureExt;
use futures::future::BoxFuture;

use super::mail::{Job, OrgMsg};
pub(crate) use super::state::OrgState;
use super::state::Reply;
use super::system::OrgChange;
use crate::actors::Tenants;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::contact_session::{CreatedSession, NewContactSession};
use crate::model::widget_settings::WidgetSettings;

/// One organization's actor, as callers reach it. Every call is routed to the org's actor
/// (activating it when needed) and bounded by the tenants' call timeout. Inputs arrive
/// validated.
pub struct Org<'a> {
    pub(crate) tenants: &'a Tenants,
    pub(crate) id: &'a OrgId,
}

/// What a caller who proves nothing about the org hears when nobody made it known.
pub enum Refusal {
    NotFound,
    /// No session token of an unknown org can be valid.
    Session,
    /// Nor can a stream ticket.
    Ticket,
}

impl Org<'_> {
    /// Refuses callers of an org nobody made known before any actor starts for it: looking up
    /// a made-up org must write nothing.
    pub async fn gate(&self, refusal: Refusal) -> Result<(), ApiError> {
        if self.tenants.is_known(self.id).await? {
            return Ok(());
        }
        Err(match refusal {
            Refusal::NotFound => super::settings::unknown(self.id),
            Refusal::Session => ApiError::unauthenticated(crate::model::contact_session::SESSION_REFUSED),
            Refusal::Ticket => ApiError::unauthenticated(super::tickets::TICKET_REFUSED),
        })
    }

    /// Runs `work` inside the org's actor, once a session batch being committed has settled
    /// (`work` may write), and answers with its result. `work` is cloned because the actor
    /// may stop between lookup and send, and the call is then sent again.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'s> FnOnce(&'s mut OrgState) -> BoxFuture<'s, Result<T, ApiError>> + Clone + Send + 'static,
    {
        self.tenants.ask(self.id, |reply| OrgMsg::Run(answering(work.clone(), reply))).await
    }

    /// Like [`Org::run`], but beside a session batch being committed: `work` must not write.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'s> FnOnce(&'s mut OrgState) -> BoxFuture<'s, Result<T, ApiError>> + Clone + Send + 'static,
    {
        self.tenants.ask(self.id, |reply| OrgMsg::Read(answering(work.clone(), reply))).await
    }

    /// Sessions are committed in batches by the actor itself (see `sessions.rs`).
    pub async fn create_session(&self, new: NewContactSession) -> Result<CreatedSession, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::CreateSession(new.clone(), r)).await
    }

    /// Applies a Clerk change; used by system ingest.
    pub async fn apply(&self, change: OrgChange) -> Result<(), ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::Apply(change.clone(), r)).await
    }

    /// Makes the organization known with these widget settings, with no operator or webhook
    /// behind it: how `assist serve --demo` seeds its organization. Settings arrive validated.
    pub async fn seed(&self, settings: WidgetSettings) -> Result<(), ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::Seed(settings.clone(), r)).await
    }
}

/// `work` as a job that sends its result to the caller.
fn answering<T, F>(work: F, reply: Reply<T>) -> Job
where
    T: Send + 'static,
    F: for<'s> FnOnce(&'s mut OrgState) -> BoxFuture<'s, Result<T, ApiError>> + Send + 'static,
{
    job(move |state| {
        async move {
            // A closed reply port only means the caller gave up; the work is done either way.
            let _ = reply.send(work(state).await);
        }
        .boxed()
    })
}

fn job<F>(work: F) -> Job
where
    F: for<'s> FnOnce(&'s mut OrgState) -> BoxFuture<'s, ()> + Send + 'static,
{
    Box::new(work)
}
