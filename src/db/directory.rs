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

    /// Records Clerk's version of the subscription unless a newer one was recorded already (a
    /// late retry), and answers with the status it has now and the org's newest subscription's.
    pub async fn upsert_subscription(
        &self,
        org: &OrgId,
        subscription: &ClerkSubscription,
    ) -> Result<Subscribed, DbError> {
        let query = self
            .db
            .write(&format!("{UPSERT_SUBSCRIPTION}; {}", super::organizations::NEWEST_STATUS))
            .bind(("rid", RecordId::new("subscriptions", subscription.id.as_str())))
            .bind(("subscription", subscription.id.clone()))
            .bind(("org", org.as_str().to_owned()))
            .bind(("status", subscription.status.as_str().to_owned()))
            .bind(("plans", subscription.plans.clone()))
            .bind(("at", subscription.updated_at));
        let mut written = self.db.commit(query).await?;
        let status: Option<String> = written.take(0)?;
        let newest: Option<String> = written.take(1)?;
        let status = status.ok_or(DbError::Missing { table: "subscriptions" })?;
        Ok(Subscribed { status, newest })
    }
}

/// A subscription as recorded after a Clerk event.
#[derive(Debug, PartialEq, Eq)]
pub struct Subscribed {
    /// This subscription's status: the event's, or a newer one already recorded.
    pub status: String,
    /// The org's newest subscription's status: what decides whether paid features are on.
    pub newest: Option<String>,
}

/// Each field keeps what it has when the record holds a newer version than `$at`; the version
/// is set last, since each assignment reads the record as the ones before it left it.
const UPSERT_SUBSCRIPTION: &str = "UPSERT $rid SET subscription = $subscription, org = $org, \
     status = IF clerk_updated_at > $at THEN status ELSE $status END, \
     plans = IF clerk_updated_at > $at THEN plans ELSE $plans END, \
     clerk_updated_at = IF clerk_updated_at > $at THEN clerk_updated_at ELSE $at END \
     RETURN VALUE status";

#[cfg(test)]
mod tests {
    use super::Subscribed;
    use crate::db::{Db, Repos};
    use crate::ids::OrgId;
    use crate::webhooks::clerk::{ClerkSubscription, SubscriptionStatus};

    fn version(id: &str, status: SubscriptionStatus, updated_at: i64) -> ClerkSubscription {
        let org = Some(OrgId::parse("org_pays").unwrap());
        let kind = "subscription.updated".to_owned();
        ClerkSubscription {
            id: id.into(),
            org,
            status,
            plans: Vec::new(),
            event_kind: kind,
            updated_at: Some(updated_at),
        }
    }

    fn recorded(status: &str, newest: &str) -> Subscribed {
        Subscribed { status: status.into(), newest: Some(newest.into()) }
    }

    #[tokio::test]
    async fn a_late_retry_neither_changes_a_subscription_nor_makes_an_older_one_the_newest() {
        let db = Db::connect("mem://").await.unwrap();
        let directory = Repos::new(&db).directory();
        let org = OrgId::parse("org_pays").unwrap();
        let upsert = async |sub: ClerkSubscription| directory.upsert_subscription(&org, &sub).await.unwrap();

        let now = upsert(version("csub_new", SubscriptionStatus::Active, 20)).await;
        assert_eq!(now, recorded("active", "active"));
        let late = upsert(version("csub_new", SubscriptionStatus::PastDue, 10)).await;
        assert_eq!(late, recorded("active", "active"), "an older version of it changes nothing");
        let older = upsert(version("csub_old", SubscriptionStatus::Canceled, 5)).await;
        assert_eq!(older, recorded("canceled", "active"), "the last written is not the newest");
        let newer = upsert(version("csub_new", SubscriptionStatus::PastDue, 30)).await;
        assert_eq!(newer, recorded("past_due", "past_due"), "a newer version is recorded");
    }
}
