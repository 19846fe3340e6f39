//! The start-up check that NATS partitions org subjects the way nodes expect. Without the
//! mappings (an external NATS configured by hand), public requests would reach no node at all;
//! with another partition count, two nodes could each believe they own one org. Either is
//! refused at start with what to fix, rather than discovered in production.

use std::time::Duration;

use futures::StreamExt;

use super::BusError;
use super::subjects::{self, OwnerVerb, Routed};
use crate::ids::OrgId;

const WAIT: Duration = Duration::from_secs(3);

pub async fn check_partitioning(nats: &async_nats::Client, partitions: u16) -> Result<(), BusError> {
    let err = |e: &dyn std::fmt::Display| BusError::Partitioning(format!("probing the NATS mappings: {e}"));
    let org = OrgId::parse(&format!("probe-{}", uuid::Uuid::new_v4().simple())).map_err(|e| err(&e))?;
    let mut delivered = nats.subscribe(subjects::probe_delivery(&org)).await.map_err(|e| err(&e))?;
    nats.publish(subjects::owner(&org, OwnerVerb::Probe), bytes::Bytes::new()).await.map_err(|e| err(&e))?;
    nats.flush().await.map_err(|e| err(&e))?;
    let Ok(Some(message)) = tokio::time::timeout(WAIT, delivered.next()).await else {
        return Err(BusError::Partitioning(
            "NATS does not map assist.v1.public.* and assist.v1.owner.* onto partitions: \
             add the `mappings` block of config/nats-server.conf to the server's configuration"
                .into(),
        ));
    };
    let expected = subjects::partition_of(&org, partitions);
    match subjects::parse_partitioned::<std::convert::Infallible>(&message.subject) {
        Ok((got, Routed::Owner(..))) if got == expected => Ok(()),
        _ => Err(BusError::Partitioning(format!(
            "NATS mapped a probe to {} but ASSIST_PARTITIONS={partitions} expects partition {expected}: \
             the partition count of the NATS mappings and ASSIST_PARTITIONS must be equal",
            message.subject
        ))),
    }
}
