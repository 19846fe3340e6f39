//! One circuit breaker per provider, shared by every org: when the provider itself is down, each
//! org discovering it separately would mean a timeout per org and per retry, piling up waiting
//! requests. Only faults that are the provider's (5xx, timeouts, dropped connections) count; a
//! refused key is an answer, and proves the provider is up.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

pub struct Breaker {
    /// The provider, for the log.
    name: &'static str,
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// After the cooldown one trial call is in flight; everyone else is still refused.
    HalfOpen,
}

/// Permission for one attempt, whose outcome is reported through [`Ticket::record`]. A ticket
/// dropped unreported (the caller gave up, or nothing was sent) changes no count, and hands a
/// half-open breaker's trial to the next caller, so an abandoned trial never leaves it stuck.
pub struct Ticket<'a> {
    breaker: &'a Breaker,
    trial: bool,
    recorded: bool,
}

/// How an attempt ended, as far as the provider's health is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// The provider answered (any status below 500, including 401 and 429).
    Answered,
    /// 5xx, timeout or connection failure.
    Fault,
}

impl Breaker {
    pub fn new(name: &'static str, threshold: u32, cooldown: Duration) -> Self {
        Self { name, threshold: threshold.max(1), cooldown, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `None` while open: the caller answers "unavailable" without calling the provider.
    pub fn admit(&self) -> Option<Ticket<'_>> {
        let mut state = self.state();
        let trial = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => return None,
        };
        Some(Ticket { breaker: self, trial, recorded: false })
    }

    fn open(&self, state: &mut State) {
        *state = State::Open { until: Instant::now() + self.cooldown };
    }
}

impl Ticket<'_> {
    pub fn record(mut self, health: Health) {
        self.recorded = true;
        let breaker = self.breaker;
        let mut state = breaker.state();
        match (health, *state) {
            (Health::Answered, _) => *state = State::Closed { failures: 0 },
            (Health::Fault, State::Closed { failures }) if failures + 1 < breaker.threshold => {
                *state = State::Closed { failures: failures + 1 };
            }
            (Health::Fault, State::Closed { .. } | State::HalfOpen) => {
                breaker.open(&mut state);
                tracing::warn!(
                    provider = breaker.name,
                    cooldown_ms = breaker.cooldown.as_millis() as u64,
                    "circuit breaker opened"
                );
            }
            // Another attempt already opened it; its cooldown stands.
            (Health::Fault, State::Open { .. }) => {}
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.trial && !self.recorded {
            let mut state = self.breaker.state();
            if *state == State::HalfOpen {
                *state = State::Open { until: Instant::now() };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(30);

    fn fail(breaker: &Breaker, times: u32) {
        for _ in 0..times {
            breaker.admit().expect("admitted").record(Health::Fault);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_of_consecutive_faults() {
        let breaker = Breaker::new("test", 3, COOLDOWN);
        fail(&breaker, 2);
        assert!(breaker.admit().is_some());
        fail(&breaker, 1);
        assert!(breaker.admit().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_resets_the_count_of_faults() {
        let breaker = Breaker::new("test", 3, COOLDOWN);
        fail(&breaker, 2);
        breaker.admit().unwrap().record(Health::Answered);
        fail(&breaker, 2);
        assert!(breaker.admit().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn lets_one_trial_through_after_the_cooldown_and_closes_on_success() {
        let breaker = Breaker::new("test", 1, COOLDOWN);
        fail(&breaker, 1);
        tokio::time::advance(COOLDOWN).await;
        let trial = breaker.admit().expect("the trial");
        assert!(breaker.admit().is_none(), "only one trial at a time");
        trial.record(Health::Answered);
        assert!(breaker.admit().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_for_a_full_cooldown() {
        let breaker = Breaker::new("test", 1, COOLDOWN);
        fail(&breaker, 1);
        tokio::time::advance(COOLDOWN).await;
        breaker.admit().unwrap().record(Health::Fault);
        tokio::time::advance(COOLDOWN / 2).await;
        assert!(breaker.admit().is_none());
        tokio::time::advance(COOLDOWN / 2).await;
        assert!(breaker.admit().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_trial_does_not_leave_the_breaker_stuck() {
        let breaker = Breaker::new("test", 1, COOLDOWN);
        fail(&breaker, 1);
        tokio::time::advance(COOLDOWN).await;
        drop(breaker.admit().expect("the trial"));
        assert!(breaker.admit().is_some());
    }
}
