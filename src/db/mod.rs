//! Storage: one SurrealDB connection (any engine: `mem://`, `surrealkv://`, `ws://`), the schema,
//! and one repository per table. Repositories bind every value; no query text is ever built from
//! caller input, and every tenant-owned query binds the org.

pub mod contact_sessions;
pub mod conversations;
pub mod directory;
pub mod messages;
pub mod organizations;
pub mod plugins;
mod schema;
pub mod webhook_events;
pub mod widget_settings;

use serde::de::DeserializeOwned;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::RecordId;

use crate::error::ApiError;
use crate::ids::OrgId;

const NAMESPACE: &str = "assist";
const DATABASE: &str = "assist";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Surreal(#[from] surrealdb::Error),
    #[error("cannot create the database directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("a {table} write returned no record")]
    Missing { table: &'static str },
    #[error("a stored {table} record does not have the expected shape: {source}")]
    Shape { table: &'static str, source: serde_json::Error },
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        ApiError::internal(&err)
    }
}

/// A cheap-to-clone handle on the one database connection.
#[derive(Clone, Debug)]
pub struct Db {
    inner: Surreal<Any>,
}

impl Db {
    /// Connects, selects the namespace and database, and defines the schema (idempotently).
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("surrealkv://") {
            ensure_parent_dir(path)?;
        }
        let inner = surrealdb::engine::any::connect(url).await?;
        inner.use_ns(NAMESPACE).use_db(DATABASE).await?;
        schema::define(&inner).await?;
        Ok(Self { inner })
    }

    /// Answers when the database can run a query: the readiness probe's question.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.inner.query("RETURN 1").await?.check()?;
        Ok(())
    }

    pub(crate) fn client(&self) -> &Surreal<Any> {
        &self.inner
    }

    /// One tenant-owned record by id, read only if it belongs to `org`: another org's record
    /// reads exactly like a missing one, whatever id a caller guesses.
    pub(crate) async fn owned<T: DeserializeOwned>(
        &self,
        table: &'static str,
        record: RecordId,
        org: &OrgId,
    ) -> Result<Option<T>, DbError> {
        let rows: Vec<serde_json::Value> = self
            .inner
            .query("SELECT * OMIT id FROM $rid WHERE org = $org")
            .bind(("rid", record))
            .bind(("org", org.as_str().to_owned()))
            .await?
            .take(0)?;
        first_row(table, rows)
    }
}

fn ensure_parent_dir(path: &str) -> Result<(), DbError> {
    let Some(parent) = std::path::Path::new(path).parent() else { return Ok(()) };
    if parent.as_os_str().is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(parent)
        .map_err(|source| DbError::Directory { path: parent.display().to_string(), source })
}

/// Maps a row that does not fit its type to an error naming the table.
pub(crate) fn shape(table: &'static str) -> impl Fn(serde_json::Error) -> DbError {
    move |source| DbError::Shape { table, source }
}

/// Turns the first row of a JSON result into a typed row, naming the table when it does not fit.
pub(crate) fn first_row<T: DeserializeOwned>(
    table: &'static str,
    rows: Vec<serde_json::Value>,
) -> Result<Option<T>, DbError> {
    rows.into_iter()
        .next()
        .map(|row| serde_json::from_value(row).map_err(|source| DbError::Shape { table, source }))
        .transpose()
}

/// Every repository, bundled so actors take one cheap clone.
#[derive(Clone, Debug)]
pub struct Repos {
    pub organizations: organizations::Organizations,
    pub widget_settings: widget_settings::WidgetSettingsRepo,
    pub contact_sessions: contact_sessions::ContactSessions,
    pub conversations: conversations::Conversations,
    pub messages: messages::Messages,
    pub directory: directory::Directory,
    pub webhook_events: webhook_events::WebhookEvents,
    pub plugins: plugins::Plugins,
}

impl Repos {
    pub fn new(db: &Db) -> Self {
        Self {
            organizations: organizations::Organizations::new(db.clone()),
            widget_settings: widget_settings::WidgetSettingsRepo::new(db.clone()),
            contact_sessions: contact_sessions::ContactSessions::new(db.clone()),
            conversations: conversations::Conversations::new(db.clone()),
            messages: messages::Messages::new(db.clone()),
            directory: directory::Directory::new(db.clone()),
            webhook_events: webhook_events::WebhookEvents::new(db.clone()),
            plugins: plugins::Plugins::new(db.clone()),
        }
    }
}
