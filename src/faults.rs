//! Fault injection for the test suite. With the `fault-injection` feature a test can arm a fault
//! for one key (an org id, an event id) to prove that crashes lose nothing acknowledged and that
//! failing work is bounded. Without the feature every check compiles to `false`.

/// A fault a test can arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The org actor panics right after its next committed write, before replying (key: org).
    PanicAfterWrite,
    /// System ingest panics after applying the event, before recording and acking it (key:
    /// event id). Fires once.
    PanicAfterApply,
    /// System ingest fails to apply the event, every time (key: event id).
    FailApply,
}

#[cfg(feature = "fault-injection")]
static ARMED: std::sync::Mutex<Vec<(Fault, String)>> = std::sync::Mutex::new(Vec::new());

#[cfg(feature = "fault-injection")]
pub fn arm(fault: Fault, key: &str) {
    ARMED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((fault, key.to_owned()));
}

/// Whether `fault` is armed for `key`; one-shot faults are disarmed by firing.
#[cfg(feature = "fault-injection")]
pub(crate) fn fires(fault: Fault, key: &str) -> bool {
    let mut armed = ARMED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(at) = armed.iter().position(|(f, k)| *f == fault && k == key) else { return false };
    if fault != Fault::FailApply {
        armed.remove(at);
    }
    true
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn fires(_: Fault, _: &str) -> bool {
    false
}
