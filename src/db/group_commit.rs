//! Group commit: what several orgs' actors write at once, in one transaction.
//!
//! An org actor is its org's single writer and already commits whatever its mailbox holds as one
//! batch. But when many orgs each have a little to write, every batch is a small transaction,
//! and SurrealDB's cost per transaction and per statement sets the pace, not the rows.
//! So the node's org actors hand their
//! parts to one committer per kind of write ([`Group`]: contact-session inserts, activations,
//! Clerk's organization upserts), which commits what queued while its last transaction ran as
//! one transaction whose statements each serve the whole group. Each org still has at most one
//! part in flight, so its writes keep their order.
//!
//! When that transaction fails (a fence refused it, a conflict), none of it was written, and
//! each part is committed again on its own: one org's refusal reaches only its actor.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use surrealdb::types::SurrealValue;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::fence::Check;
use super::transaction::Written;
use super::{Db, DbError};

/// Transactions in flight at once: while one commits (much of it waiting on the disk), the
/// next one runs its statements. Two did clearly better than one, and four no better than two.
const IN_FLIGHT: usize = 2;

/// One kind of write that org actors make, committed a group at a time.
pub(crate) trait Group: Send + Sync + 'static {
    /// One org actor's part.
    type Item: Send + Sync + 'static;
    /// What the actor gets back once its part is committed.
    type Output: Send + 'static;
    /// The most a transaction holds, counted by [`Group::size`]; what queued beyond it goes in
    /// the next.
    const MAX: usize;

    fn size(item: &Self::Item) -> usize;

    /// Commits `parts` in one transaction, each checked against its connection's fence, and
    /// gives their outputs in the same order; fails whole.
    fn write(
        &self,
        parts: &[Part<Self::Item>],
    ) -> impl Future<Output = Result<Vec<Self::Output>, DbError>> + Send;
}

/// One org's part, and the connection carrying its fence.
pub(crate) struct Part<I> {
    pub db: Db,
    pub item: I,
}

/// The committer of one [`Group`].
#[derive(Debug)]
pub(crate) struct GroupCommit<G: Group> {
    group: Arc<G>,
    counts: Arc<Counts>,
    /// Started by the first commit (one needs a runtime); it ends when this is dropped.
    /// Unbounded, because each org has at most one part in it: the active orgs bound it.
    queue: OnceLock<mpsc::UnboundedSender<Submission<G>>>,
}

/// What a committer did since start, for `/metrics`: how well parts are grouped, and how often
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
    /// Transactions committed, each holding one org's part or several orgs' parts.
    pub transactions: u64,
    /// Org parts committed by them.
    pub batches: u64,
    /// Groups whose transaction failed, whose parts were then committed one at a time.
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

type Reply<G> = oneshot::Sender<Result<<G as Group>::Output, DbError>>;

struct Submission<G: Group> {
    part: Part<G::Item>,
    reply: Reply<G>,
}

impl<G: Group> GroupCommit<G> {
    pub(crate) fn new(group: G) -> Self {
        Self { group: Arc::new(group), counts: Arc::default(), queue: OnceLock::new() }
    }

    /// Commits `item`, checked against `db`'s fence, in the next group transaction: answers once
    /// it is committed, or with why it was not.
    pub(crate) async fn commit(&self, db: &Db, item: G::Item) -> Result<G::Output, DbError> {
        let queue = self.queue.get_or_init(|| {
            let (queue, submissions) = mpsc::unbounded_channel();
            tokio::spawn(run(self.group.clone(), self.counts.clone(), submissions));
            queue
        });
        let (reply, answer) = oneshot::channel();
        let part = Part { db: db.clone(), item };
        queue.send(Submission { part, reply }).map_err(|_| DbError::CommitterStopped)?;
        answer.await.map_err(|_| DbError::CommitterStopped)?
    }

    pub(crate) fn counts(&self) -> GroupCounts {
        self.counts.read()
    }
}

async fn run<G: Group>(
    group: Arc<G>,
    counts: Arc<Counts>,
    mut submissions: mpsc::UnboundedReceiver<Submission<G>>,
) {
    let mut committing = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = committing.join_next(), if !committing.is_empty() => {}
            next = submissions.recv(), if committing.len() < IN_FLIGHT => match next {
                Some(first) => {
                    let gathered = gather(first, &mut submissions);
                    committing.spawn(commit(group.clone(), counts.clone(), gathered));
                }
                None => break,
            },
        }
    }
    committing.join_all().await;
}

/// `first` and whatever else has queued, up to [`Group::MAX`].
fn gather<G: Group>(
    first: Submission<G>,
    submissions: &mut mpsc::UnboundedReceiver<Submission<G>>,
) -> Vec<Submission<G>> {
    let mut size = G::size(&first.part.item);
    let mut gathered = vec![first];
    while size < G::MAX {
        let Ok(next) = submissions.try_recv() else { break };
        size += G::size(&next.part.item);
        gathered.push(next);
    }
    gathered
}

async fn commit<G: Group>(group: Arc<G>, counts: Arc<Counts>, gathered: Vec<Submission<G>>) {
    let (parts, replies): (Vec<_>, Vec<_>) = gathered.into_iter().map(|s| (s.part, s.reply)).unzip();
    if parts.len() > 1 {
        if let Ok(outputs) = group.write(&parts).await {
            counts.committed(parts.len());
            answer::<G>(replies, outputs);
            return;
        }
        counts.split.fetch_add(1, Ordering::Relaxed);
    }
    for (part, reply) in parts.into_iter().zip(replies) {
        match group.write(std::slice::from_ref(&part)).await {
            Ok(outputs) => {
                counts.committed(1);
                answer::<G>(vec![reply], outputs);
            }
            Err(err) => {
                let _ = reply.send(Err(err));
            }
        }
    }
}

