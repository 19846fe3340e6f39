//! Fencing: the database refuses a write from an org actor whose node has lost the org.
//!
//! A node holds an org's partition under a lease whose token (the lease bucket's revision when it
//! was claimed) only grows. An org actor starts by raising the org's fence to its token, and every
//! write transaction it commits also rewrites that fence record while requiring the token to be
//! unchanged. A newer owner raises the fence first, so a stale owner's next write finds a
//! different token and is rolled back whole; and because both touch the same record, the two
//! cannot commit concurrently unnoticed (SurrealDB aborts one on the write-write conflict).
//! Contact-session batches read the fence with a lock instead of rewriting it ([`locked_check`]):
//! a raise committed after they began still aborts them, but they do not conflict with each other.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use surrealdb::engine::any::Any;
use surrealdb::method::Query;
use surrealdb::types::{RecordId, SurrealValue};

use super::Db;
use super::transaction::Transaction;
use crate::ids::OrgId;

const TABLE: &str = "fences";
/// What a refusing check throws: the only `THROW` in assist's statements, so a thrown error
/// in a transaction means it was fenced (see [`Db::commit`]).
const FENCED: &str = "assist:fenced";

/// Appended to every fenced write transaction: rewrites the fence, refusing from inside the
/// `SET` when the token is not this owner's. The `writes` count changes the record on every
/// write: SurrealDB writes nothing for an update that leaves a record as it was, and then a
/// concurrent raise would not conflict with it (measured: 200 concurrent same-token updates of
/// one fence, no conflict; 200 concurrent increments of one record, 91 refused). One statement
/// with no `IF` around it, because SurrealDB's cost per statement is most of a small
/// transaction's: this form is markedly cheaper than
/// `IF array::is_empty(UPDATE … WHERE …) { THROW }`. A fence that was never raised is not
/// refused (there is no record to update), and cannot be written under: an org actor raises
/// its fence in the activation that precedes every write, and fences are never deleted.
const CHECK: &str = "UPDATE ONLY $fence SET token = IF token = $fence_token { $fence_token } \
                     ELSE { THROW 'assist:fenced' }, writes = (writes ?? 0) + 1 RETURN NONE";

/// [`CHECK`] for a group of orgs: `$fences`, each checked against its org's token in
/// `$fence_tokens`, in one statement for the whole group.
const CHECK_EACH: &str = "UPDATE $fences SET token = IF token = $fence_tokens[record::id(id)] { token } \
     ELSE { THROW 'assist:fenced' }, writes = (writes ?? 0) + 1 RETURN NONE";

/// How a group commit checks its orgs' fences.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Check {
    /// Rewrites each fence, as every single write does ([`CHECK_EACH`]).
    Written,
    /// Reads each fence with a lock ([`locked_check`]): for contact sessions only, which no
    /// activation reads.
    Locked,
}

/// No fence holds it: a group holding two owners' batches of one org is refused whole, so that
/// each batch is then checked alone against its own token.
const REFUSED: i64 = -1;

/// Raises the fences `$fences` of a group of activations, each to its org's token in
/// `$tokens`, refusing to lower any: an older owner cannot take its org back. A fence that does
/// not exist yet is inserted from `$raises`. One already at its token (the org was passivated
/// and comes back under the same lease) is not written, so a re-activation costs no synced
/// write and does not conflict with another: hence the `IGNORE` and the `WHERE` (an `UPSERT`
/// that sets the values a record has already does write: 200 concurrent same-token raises of
/// one fence conflicted 192 times). Three statements for the whole group, because SurrealDB's
/// cost per statement is most of an activation's.
const RAISE: &str = "IF (SELECT VALUE id FROM $fences WHERE token > $tokens[record::id(id)]) != [] \
     { THROW 'assist:fenced' }; \
     INSERT IGNORE INTO fences $raises RETURN NONE; \
     UPDATE $fences SET token = $tokens[record::id(id)] WHERE token < $tokens[record::id(id)] RETURN NONE";

/// A fence as first written.
#[derive(Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Raised {
    id: RecordId,
    org: String,
    token: i64,
}

/// The lease an org actor writes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub org: OrgId,
    pub token: u64,
}

impl Fence {
    fn record(&self) -> RecordId {
        RecordId::new(TABLE, self.org.as_str())
    }

    fn token(&self) -> i64 {
        i64::try_from(self.token).unwrap_or(i64::MAX)
    }
}

