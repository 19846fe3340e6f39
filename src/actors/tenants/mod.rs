//! Tenants: activates org actors on demand (virtual-actor style), passivates idle ones and
//! restarts failed ones within a bounded intensity.
//!
//! Routing does not go through the tenants actor: callers look the org up in a shared table and
//! enqueue directly, under the table's read lock. Tenants removes an entry under the write lock
//! before it asks the actor to stop, so every message routed through the table is queued ahead
//! of the stop, and a replacement actor is only started once the old one has terminated. That
//! keeps one writer per org without putting tenants on the hot path.

mod actor;
mod handle;
mod table;

pub(crate) use actor::TenantsActor;
pub use handle::Tenants;
pub use table::OrgStatus;
