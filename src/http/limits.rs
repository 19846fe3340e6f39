//! Rate limits for the anonymous widget routes: one token bucket per client address and one per
//! organization, so neither a single client nor a flood spread over many clients can exhaust an
//! org, and contact-session tokens cannot be guessed at speed. Limits are per node.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

/// Requests per second, sustained, and the burst allowed on top.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    pub per_client: Rate,
    pub per_org: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_client: Rate { per_second: 20.0, burst: 60.0 },
            per_org: Rate { per_second: 500.0, burst: 1000.0 },
        }
    }
}

/// Buckets beyond this are pruned (full ones first): memory stays bounded under a scan.
const MAX_KEYS: usize = 100_000;

struct Buckets<K> {
    rate: Rate,
    state: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Eq + Hash> Buckets<K> {
    fn new(rate: Rate) -> Self {
        Self { rate, state: Mutex::new(HashMap::new()) }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        let Rate { per_second, burst } = self.rate;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.len() >= MAX_KEYS {
            state.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
            if state.len() >= MAX_KEYS {
                state.clear();
            }
        }
        let (tokens, at) = state.entry(key).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

#[derive(Clone)]
pub struct Limiter {
    clients: Arc<Buckets<IpAddr>>,
    orgs: Arc<Buckets<String>>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            clients: Arc::new(Buckets::new(limits.per_client)),
            orgs: Arc::new(Buckets::new(limits.per_org)),
        }
    }
}

/// What one client is counted as: its IPv4 address, or its IPv6 /64, the block one subscriber is
/// usually given, so that moving within it escapes no limit.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

/// Middleware for the widget routes (`/v1/widget/{org}/…`).
pub(super) async fn limit(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    let now = Instant::now();
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| client_key(c.0.ip()));
    let org = request.uri().path().split('/').nth(3).unwrap_or_default().to_owned();
    let verdict =
        client.map_or(Ok(()), |ip| limiter.clients.take(ip, now)).and_then(|()| limiter.orgs.take(org, now));
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = wait.as_secs().max(1);
            let err = ApiError::new(ErrorCode::RateLimited, format!("too many requests; retry in {secs} s"));
            let mut response = err.into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let buckets = Buckets::new(Rate { per_second: 2.0, burst: 3.0 });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take("k", t0).is_ok());
        }
        let wait = buckets.take("k", t0).unwrap_err();
        assert!(wait <= Duration::from_millis(500));
        assert!(buckets.take("k", t0 + Duration::from_millis(500)).is_ok());
        assert!(buckets.take("other", t0).is_ok(), "keys are independent");
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_64() {
        let key = |ip: &str| client_key(ip.parse().unwrap());
        assert_eq!(key("192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
    }
}
