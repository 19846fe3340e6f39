//! Group commit: rows that several orgs' actors write to one table, in one transaction.
//!
//! An org actor is its org's single writer and already commits whatever its mailbox holds as one
//! batch. But when many orgs each have a session or two to write, every batch is a transaction
//! of one row, and SurrealDB's cost per transaction and per statement sets the pace, not the
//! rows (BENCHMARKS.md, writes over 64 orgs). So the node's org actors hand their batches to one
//! committer, which commits what queued while its last transaction ran as one transaction: one
//! `INSERT` of all the rows and one statement checking every org's fence. Each org still has at
//! most one batch in flight, so its writes keep their order.
//!
//! When that transaction fails (a fence refused it, a conflict), none of it was written, and
//! each org's batch is committed again on its own: one org's refusal reaches only its callers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use surrealdb::types::SurrealValue;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::{Db, DbError};

/// Transactions in flight at once: while one commits (much of it waiting on the disk), the
/// next one runs its statements. SurrealDB alone, 64 writers of one session each: 2,630–3,027
/// rows/s with 1, 4,378–4,419 with 2, 3,977–4,436 with 4 (ungrouped: 2,619–3,523).
const IN_FLIGHT: usize = 2;
/// Rows in one transaction at most; what queued beyond them goes in the next.
const MAX_ROWS: usize = 512;

/// The committer of one statement that inserts `$rows`.
#[derive(Debug)]
pub(crate) struct GroupCommit<R> {
    statement: &'static str,
    counts: Arc<Counts>,
    /// Started by the first commit (one needs a runtime); it ends when this is dropped.
    /// Unbounded, because each org has at most one batch in it: the active orgs bound it.
    queue: OnceLock<mpsc::UnboundedSender<Submission<R>>>,
}

/// What a committer did since start, for `/metrics`: how well batches are grouped, and how often
/// a group had to be split.
#[derive(Debug, Default)]
struct Counts {
    transactions: AtomicU64,
    batches: AtomicU64,
    split: AtomicU64,
}

/// [`Counts`] read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Transactions committed, each holding one batch or several orgs' batches.
    pub transactions: u64,
    /// Org batches committed by them.
    pub batches: u64,
    /// Groups whose transaction failed, whose batches were then committed one at a time.
    pub split: u64,
}

impl Counts {
    fn read(&self) -> GroupCounts {
        GroupCounts {
            transactions: self.transactions.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            split: self.split.load(Ordering::Relaxed),
        }
    }

    fn committed(&self, batches: usize) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.batches.fetch_add(batches as u64, Ordering::Relaxed);
    }
}

/// One org's batch: its rows, and the connection carrying its fence.
struct Submission<R> {
    db: Db,
    rows: Vec<R>,
    reply: oneshot::Sender<Result<(), DbError>>,
}

impl<R: SurrealValue + Clone + Send + Sync + 'static> GroupCommit<R> {
    /// `statement` inserts the bound array `$rows`.
    pub(crate) fn new(statement: &'static str) -> Self {
        Self { statement, counts: Arc::default(), queue: OnceLock::new() }
    }

    /// Commits `rows`, checked against `db`'s fence, in the next group transaction: answers once
    /// they are committed, or with why they were not.
    pub(crate) async fn commit(&self, db: &Db, rows: Vec<R>) -> Result<(), DbError> {
        let queue = self.queue.get_or_init(|| {
            let (queue, submissions) = mpsc::unbounded_channel();
            tokio::spawn(run(self.statement, self.counts.clone(), submissions));
            queue
        });
        let (reply, answer) = oneshot::channel();
        queue.send(Submission { db: db.clone(), rows, reply }).map_err(|_| DbError::CommitterStopped)?;
        answer.await.map_err(|_| DbError::CommitterStopped)?
    }

    pub(crate) fn counts(&self) -> GroupCounts {
        self.counts.read()
    }
}

async fn run<R: SurrealValue + Clone + Send + Sync + 'static>(
    statement: &'static str,
    counts: Arc<Counts>,
    mut submissions: mpsc::UnboundedReceiver<Submission<R>>,
) {
    let mut committing = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = committing.join_next(), if !committing.is_empty() => {}
            next = submissions.recv(), if committing.len() < IN_FLIGHT => match next {
                Some(first) => {
                    committing.spawn(commit(statement, counts.clone(), gather(first, &mut submissions)));
                }
                None => break,
            },
        }
    }
    committing.join_all().await;
}

/// `first` and whatever else has queued, up to [`MAX_ROWS`] rows.
fn gather<R>(
    first: Submission<R>,
    submissions: &mut mpsc::UnboundedReceiver<Submission<R>>,
) -> Vec<Submission<R>> {
    let mut rows = first.rows.len();
    let mut group = vec![first];
    while rows < MAX_ROWS {
        let Ok(next) = submissions.try_recv() else { break };
        rows += next.rows.len();
        group.push(next);
    }
    group
}

async fn commit<R: SurrealValue + Clone + Sync>(
    statement: &'static str,
    counts: Arc<Counts>,
    group: Vec<Submission<R>>,
) {
    if group.len() > 1 {
        if write(statement, &group).await.is_ok() {
            counts.committed(group.len());
            for submission in group {
                let _ = submission.reply.send(Ok(()));
            }
            return;
        }
        counts.split.fetch_add(1, Ordering::Relaxed);
    }
    for submission in group {
        let alone = write(statement, std::slice::from_ref(&submission)).await;
        if alone.is_ok() {
            counts.committed(1);
        }
        let _ = submission.reply.send(alone);
    }
}

