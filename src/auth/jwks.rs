//! Clerk's public signing keys. They are kept for five minutes, as Clerk's own SDK does, so a
//! verification costs no round trip; a `kid` we have not seen means Clerk may have rotated its
//! keys, so it earns one early refetch, but at most one per few seconds: otherwise anyone could
//! make us hammer Clerk by sending tokens with made-up key ids.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::error::ApiError;

const FRESH_FOR: Duration = Duration::from_secs(5 * 60);
/// Both the pause between refetches for unknown key ids and the pause after a failed fetch.
const REFETCH_PAUSE: Duration = Duration::from_secs(5);
/// A slow Clerk must not hold every waiting verification hostage for long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct KeyCache {
    url: String,
    http: reqwest::Client,
    state: RwLock<State>,
    /// Held for the length of one fetch, so concurrent misses share it instead of each fetching.
    /// The key map itself stays readable meanwhile.
    fetching: Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    /// Only refetches forced by an unknown `kid` in a fresh cache count here; the routine
    /// five-minute refresh is already rate-limited by freshness.
    last_unknown_kid_fetch: Option<Instant>,
    last_failure: Option<Instant>,
}

impl State {
    fn is_fresh(&self, now: Instant) -> bool {
        self.fetched_at.is_some_and(|at| now.duration_since(at) < FRESH_FOR)
    }

    fn should_fetch(&self, kid: &str, now: Instant) -> bool {
        let recent = |at: Option<Instant>| at.is_some_and(|at| now.duration_since(at) < REFETCH_PAUSE);
        if recent(self.last_failure) {
            return false;
        }
        if !self.is_fresh(now) {
            return true;
        }
        !self.keys.contains_key(kid) && !recent(self.last_unknown_kid_fetch)
    }

    fn lookup(&self, kid: &str) -> Result<Arc<DecodingKey>, ApiError> {
        match self.keys.get(kid) {
            Some(key) => Ok(Arc::clone(key)),
            None if self.keys.is_empty() => Err(ApiError::unavailable(
                "Clerk's signing keys (JWKS) could not be loaded; try again shortly",
            )),
            None => {
                Err(super::unauthenticated("it is signed with a key Clerk does not publish (unknown kid)"))
            }
        }
    }
}

impl KeyCache {
    pub(super) fn new(url: String, http: reqwest::Client) -> Self {
        Self { url, http, state: RwLock::default(), fetching: Mutex::new(()) }
    }

    /// The key Clerk published under `kid`. An unknown `kid` is the caller's problem (401) as
    /// long as we hold any keys at all; holding none means we could not reach Clerk (503).
    pub(super) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, ApiError> {
        if let Some(answer) = self.answer_from_cache(kid).await {
            return answer;
        }
        let _single_flight = self.fetching.lock().await;
        // Whoever held the lock before us may have fetched what we need.
        if let Some(answer) = self.answer_from_cache(kid).await {
            return answer;
        }
        let for_unknown_kid = self.state.read().await.is_fresh(Instant::now());
        let fetched = self.fetch().await;

        let mut state = self.state.write().await;
        let now = Instant::now();
        match fetched {
            Ok(keys) => {
                if for_unknown_kid {
                    state.last_unknown_kid_fetch = Some(now);
                }
                state.keys = keys;
                state.fetched_at = Some(now);
                state.last_failure = None;
            }
            Err(cause) => {
                // Stale keys stay in use: Clerk being down should not log everyone out.
                tracing::warn!(url = %self.url, error = ?cause, "could not fetch Clerk's JWKS");
                state.last_failure = Some(now);
            }
        }
        state.lookup(kid)
    }

    /// `None` when the cache cannot answer without a fetch.
    async fn answer_from_cache(&self, kid: &str) -> Option<Result<Arc<DecodingKey>, ApiError>> {
        let state = self.state.read().await;
        (!state.should_fetch(kid, Instant::now())).then(|| state.lookup(kid))
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, reqwest::Error> {
        let jwks: Jwks =
            self.http.get(&self.url).timeout(FETCH_TIMEOUT).send().await?.error_for_status()?.json().await?;
        Ok(jwks.keys.into_iter().filter_map(Jwk::into_rs256_key).collect())
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl Jwk {
    /// Keys we could never accept a token for (encryption keys, other algorithms) are dropped
    /// here, so a lookup by `kid` can only ever find an RS256 verification key.
    fn into_rs256_key(self) -> Option<(String, Arc<DecodingKey>)> {
        let usable = self.kty == "RSA"
            && self.usage.as_deref().is_none_or(|usage| usage == "sig")
            && self.alg.as_deref().is_none_or(|alg| alg == "RS256");
        let (Some(kid), Some(n), Some(e), true) = (self.kid, self.n, self.e, usable) else {
            return None;
        };
        match DecodingKey::from_rsa_components(&n, &e) {
            Ok(key) => Some((kid, Arc::new(key))),
            Err(error) => {
                tracing::warn!(%kid, %error, "skipping a malformed key in Clerk's JWKS");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(kid: &str, fetched_ago: Duration) -> (State, Instant) {
        let now = Instant::now() + FRESH_FOR * 2;
        let key = Arc::new(DecodingKey::from_rsa_raw_components(b"n", b"e"));
        let state = State {
            keys: HashMap::from([(kid.to_owned(), key)]),
            fetched_at: Some(now - fetched_ago),
            ..State::default()
        };
        (state, now)
    }

    #[test]
    fn a_known_kid_in_a_fresh_cache_needs_no_fetch() {
        let (state, now) = state_with("ins_1", Duration::from_secs(10));
        assert!(!state.should_fetch("ins_1", now));
    }

    #[test]
    fn a_stale_cache_is_refreshed() {
        let (state, now) = state_with("ins_1", FRESH_FOR);
        assert!(state.should_fetch("ins_1", now));
    }

    #[test]
    fn an_unknown_kid_refetches_only_after_a_pause() {
        let (mut state, now) = state_with("ins_1", Duration::from_secs(1));
        assert!(state.should_fetch("ins_2", now));
        state.last_unknown_kid_fetch = Some(now - Duration::from_secs(1));
        assert!(!state.should_fetch("ins_2", now));
        state.last_unknown_kid_fetch = Some(now - REFETCH_PAUSE);
        assert!(state.should_fetch("ins_2", now));
    }

    #[test]
    fn a_recent_failure_holds_off_the_next_fetch() {
        let (mut state, now) = state_with("ins_1", FRESH_FOR);
        state.last_failure = Some(now - Duration::from_secs(1));
        assert!(!state.should_fetch("ins_1", now));
    }

    #[test]
    fn only_rs256_signing_keys_are_kept() {
        let jwk = |kty: &str, usage: &str, alg: &str| Jwk {
            kid: Some("ins_1".into()),
            kty: kty.into(),
            usage: Some(usage.into()),
            alg: Some(alg.into()),
            n: Some("AQAB".into()),
            e: Some("AQAB".into()),
        };
        assert!(jwk("RSA", "sig", "RS256").into_rs256_key().is_some());
        assert!(jwk("RSA", "enc", "RS256").into_rs256_key().is_none());
        assert!(jwk("RSA", "sig", "RS384").into_rs256_key().is_none());
        assert!(jwk("EC", "sig", "RS256").into_rs256_key().is_none());
    }
}
