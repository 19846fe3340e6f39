//! How long to wait before the next attempt. Backoff is exponential from 100 ms with jitter, so
//! orgs retrying after the same blip do not return to the provider in lockstep.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

const BASE: Duration = Duration::from_millis(100);

/// A `Retry-After` is obeyed only up to this. Callers sit behind the edge's 10 s request
/// timeout, so a longer wait would outlive the request it serves; past the cap we try once more
/// early rather than leave the caller hanging on an answer nobody will read.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(2);

/// The pause after failed attempt number `attempt` (1-based).
pub fn delay(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(RETRY_AFTER_CAP);
    }
    let exponential = BASE * 2u32.saturating_pow(attempt.saturating_sub(1)).min(64);
    exponential.mul_f64(rand::rng().random_range(0.5..1.5))
}

/// Only the delay-seconds form: Vapi and OpenAI send seconds, and an HTTP date would need a clock
/// we cannot trust to match theirs anyway.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_exponentially_within_its_jitter() {
        for _ in 0..50 {
            let first = delay(1, None);
            let third = delay(3, None);
            assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(150), "{first:?}");
            assert!(third >= Duration::from_millis(200) && third < Duration::from_millis(600), "{third:?}");
        }
    }

    #[test]
    fn retry_after_is_obeyed_up_to_the_cap() {
        assert_eq!(delay(1, Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(delay(1, Some(Duration::from_secs(120))), RETRY_AFTER_CAP);
    }

    #[test]
    fn retry_after_reads_seconds_and_ignores_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
    }
}
