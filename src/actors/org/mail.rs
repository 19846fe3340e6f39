//! The org actor's messages, so the operations that send them need not know the actor.

use futures::future::BoxFuture;
use tracing::Span;

use super::state::{OrgState, Reply};
use super::system::OrgChange;
use crate::model::contact_session::{CreatedSession, NewContactSession};
use crate::model::widget_settings::WidgetSettings;

/// An [`OrgMsg`] with the span it was sent from, so the org's log lines carry the request's
/// fields (endpoint, request id). ractor's `message_span_propogation` would do this for every
/// actor, but it reserves room for a span in each of a mailbox's 32 preallocated slots, a cost
/// every org actor pays, idle or not. Here the span lives in the message's own box, and only
/// while the message is queued.
///
/// Boxed again inside ractor's box, so the mail is a pointer: ractor's message loop, kept
/// allocated for the actor's whole life, holds a received message inline, and an `OrgMsg` is
/// large.
pub(crate) struct OrgMail(Box<Sent>);

const _: () = assert!(size_of::<OrgMail>() == size_of::<usize>(), "an org's mail must stay a pointer");

struct Sent {
    msg: OrgMsg,
    span: Span,
}

impl OrgMail {
    /// The message and the span it was sent from.
    pub(super) fn open(self) -> (OrgMsg, Span) {
        let Sent { msg, span } = *self.0;
        (msg, span)
    }
}

/// Takes the span current where the conversion happens, so convert where the message is sent.
impl From<OrgMsg> for OrgMail {
    fn from(msg: OrgMsg) -> Self {
        Self(Box::new(Sent { msg, span: Span::current() }))
    }
}

/// Work an operation does inside the actor with the org's state (see `crate::api`); it
/// answers its caller itself.
pub(crate) type Job = Box<dyn for<'s> FnOnce(&'s mut OrgState) -> BoxFuture<'s, ()> + Send>;

pub(crate) enum OrgMsg {
    /// An operation, once a session batch being committed has settled.
    Run(Job),
    /// A read that runs beside a session batch being committed: it must not write.
    Read(Job),
    /// The widget starts a contact session.
    CreateSession(NewContactSession, Reply<CreatedSession>),
    /// A change Clerk's webhooks reported (organization, membership, billing).
    Apply(OrgChange, Reply<()>),
    /// A local seed (`assist serve --demo`) records the organization and its widget settings.
    Seed(WidgetSettings, Reply<()>),
    /// Self-sent after a session is queued, behind it in the mailbox, so every session request
    /// already waiting joins the same transaction.
    CommitSessions,
    /// Sent by a batch's task once its callers are answered: the sessions queued meanwhile go
    /// next.
    SessionsCommitted,
    /// Self-sent with the first message after the actor starts: ingest the documents and answer
    /// the conversations a restart cut short.
    Resume,
    /// Sent by tenants when idle: stop once the messages already queued are answered.
    Passivate,
}