async fn write<R: SurrealValue + Clone + Sync>(
    statement: &str,
    group: &[Submission<R>],
) -> Result<(), DbError> {
    let rows: Vec<R> = group.iter().flat_map(|s| s.rows.iter().cloned()).collect();
    let fences = group.iter().filter_map(|s| s.db.fence.as_deref());
    let db = &group[0].db;
    db.commit(db.write_each(statement, fences).bind(("rows", rows))).await.map(drop)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use surrealdb::types::{RecordId, SurrealValue};
    use tokio::sync::oneshot;

    use super::{Counts, GroupCounts, Submission, commit};
    use crate::db::{Db, DbError, Fence, Repos};
    use crate::ids::OrgId;

    const INSERT: &str = "INSERT INTO notes $rows RETURN NONE";

    #[derive(Clone, SurrealValue)]
    #[surreal(crate = "surrealdb::types")]
    struct Note {
        id: RecordId,
        org: String,
    }

    /// An org actor's connection, its fence raised under `token`.
    async fn owner(db: &Db, org: &str, token: u64) -> Db {
        let org = OrgId::parse(org).unwrap();
        let repos = Repos::new(db).fenced(Fence { org: org.clone(), token });
        repos.activate(&org).await.map(drop).unwrap();
        repos.db().clone()
    }

    fn submit(db: &Db, org: &str, n: usize) -> (Submission<Note>, oneshot::Receiver<Result<(), DbError>>) {
        let rows = (0..n)
            .map(|i| Note { id: RecordId::new("notes", format!("{org}-{i}")), org: org.into() })
            .collect();
        let (reply, answer) = oneshot::channel();
        (Submission { db: db.clone(), rows, reply }, answer)
    }

    async fn notes_of(db: &Db, org: &str) -> usize {
        let read =
            db.client().query("SELECT VALUE id FROM notes WHERE org = $org").bind(("org", org.to_owned()));
        let ids: Vec<RecordId> = read.await.unwrap().take(0).unwrap();
        ids.len()
    }

    async fn fence_writes(db: &Db, org: &str) -> Option<i64> {
        let read =
            db.client().query("SELECT VALUE writes FROM ONLY $f").bind(("f", RecordId::new("fences", org)));
        read.await.unwrap().take(0).unwrap()
    }

    #[tokio::test]
    async fn several_orgs_commit_in_one_transaction_each_fence_checked() {
        let db = Db::connect("mem://").await.unwrap();
        let (a, b) = (owner(&db, "org_a", 1).await, owner(&db, "org_b", 1).await);
        let (one, one_answer) = submit(&a, "org_a", 3);
        let (two, two_answer) = submit(&b, "org_b", 1);
        let counts = Arc::new(Counts::default());
        let before = (fence_writes(&db, "org_a").await, fence_writes(&db, "org_b").await);
        commit(INSERT, counts.clone(), vec![one, two]).await;
        assert!(one_answer.await.unwrap().is_ok());
        assert!(two_answer.await.unwrap().is_ok());
        assert_eq!((notes_of(&db, "org_a").await, notes_of(&db, "org_b").await), (3, 1));
        let after = (fence_writes(&db, "org_a").await, fence_writes(&db, "org_b").await);
        assert_eq!(after, before, "a group reads the fences and writes none");
        assert_eq!(counts.read(), GroupCounts { transactions: 1, batches: 2, split: 0 });
    }

    #[tokio::test]
    async fn a_refused_fence_refuses_only_its_orgs_batch() {
        let db = Db::connect("mem://").await.unwrap();
        let (a, stale, c) =
            (owner(&db, "org_a", 1).await, owner(&db, "org_b", 1).await, owner(&db, "org_c", 1).await);
        owner(&db, "org_b", 2).await;
        let (one, one_answer) = submit(&a, "org_a", 2);
        let (two, two_answer) = submit(&stale, "org_b", 2);
        let (three, three_answer) = submit(&c, "org_c", 1);
        let counts = Arc::new(Counts::default());
        commit(INSERT, counts.clone(), vec![one, two, three]).await;
        assert!(one_answer.await.unwrap().is_ok());
        let refused = two_answer.await.unwrap();
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        assert!(three_answer.await.unwrap().is_ok());
        let stored =
            (notes_of(&db, "org_a").await, notes_of(&db, "org_b").await, notes_of(&db, "org_c").await);
        assert_eq!(stored, (2, 0, 1), "the group was rolled back whole, then each org committed alone");
        assert_eq!(counts.read(), GroupCounts { transactions: 2, batches: 2, split: 1 });
    }

    #[tokio::test]
    async fn an_old_and_a_new_owner_of_one_org_in_one_group_are_each_checked_alone() {
        let db = Db::connect("mem://").await.unwrap();
        let stale = owner(&db, "org_a", 1).await;
        let current = owner(&db, "org_a", 2).await;
        let (old, old_answer) = submit(&stale, "org_a", 2);
        let (mut new, new_answer) = submit(&current, "org_a", 0);
        new.rows = vec![Note { id: RecordId::new("notes", "org_a-new"), org: "org_a".into() }];
        let counts = Arc::new(Counts::default());
        commit(INSERT, counts.clone(), vec![new, old]).await;
        assert!(new_answer.await.unwrap().is_ok());
        let refused = old_answer.await.unwrap();
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        assert_eq!(notes_of(&db, "org_a").await, 1, "only the current owner's batch was stored");
        assert_eq!(counts.read(), GroupCounts { transactions: 1, batches: 1, split: 1 });
    }
}
