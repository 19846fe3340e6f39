//! What an org actor starts from, read in the transaction that makes it the org's owner. The
//! orgs activating at the same moment on a node share that transaction (a [`Group`]): each
//! read and the fence raise is one statement for the whole group, because SurrealDB's cost per
//! statement was most of a cold activation's CPU.

use std::collections::HashMap;

use super::group_commit::{Group, GroupCounts, Part};
use super::plugins::StoredPlugin;
use super::{DbError, Repos, first_row, organizations, plugins, widget_settings};
use crate::ids::OrgId;
use crate::model::organization::Organization;
use crate::model::widget_settings::WidgetSettings;

pub struct OrgRows {
    pub organization: Option<Organization>,
    pub settings: Option<WidgetSettings>,
    /// The newest subscription's status.
    pub subscription_status: Option<String>,
    pub plugin: Option<StoredPlugin>,
}

/// Every org's rows: `$organizations`, `$widget_settings` and `$plugins` are the orgs' records,
/// `$orgs` their ids. Subscriptions come newest first, as `organizations::NEWEST_STATUS` orders
/// them.
const READS: &str = "SELECT org, name, slug, created_at, updated_at FROM $organizations WHERE deleted = false; \
     SELECT * OMIT id, updated_at FROM $widget_settings; \
     SELECT org, status FROM subscriptions WHERE org INSIDE $orgs ORDER BY clerk_updated_at DESC, updated_at DESC; \
     SELECT * OMIT id FROM $plugins WHERE org INSIDE $orgs";

/// The activations of one node's org actors: each part is the org being activated, on its
/// actor's fenced connection.
#[derive(Debug)]
pub(crate) struct Activations;

impl Group for Activations {
    type Item = OrgId;
    type Output = OrgRows;
    /// SurrealDB alone, on disk: 16 to a transaction gave 3,000–4,000 activations/s, 64 gave
    /// 4,150–4,265, one each 650–817.
    const MAX: usize = 64;

    fn size(_: &OrgId) -> usize {
        1
    }

    async fn write(&self, parts: &[Part<OrgId>]) -> Result<Vec<OrgRows>, DbError> {
        let db = &parts[0].db;
        let fences = parts.iter().filter_map(|part| part.db.fence.as_deref());
        // Two activations of one org cannot be raised together: the group is split.
        let query = db.raising_each(READS, fences).ok_or(DbError::Conflict)?;
        let orgs: Vec<&OrgId> = parts.iter().map(|part| &part.item).collect();
        let query = query
            .bind(("organizations", orgs.iter().map(|org| organizations::record(org)).collect::<Vec<_>>()))
            .bind((
                "widget_settings",
                orgs.iter().map(|org| widget_settings::record(org)).collect::<Vec<_>>(),
            ))
            .bind(("plugins", orgs.iter().map(|org| plugins::record(org)).collect::<Vec<_>>()))
            .bind(("orgs", orgs.iter().map(|org| org.as_str().to_owned()).collect::<Vec<_>>()));
        let mut rows = db.commit(query).await?;
        let mut organizations = by_org(rows.take(0)?);
        let mut settings = by_org(rows.take(1)?);
        let mut statuses = by_org(rows.take(2)?);
        let mut plugins = by_org(rows.take(3)?);
        let mut all = Vec::with_capacity(orgs.len());
        for org in orgs {
            let of = |rows: &mut HashMap<String, Vec<serde_json::Value>>| {
                rows.remove(org.as_str()).unwrap_or_default()
            };
            let newest = of(&mut statuses).into_iter().next();
            all.push(OrgRows {
                organization: organizations::decode(of(&mut organizations))?,
                settings: widget_settings::decode(of(&mut settings))?,
                subscription_status: newest.and_then(|row| Some(row.get("status")?.as_str()?.to_owned())),
                plugin: first_row(plugins::TABLE, of(&mut plugins))?,
            });
        }
        Ok(all)
    }
}

/// Rows keyed by their `org` field, in the order they came.
fn by_org(rows: Vec<serde_json::Value>) -> HashMap<String, Vec<serde_json::Value>> {
    let mut by_org: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    for row in rows {
        let org = row.get("org").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        by_org.entry(org).or_default().push(row);
    }
    by_org
}

impl Repos {
    /// Raises the org's fence (when these repositories have one) and reads its rows in the same
    /// transaction; fails with [`DbError::Fenced`] when a newer owner raised it first.
    pub async fn activate(&self, org: &OrgId) -> Result<OrgRows, DbError> {
        self.db().activations.commit(self.db(), org.clone()).await
    }

    /// What the node's group commit of activations did since start.
    pub fn activation_counts(&self) -> GroupCounts {
        self.db().activations.counts()
    }
}

#[cfg(test)]
mod tests {
    use super::Activations;
    use crate::db::fence::fence_field;
    use crate::db::group_commit::{Group, Part};
    use crate::db::organizations::OrganizationRecord;
    use crate::db::plugins::StoredPlugin;
    use crate::db::{Db, DbError, Fence, Repos};
    use crate::ids::OrgId;
    use crate::model::widget_settings::WidgetSettings;

    fn plugin(key: &str) -> StoredPlugin {
        StoredPlugin {
            public_api_key: key.into(),
            private_api_key_sealed: "sealed".into(),
            webhook_secret_hash: None,
            connected_at: chrono::Utc::now(),
        }
    }

