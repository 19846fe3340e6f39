//! One organization's actor: the only writer of its settings (and, as they arrive, its contact
//! sessions and conversations). Callers reach it through [`Org`], a view on the tenants handle.

mod actor;
mod agent;
mod conversations;
mod handle;
mod knowledge;
mod mail;
mod plugin;
mod seed;
mod sessions;
mod settings;
mod state;
mod system;
mod tickets;
mod voice;

pub(crate) use actor::{OrgActor, OrgArgs};
pub use handle::{Org, Refusal};
pub(crate) use mail::{OrgMail, OrgMsg};
pub(crate) use plugin::{ai_key_context, key_context};
pub use system::OrgChange;
pub use tickets::Ticket;
