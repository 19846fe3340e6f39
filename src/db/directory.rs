//! What Clerk tells us about people and billing: `users`, `memberships`, `subscriptions`. Users
//! are global; memberships and subscriptions belong to an org and are written by its actor.

use surrealdb::types::RecordId;

use super::{Db, DbError};
use crate::ids::OrgId;
use crate::webhooks::clerk::{ClerkMembership, ClerkSubscription, ClerkUser};

#[derive(Clone, Debug)]
pub struct Directory {
    db: Db,
}

impl Directory {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn upsert_user(&self, user: &ClerkUser) -> Result<(), DbError> {
        self.db
            .client()
            .query(
                "UPSERT $rid SET user = $user, first_name = $first_name, last_name = $last_name, \
                 email = $email, image_url = $image_url RETURN NONE",
            )
            .bind(("rid", RecordId::new("users", user.id.as_str())))
            .bind(("user", user.id.clone()))
            .bind(("first_name", user.first_name.clone()))
            .bind(("last_name", user.last_name.clone()))
            .bind(("email", user.primary_email.clone()))
            .bind(("image_url", user.image_url.clone()))
            .await?
            .check()?;
        Ok(())
    }

    /// Removes the user and every membership they had.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), DbError> {
        self.db
            .client()
            .query("BEGIN; DELETE $rid; DELETE memberships WHERE user = $user; COMMIT;")
            .bind(("rid", RecordId::new("users", user_id)))
            .bind(("user", user_id.to_owned()))
            .await?
            .check()?;
        Ok(())
    }

    pub async fn upsert_membership(&self, membership: &ClerkMembership) -> Result<(), DbError> {
        let query = self.db
            .write("UPSERT $rid SET membership = $membership, org = $org, user = $user, role = $role RETURN NONE")
            .bind(("rid", RecordId::new("memberships", membership.id.as_str())))
            .bind(("membership", membership.id.clone()))
            .bind(("org", membership.org.as_str().to_owned()))
            .bind(("user", membership.user_id.clone()))
            .bind(("role", membership.role.clone()));
        self.db.commit(query).await?;
        Ok(())
    }

    pub async fn delete_membership(&self, membership: &ClerkMembership) -> Result<(), DbError> {
        let query = self
            .db
            .write("DELETE $rid WHERE org = $org")
            .bind(("rid", RecordId::new("memberships", membership.id.as_str())))
            .bind(("org", membership.org.as_str().to_owned()));
        self.db.commit(query).await?;
        Ok(())
    }

    pub async fn upsert_subscription(
        &self,
        org: &OrgId,
        subscription: &ClerkSubscription,
    ) -> Result<(), DbError> {
        let query = self.db
            .write("UPSERT $rid SET subscription = $subscription, org = $org, status = $status, plans = $plans RETURN NONE")
            .bind(("rid", RecordId::new("subscriptions", subscription.id.as_str())))
            .bind(("subscription", subscription.id.clone()))
            .bind(("org", org.as_str().to_owned()))
            .bind(("status", subscription.status.as_str().to_owned()))
            .bind(("plans", subscription.plans.clone()));
        self.db.commit(query).await?;
        Ok(())
    }
}
