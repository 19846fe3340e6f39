//! The `organizations` table: one record per Clerk organization, keyed by its id.

use serde::Deserialize;
use surrealdb::types::{RecordId, SurrealValue};

use super::{Db, DbError, first_row};
use crate::ids::OrgId;
use crate::model::organization::{OrgFacts, Organization};
pub(super) const TABLE: &str = "organizations";

/// What the node's group commit runs for a group of [`ClerkRow`]s ([`Db`]'s `organizations`):
/// a new org is inserted, a known one keeps its `created_at` and `deleted`, and keeps what it
/// has when it holds a newer version from Clerk than `$input` (a late retry). The version is
/// set last: each assignment reads the record as the ones before it left it.
pub(super) const UPSERT: &str = "INSERT INTO organizations $rows ON DUPLICATE KEY UPDATE \
     name = IF clerk_updated_at > $input.clerk_updated_at THEN name ELSE $input.name END, \
     slug = IF clerk_updated_at > $input.clerk_updated_at THEN slug ELSE $input.slug END, \
     members_count = IF clerk_updated_at > $input.clerk_updated_at THEN members_count ELSE $input.members_count END, \
     clerk_updated_at = IF clerk_updated_at > $input.clerk_updated_at THEN clerk_updated_at ELSE $input.clerk_updated_at END \
     RETURN org, name, slug, created_at, updated_at, deleted";

/// An organization as Clerk describes it, to be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationRecord {
    pub id: OrgId,
    pub name: String,
    pub slug: Option<String>,
    pub members_count: Option<i64>,
    /// Clerk's time of this version (ms): an older version may arrive after a newer one.
    pub updated_at: Option<i64>,
}

#[cfg(test)]
impl OrganizationRecord {
    /// An organization with nothing but a name.
    pub(crate) fn named(id: &OrgId, name: &str, updated_at: Option<i64>) -> Self {
        Self { id: id.clone(), name: name.into(), slug: None, members_count: None, updated_at }
    }
}

