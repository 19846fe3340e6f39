//! What the page asks before signing in: `/console/config.json` (which sign-ins are offered),
//! and, with `--demo`, `/console/demo-session` (the demo operator's token). The demo token goes
//! only to a browser on this machine: the connection must come from loopback and the `Host`
//! must name loopback, so a site that rebinds its DNS name to 127.0.0.1 is refused too.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ConsoleOptions;
use crate::auth::DemoOperator;
use crate::error::ApiError;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleConfig {
    /// The Clerk instance to sign in with, if any.
    pub clerk_publishable_key: Option<String>,
    /// Where ClerkJS is loaded from (`https://<Frontend API host>`).
    pub clerk_frontend_api: Option<String>,
    /// Whether this browser may sign in as the demo operator.
    pub demo: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DemoSession {
    /// A bearer token for the dashboard routes of `organizationId`, valid while this node runs.
    pub token: String,
    pub organization_id: String,
    pub user_id: String,
}

/// `GET /console/config.json`.
pub fn config(options: &ConsoleOptions, peer: SocketAddr, headers: &HeaderMap) -> Response {
    let body = ConsoleConfig {
        clerk_publishable_key: options.clerk.as_ref().map(|key| key.key().to_owned()),
        clerk_frontend_api: options.clerk.as_ref().map(|key| key.frontend_api()),
        demo: options.demo.is_some() && on_this_machine(peer, headers),
    };
    private(Json(body).into_response())
}

/// `POST /console/demo-session` (served only with `--demo`).
pub fn demo_session(demo: &DemoOperator, peer: SocketAddr, headers: &HeaderMap) -> Response {
    if !on_this_machine(peer, headers) {
        return ApiError::forbidden(
            "the demo sign-in is offered only to a browser on the machine assist runs on (loopback)",
        )
        .into_response();
    }
    let body = DemoSession {
        token: demo.token().to_owned(),
        organization_id: demo.org().to_string(),
        user_id: crate::auth::DEMO_USER.to_owned(),
    };
    private((StatusCode::CREATED, Json(body)).into_response())
}

fn private(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A loopback connection that asked for a loopback host by name or address.
fn on_this_machine(peer: SocketAddr, headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    peer.ip().to_canonical().is_loopback() && loopback_host(host)
}

fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(inside, _)| inside),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn only_a_loopback_peer_asking_for_a_loopback_host_is_on_this_machine() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "localhost", "127.0.0.1"] {
            assert!(on_this_machine(local, &headers(host)), "{host}");
        }
        assert!(on_this_machine(mapped, &headers("localhost:1")));
        for host in ["evil.example:8080", "evil.example", "10.0.0.1:80", "[fe80::1]:80", ""] {
            assert!(!on_this_machine(local, &headers(host)), "{host}");
        }
        let remote: SocketAddr = "192.168.1.20:5000".parse().unwrap();
        assert!(!on_this_machine(remote, &headers("127.0.0.1:8080")));
        assert!(!on_this_machine(local, &HeaderMap::new()));
    }
}
