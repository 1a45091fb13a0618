//! One page of Miro's listing against the stored members of the same id range: a merge join whose memory is
//! one page (plus the members missing so far).
//!
//! Miro pages members in id order and the cursor is the last id received, so page k covers the ids in
//! `(last id of page k−1, last id of page k]` and the last page everything above. Every stored member in that
//! range that the page lacks has left the org (or, with partitioned paging, is looked up first). A page entry at
//! or below the range is a repeat of the previous page (skipped) or out of order (the run then removes nobody,
//! and the entry is compared by a point read).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use miro_client::MembersPage;
use secrecy::SecretString;

use super::super::{Deps, JobError};
use super::hold_if_reactivated_in_miro;
use crate::domain::{DownloadProgress, MemberId, OrgId, Subscription};
use crate::timeline::{MemberEvent, changes_between};

/// Stored members read per store call: the stored side of the join is read ahead this many at a time (one
/// store call per ten Miro pages, not one per page; a DynamoDB Query costs the same for 100 items as for 1 000).
pub(super) const STORE_PAGE: usize = 1_000;
/// Above this many members missing in one run, removals are not tracked any more (the run removes nobody; the
/// next complete run does): the list is the one thing a run holds that grows with the org.
pub(super) const MAX_MISSING_IN_RUN: usize = 100_000;

/// What one download invocation counts besides the checkpoint's progress.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub holds_placed: u64,
    /// Entries listed twice (paging repeated them, or a member moved between parts); counted once.
    pub duplicates: u64,
    /// Partitioned paging: stored members absent from the listing looked up at Miro, and those Miro still had.
    pub lookups: u64,
    pub confirmed_present: u64,
}

pub(super) struct Differ<'a> {
    pub deps: &'a Deps,
    pub org: &'a OrgId,
    pub reclaimed: &'a HashMap<MemberId, DateTime<Utc>>,
    /// Partitioned paging's guard 2: absent members are looked up with this token before counting as gone.
    pub verify_absent: Option<SecretString>,
    /// Ids of the previous page, to tell a repeat from an out-of-order entry.
    pub previous: HashSet<MemberId>,
    /// The stored side of the join, read ahead in id order.
    pub stored: StoredCursor,
    pub tally: Tally,
    /// The org has a complete download before this one. On the very first download every member is new and no
    /// "joined" event is written: `first_seen_at` says the same, and it would double the first run's writes.
    pub has_history: bool,
}