impl Db {
    /// This connection, with every write through [`Db::write`] checked against `fence`.
    pub(crate) fn fenced(&self, fence: Fence) -> Db {
        Db { fence: Some(Arc::new(fence)), ..self.clone() }
    }

    /// `statements` as one transaction that ends by making each of `fences` its org's current
    /// one: activating actors read their rows in the transaction that makes them the owners
    /// ([`Repos::activate`](super::Repos::activate)). Run it with [`Db::commit`]; it fails with
    /// [`DbError::Fenced`](super::DbError::Fenced) when a newer owner raised any of them. `None` when two of `fences`
    /// are one org's: they cannot be raised in one transaction.
    pub(crate) fn raising_each<'a>(
        &self,
        statements: &str,
        fences: impl Iterator<Item = &'a Fence>,
    ) -> Option<Query<'_, Any>> {
        let mut tokens = BTreeMap::new();
        let mut raised = Vec::new();
        for fence in fences {
            if tokens.insert(fence.org.as_str().to_owned(), fence.token()).is_some() {
                return None;
            }
            raised.push(Raised {
                id: fence.record(),
                org: fence.org.as_str().to_owned(),
                token: fence.token(),
            });
        }
        if raised.is_empty() {
            return Some(Transaction::new(statements).query(&self.inner));
        }
        let fences: Vec<RecordId> = raised.iter().map(|raise| raise.id.clone()).collect();
        let query = Transaction::new(statements).guarded(RAISE).query(&self.inner);
        Some(query.bind(("fences", fences)).bind(("tokens", tokens)).bind(("raises", raised)))
    }

    /// `statements` as one transaction, with the fence check last when this connection has
    /// a fence. Run it with [`Db::commit`], whose [`Written`](super::transaction::Written) counts from the first of
    /// `statements` (the `BEGIN` takes a result slot of its own).
    pub(crate) fn write(&self, statements: &str) -> Query<'_, Any> {
        match &self.fence {
            None => Transaction::new(statements).query(&self.inner),
            Some(fence) => Transaction::new(statements)
                .guarded(CHECK)
                .query(&self.inner)
                .bind(("fence", fence.record()))
                .bind(("fence_token", fence.token())),
        }
    }

    /// `statements` as one transaction that writes for several orgs at once, checked against
    /// each of `fences` (none: unfenced) as `check` says: a group commit
    /// ([`super::group_commit`]). Run it with [`Db::commit`]; one refused fence refuses all of
    /// it.
    pub(crate) fn write_each<'a>(
        &self,
        statements: &str,
        fences: impl Iterator<Item = &'a Fence>,
        check: Check,
    ) -> Query<'_, Any> {
        let mut tokens = BTreeMap::new();
        for fence in fences {
            match tokens.entry(fence.org.as_str().to_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(fence.token());
                }
                Entry::Occupied(mut slot) if *slot.get() != fence.token() => {
                    slot.insert(REFUSED);
                }
                Entry::Occupied(_) => {}
            }
        }
        if tokens.is_empty() {
            return Transaction::new(statements).query(&self.inner);
        }
        match check {
            Check::Locked => {
                let check = locked_check(tokens.len());
                let mut query = Transaction::new(statements).guarded(check).query(&self.inner);
                for (i, org) in tokens.keys().enumerate() {
                    query = query.bind((format!("fence{i}"), RecordId::new(TABLE, org.as_str())));
                }
                query.bind(("fence_tokens", tokens.into_values().collect::<Vec<_>>()))
            }
            Check::Written => {
                let fences: Vec<RecordId> =
                    tokens.keys().map(|org| RecordId::new(TABLE, org.as_str())).collect();
                let query = Transaction::new(statements).guarded(CHECK_EACH).query(&self.inner);
                query.bind(("fences", fences)).bind(("fence_tokens", tokens))
            }
        }
    }
}

/// The check of a group commit of contact sessions: the `n` fences `$fence0`… read with a lock
/// (`FOR UPDATE`) and compared with `$fence_tokens`, in the same order. A locked read makes the
/// commit fail if a raise of that fence committed after the transaction began (measured: a read
/// conflict), as a write would, but two such reads of one fence do not conflict with each other,
/// and a group writes no fence record, which is cheaper. A session batch may do
/// without the write that every other write carries: should a stale owner's batch commit between
/// a new owner's raise and the raise's commit, it is ordered before the raise, and an activation
/// reads no sessions, so nothing the new owner read is changed behind it. A fence never raised
/// is refused (it reads as nothing).
fn locked_check(n: usize) -> String {
    let targets: Vec<String> = (0..n).map(|i| format!("$fence{i}")).collect();
    format!(
        "IF (SELECT VALUE token FROM {} FOR UPDATE) != $fence_tokens {{ THROW '{FENCED}' }}",
        targets.join(", ")
    )
}

