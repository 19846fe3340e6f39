//! The widget's settings as each org's owner last published them, kept by every node's edge.
//!
//! Every widget load on every customer site reads `GET /v1/widget/{org}/settings`. Asking the
//! org's owner over NATS each time leaves the edge well under half its own speed (the bus
//! round trip is most of the cost), yet the answer changes only when an operator or Clerk
//! changes the org, and each such change is published on the change feed with the very bytes
//! the owner would answer (`settings.updated`, audience everyone). So each node keeps the last
//! answer per org, replaced from the feed as changes commit, and forgets an org on
//! `organization.deleted`.
//!
//! Freshness: a node sees a change when its change-feed subscription does (milliseconds after
//! the commit). A settings-changing request through this node forgets the org before it
//! answers, so the caller's next read is fresh. A change whose event was lost (NATS down
//! while the owner published) stays invisible for at most [`FRESH_FOR`]. A read that missed
//! and asked the owner keeps its answer only if no settings change arrived meanwhile, so an
//! older answer never replaces a newer one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::bus::subjects;
use crate::ids::OrgId;

/// How long an answer is served without a change-feed event confirming it.
const FRESH_FOR: Duration = Duration::from_secs(10);
/// Orgs kept at most (about 1 KB each); past it, expired answers go, then everything.
const CAPACITY: usize = 50_000;

/// Cheap to clone; one per node, shared by the edge (reads) and the event hub (changes).
#[derive(Clone, Default)]
pub struct SettingsCache {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    answers: HashMap<OrgId, Answer>,
    /// Counts settings changes seen; a miss remembers it, and its answer is kept only if no
    /// change came in between.
    changes: u64,
}

struct Answer {
    body: Bytes,
    until: Instant,
}

/// What a read found.
pub enum Lookup {
    Hit(Bytes),
    /// Ask the owner, then [`SettingsCache::fill`] with this ticket.
    Miss(u64),
}

impl SettingsCache {
    pub fn get(&self, org: &OrgId) -> Lookup {
        let inner = self.lock();
        match inner.answers.get(org) {
            Some(answer) if answer.until > Instant::now() => Lookup::Hit(answer.body.clone()),
            _ => Lookup::Miss(inner.changes),
        }
    }

    /// Keeps the owner's answer to a read that missed with `ticket`, unless a change came since.
    pub fn fill(&self, org: &OrgId, ticket: u64, body: &[u8]) {
        let mut inner = self.lock();
        if inner.changes == ticket {
            inner.keep(org.clone(), body);
        }
    }

    /// The org's settings may have changed (a settings or Vapi write went through this node).
    pub fn forget(&self, org: &OrgId) {
        let mut inner = self.lock();
        inner.changes += 1;
        inner.answers.remove(org);
    }

    /// Reads one change-feed event: a new public view replaces the kept one.
    pub(super) fn observe(&self, subject: &str, payload: &[u8]) {
        let Ok((org, resource, change)) = subjects::parse_event(subject) else { return };
        match (resource, change) {
            ("settings", "updated") => {
                let mut inner = self.lock();
                inner.changes += 1;
                inner.keep(org, payload);
            }
            ("organization", "deleted") => self.forget(&org),
            _ => {}
        }
    }

    /// The feed had a gap: nothing kept can be trusted.
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.changes += 1;
        inner.answers.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; if something did, the map is still consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn keep(&mut self, org: OrgId, body: &[u8]) {
        // A copy: a received payload is a view into the connection's read buffer, which a kept
        // view would pin for as long as the answer lives.
        let body = Bytes::copy_from_slice(body);
        let now = Instant::now();
        if self.answers.len() >= CAPACITY && !self.answers.contains_key(&org) {
            self.answers.retain(|_, answer| answer.until > now);
            if self.answers.len() >= CAPACITY {
                self.answers.clear();
            }
        }
        self.answers.insert(org, Answer { body, until: now + FRESH_FOR });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn hit(cache: &SettingsCache, id: &str) -> Option<Bytes> {
        match cache.get(&org(id)) {
            Lookup::Hit(body) => Some(body),
            Lookup::Miss(_) => None,
        }
    }

    fn miss(cache: &SettingsCache, id: &str) -> u64 {
        match cache.get(&org(id)) {
            Lookup::Miss(ticket) => ticket,
            Lookup::Hit(_) => panic!("expected a miss"),
        }
    }

    #[test]
    fn a_miss_answered_by_the_owner_is_kept() {
        let cache = SettingsCache::default();
        let ticket = miss(&cache, "org_a");
        cache.fill(&org("org_a"), ticket, b"v1");
        assert_eq!(hit(&cache, "org_a").as_deref(), Some(&b"v1"[..]));
        assert_eq!(hit(&cache, "org_b"), None, "other orgs stay unknown");
    }

    #[test]
    fn an_answer_older_than_a_change_seen_meanwhile_is_dropped() {
        let cache = SettingsCache::default();
        let ticket = miss(&cache, "org_a");
        cache.observe("assist.v1.events.org_a.settings.updated", b"v2");
        cache.fill(&org("org_a"), ticket, b"v1");
        assert_eq!(hit(&cache, "org_a").as_deref(), Some(&b"v2"[..]));

        cache.forget(&org("org_a"));
        assert_eq!(hit(&cache, "org_a"), None, "a write through this node makes the next read ask");
        let ticket = miss(&cache, "org_a");
        cache.forget(&org("org_a"));
        cache.fill(&org("org_a"), ticket, b"v1");
        assert_eq!(hit(&cache, "org_a"), None, "and drops what a read asked before the write");
    }

    #[test]
    fn deletion_and_gaps_forget_and_other_events_change_nothing() {
        let cache = SettingsCache::default();
        cache.observe("assist.v1.events.org_a.settings.updated", b"v1");
        cache.observe("assist.v1.events.org_b.settings.updated", b"v1");
        cache.observe("assist.v1.events.org_a.message.created", b"{}");
        assert!(hit(&cache, "org_a").is_some());

        cache.observe("assist.v1.events.org_a.organization.deleted", b"{}");
        assert_eq!(hit(&cache, "org_a"), None);
        assert!(hit(&cache, "org_b").is_some());
        cache.clear();
        assert_eq!(hit(&cache, "org_b"), None);
    }
}