    /// Org `name`'s activation under `token`, as its actor would submit it.
    fn part(db: &Db, name: &str, token: u64) -> Part<OrgId> {
        let org = OrgId::parse(name).unwrap();
        Part { db: Repos::new(db).fenced(Fence { org: org.clone(), token }).db().clone(), item: org }
    }

    async fn fence_token(db: &Db, org: &str) -> Option<i64> {
        fence_field(db, org, "token").await
    }

    #[tokio::test]
    async fn a_group_of_activations_gives_each_org_its_own_rows_and_raises_each_fence() {
        let db = Db::connect("mem://").await.unwrap();
        let (a, b) = (OrgId::parse("org_a").unwrap(), OrgId::parse("org_b").unwrap());
        let repos = Repos::new(&db);
        repos.organizations().upsert_from_clerk(&OrganizationRecord::named(&a, "Acme", None)).await.unwrap();
        let welcome = WidgetSettings { welcome_message: "Hi from Acme".into(), ..WidgetSettings::default() };
        repos.widget_settings().put(&a, &welcome).await.unwrap();
        repos.plugins().put(&b, &plugin("pk_b")).await.unwrap();
        for (id, status) in [("sub_old", "canceled"), ("sub_new", "active")] {
            let write = db.client().query(format!(
                "CREATE subscriptions:{id} SET subscription = '{id}', org = 'org_b', status = '{status}', plans = []"
            ));
            write.await.unwrap().check().unwrap();
        }
        repos.fenced(Fence { org: b.clone(), token: 4 }).activate(&b).await.map(drop).unwrap();

        let parts = [part(&db, "org_a", 2), part(&db, "org_b", 5), part(&db, "org_c", 1)];
        let rows = Activations.write(&parts).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].organization.as_ref().and_then(|o| o.name.clone()), Some("Acme".into()));
        assert_eq!(rows[0].settings.as_ref().map(|s| s.welcome_message.clone()), Some("Hi from Acme".into()));
        assert!(rows[0].plugin.is_none() && rows[0].subscription_status.is_none());
        assert!(rows[1].organization.is_none() && rows[1].settings.is_none());
        assert_eq!(rows[1].plugin.as_ref().map(|p| p.public_api_key.clone()), Some("pk_b".into()));
        assert_eq!(rows[1].subscription_status.as_deref(), Some("active"), "the newest subscription's");
        assert!(rows[2].organization.is_none() && rows[2].plugin.is_none());
        let tokens = (
            fence_token(&db, "org_a").await,
            fence_token(&db, "org_b").await,
            fence_token(&db, "org_c").await,
        );
        assert_eq!(tokens, (Some(2), Some(5), Some(1)), "new fences inserted, an older one raised");
    }

    #[tokio::test]
    async fn a_group_holding_a_stale_owner_is_refused_whole() {
        let db = Db::connect("mem://").await.unwrap();
        Activations.write(&[part(&db, "org_b", 3)]).await.map(drop).unwrap();
        let refused = Activations.write(&[part(&db, "org_a", 1), part(&db, "org_b", 2)]).await.map(drop);
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        assert_eq!(fence_token(&db, "org_a").await, None, "nothing of the group was written");
        assert_eq!(fence_token(&db, "org_b").await, Some(3));

        let twice = Activations.write(&[part(&db, "org_a", 1), part(&db, "org_a", 2)]).await.map(drop);
        assert!(twice.is_err(), "two owners of one org cannot be raised in one transaction");
        assert_eq!(fence_token(&db, "org_a").await, None);
    }

    #[tokio::test]
    async fn an_activation_reads_what_the_org_has_and_takes_the_fence() {
        let db = Db::connect("mem://").await.unwrap();
        let org = OrgId::parse("org_act").unwrap();
        let repos = Repos::new(&db);
        let first = repos.fenced(Fence { org: org.clone(), token: 3 });
        let empty = first.activate(&org).await.unwrap();
        assert!(empty.organization.is_none() && empty.settings.is_none() && empty.plugin.is_none());
        assert_eq!(empty.subscription_status, None);

        first
            .organizations()
            .upsert_from_clerk(&OrganizationRecord::named(&org, "Acme", None))
            .await
            .unwrap();
        let settings = WidgetSettings { welcome_message: "Hi from Acme".into(), ..WidgetSettings::default() };
        first.widget_settings().put(&org, &settings).await.unwrap();
        let plugin = StoredPlugin {
            public_api_key: "pk".into(),
            private_api_key_sealed: "sealed".into(),
            webhook_secret_hash: None,
            connected_at: chrono::Utc::now(),
        };
        first.plugins().put(&org, &plugin).await.unwrap();

        let next = repos.fenced(Fence { org: org.clone(), token: 4 });
        let rows = next.activate(&org).await.unwrap();
        assert_eq!(rows.organization.map(|o| o.name), Some(Some("Acme".into())));
        assert_eq!(rows.settings.map(|s| s.welcome_message), Some("Hi from Acme".into()));
        assert_eq!(rows.plugin.map(|p| p.public_api_key), Some("pk".into()));
        let stale = first.widget_settings().put(&org, &settings).await;
        assert!(
            matches!(stale, Err(DbError::Fenced)),
            "the new owner's activation raised the fence: {stale:?}"
        );
        assert!(
            matches!(first.activate(&org).await, Err(DbError::Fenced)),
            "an older owner cannot come back"
        );
    }
}