fn answer<G: Group>(replies: Vec<Reply<G>>, outputs: Vec<G::Output>) {
    for (reply, output) in replies.into_iter().zip(outputs) {
        let _ = reply.send(Ok(output));
    }
}

/// Rows that org actors insert into one table: one `INSERT` of the group's rows, and one
/// statement checking every org's fence.
#[derive(Debug)]
pub(crate) struct Inserts<R> {
    /// Inserts the bound array `$rows`.
    statement: &'static str,
    check: Check,
    rows: PhantomData<fn() -> R>,
}

impl<R> Inserts<R> {
    pub(crate) fn new(statement: &'static str, check: Check) -> Self {
        Self { statement, check, rows: PhantomData }
    }
}

impl<R: SurrealValue + Clone + Send + Sync + 'static> Group for Inserts<R> {
    type Item = Vec<R>;
    type Output = ();
    const MAX: usize = 512;

    fn size(rows: &Vec<R>) -> usize {
        rows.len()
    }

    async fn write(&self, parts: &[Part<Vec<R>>]) -> Result<Vec<()>, DbError> {
        let rows: Vec<R> = parts.iter().flat_map(|part| part.item.iter().cloned()).collect();
        insert(self.statement, self.check, parts, rows).await?;
        Ok(vec![(); parts.len()])
    }
}

/// One row per org actor, upserted into one table: one `INSERT … ON DUPLICATE KEY UPDATE` of
/// the group's rows, which returns each row as stored, and one statement rewriting every
/// org's fence.
#[derive(Debug)]
pub(crate) struct Upserts<R> {
    table: &'static str,
    /// Upserts the bound array `$rows`, returning one row for each, in their order.
    statement: &'static str,
    rows: PhantomData<fn() -> R>,
}

impl<R> Upserts<R> {
    pub(crate) fn new(table: &'static str, statement: &'static str) -> Self {
        Self { table, statement, rows: PhantomData }
    }
}

impl<R: SurrealValue + Clone + Send + Sync + 'static> Group for Upserts<R> {
    type Item = R;
    type Output = serde_json::Value;
    const MAX: usize = 64;

    fn size(_: &R) -> usize {
        1
    }

    async fn write(&self, parts: &[Part<R>]) -> Result<Vec<serde_json::Value>, DbError> {
        let rows: Vec<R> = parts.iter().map(|part| part.item.clone()).collect();
        let stored: Vec<serde_json::Value> =
            insert(self.statement, Check::Written, parts, rows).await?.take(0)?;
        match stored.len() == parts.len() {
            true => Ok(stored),
            false => Err(DbError::Missing { table: self.table }),
        }
    }
}

async fn insert<I, R: SurrealValue>(
    statement: &str,
    check: Check,
    parts: &[Part<I>],
    rows: Vec<R>,
) -> Result<Written, DbError> {
    let fences = parts.iter().filter_map(|part| part.db.fence.as_deref());
    let db = &parts[0].db;
    db.commit(db.write_each(statement, fences, check).bind(("rows", rows))).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use surrealdb::types::{RecordId, SurrealValue};
    use tokio::sync::oneshot;

    use super::{Check, Counts, GroupCounts, Inserts, Part, Submission, commit};
    use crate::db::fence::fence_field;
    use crate::db::{Db, DbError, Fence, Repos};
    use crate::ids::OrgId;

    fn notes() -> Arc<Inserts<Note>> {
        Arc::new(Inserts::new("INSERT INTO notes $rows RETURN NONE", Check::Locked))
    }

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

    fn submit(
        db: &Db,
        org: &str,
        n: usize,
    ) -> (Submission<Inserts<Note>>, oneshot::Receiver<Result<(), DbError>>) {
        let rows = (0..n)
            .map(|i| Note { id: RecordId::new("notes", format!("{org}-{i}")), org: org.into() })
            .collect();
        let (reply, answer) = oneshot::channel();
        (Submission { part: Part { db: db.clone(), item: rows }, reply }, answer)
    }

    async fn notes_of(db: &Db, org: &str) -> usize {
        let read =
            db.client().query("SELECT VALUE id FROM notes WHERE org = $org").bind(("org", org.to_owned()));
        let ids: Vec<RecordId> = read.await.unwrap().take(0).unwrap();
        ids.len()
    }

    async fn fence_writes(db: &Db, org: &str) -> Option<i64> {
        fence_field(db, org, "writes").await
    }

    #[tokio::test]
    async fn several_orgs_commit_in_one_transaction_each_fence_checked() {
        let db = Db::connect("mem://").await.unwrap();
        let (a, b) = (owner(&db, "org_a", 1).await, owner(&db, "org_b", 1).await);
        let (one, one_answer) = submit(&a, "org_a", 3);
        let (two, two_answer) = submit(&b, "org_b", 1);
        let counts = Arc::new(Counts::default());
        let before = (fence_writes(&db, "org_a").await, fence_writes(&db, "org_b").await);
        commit(notes(), counts.clone(), vec![one, two]).await;
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
        commit(notes(), counts.clone(), vec![one, two, three]).await;
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
        new.part.item = vec![Note { id: RecordId::new("notes", "org_a-new"), org: "org_a".into() }];
        let counts = Arc::new(Counts::default());
        commit(notes(), counts.clone(), vec![new, old]).await;
        assert!(new_answer.await.unwrap().is_ok());
        let refused = old_answer.await.unwrap();
        assert!(matches!(refused, Err(DbError::Fenced)), "{refused:?}");
        assert_eq!(notes_of(&db, "org_a").await, 1, "only the current owner's batch was stored");
        assert_eq!(counts.read(), GroupCounts { transactions: 1, batches: 1, split: 1 });
    }
}
