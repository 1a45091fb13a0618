//! `PlanStore` on SQLite: plans (`plans` for whole plans and reads, `plan_stream` for plans written while they
//! are computed) and reclaim records (`records`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use miro_sam_core::ports::PlanStore;
use miro_sam_core::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};

use crate::{SqliteStore, records};

#[async_trait]
impl PlanStore for SqliteStore {
    async fn put_plan(&self, plan: &ReclaimPlan) -> Result<(), StoreError> {
        self.plan_put(plan).await
    }

    async fn get_plan_header(&self, plan: PlanId) -> Result<Option<PlanHeader>, StoreError> {
        self.plan_header(plan).await
    }

    async fn latest_plan_header(&self, org: &OrgId) -> Result<Option<PlanHeader>, StoreError> {
        self.plan_latest_header(org).await
    }

    async fn get_plan_candidate(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<Candidate>, StoreError> {
        self.plan_candidate(plan, member).await
    }

    async fn list_plan_candidates(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Candidate>, StoreError> {
        self.plan_candidates_page(plan, after, limit).await
    }

    async fn list_plan_exclusions(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Exclusion>, StoreError> {
        self.plan_exclusions_page(plan, after, limit).await
    }

    async fn put_plan_items(
        &self,
        plan: PlanId,
        org: &OrgId,
        candidates: &[Candidate],
        exclusions: &[Exclusion],
    ) -> Result<(), StoreError> {
        self.plan_items_put(plan, org, candidates, exclusions).await
    }

    async fn put_plan_header(&self, header: &PlanHeader) -> Result<(), StoreError> {
        self.plan_header_put(header).await
    }

    async fn list_plan_headers(
        &self,
        org: &OrgId,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<PlanHeader>, StoreError> {
        self.plan_headers_page(org, before, limit).await
    }

    async fn create_reclaim_record(
        &self,
        record: &ReclaimRecord,
    ) -> Result<(ReclaimRecord, bool), StoreError> {
        let r = record.clone();
        self.call(move |c| records::create(c, &r)).await
    }

    async fn get_reclaim_record(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<ReclaimRecord>, StoreError> {
        let m = member.clone();
        self.call(move |c| records::get(c, plan, &m)).await
    }

    async fn transition_reclaim(
        &self,
        plan: PlanId,
        member: &MemberId,
        from: ReclaimState,
        transition: &ReclaimTransition,
    ) -> Result<ReclaimRecord, StoreError> {
        let (m, t) = (member.clone(), transition.clone());
        self.call(move |c| records::transition(c, plan, &m, from, &t))
            .await
    }

    async fn list_reclaim_records(&self, org: &OrgId) -> Result<Vec<ReclaimRecord>, StoreError> {
        let o = org.clone();
        self.call(move |c| records::list(c, &o)).await
    }

    async fn list_reclaim_records_page(
        &self,
        org: &OrgId,
        state: Option<ReclaimState>,
        before: Option<&RecordCursor>,
        limit: usize,
    ) -> Result<Vec<ReclaimRecord>, StoreError> {
        let (o, b) = (org.clone(), before.cloned());
        self.call(move |c| records::page(c, &o, state, b.as_ref(), limit))
            .await
    }
}
