//! Reclaim plans and the reclaim records of acting on them: what miro-sam proposed and what it did, per member.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{MemberId, OrgId, PlanId};
use crate::error::StoreError;
use crate::plan::{Candidate, Exclusion, PLAN_PAGE, PlanHeader, ReclaimPlan};
use crate::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};

/// Plans (header and items) and reclaim records. `crate::contract` (feature `contract-tests`) checks every
/// guarantee below.
///
/// A plan is stored as a header ([`PlanHeader`]) and one item per candidate and per exclusion, keyed by
/// (plan, member): a reclaim message reads the header and its own candidate, whatever the plan's size, and
/// the enqueue job pages through the candidates. Readers start from the header: a plan without one does not
/// exist, whatever items a writer has already written.
#[async_trait]
pub trait PlanStore: Send + Sync {
    // --- Plans ------------------------------------------------------------------------------------------------

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

    // --- Streamed plans ---------------------------------------------------------------------------------------
    //
    // A plan of a large org is written while it is computed, a page of members at a time, so planning never
    // holds the whole org: the items first, in any number of calls, the header last. Until the header is
    // written the plan does not exist for readers (see the trait's documentation).

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

    /// Up to `limit` reclaim records of the org, in state `state` when given, newest first (by `created_at`,
    /// plan id, member id, descending), strictly before `before` when given. Fewer than `limit` only at the end.
    /// Each page costs the same wherever it starts (adapters answer from an index in the page's order): the
    /// console's reclaim history.
    async fn list_reclaim_records_page(
        &self,
        org: &OrgId,
        state: Option<ReclaimState>,
        before: Option<&RecordCursor>,
        limit: usize,
    ) -> Result<Vec<ReclaimRecord>, StoreError>;
}