/// A field of `org`'s fence record (`token`, `writes`), for tests: `None` when it has none.
#[cfg(test)]
pub(crate) async fn fence_field(db: &Db, org: &str, field: &str) -> Option<i64> {
    stored_field(db, TABLE, org, field).await
}

/// `field` of the record `table:id`, for tests: `None` when there is no such record or field.
#[cfg(test)]
pub(crate) async fn stored_field<T: surrealdb::types::SurrealValue>(
    db: &Db,
    table: &str,
    id: &str,
    field: &str,
) -> Option<T> {
    let read = db.client().query(format!("SELECT VALUE {field} FROM ONLY $rid"));
    read.bind(("rid", RecordId::new(table, id))).await.unwrap().take(0).unwrap()
}

#[cfg(test)]
mod tests {
    use surrealdb::engine::any::Any;
    use surrealdb::method::Transaction;

    use super::{Db, Fence};
    use crate::db::DbError;
    use crate::db::Repos;
    use crate::ids::{ContactSessionId, OrgId};
    use crate::model::contact_session::ContactSession;
    use crate::model::widget_settings::WidgetSettings;

    /// A transaction left open after a locked read of `org`'s fence at token 1 (a group's
    /// check) and `then`: its commit fails if that fence was written after it began.
    async fn locked_read(db: &Db, org: &OrgId, then: &str) -> Transaction<Any> {
        let open = db.client().clone().begin().await.unwrap();
        let mut read = open
            .query(format!("{}{then}", super::locked_check(1)))
            .bind(("fence0", Fence { org: org.clone(), token: 1 }.record()))
            .bind(("fence_tokens", vec![1_i64]))
            .await
            .unwrap();
        assert!(read.take_errors().is_empty());
        open
    }

    fn settings(welcome: &str) -> WidgetSettings {
        WidgetSettings { welcome_message: welcome.into(), ..WidgetSettings::default() }
    }

    #[tokio::test]
    async fn a_stale_owner_can_neither_write_nor_take_the_org_back() {
        let db = Db::connect("mem://").await.unwrap();
        let org = OrgId::parse("org_a").unwrap();
        let repos = Repos::new(&db);
        let old = repos.fenced(Fence { org: org.clone(), token: 5 });
        old.activate(&org).await.map(drop).unwrap();
        old.widget_settings().put(&org, &settings("from the old owner")).await.unwrap();

        let new = repos.fenced(Fence { org: org.clone(), token: 7 });
        new.activate(&org).await.map(drop).unwrap();
        let refused = old.widget_settings().put(&org, &settings("stale")).await;
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        let stored = repos.widget_settings().get(&org).await.unwrap().unwrap();
        assert_eq!(stored.welcome_message, "from the old owner", "the refused write left nothing behind");
        assert!(
            matches!(old.activate(&org).await.map(drop), Err(DbError::Fenced)),
            "an older token cannot win back"
        );

        new.widget_settings().put(&org, &settings("from the new owner")).await.unwrap();
        let stored = repos.widget_settings().get(&org).await.unwrap().unwrap();
        assert_eq!(stored.welcome_message, "from the new owner");

        // Passivated and activated again under the same lease: still the owner, still writing.
        let again = repos.fenced(Fence { org: org.clone(), token: 7 });
        again.activate(&org).await.map(drop).unwrap();
        again.widget_settings().put(&org, &settings("after a re-activation")).await.unwrap();
        assert!(matches!(old.activate(&org).await.map(drop), Err(DbError::Fenced)));
    }

