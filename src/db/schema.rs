//! Defines every table of the architecture at start. `OVERWRITE` makes it idempotent and keeps
//! an existing database in step with the code on upgrade.

use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use super::DbError;

const SCHEMA: &str = include_str!("schema.surql");

pub(super) async fn define(db: &Surreal<Any>) -> Result<(), DbError> {
    db.query(SCHEMA).await?.check()?;
    Ok(())
}
