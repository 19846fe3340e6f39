//! Storage: one SurrealDB connection (any engine: `mem://`, `surrealkv://`, `ws://`), the schema,
//! and one repository per table. Repositories bind every value; no query text is ever built from
//! caller input, and every tenant-owned query binds the org.

mod activation;
pub mod agents;
mod chunk_index;
pub mod chunks;
pub mod contact_sessions;
pub mod conversations;
pub mod directory;
pub mod documents;
mod fence;
mod group_commit;
pub mod messages;
pub mod organizations;
pub mod plugins;
mod schema;
mod transaction;
pub mod webhook_events;
pub mod widget_settings;

pub use fence::Fence;
pub use group_commit::GroupCounts;

use activation::Activations;
use chunk_index::ChunkIndex;
use fence::Check;
use group_commit::{GroupCommit, Inserts, Upserts};

use std::sync::Arc;

use serde::de::DeserializeOwned;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::RecordId;

use crate::error::{ApiError, Chain};
use crate::ids::OrgId;

const NAMESPACE: &str = "assist";
const DATABASE: &str = "assist";
/// The most memory a node spends on knowledge-base embeddings kept for search; an org that
/// does not fit is read from the database on each search instead.
const CHUNK_INDEX_BYTES: u64 = 512 * 1024 * 1024;

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
    #[error("another node owns this organization now; the write was refused")]
    Fenced,
    #[error("a concurrent transaction touched the same records; the write was rolled back")]
    Conflict,
    #[error("the node's group committer stopped; the write's outcome is unknown")]
    CommitterStopped,
    #[error("ASSIST_DB: {0}")]
    Url(&'static str),
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            // Rolled back whole: sending the request again is safe, and reaches the new owner.
            DbError::Fenced | DbError::Conflict => ApiError::unprocessed(format!("{err}; retry")),
            err => {
                tracing::error!(cause = %Chain(&err), "internal error");
                ApiError::internal()
            }
        }
    }
}

/// A cheap-to-clone handle on the one database connection.
#[derive(Clone, Debug)]
pub struct Db {
    /// Shared, not cloned: cloning a `Surreal` handle opens a new server-side session (SDK 3),
    /// which per org actor would cost memory on both ends and, over `ws://`, sessions the
    /// server does not know after a reconnect.
    inner: Arc<Surreal<Any>>,
    /// Set on an org actor's connection: its writes are checked against the org's fence.
    /// Shared by the actor's repositories.
    fence: Option<Arc<Fence>>,
    /// The node's one committer of session batches: every org actor's connection is derived
    /// from this one, so all their batches meet in it.
    sessions: Arc<GroupCommit<Inserts<contact_sessions::NewRow>>>,
    /// The node's one committer of org activations, shared the same way.
    activations: Arc<GroupCommit<Activations>>,
    /// The node's one committer of Clerk's organization upserts, shared the same way.
    organizations: Arc<GroupCommit<Upserts<organizations::ClerkRow>>>,
    /// The node's in-memory embeddings of each org's knowledge (`chunk_index.rs`).
    chunk_index: Arc<ChunkIndex>,
}