/// Clerk's word on an organization, as upserted.
#[derive(Clone, Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct ClerkRow {
    id: RecordId,
    org: String,
    name: String,
    slug: Option<String>,
    members_count: Option<i64>,
    clerk_updated_at: Option<i64>,
}

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
    /// Clerk's word on the organization: name, slug and member count, unless a newer version
    /// was applied already. Un-deletes nothing: a deleted Clerk org never comes back under the
    /// same id. Committed with whatever other orgs' actors upsert at the same moment
    /// (`src/db/group_commit.rs`): a burst of Clerk events about many orgs is a burst of these.
    pub async fn upsert_from_clerk(&self, org: &OrganizationRecord) -> Result<Option<Organization>, DbError> {
        let row = ClerkRow {
            id: record(&org.id),
            org: org.id.as_str().to_owned(),
            name: org.name.clone(),
            slug: org.slug.clone(),
            members_count: org.members_count,
            clerk_updated_at: org.updated_at,
        };
        let stored = self.db.organizations.commit(&self.db, row).await?;
        if stored.get("deleted").and_then(serde_json::Value::as_bool) == Some(true) {
            return Ok(None);
        }
        first_row::<Row>(TABLE, vec![stored]).map(|row| row.map(Organization::from))
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

/// The organization at `$organization`, unless deleted.
const GET: &str = "SELECT org, name, slug, created_at, updated_at FROM $organization WHERE deleted = false";

/// The status of the org's (`$org`) newest subscription: by Clerk's time of its last recorded
/// version, so a late retry about an older subscription does not make it the newest; by when it
/// was recorded among those Clerk gave no time.
pub(super) const NEWEST_STATUS: &str = "(SELECT VALUE status FROM subscriptions WHERE org = $org \
     ORDER BY clerk_updated_at DESC, updated_at DESC LIMIT 1)[0]";

pub(super) fn decode(rows: Vec<serde_json::Value>) -> Result<Option<Organization>, DbError> {
    Ok(first_row::<Row>(TABLE, rows)?.map(Organization::from))
}

pub(super) fn record(org: &OrgId) -> RecordId {
    RecordId::new(TABLE, org.as_str())
}

#[cfg(test)]
mod tests {
    use super::OrganizationRecord;
    use super::{ClerkRow, TABLE, UPSERT, record};
    use crate::db::fence::fence_field;
    use crate::db::group_commit::{Group, Part, Upserts};
    use crate::db::{Db, DbError, Fence, Repos};
    use crate::ids::OrgId;

    /// Org `name`'s upsert by its actor under `token`, its fence raised.
    async fn part(db: &Db, name: &str, token: u64, title: &str) -> Part<ClerkRow> {
        let org = OrgId::parse(name).unwrap();
        let repos = Repos::new(db).fenced(Fence { org: org.clone(), token });
        repos.activate(&org).await.map(drop).unwrap();
        let item = ClerkRow {
            id: record(&org),
            org: name.into(),
            name: title.into(),
            slug: None,
            members_count: Some(2),
            clerk_updated_at: None,
        };
        Part { db: repos.db().clone(), item }
    }

    #[tokio::test]
    async fn a_group_upserts_each_orgs_row_and_rewrites_each_fence() {
        let db = Db::connect("mem://").await.unwrap();
        let repos = Repos::new(&db);
        let (known, gone) = (OrgId::parse("org_known").unwrap(), OrgId::parse("org_gone").unwrap());
        repos
            .organizations()
            .upsert_from_clerk(&OrganizationRecord::named(&known, "Old name", None))
            .await
            .unwrap();
        let created = repos.organizations().get(&known).await.unwrap().unwrap().created_at;
        repos.organizations().mark_deleted(&gone).await.unwrap();

        let parts = [
            part(&db, "org_new", 1, "New").await,
            part(&db, "org_known", 1, "Renamed").await,
            part(&db, "org_gone", 1, "Back?").await,
        ];
        let stored = Upserts::new(TABLE, UPSERT).write(&parts).await.unwrap();
        let names: Vec<_> = stored.iter().map(|row| row["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["New", "Renamed", "Back?"], "each actor gets its own org's row back");
        let renamed = repos.organizations().get(&known).await.unwrap().unwrap();
        assert_eq!((renamed.name.as_deref(), renamed.slug), (Some("Renamed"), None));
        assert_eq!(renamed.created_at, created, "an update keeps the creation time");
        assert!(repos.organizations().get(&gone).await.unwrap().is_none(), "a deleted org stays deleted");
        for org in ["org_new", "org_known", "org_gone"] {
            assert_eq!(fence_field(&db, org, "writes").await, Some(1), "{org}'s fence was rewritten");
        }
    }

    #[tokio::test]
    async fn an_older_version_from_clerk_changes_nothing_and_the_same_one_again_is_harmless() {
        let db = Db::connect("mem://").await.unwrap();
        let organizations = Repos::new(&db).organizations();
        let org = OrgId::parse("org_late").unwrap();
        let version = |name: &str, at: Option<i64>| {
            let mut clerk = OrganizationRecord::named(&org, name, at);
            clerk.members_count = at;
            clerk
        };
        let name = |stored: Option<crate::model::organization::Organization>| stored.unwrap().name.unwrap();

        assert_eq!(
            name(organizations.upsert_from_clerk(&version("Second", Some(2))).await.unwrap()),
            "Second"
        );
        let late = organizations.upsert_from_clerk(&version("First", Some(1))).await.unwrap();
        assert_eq!(name(late), "Second", "a late retry of an older version is not applied");
        let row = organizations.get(&org).await.unwrap();
        assert_eq!(name(row), "Second", "nor stored");
        let members = organizations.facts(&org).await.unwrap().member_count;
        assert_eq!(members, Some(2), "no field of the older version is");

        let again = organizations.upsert_from_clerk(&version("Second", Some(2))).await.unwrap();
        assert_eq!(name(again), "Second", "the same version again is applied again, to the same end");
        let newer = organizations.upsert_from_clerk(&version("Third", Some(3))).await.unwrap();
        assert_eq!(name(newer), "Third", "a newer version is applied");
        let undated = organizations.upsert_from_clerk(&version("Undated", None)).await.unwrap();
        assert_eq!(name(undated), "Third", "a version without a time never replaces one with a time");
    }

    #[tokio::test]
    async fn a_group_holding_a_stale_owner_writes_nothing() {
        let db = Db::connect("mem://").await.unwrap();
        let parts = [part(&db, "org_a", 1, "A").await, part(&db, "org_b", 1, "B").await];
        part(&db, "org_b", 2, "B").await;
        let refused = Upserts::new(TABLE, UPSERT).write(&parts).await.map(drop);
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        let repos = Repos::new(&db);
        for org in ["org_a", "org_b"] {
            assert!(repos.organizations().get(&OrgId::parse(org).unwrap()).await.unwrap().is_none());
        }
    }
}
