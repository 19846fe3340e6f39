//! One organization's actor: the only writer of its settings (and, as they arrive, its contact
//! sessions and conversations). Callers reach it through [`Org`], a view on the tenants handle.

mod actor;
mod conversations;
mod handle;
mod seed;
mod sessions;
mod settings;
mod system;

pub(crate) use actor::{OrgActor, OrgArgs, OrgMsg};
pub use handle::Org;
pub use system::OrgChange;
