//! The message bus: subject names, the NATS micro service that takes the requests of the
//! partitions a node holds, the request/reply envelope both doors share, and the embedded
//! nats-server for single-machine runs. It carries messages and knows no actor: what a request
//! does is decided above it ([`crate::api`]).

pub mod ai;
pub mod embedded;
pub mod envelope;
pub mod events;
mod probe;
mod request;
mod service;
pub mod subjects;
pub mod system;
pub mod uploads;

pub use probe::check_partitioning;
pub use request::request;
pub use service::{BusService, PartitionServer, Serve};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect { url: String, source: async_nats::ConnectError },
    #[error("{url} is not a NATS URL: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot start the NATS micro service: {0}")]
    Service(String),
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error("nats-server: {0}")]
    Server(String),
    #[error("{0}")]
    Partitioning(String),
}

/// Connects to NATS. `url` may list several servers (comma-separated) and carry `user:password@`,
/// which async-nats does not apply by itself.
pub async fn connect(
    url: &str,
    name: &str,
    request_timeout: std::time::Duration,
) -> Result<async_nats::Client, BusError> {
    let redacted = redact(url);
    let addrs = url
        .split(',')
        .map(|one| one.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BusError::Url { url: redacted.clone(), reason: e.to_string() })?;
    let mut options = async_nats::ConnectOptions::new().name(name).request_timeout(Some(request_timeout));
    if let Some(addr) = addrs.iter().find(|a| a.has_user_pass()) {
        let user = addr.username().unwrap_or_default().to_owned();
        let password = addr.password().unwrap_or_default().to_owned();
        options = options.user_and_password(user, password);
    }
    options.connect(addrs).await.map_err(|source| BusError::Connect { url: redacted, source })
}

/// Connection URLs may carry a password; errors and logs get them without.
pub fn redact(url: &str) -> String {
    url.split(',')
        .map(|one| match (one.find("://"), one.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &one[..scheme], &one[at + 1..]),
            _ => one.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(super::redact("nats://a:secret@127.0.0.1:4222"), "nats://***@127.0.0.1:4222");
        assert_eq!(
            super::redact("nats://127.0.0.1:4222,nats://u:p@h:1"),
            "nats://127.0.0.1:4222,nats://***@h:1"
        );
    }
}