    #[tokio::test]
    async fn a_refused_write_rolls_back_every_statement_with_it() {
        let db = Db::connect("mem://").await.unwrap();
        let org = OrgId::parse("org_b").unwrap();
        let repos = Repos::new(&db);
        let old = repos.fenced(Fence { org: org.clone(), token: 1 });
        old.activate(&org).await.map(drop).unwrap();
        repos.fenced(Fence { org: org.clone(), token: 2 }).activate(&org).await.map(drop).unwrap();
        let refused = old.widget_settings().put(&org, &settings("never")).await;
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        assert!(repos.widget_settings().get(&org).await.unwrap().is_none(), "nothing of it was stored");

        let session = ContactSession {
            id: ContactSessionId::generate(chrono::Utc::now()),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            metadata: Default::default(),
            created_at: chrono::Utc::now(),
            expires_at: chrono::Utc::now(),
        };
        let refused = old.contact_sessions().create_many(&org, &[(session.clone(), "hash".into())]).await;
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        assert!(repos.contact_sessions().get(&org, &session.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn every_fenced_write_really_writes_the_fence_record() {
        // An update that leaves the record as it was writes nothing in SurrealDB, and would
        // not conflict with a newer owner's concurrent raise.
        let db = Db::connect("mem://").await.unwrap();
        let org = OrgId::parse("org_c").unwrap();
        let owner = Repos::new(&db).fenced(Fence { org: org.clone(), token: 1 });
        owner.activate(&org).await.map(drop).unwrap();
        for welcome in ["one", "two", "three"] {
            owner.widget_settings().put(&org, &settings(welcome)).await.unwrap();
        }
        assert_eq!(super::fence_field(&db, "org_c", "writes").await, Some(3));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_re_activation_under_the_same_token_writes_nothing() {
        // Concurrent writes of one record conflict on surrealkv; these raises find the fence at
        // their token already, so none of them writes and none conflicts.
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("surrealkv://{}/db", dir.path().display())).await.unwrap();
        let org = OrgId::parse("org_d").unwrap();
        let owner = Repos::new(&db).fenced(Fence { org: org.clone(), token: 1 });
        owner.activate(&org).await.map(drop).unwrap();
        let again: Vec<_> = (0..50)
            .map(|_| {
                let (owner, org) = (owner.clone(), org.clone());
                tokio::spawn(async move { owner.activate(&org).await.map(drop) })
            })
            .collect();
        for activation in again {
            activation.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_locked_check_fails_on_a_later_raise_but_not_on_the_owners_other_batch() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("surrealkv://{}/db", dir.path().display())).await.unwrap();
        let org = OrgId::parse("org_e").unwrap();
        let repos = Repos::new(&db);
        repos.fenced(Fence { org: org.clone(), token: 1 }).activate(&org).await.map(drop).unwrap();
        db.client().query("DEFINE TABLE notes").await.unwrap();
        // Batches of token 1, checked and written but not yet committed.
        let one = locked_read(&db, &org, "; CREATE notes SET v = 1").await;
        let two = locked_read(&db, &org, "; CREATE notes SET v = 2").await;
        one.commit().await.expect("overlapping batches of one owner do not conflict");
        two.commit().await.expect("overlapping batches of one owner do not conflict");

        let stale = locked_read(&db, &org, "; CREATE notes SET v = 3").await;
        repos.fenced(Fence { org: org.clone(), token: 2 }).activate(&org).await.map(drop).unwrap();
        let refused = stale.commit().await.map(drop).unwrap_err();
        assert!(refused.to_string().to_lowercase().contains("conflict"), "{refused}");
        let notes: Vec<i64> = db.client().query("SELECT VALUE v FROM notes").await.unwrap().take(0).unwrap();
        assert_eq!(notes.len(), 2, "the stale batch left nothing: {notes:?}");
    }

    #[tokio::test]
    async fn a_group_re_activating_an_org_under_its_token_writes_no_fence() {
        use crate::db::activation::Activations;
        use crate::db::group_commit::{Group, Part};

        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("surrealkv://{}/db", dir.path().display())).await.unwrap();
        let (a, b) = (OrgId::parse("org_f").unwrap(), OrgId::parse("org_g").unwrap());
        let repos = Repos::new(&db);
        repos.fenced(Fence { org: a.clone(), token: 1 }).activate(&a).await.map(drop).unwrap();
        // Its commit fails if org_f's fence is written meanwhile.
        let watch = || locked_read(&db, &a, "");
        // Both orgs in one group transaction, as the node's activation committer runs them.
        let activate = |token: u64| {
            let parts = [&a, &b].map(|org| Part {
                db: repos.fenced(Fence { org: org.clone(), token }).db().clone(),
                item: org.clone(),
            });
            async move { Activations.write(&parts).await.map(drop).unwrap() }
        };
        let watcher = watch().await;
        activate(1).await;
        watcher.commit().await.expect("org_f's fence was already at 1: not written");
        let watcher = watch().await;
        activate(2).await;
        assert!(watcher.commit().await.is_err(), "raising org_f's fence to 2 wrote it");
    }
}
