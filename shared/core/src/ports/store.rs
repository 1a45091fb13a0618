//! Everything miro-sam remembers about orgs, members, plans and what it did.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{AuditCursor, AuditEntry, AuditQuery};
use crate::domain::{
    AuditEntryId, DownloadCheckpoint, DownloadRun, Email, MemberId, OrgId, PlanId, RegisteredOrg,
    Subscription,
};
use crate::error::StoreError;
use crate::hold::Hold;
use crate::pause::OrgPause;
use crate::plan::{Candidate, Exclusion, PLAN_PAGE, PlanHeader, ReclaimPlan};
use crate::policy::{Policy, VersionedPolicy};
use crate::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};
use crate::snapshot::OrgSnapshot;
use crate::timeline::MemberEvent;

/// The product's state. Implementations must be safe to share between tasks and must keep every guarantee
/// below; `crate::contract` (feature `contract-tests`) checks them.
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    // --- Orgs -------------------------------------------------------------------------------------------------

    /// Inserts or replaces the org.
    async fn put_org(&self, org: &RegisteredOrg) -> Result<(), StoreError>;
    async fn get_org(&self, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError>;
    /// Ordered by org id.
    async fn list_orgs(&self) -> Result<Vec<RegisteredOrg>, StoreError>;

    // --- Members ----------------------------------------------------------------------------------------------

    /// Inserts or replaces these members, all or nothing. Callers pass only new and changed members (by content
    /// hash), so a day on which nothing changed costs no member writes. Every member's `org_id` must be `org`.
    async fn upsert_members(&self, org: &OrgId, members: &[Subscription])
    -> Result<(), StoreError>;

    /// A member as stored, with `last_seen_at` reported as the later of the stored value and the org's last
    /// complete download ([`Self::put_download_run`]) unless the member is marked removed: every member not
    /// removed was, by definition, in that download's complete listing.
    async fn get_member(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Subscription>, StoreError>;

    /// Same `last_seen_at` rule as [`Self::get_member`]. If several members share the address, the lowest id.
    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<Subscription>, StoreError>;

    /// Every member of the org, removed ones included, ordered by member id (numeric order), with the
    /// `last_seen_at` rule of [`Self::get_member`].
    async fn list_members(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError>;

    /// Up to `limit` members of the org (removed ones included) whose ids lie in `(after, upto]` in numeric id
    /// order, ordered by member id, with the `last_seen_at` rule of [`Self::get_member`]. `None` leaves that end
    /// open. To read a whole range, call again with the last id returned as `after` until fewer than `limit`
    /// come back. Why: the download compares each Miro page with the stored members of the same id range, and
    /// the snapshot counts every member, without holding a whole org in memory. Adapters answer from an index
    /// in that order, so a page costs the same at the end of a large org as at its start.
    async fn list_members_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        upto: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Sets `removed_at = at` on the listed members that are not already removed (an earlier removal time is
    /// kept). Unknown ids are ignored. Returns how many were newly marked.
    async fn mark_removed(
        &self,
        org: &OrgId,
        members: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Records a complete download of the org, replacing the previous record.
    async fn put_download_run(&self, run: &DownloadRun) -> Result<(), StoreError>;
    async fn last_download_run(&self, org: &OrgId) -> Result<Option<DownloadRun>, StoreError>;

    /// One checkpoint per org; a put replaces it.
    async fn put_checkpoint(&self, checkpoint: &DownloadCheckpoint) -> Result<(), StoreError>;
    async fn get_checkpoint(&self, org: &OrgId) -> Result<Option<DownloadCheckpoint>, StoreError>;
    /// Removing an absent checkpoint is not an error.
    async fn clear_checkpoint(&self, org: &OrgId) -> Result<(), StoreError>;

    // --- Daily snapshots --------------------------------------------------------------------------------------

    /// Keyed by (org, date): a second put for the same day replaces the first.
    async fn put_snapshot(&self, snapshot: &OrgSnapshot) -> Result<(), StoreError>;
    async fn get_snapshot(
        &self,
        org: &OrgId,
        date: NaiveDate,
    ) -> Result<Option<OrgSnapshot>, StoreError>;
    /// Days `from..=to`, ascending.
    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<OrgSnapshot>, StoreError>;
    /// The snapshot with the latest date.
    async fn latest_snapshot(&self, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError>;

    // --- Policies ---------------------------------------------------------------------------------------------

    /// Stores `policy` as the org's next version (1 for the first) atomically, even under concurrent writers,
    /// and returns it. Versions are never rewritten.
    async fn put_policy(
        &self,
        org: &OrgId,
        policy: &Policy,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionedPolicy, StoreError>;
    async fn latest_policy(&self, org: &OrgId) -> Result<Option<VersionedPolicy>, StoreError>;
    async fn get_policy(
        &self,
        org: &OrgId,
        version: u32,
    ) -> Result<Option<VersionedPolicy>, StoreError>;

    // --- Plans ------------------------------------------------------------------------------------------------
    //
    // A plan is stored as a header ([`PlanHeader`]) and one item per candidate and per exclusion, keyed by
    // (plan, member): a reclaim message reads the header and its own candidate, whatever the plan's size, and
    // the enqueue job pages through the candidates. Readers start from the header: a plan without one does not
    // exist, whatever items a writer has already written.

    /// Inserts or replaces the plan under its id: the items in bounded batches, the header last, so a reader
    /// never sees part of a plan (a replaced plan is invisible while it is rewritten, never a mix of the two).
    /// Replacing removes the items the new version no longer has.
    async fn put_plan(&self, plan: &ReclaimPlan) -> Result<(), StoreError>;

    /// The plan's header; `None` if the plan does not exist (or is being written).
    async fn get_plan_header(&self, plan: PlanId) -> Result<Option<PlanHeader>, StoreError>;

    /// The header of the org's plan with the latest `created_at` (of plans whose header is written).
    async fn latest_plan_header(&self, org: &OrgId) -> Result<Option<PlanHeader>, StoreError>;

    /// One candidate of the plan, by member. Strongly consistent. Meaningful once the header was read.
    async fn get_plan_candidate(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<Candidate>, StoreError>;

    /// Up to `limit` candidates whose member id is above `after` (all when `None`), in member id order (numeric,
    /// as [`MemberId`]'s `Ord`). Fewer than `limit` means the end. Each page costs the same wherever it starts.
    async fn list_plan_candidates(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// Up to `limit` exclusions whose member id is above `after`, in member id order; as
    /// [`Self::list_plan_candidates`].
    async fn list_plan_exclusions(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Exclusion>, StoreError>;

    /// The whole plan, assembled from its header and every page of its lists (in plan order). Loads it all: for
    /// the CLI, reports and tests; the jobs that run per message or per candidate use the calls above.
    async fn get_plan(&self, plan: PlanId) -> Result<Option<ReclaimPlan>, StoreError> {
        let Some(header) = self.get_plan_header(plan).await? else {
            return Ok(None);
        };
        let mut candidates = Vec::new();
        loop {
            let after = candidates.last().map(|c: &Candidate| c.member_id.clone());
            let page = self
                .list_plan_candidates(plan, after.as_ref(), PLAN_PAGE)
                .await?;
            let done = page.len() < PLAN_PAGE;
            candidates.extend(page);
            if done {
                break;
            }
        }
        let mut exclusions = Vec::new();
        loop {
            let after = exclusions.last().map(|e: &Exclusion| e.member_id.clone());
            let page = self
                .list_plan_exclusions(plan, after.as_ref(), PLAN_PAGE)
                .await?;
            let done = page.len() < PLAN_PAGE;
            exclusions.extend(page);
            if done {
                break;
            }
        }
        Ok(Some(ReclaimPlan::from_parts(
            header, candidates, exclusions,
        )))
    }

    /// The org's latest plan, whole (see [`Self::get_plan`]).
    async fn latest_plan(&self, org: &OrgId) -> Result<Option<ReclaimPlan>, StoreError> {
        match self.latest_plan_header(org).await? {
            Some(h) => self.get_plan(h.plan_id).await,
            None => Ok(None),
        }
    }

    // --- Reclaim records --------------------------------------------------------------------------------------

    /// Creates the record for (`record.plan_id`, `record.member_id`) unless one exists, atomically. Returns the
    /// stored record and whether this call created it; an existing record is returned unchanged.
    async fn create_reclaim_record(
        &self,
        record: &ReclaimRecord,
    ) -> Result<(ReclaimRecord, bool), StoreError>;
    async fn get_reclaim_record(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<ReclaimRecord>, StoreError>;
    /// Compare-and-set: applies `transition` only if the stored state is `from`, atomically, and returns the
    /// updated record. [`StoreError::Conflict`] if the state is anything else, [`StoreError::NotFound`] if there
    /// is no record. Adapters only compare; the core checks that `from → transition.to` is a legal move.
    async fn transition_reclaim(
        &self,
        plan: PlanId,
        member: &MemberId,
        from: ReclaimState,
        transition: &ReclaimTransition,
    ) -> Result<ReclaimRecord, StoreError>;
    /// Every record of the org, ordered by (created_at, plan id, member id).
    async fn list_reclaim_records(&self, org: &OrgId) -> Result<Vec<ReclaimRecord>, StoreError>;

    // --- Kill switch and holds -------------------------------------------------------------------------------

    /// Turns the org's kill switch on (or replaces the reason of one already on). Kept apart from the org record,
    /// so reconnecting an org never turns it off.
    async fn put_pause(&self, pause: &OrgPause) -> Result<(), StoreError>;
    /// The org's pause, if it is paused. Strongly consistent: the reclaim worker reads it right before acting.
    async fn get_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError>;
    /// Turns the kill switch off; returns the pause that was removed (`None` if the org was not paused).
    async fn clear_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError>;

    /// Inserts or replaces the member's hold (one per member).
    async fn put_hold(&self, hold: &Hold) -> Result<(), StoreError>;
    /// The member's hold, expired or not. Strongly consistent.
    async fn get_hold(&self, org: &OrgId, member: &MemberId) -> Result<Option<Hold>, StoreError>;
    /// Every hold of the org, expired ones included, ordered by member id (numeric order).
    async fn list_holds(&self, org: &OrgId) -> Result<Vec<Hold>, StoreError>;
    /// Removes the member's hold; returns whether there was one.
    async fn delete_hold(&self, org: &OrgId, member: &MemberId) -> Result<bool, StoreError>;

    // --- Audit log --------------------------------------------------------------------------------------------

    /// Appends the entry. [`StoreError::AlreadyExists`] if its id was used before; the stored entry is kept.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    async fn get_audit(&self, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError>;
    /// The org's entries ordered by (`at`, id).
    async fn list_audit(&self, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError>;

    // --- Download leases -------------------------------------------------------------------------------------

    /// Takes the org's download lease for `holder` until `until`, atomically, unless another holder's lease is
    /// unexpired (its `until` is after `now`). The same holder taking it again moves its `until`. Two downloads
    /// of one org therefore never run at once, and a worker that dies keeps the org only until its `until`.
    /// `now` and `until` come from the caller's clock (millisecond precision), like the refresh lease's.
    async fn take_download_lease(
        &self,
        org: &OrgId,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<crate::ports::DownloadLease, StoreError>;
    /// Ends `holder`'s lease of the org; another holder's lease is left as it is. Returns whether one was ended.
    async fn release_download_lease(&self, org: &OrgId, holder: &str) -> Result<bool, StoreError>;

    // --- Streamed plans ---------------------------------------------------------------------------------------
    //
    // A plan of a large org is written while it is computed, a page of members at a time, so planning never
    // holds the whole org: the items first, in any number of calls, the header last. Until the header is
    // written the plan does not exist for readers (see the plans section above).

    /// Writes these items of a new plan (one that has no header yet). Idempotent: writing an item again
    /// replaces it. Every item's plan is `plan`.
    async fn put_plan_items(
        &self,
        plan: PlanId,
        org: &OrgId,
        candidates: &[Candidate],
        exclusions: &[Exclusion],
    ) -> Result<(), StoreError>;

    /// Writes the header of a plan whose items [`Self::put_plan_items`] wrote: from now on readers see it.
    async fn put_plan_header(&self, header: &PlanHeader) -> Result<(), StoreError>;

    /// Up to `limit` plan headers of the org, newest first (by `created_at`, then plan id, descending), only
    /// those created strictly before `before` when given. Why: the console's "what changed since the previous
    /// plan" and plan history, without reading any plan's items.
    async fn list_plan_headers(
        &self,
        org: &OrgId,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<PlanHeader>, StoreError>;

    // --- Paged reads for the console and reports --------------------------------------------------------------
    //
    // Every page costs the same wherever it starts, whatever the size of the org (adapters answer from an index
    // in the page's order): the console's goal is a page in well under 200 ms for a 100 000-member org.

    /// Up to `limit` members of the org (removed ones included) whose email starts with `prefix` (emails are
    /// stored folded, so pass a folded prefix; "" matches everyone), ordered by (email, member id), strictly after
    /// `after` = (email, member id) when given. Same `last_seen_at` rule as [`Self::get_member`].
    async fn search_members(
        &self,
        org: &OrgId,
        prefix: &str,
        after: Option<(&Email, &MemberId)>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Up to `limit` of the org's audit entries that match `query`, newest first (by `at`, then id,
    /// descending), strictly before `before` when given. An adapter may read past entries that do not match,
    /// but returns fewer than `limit` only at the end of the log.
    async fn list_audit_page(
        &self,
        org: &OrgId,
        query: &AuditQuery,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Up to `limit` reclaim records of the org, in state `state` when given, newest first (by `created_at`,
    /// plan id, member id, descending), strictly before `before` when given. Fewer than `limit` only at the end.
    async fn list_reclaim_records_page(
        &self,
        org: &OrgId,
        state: Option<ReclaimState>,
        before: Option<&RecordCursor>,
        limit: usize,
    ) -> Result<Vec<ReclaimRecord>, StoreError>;

    // --- Member timelines -------------------------------------------------------------------------------------

    /// Appends the events to their members' timelines. An event whose (org, member, [`MemberEvent::key`]) is
    /// already stored is left as it is, so a re-run of the same day adds nothing. Events are kept at least
    /// [`crate::timeline::TIMELINE_RETENTION_DAYS`] days.
    async fn append_member_events(&self, events: &[MemberEvent]) -> Result<(), StoreError>;

    /// Up to `limit` events of the member, newest first (by [`MemberEvent::key`] descending), strictly before
    /// the key `before` when given.
    async fn list_member_events(
        &self,
        org: &OrgId,
        member: &MemberId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MemberEvent>, StoreError>;
}