impl Db {
    /// Connects, selects the namespace and database, and defines the schema (idempotently). A
    /// server URL may carry a root user's `user:password@` (`ws://root:secret@db:8000`).
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("surrealkv://") {
            ensure_parent_dir(path)?;
        }
        let (url, credentials) = split_credentials(url)?;
        let inner = surrealdb::engine::any::connect(url.as_str()).await?;
        if let Some((username, password)) = credentials {
            inner.signin(surrealdb::opt::auth::Root { username, password }).await?;
        }
        inner.use_ns(NAMESPACE).use_db(DATABASE).await?;
        schema::define(&inner).await?;
        let sessions = Arc::new(GroupCommit::new(Inserts::new(contact_sessions::INSERT, Check::Locked)));
        let activations = Arc::new(GroupCommit::new(Activations));
        let organizations =
            Arc::new(GroupCommit::new(Upserts::new(organizations::TABLE, organizations::UPSERT)));
        let chunk_index = Arc::new(ChunkIndex::new(CHUNK_INDEX_BYTES));
        Ok(Self { inner: Arc::new(inner), fence: None, sessions, activations, organizations, chunk_index })
    }

    /// Answers when the database can run a query: the readiness probe's question.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.inner.query("RETURN 1").await?.check()?;
        Ok(())
    }

    pub(crate) fn client(&self) -> &Surreal<Any> {
        &self.inner
    }

    pub(crate) fn chunk_index(&self) -> &ChunkIndex {
        &self.chunk_index
    }

    /// Bytes of knowledge-base embeddings this node holds in memory for search.
    pub fn chunk_index_bytes(&self) -> u64 {
        self.chunk_index.bytes()
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

/// `ws://user:password@host:port` → (`ws://host:port`, credentials); other URLs unchanged.
fn split_credentials(url: &str) -> Result<(String, Option<(String, String)>), DbError> {
    let remote =
        ["ws://", "wss://", "http://", "https://"].into_iter().find(|scheme| url.starts_with(scheme));
    let (Some(scheme), Some(at)) = (remote, url.rfind('@')) else { return Ok((url.to_owned(), None)) };
    let (user, password) = url[scheme.len()..at]
        .split_once(':')
        .ok_or(DbError::Url("credentials go before the host as user:password@"))?;
    let decode = |part: &str| {
        form_urlencoded::parse(format!("v={part}").as_bytes()).map(|(_, v)| v.into_owned()).next()
    };
    let (user, password) = (decode(user).unwrap_or_default(), decode(password).unwrap_or_default());
    Ok((format!("{scheme}{}", &url[at + 1..]), Some((user, password))))
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

/// Every repository over one connection. Each is made when asked for (a few reference counts),
/// so what each org actor keeps is one connection handle rather than nine.
#[derive(Clone, Debug)]
pub struct Repos {
    db: Db,
}

impl Repos {
    pub fn new(db: &Db) -> Self {
        Self { db: db.clone() }
    }

    /// The repositories of one org actor: every write checked against its fence.
    pub fn fenced(&self, fence: Fence) -> Self {
        Self { db: self.db.fenced(fence) }
    }

    /// The connection these repositories write through (fenced or not).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub fn organizations(&self) -> organizations::Organizations {
        organizations::Organizations::new(self.db.clone())
    }

    pub fn widget_settings(&self) -> widget_settings::WidgetSettingsRepo {
        widget_settings::WidgetSettingsRepo::new(self.db.clone())
    }

    pub fn contact_sessions(&self) -> contact_sessions::ContactSessions {
        contact_sessions::ContactSessions::new(self.db.clone())
    }

    pub fn conversations(&self) -> conversations::Conversations {
        conversations::Conversations::new(self.db.clone())
    }

    pub fn messages(&self) -> messages::Messages {
        messages::Messages::new(self.db.clone())
    }

    pub fn directory(&self) -> directory::Directory {
        directory::Directory::new(self.db.clone())
    }

    pub fn webhook_events(&self) -> webhook_events::WebhookEvents {
        webhook_events::WebhookEvents::new(self.db.clone())
    }

    pub fn agents(&self) -> agents::Agents {
        agents::Agents::new(self.db.clone())
    }

    pub fn documents(&self) -> documents::Documents {
        documents::Documents::new(self.db.clone())
    }

    pub fn chunks(&self) -> chunks::Chunks {
        chunks::Chunks::new(self.db.clone())
    }

    pub fn plugins(&self) -> plugins::Plugins {
        plugins::Plugins::new(self.db.clone())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_leave_the_url_for_a_root_signin() {
        let (url, credentials) = super::split_credentials("ws://root:p%40ss@db:8000").unwrap();
        assert_eq!(url, "ws://db:8000");
        assert_eq!(credentials, Some(("root".into(), "p@ss".into())));
        assert_eq!(super::split_credentials("mem://").unwrap(), ("mem://".into(), None));
        assert!(super::split_credentials("ws://root@db:8000").is_err());
    }
}
