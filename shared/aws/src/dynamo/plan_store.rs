//! `PlanStore` on the table: plans (`plans`) and reclaim records (`reclaims`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use miro_sam_core::ports::PlanStore;
use miro_sam_core::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};

use super::{DynamoStore, plans, reclaims};

#[async_trait]
impl PlanStore for DynamoStore {
    async fn put_plan(&self, plan: &ReclaimPlan) -> Result<(), StoreError> {
        plans::put(&self.db, plan).await
    }

    async fn get_plan_header(&self, plan: PlanId) -> Result<Option<PlanHeader>, StoreError> {
        plans::header(&self.db, plan).await
    }

    async fn latest_plan_header(&self, org: &OrgId) -> Result<Option<PlanHeader>, StoreError> {
        plans::latest_header(&self.db, org).await
    }

    async fn get_plan_candidate(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<Candidate>, StoreError> {
        plans::candidate(&self.db, plan, member).await
    }

    async fn list_plan_candidates(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Candidate>, StoreError> {
        plans::candidates(&self.db, plan, after, limit).await
    }

    async fn list_plan_exclusions(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Exclusion>, StoreError> {
        plans::exclusions(&self.db, plan, after, limit).await
    }

    async fn put_plan_items(
        &self,
        plan: PlanId,
        org: &OrgId,
        candidates: &[Candidate],
        exclusions: &[Exclusion],
    ) -> Result<(), StoreError> {
        plans::put_items(&self.db, plan, org, candidates, exclusions).await
    }

    async fn put_plan_header(&self, header: &PlanHeader) -> Result<(), StoreError> {
        plans::put_header(&self.db, header).await
    }

    async fn list_plan_headers(
        &self,
        org: &OrgId,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<PlanHeader>, StoreError> {
        plans::list_headers(&self.db, org, before, limit).await
    }

    async fn create_reclaim_record(
        &self,
        record: &ReclaimRecord,
    ) -> Result<(ReclaimRecord, bool), StoreError> {
        reclaims::create(&self.db, record).await
    }

    async fn get_reclaim_record(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<ReclaimRecord>, StoreError> {
        reclaims::get(&self.db, plan, member).await
    }

    async fn transition_reclaim(
        &self,
        plan: PlanId,
        member: &MemberId,
        from: ReclaimState,
        transition: &ReclaimTransition,
    ) -> Result<ReclaimRecord, StoreError> {
        reclaims::transition(&self.db, plan, member, from, transition).await
    }

    async fn list_reclaim_records(&self, org: &OrgId) -> Result<Vec<ReclaimRecord>, StoreError> {
        reclaims::list(&self.db, org).await
    }

    async fn list_reclaim_records_page(
        &self,
        org: &OrgId,
        state: Option<ReclaimState>,
        before: Option<&RecordCursor>,
        limit: usize,
    ) -> Result<Vec<ReclaimRecord>, StoreError> {
        reclaims::list_page(&self.db, org, state, before, limit).await
    }
}
