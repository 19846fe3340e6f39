//! The `organizations` table: one record per Clerk organization, keyed by its id.

use serde::Deserialize;
use surrealdb::types::RecordId;

use super::{Db, DbError, first_row};
use crate::ids::OrgId;
use crate::model::organization::{OrgFacts, Organization};

const TABLE: &str = "organizations";

#[derive(Deserialize)]
struct Row {
    org: OrgId,
    name: Option<String>,
    slug: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Row> for Organization {
    fn from(row: Row) -> Self {
        Self {
            id: row.org,
            name: row.name,
            slug: row.slug,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Organizations {
    db: Db,
}

impl Organizations {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The organization, unless it is unknown or was deleted in Clerk.
    pub async fn get(&self, org: &OrgId) -> Result<Option<Organization>, DbError> {
        let rows = self.db.client().query(GET).bind(("organization", record(org))).await?.take(0)?;
        decode(rows)
    }

    /// Records an organization first seen in a verified operator token. Only the org actor
    /// calls this, so the read-then-create cannot race another writer for the same org.
    pub async fn ensure(&self, org: &OrgId) -> Result<Organization, DbError> {
        if let Some(found) = self.get(org).await? {
            return Ok(found);
        }
        let query = self
            .db
            .write(
                "UPSERT $rid SET org = $org, deleted = false RETURN org, name, slug, created_at, updated_at",
            )
            .bind(("rid", record(org)))
            .bind(("org", org.as_str().to_owned()));
        let rows: Vec<serde_json::Value> = self.db.commit(query).await?.take(0)?;
        let row = first_row::<Row>(TABLE, rows)?;
        row.map(Organization::from).ok_or(DbError::Missing { table: TABLE })
    }
}

impl Organizations {
    /// Clerk's word on the organization: name, slug and member count. Un-deletes nothing: a
    /// deleted Clerk org never comes back under the same id.
    pub async fn upsert_from_clerk(
        &self,
        org: &OrgId,
        name: &str,
        slug: Option<&str>,
        members_count: Option<i64>,
    ) -> Result<Option<Organization>, DbError> {
        let query = self
            .db
            .write(
                "UPSERT $rid SET org = $org, name = $name, slug = $slug, members_count = $members_count \
                 RETURN org, name, slug, created_at, updated_at, deleted",
            )
            .bind(("rid", record(org)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("name", name.to_owned()))
            .bind(("slug", slug.map(str::to_owned)))
            .bind(("members_count", members_count));
        let rows: Vec<serde_json::Value> = self.db.commit(query).await?.take(0)?;
        let deleted = rows.first().and_then(|r| r.get("deleted")).and_then(serde_json::Value::as_bool);
        if deleted == Some(true) {
            return Ok(None);
        }
        Ok(first_row::<Row>(TABLE, rows)?.map(Organization::from))
    }

    pub async fn mark_deleted(&self, org: &OrgId) -> Result<(), DbError> {
        let query = self
            .db
            .write("UPSERT $rid SET org = $org, deleted = true RETURN NONE")
            .bind(("rid", record(org)))
            .bind(("org", org.as_str().to_owned()));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Subscription status and member count: the newest subscription, and Clerk's member count
    /// or, failing that, the memberships its webhooks recorded.
    pub async fn facts(&self, org: &OrgId) -> Result<OrgFacts, DbError> {
        let mut response = self
            .db
            .client()
            .query(format!(
                "{NEWEST_STATUS}; (SELECT VALUE members_count FROM $rid)[0]; \
                 count(SELECT org FROM memberships WHERE org = $org);"
            ))
            .bind(("org", org.as_str().to_owned()))
            .bind(("rid", record(org)))
            .await?;
        let status: Option<String> = response.take(0)?;
        let clerk_count: Option<i64> = response.take(1)?;
        let recorded: Option<i64> = response.take(2)?;
        let member_count = clerk_count.or(recorded.filter(|n| *n > 0));
        Ok(OrgFacts { subscription_status: status, member_count })
    }
}

/// The organization at `$organization`, unless deleted: read by `get` and by an activation.
pub(super) const GET: &str =
    "SELECT org, name, slug, created_at, updated_at FROM $organization WHERE deleted = false";

/// The status of the org's (`$org`) newest subscription.
pub(super) const NEWEST_STATUS: &str =
    "(SELECT VALUE status FROM subscriptions WHERE org = $org ORDER BY updated_at DESC LIMIT 1)[0]";

pub(super) fn decode(rows: Vec<serde_json::Value>) -> Result<Option<Organization>, DbError> {
    Ok(first_row::<Row>(TABLE, rows)?.map(Organization::from))
}

pub(super) fn record(org: &OrgId) -> RecordId {
    RecordId::new(TABLE, org.as_str())
}
