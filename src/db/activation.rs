//! What an org actor starts from, read in the transaction that makes it the org's owner: one
//! round trip instead of a fence raise and four reads (a cold activation's CPU was mostly
//! SurrealDB's per-query cost; BENCHMARKS.md).

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

impl Repos {
    /// Raises the org's fence (when these repositories have one) and reads its rows in the same
    /// transaction; fails with [`DbError::Fenced`] when a newer owner raised it first.
    pub async fn activate(&self, org: &OrgId) -> Result<OrgRows, DbError> {
        let reads = [organizations::GET, widget_settings::GET, organizations::NEWEST_STATUS, plugins::GET];
        let query = self
            .db()
            .raising(&reads.join("; "))
            .bind(("organization", organizations::record(org)))
            .bind(("widget_settings", widget_settings::record(org)))
            .bind(("plugin", plugins::record(org)))
            .bind(("org", org.as_str().to_owned()));
        let mut rows = self.db().commit(query).await?;
        Ok(OrgRows {
            organization: organizations::decode(rows.take(0)?)?,
            settings: widget_settings::decode(rows.take(1)?)?,
            subscription_status: rows.take(2)?,
            plugin: first_row(plugins::TABLE, rows.take(3)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::db::plugins::StoredPlugin;
    use crate::db::{Db, DbError, Fence, Repos};
    use crate::ids::OrgId;
    use crate::model::widget_settings::WidgetSettings;

    #[tokio::test]
    async fn an_activation_reads_what_the_org_has_and_takes_the_fence() {
        let db = Db::connect("mem://").await.unwrap();
        let org = OrgId::parse("org_act").unwrap();
        let repos = Repos::new(&db);
        let first = repos.fenced(Fence { org: org.clone(), token: 3 });
        let empty = first.activate(&org).await.unwrap();
        assert!(empty.organization.is_none() && empty.settings.is_none() && empty.plugin.is_none());
        assert_eq!(empty.subscription_status, None);

        first.organizations.upsert_from_clerk(&org, "Acme", Some("acme"), Some(2)).await.unwrap();
        let settings = WidgetSettings { welcome_message: "Hi from Acme".into(), ..WidgetSettings::default() };
        first.widget_settings.put(&org, &settings).await.unwrap();
        let plugin = StoredPlugin {
            public_api_key: "pk".into(),
            private_api_key_sealed: "sealed".into(),
            webhook_secret_hash: None,
            connected_at: chrono::Utc::now(),
        };
        first.plugins.put(&org, &plugin).await.unwrap();

        let next = repos.fenced(Fence { org: org.clone(), token: 4 });
        let rows = next.activate(&org).await.unwrap();
        assert_eq!(rows.organization.map(|o| o.name), Some(Some("Acme".into())));
        assert_eq!(rows.settings.map(|s| s.welcome_message), Some("Hi from Acme".into()));
        assert_eq!(rows.plugin.map(|p| p.public_api_key), Some("pk".into()));
        let stale = first.widget_settings.put(&org, &settings).await;
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