impl Differ<'_> {
    /// Diffs and writes one page. `last`: the listing ends with it, so its range is open at the top.
    pub(super) async fn apply(
        &mut self,
        p: &mut DownloadProgress,
        page: &MembersPage,
        last: bool,
    ) -> Result<(), JobError> {
        let (deps, org) = (self.deps, self.org);
        let now = deps.clock.now();
        // Listed but unreadable: neither compared nor missing.
        let mut unreadable: HashSet<MemberId> = HashSet::new();
        for bad in &page.undecodable {
            // Only the id is logged: the rest of the record is personal data.
            tracing::warn!(%org, member = bad.id.as_deref().unwrap_or("(no readable id)"), problem = %bad.problem,
                "skipping a member entry that does not decode");
            p.rejected += 1;
            if let Some(id) = bad.id.as_deref().and_then(|i| MemberId::parse(i).ok()) {
                unreadable.insert(id);
            }
        }
        let lo = p.last_member_id.clone();
        let mut in_range: BTreeMap<MemberId, Subscription> = BTreeMap::new();
        let mut behind: Vec<Subscription> = Vec::new();
        let mut page_ids: HashSet<MemberId> = HashSet::new();
        let mut running_max = lo.clone();
        for m in &page.members {
            let fresh = match Subscription::from_member(org, m, now) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(%org, member = %m.id, error = %e, "skipping a member Miro listed");
                    p.rejected += 1;
                    if let Ok(id) = MemberId::parse(&m.id) {
                        unreadable.insert(id);
                    }
                    continue;
                }
            };
            let id = fresh.member_id.clone();
            if !page_ids.insert(id.clone()) || self.previous.contains(&id) {
                // Paging can repeat a member when the list shifts underneath it; count them once.
                self.tally.duplicates += 1;
                continue;
            }
            if running_max.as_ref().is_some_and(|r| &id <= r) {
                p.ordered = false;
            } else {
                running_max = Some(id.clone());
            }
            p.members_seen += 1;
            if lo.as_ref().is_none_or(|lo| &id > lo) {
                in_range.insert(id, fresh);
            } else {
                behind.push(fresh);
            }
        }
        let mut to_write = Vec::new();
        let mut events = Vec::new();
        for fresh in in_range.values().chain(&behind) {
            if fresh.active
                && let Some(reclaimed_at) = self.reclaimed.get(&fresh.member_id)
                && hold_if_reactivated_in_miro(deps, fresh, *reclaimed_at, now).await?
            {
                self.tally.holds_placed += 1;
            }
        }

        // The range this page covers: (lo, its largest id], or (lo, ∞) for the last page. A page that adds no id
        // above lo covers nothing yet: its range is the next page's.
        let walk = last || running_max != lo;
        let hi = if last { None } else { running_max.clone() };
        while walk
            && let Some(old) = self
                .stored
                .next_upto(deps, org, lo.as_ref(), hi.as_ref())
                .await?
        {
            if let Some(fresh) = in_range.remove(&old.member_id) {
                compare(p, old, fresh, &mut to_write, &mut events, now);
            } else if !old.is_removed() && !unreadable.contains(&old.member_id) {
                self.absent(p, old, now, &mut to_write).await?;
            }
        }
        for (_, fresh) in std::mem::take(&mut in_range) {
            self.joined(&fresh, &mut events, now);
            p.new += 1;
            to_write.push(fresh);
        }
        for fresh in behind {
            match deps.store.get_member(org, &fresh.member_id).await? {
                Some(old) => compare(p, old, fresh, &mut to_write, &mut events, now),
                None => {
                    self.joined(&fresh, &mut events, now);
                    p.new += 1;
                    to_write.push(fresh);
                }
            }
        }
        // The timeline first: a crash between the two writes re-diffs the page on the next run and records the
        // change again (at a later time), whereas members written first would hide the change for good.
        if !events.is_empty() {
            deps.store.append_member_events(&events).await?;
        }
        if !to_write.is_empty() {
            deps.store.upsert_members(org, &to_write).await?;
        }
        if running_max.is_some() {
            p.last_member_id = running_max;
        }
        self.previous = page_ids;
        if p.ordered && p.missing.len() > MAX_MISSING_IN_RUN {
            tracing::warn!(%org, missing = p.missing.len(),
                "more members left than one run tracks; this run removes nobody, the next complete one does");
            p.ordered = false;
            p.missing.clear();
        }
        Ok(())
    }

    fn joined(&self, fresh: &Subscription, events: &mut Vec<MemberEvent>, now: DateTime<Utc>) {
        if self.has_history {
            events.extend(changes_between(None, fresh, now));
        }
    }

    /// A stored member the page lacks although its id is in the page's range.
    async fn absent(
        &mut self,
        p: &mut DownloadProgress,
        old: Subscription,
        now: DateTime<Utc>,
        to_write: &mut Vec<Subscription>,
    ) -> Result<(), JobError> {
        if let Some(token) = &self.verify_absent {
            // Guard 2: a partitioned listing proves presence, not absence.
            self.tally.lookups += 1;
            match self
                .deps
                .client
                .member(token, self.org.as_str(), old.member_id.as_str())
                .await
            {
                Ok(m) => {
                    self.tally.confirmed_present += 1;
                    p.members_seen += 1;
                    match Subscription::from_member(self.org, &m, now) {
                        Ok(fresh) => {
                            let mut events = Vec::new();
                            compare(p, old, fresh, to_write, &mut events, now);
                            if !events.is_empty() {
                                self.deps.store.append_member_events(&events).await?;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(org = %self.org, member = %m.id, error = %e, "skipping a member Miro listed");
                            p.rejected += 1;
                        }
                    }
                    return Ok(());
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        if p.ordered {
            p.missing.push(old.member_id);
        }
        Ok(())
    }
}

/// The org's stored members in id order, read [`STORE_PAGE`] at a time. Memory: one read-ahead.
#[derive(Debug, Default)]
pub(super) struct StoredCursor {
    buf: VecDeque<Subscription>,
    /// The last id read from the store.
    read_to: Option<MemberId>,
    /// The store has nothing above `read_to` (that this run has not written itself).
    exhausted: bool,
}

impl StoredCursor {
    /// The next stored member with an id in `(lo, hi]` (`hi` `None`: no upper end), or `None` when there is none.
    ///
    /// Reads start above `lo` as well as above what was read: everything up to `lo` was compared and written
    /// already, and members this run wrote must not come back as "stored" for a later range. For the same
    /// reason "exhausted" stays true: whatever appears later was written by this run, in a range already done.
    pub(super) async fn next_upto(
        &mut self,
        deps: &Deps,
        org: &OrgId,
        lo: Option<&MemberId>,
        hi: Option<&MemberId>,
    ) -> Result<Option<Subscription>, JobError> {
        while self
            .buf
            .front()
            .is_some_and(|m| lo.is_some_and(|lo| &m.member_id <= lo))
        {
            self.buf.pop_front();
        }
        if self.buf.is_empty() && !self.exhausted {
            let from = match (&self.read_to, lo) {
                (Some(r), Some(l)) => Some(r.max(l).clone()),
                (r, l) => r.clone().or_else(|| l.cloned()),
            };
            let page = deps
                .store
                .list_members_page(org, from.as_ref(), None, STORE_PAGE)
                .await?;
            self.exhausted = page.len() < STORE_PAGE;
            self.read_to = page.last().map(|m| m.member_id.clone()).or(from);
            self.buf.extend(page);
        }
        match self.buf.front() {
            Some(m) if hi.is_none_or(|hi| &m.member_id <= hi) => Ok(self.buf.pop_front()),
            _ => Ok(None),
        }
    }
}

/// New, changed (written, keeping when it was first seen, with its timeline events) or unchanged (not written).
fn compare(
    p: &mut DownloadProgress,
    old: Subscription,
    fresh: Subscription,
    to_write: &mut Vec<Subscription>,
    events: &mut Vec<MemberEvent>,
    now: DateTime<Utc>,
) {
    if old.content_hash == fresh.content_hash && !old.is_removed() {
        p.unchanged += 1;
    } else {
        p.changed += 1;
        // A member who comes back after leaving joins again; otherwise what changed.
        let before = (!old.is_removed()).then_some(&old);
        events.extend(changes_between(before, &fresh, now));
        to_write.push(Subscription {
            first_seen_at: old.first_seen_at,
            ..fresh
        });
    }
}
