//! Stream tickets: browsers' EventSource cannot send an `Authorization` header, so an operator
//! trades the JWT for a short-lived, single-use ticket to put in the stream's URL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::state::OrgState;
use crate::auth::Operator;
use crate::error::ApiError;

/// What every wrong ticket reads, so that tickets cannot be probed.
pub(super) const TICKET_REFUSED: &str = "ticket: missing, unknown, used or expired stream ticket";

const LIFETIME_SECS: i64 = 60;
/// Unredeemed tickets beyond this are dropped, oldest first: memory stays bounded.
const MAX_OPEN: usize = 256;

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

impl OrgState {
    pub(crate) async fn create_ticket(&mut self, operator: &Operator) -> Result<Ticket, ApiError> {
        self.first_sight(operator).await?;
        let now = self.clock.now();
        self.tickets.retain(|(_, expires)| *expires > now);
        if self.tickets.len() >= MAX_OPEN {
            self.tickets.remove(0);
        }
        let ticket = Ticket {
            ticket: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
            expires_at: now + Duration::seconds(LIFETIME_SECS),
        };
        self.tickets.push((ticket.ticket.clone(), ticket.expires_at));
        Ok(ticket)
    }

    /// Single use: a ticket is gone once redeemed, valid or not.
    pub(crate) fn redeem_ticket(&mut self, ticket: &str) -> Result<(), ApiError> {
        let refused = || ApiError::unauthenticated(TICKET_REFUSED);
        let at = self.tickets.iter().position(|(t, _)| t == ticket).ok_or_else(refused)?;
        let (_, expires) = self.tickets.remove(at);
        if expires <= self.clock.now() {
            return Err(refused());
        }
        Ok(())
    }
}
