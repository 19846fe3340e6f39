//! Fault injection for the test suite: with the `fault-injection` feature, a test can make an
//! org actor panic right after its next committed write, to prove that a crash loses nothing
//! acknowledged and that the actor comes back. Without the feature this compiles to nothing.

use crate::ids::OrgId;

#[cfg(feature = "fault-injection")]
static ARMED: std::sync::Mutex<Vec<OrgId>> = std::sync::Mutex::new(Vec::new());

/// Arms one panic for `org`: its next write commits, then the actor panics before replying.
#[cfg(feature = "fault-injection")]
pub fn panic_after_next_write(org: &OrgId) {
    ARMED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(org.clone());
}

#[cfg(feature = "fault-injection")]
pub(crate) fn after_write(org: &OrgId) {
    let mut armed = ARMED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(at) = armed.iter().position(|o| o == org) {
        armed.remove(at);
        drop(armed);
        panic!("injected fault: org actor {org} panics after a committed write");
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn after_write(_: &OrgId) {}
