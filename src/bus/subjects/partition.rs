//! The partitioned families. nats-server rewrites every subject that names an org onto its
//! partition (the `mappings` block of `config/nats-server.conf`), and a node subscribes to the
//! partitions it holds a lease on (`crate::actors::partitions`): so each org's requests reach
//! exactly one node, chosen by NATS rather than by a directory of ours.
//!
//! | published by callers                   | delivered as                                         |
//! |----------------------------------------|------------------------------------------------------|
//! | `assist.v1.public.<org>.<rest>`        | `assist.v1.partition.<p>.public.<org>.<rest>`        |
//! | `assist.v1.owner.<org>.<verb>`         | `assist.v1.partition.<p>.owner.<org>.<verb>`         |
//!
//! `p` is [`partition_of`]: the same hash nats-server's `{{partition(n,1)}}` computes.

use super::{PublicOperation, parse_public_rest};
use crate::error::ApiError;
use crate::ids::OrgId;

const PARTITION_PREFIX: &str = "assist.v1.partition";
const OWNER_PREFIX: &str = "assist.v1.owner";

/// The partition count of the bundled configuration; nodes and the NATS mapping must agree.
pub const DEFAULT_PARTITIONS: u16 = 16;

/// The partition of an org: FNV-1a (32 bit) of its id modulo the partition count, which is
/// how nats-server's partition transform hashes the org token (checked against a real server
/// in the test suite).
pub fn partition_of(org: &OrgId, partitions: u16) -> u16 {
    partition_of_token(org.as_str(), partitions)
}

/// The same hash for any subject token (a node id picks where it starts claiming with it).
pub fn partition_of_token(token: &str, partitions: u16) -> u16 {
    let hash = token.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    u16::try_from(hash % u32::from(partitions.max(1))).unwrap_or(0)
}

/// What the holder of partition `p` subscribes to (in a queue group, so an overlap during a
/// handover still delivers each request once).
pub fn partition_inbox(partition: u16) -> String {
    format!("{PARTITION_PREFIX}.{partition}.>")
}

/// What the owner of an org is asked besides public requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerVerb {
    /// System ingest hands over an org-scoped event (the raw webhook, re-read by the owner).
    Apply,
    /// A node checks at start-up that NATS partitions as configured; owners ignore it.
    Probe,
    /// Knowledge ingestion reports a document ready or failed.
    Ingested,
    /// The agent reports an answer (or its failure) to commit.
    Answered,
    /// Vapi's assistant searches the org's knowledge mid-call (`search_knowledge`).
    Search,
}

impl OwnerVerb {
    const ALL: [OwnerVerb; 5] = [Self::Apply, Self::Probe, Self::Ingested, Self::Answered, Self::Search];

    fn token(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Probe => "probe",
            Self::Ingested => "ingested",
            Self::Answered => "answered",
            Self::Search => "search",
        }
    }
}

/// `assist.v1.owner.<org>.<verb>`: published by backend processes only (closed to outside
/// users by the bundled permissions); delivered to whichever node owns the org's partition.
pub fn owner(org: &OrgId, verb: OwnerVerb) -> String {
    format!("{OWNER_PREFIX}.{org}.{}", verb.token())
}

/// Where a probe for `org` arrives, whatever partition NATS picks.
pub fn probe_delivery(org: &OrgId) -> String {
    format!("{PARTITION_PREFIX}.*.owner.{org}.{}", OwnerVerb::Probe.token())
}

/// A request as a partition's holder receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed<O> {
    Public(OrgId, O),
    Owner(OrgId, OwnerVerb),
}

impl<O> Routed<O> {
    pub fn org(&self) -> &OrgId {
        match self {
            Self::Public(org, _) | Self::Owner(org, _) => org,
        }
    }
}

/// `(partition, request)` of a subject delivered on a partition inbox.
pub fn parse_partitioned<O: PublicOperation>(subject: &str) -> Result<(u16, Routed<O>), ApiError> {
    let bad = || ApiError::invalid("subject", format!("not a partitioned subject: {subject}"));
    let rest = subject.strip_prefix(PARTITION_PREFIX).and_then(|r| r.strip_prefix('.')).ok_or_else(bad)?;
    let (partition, rest) = rest.split_once('.').ok_or_else(bad)?;
    let partition: u16 = partition.parse().map_err(|_| bad())?;
    if let Some(public) = rest.strip_prefix("public.") {
        let (org, endpoint) = parse_public_rest(public, subject)?;
        return Ok((partition, Routed::Public(org, endpoint)));
    }
    let owner = rest.strip_prefix("owner.").ok_or_else(bad)?;
    let (org, verb) = owner.split_once('.').ok_or_else(bad)?;
    let verb = OwnerVerb::ALL.into_iter().find(|v| v.token() == verb).ok_or_else(bad)?;
    Ok((partition, Routed::Owner(OrgId::parse(org)?, verb)))
}
