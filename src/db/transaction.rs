//! Write transactions: assembled in one place (the caller's statements, then the statement that
//! guards them) and committed with their failure told apart by the kind of SurrealDB's error.

use std::borrow::Cow;

use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::method::Query;
use surrealdb::types::QueryError;

use super::{Db, DbError};

/// One write transaction: `statements`, then its guard (a fence check or raise, see
/// `fence.rs`), which refuses the whole of it by throwing.
pub(crate) struct Transaction<'s> {
    statements: &'s str,
    guard: Option<Cow<'static, str>>,
}

impl<'s> Transaction<'s> {
    pub(crate) fn new(statements: &'s str) -> Self {
        Self { statements, guard: None }
    }

    /// Ends the transaction with `guard`, after every statement it guards.
    pub(crate) fn guarded(self, guard: impl Into<Cow<'static, str>>) -> Self {
        Self { guard: Some(guard.into()), ..self }
    }

    /// The query to bind and run; the `BEGIN` takes the first result slot (see [`Written`]).
    pub(crate) fn query(self, client: &Surreal<Any>) -> Query<'_, Any> {
        let statements = self.statements;
        client.query(match self.guard {
            None => format!("BEGIN; {statements}; COMMIT;"),
            Some(guard) => format!("BEGIN; {statements}; {guard}; COMMIT;"),
        })
    }
}

impl Db {
    /// Runs a write and turns a failed transaction into one error: fenced (a guard threw),
    /// conflicting, or the first error of its statements.
    pub(crate) async fn commit(&self, query: Query<'_, Any>) -> Result<Written, DbError> {
        let mut response = query.await?;
        let mut errors: Vec<(usize, surrealdb::Error)> = response.take_errors().into_iter().collect();
        errors.sort_by_key(|(index, _)| *index);
        if errors.iter().any(|(_, e)| e.is_thrown()) {
            return Err(DbError::Fenced);
        }
        if errors.iter().any(|(_, e)| e.query_details() == Some(&QueryError::TransactionConflict)) {
            return Err(DbError::Conflict);
        }
        match errors.into_iter().next() {
            Some((_, first)) => Err(DbError::Surreal(first)),
            None => Ok(Written(response)),
        }
    }
}

/// The results of a committed write transaction.
pub(crate) struct Written(surrealdb::IndexedResults);

impl Written {
    /// The result of the `index`th of the statements given to [`Transaction::new`].
    pub(crate) fn take<R>(&mut self, index: usize) -> Result<R, DbError>
    where
        R: surrealdb::types::SurrealValue,
        usize: surrealdb::opt::QueryResult<R>,
    {
        Ok(self.0.take(index + 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::DbError;
    use crate::db::{Db, Fence, Repos};
    use crate::ids::OrgId;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_write_conflict_and_a_refused_fence_are_told_apart_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("surrealkv://{}/db", dir.path().display())).await.unwrap();
        let org = OrgId::parse("org_a").unwrap();
        let repos = Repos::new(&db);
        let old = repos.fenced(Fence { org: org.clone(), token: 1 });
        old.activate(&org).await.map(drop).unwrap();
        let owner = repos.fenced(Fence { org: org.clone(), token: 2 });
        owner.activate(&org).await.map(drop).unwrap();
        db.client().query("DEFINE TABLE notes").await.unwrap();

        let refused = old.db().commit(old.db().write("CREATE notes")).await.map(drop);
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");

        // Concurrent writes of one org all rewrite its fence: some conflict, how many depends
        // on timing, so rounds repeat until one has.
        let mut conflicts = 0;
        for _ in 0..20 {
            let writes: Vec<_> = (0..50)
                .map(|_| {
                    let owner = owner.clone();
                    tokio::spawn(async move {
                        owner.db().commit(owner.db().write("CREATE notes")).await.map(drop)
                    })
                })
                .collect();
            for write in writes {
                match write.await.unwrap() {
                    Ok(()) => {}
                    Err(DbError::Conflict) => conflicts += 1,
                    Err(other) => panic!("a conflict read as {other:?}"),
                }
            }
            if conflicts > 0 {
                break;
            }
        }
        assert!(conflicts > 0, "no two concurrent writes of one fence conflicted");
    }
}
