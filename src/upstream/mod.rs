//! What every call to an outside provider goes through, whichever provider it is (Vapi, the AI
//! provider): a per-org slot ([`OrgLimits`]), then up to N attempts ([`with_retries`]), each
//! admitted by the provider's circuit breaker ([`Breaker`]) and followed, when it may be retried
//! (429, 5xx, a timeout, a dropped connection), by a pause that honours `Retry-After`
//! ([`retry`]). Each client keeps its own wire and decides what its answers mean.

mod breaker;
mod limits;
mod metrics;
pub mod retry;

use std::time::Duration;

pub use breaker::{Breaker, Health};
pub use limits::{OrgLimits, Slot};
pub use metrics::CallMetrics;

use crate::crypto::Secret;

/// Enough of an unexpected body to diagnose it from the log, without flooding it.
const BODY_EXCERPT_CHARS: usize = 200;

/// What one attempt came to.
pub enum Attempt<T, E> {
    Done(Result<T, E>),
    Retry { error: E, retry_after: Option<Duration> },
}

/// One attempt as the retry loop sees it.
pub struct Tried<T, E> {
    /// The provider's health as it showed; `None` if the request never left.
    pub health: Option<Health>,
    /// The status, if the provider answered.
    pub status: Option<u16>,
    pub next: Attempt<T, E>,
}

/// The end of a call: its result, the last status the provider answered, and attempts made.
pub struct Outcome<T, E> {
    pub result: Result<T, E>,
    pub status: Option<u16>,
    pub attempts: u32,
}

/// Makes up to `max_attempts` attempts, each admitted by `breaker`; an open breaker ends the
/// call at once with `refused()`. `what` names the call in the log.
pub async fn with_retries<T, E, Fut>(
    breaker: &Breaker,
    max_attempts: u32,
    what: &str,
    refused: impl Fn() -> E,
    mut attempt: impl FnMut() -> Fut,
) -> Outcome<T, E>
where
    E: std::fmt::Display,
    Fut: Future<Output = Tried<T, E>>,
{
    let mut attempts = 0;
    loop {
        let Some(ticket) = breaker.admit() else {
            return Outcome { result: Err(refused()), status: None, attempts };
        };
        attempts += 1;
        let Tried { health, status, next } = attempt().await;
        // An unrecorded ticket tells the breaker nothing, as nothing reached the provider.
        match health {
            Some(health) => ticket.record(health),
            None => drop(ticket),
        }
        match next {
            Attempt::Done(result) => return Outcome { result, status, attempts },
            Attempt::Retry { error, .. } if attempts >= max_attempts => {
                return Outcome { result: Err(error), status, attempts };
            }
            Attempt::Retry { error, retry_after } => {
                let pause = retry::delay(attempts, retry_after);
                tracing::debug!(
                    what, status, attempts, %error, pause_ms = pause.as_millis() as u64,
                    "retrying a provider call"
                );
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// The start of a body, with the key blanked out in case the provider ever echoes it.
pub fn excerpt(body: &[u8], key: &Secret) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(BODY_EXCERPT_CHARS).collect();
    if key.expose().is_empty() { text } else { text.replace(key.expose(), "***") }
}

/// reqwest's Display leaves out the cause (`connection refused`), which is what an operator needs.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// A 5xx is the provider's fault; any other answer shows it up.
pub fn health(status: reqwest::StatusCode) -> Health {
    if status.is_server_error() { Health::Fault } else { Health::Answered }
}
