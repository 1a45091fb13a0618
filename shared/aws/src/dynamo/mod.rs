//! The DynamoDB adapter of [`SubscriptionStore`]: one table, single-table design (see `TABLE.md`).

mod audit;
pub(crate) mod batch;
pub(crate) mod db;
mod download_lease;
mod holds;
pub(crate) mod item;
pub(crate) mod keys;
mod link_nonce;
mod member_id_lengths;
mod members;
mod notices;
mod oauth_state;
mod orgs;
mod plans;
mod policies;
mod reclaims;
mod runs;
mod snapshots;
mod timeline;
pub(crate) mod token_state;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditQuery};
use miro_sam_core::domain::{
    AuditEntryId, DownloadCheckpoint, DownloadRun, Email, MemberId, OrgId, PlanId, RegisteredOrg,
    Subscription,
};
use miro_sam_core::hold::Hold;
use miro_sam_core::pause::OrgPause;
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use miro_sam_core::policy::{Policy, VersionedPolicy};
use miro_sam_core::ports::SubscriptionStore;
use miro_sam_core::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};
use miro_sam_core::snapshot::OrgSnapshot;
use miro_sam_core::timeline::MemberEvent;

pub use db::{ReadStats, WriteStats};
pub use link_nonce::LinkUse;
pub use oauth_state::{OAUTH_STATE_TTL, OAuthStateStore, StateTake, TakenState};

use crate::retry::Backoff;
use db::Db;

/// [`SubscriptionStore`] on one DynamoDB table. Cheap to clone; clones share the client and the counters.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    db: Db,
}

impl DynamoStore {
    /// A store on `table`, which must exist with the layout of [`crate::table::create_table`].
    pub fn new(client: Client, table: &str) -> Self {
        DynamoStore {
            db: Db::new(client, table),
        }
    }

    /// Replaces the retry schedule of batch writes (unprocessed items, throttling).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.db.backoff = backoff;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.db.table
    }

    /// What this store (and its clones) wrote so far.
    pub fn write_stats(&self) -> WriteStats {
        self.db.stats()
    }

    /// What this store (and its clones) read so far.
    pub fn read_stats(&self) -> ReadStats {
        self.db.read_stats()
    }
}

#[async_trait]
impl SubscriptionStore for DynamoStore {
    async fn put_org(&self, org: &RegisteredOrg) -> Result<(), StoreError> {
        orgs::put(&self.db, org).await
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError> {
        orgs::get(&self.db, org).await
    }

    async fn list_orgs(&self) -> Result<Vec<RegisteredOrg>, StoreError> {
        orgs::list(&self.db).await
    }

    async fn upsert_members(
        &self,
        org: &OrgId,
        members: &[Subscription],
    ) -> Result<(), StoreError> {
        members::upsert(&self.db, org, members).await
    }

    async fn get_member(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Subscription>, StoreError> {
        members::get(&self.db, org, member).await
    }

    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<Subscription>, StoreError> {
        members::find_by_email(&self.db, org, email).await
    }

    async fn list_members(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
        members::list(&self.db, org).await
    }

    async fn list_members_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        upto: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        members::page(&self.db, org, after, upto, limit).await
    }

    async fn mark_removed(
        &self,
        org: &OrgId,
        members: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        members::mark_removed(&self.db, org, members, at).await
    }

    async fn put_download_run(&self, run: &DownloadRun) -> Result<(), StoreError> {
        runs::put(&self.db, run).await
    }

    async fn last_download_run(&self, org: &OrgId) -> Result<Option<DownloadRun>, StoreError> {
        runs::last(&self.db, org).await
    }

    async fn put_checkpoint(&self, checkpoint: &DownloadCheckpoint) -> Result<(), StoreError> {
        runs::put_checkpoint(&self.db, checkpoint).await
    }

    async fn get_checkpoint(&self, org: &OrgId) -> Result<Option<DownloadCheckpoint>, StoreError> {
        runs::get_checkpoint(&self.db, org).await
    }

    async fn clear_checkpoint(&self, org: &OrgId) -> Result<(), StoreError> {
        runs::clear_checkpoint(&self.db, org).await
    }

    async fn put_snapshot(&self, snapshot: &OrgSnapshot) -> Result<(), StoreError> {
        snapshots::put(&self.db, snapshot).await
    }

    async fn get_snapshot(
        &self,
        org: &OrgId,
        date: NaiveDate,
    ) -> Result<Option<OrgSnapshot>, StoreError> {
        snapshots::get(&self.db, org, date).await
    }

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<OrgSnapshot>, StoreError> {
        snapshots::list(&self.db, org, from, to).await
    }

    async fn latest_snapshot(&self, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError> {
        snapshots::latest(&self.db, org).await
    }

    async fn put_policy(
        &self,
        org: &OrgId,
        policy: &Policy,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionedPolicy, StoreError> {
        policies::put(&self.db, org, policy, created_by, at).await
    }

    async fn latest_policy(&self, org: &OrgId) -> Result<Option<VersionedPolicy>, StoreError> {
        policies::latest(&self.db, org).await
    }

    async fn get_policy(
        &self,
        org: &OrgId,
        version: u32,
    ) -> Result<Option<VersionedPolicy>, StoreError> {
        policies::get(&self.db, org, version).await
    }

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

    async fn put_pause(&self, pause: &OrgPause) -> Result<(), StoreError> {
        holds::put_pause(&self.db, pause).await
    }

    async fn get_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
        holds::get_pause(&self.db, org).await
    }

    async fn clear_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
        holds::clear_pause(&self.db, org).await
    }

    async fn put_hold(&self, hold: &Hold) -> Result<(), StoreError> {
        holds::put_hold(&self.db, hold).await
    }

    async fn get_hold(&self, org: &OrgId, member: &MemberId) -> Result<Option<Hold>, StoreError> {
        holds::get_hold(&self.db, org, member).await
    }

    async fn list_holds(&self, org: &OrgId) -> Result<Vec<Hold>, StoreError> {
        holds::list_holds(&self.db, org).await
    }

    async fn delete_hold(&self, org: &OrgId, member: &MemberId) -> Result<bool, StoreError> {
        holds::delete_hold(&self.db, org, member).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(&self.db, entry).await
    }

    async fn get_audit(&self, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError> {
        audit::get(&self.db, id).await
    }

    async fn list_audit(&self, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError> {
        audit::list(&self.db, org).await
    }

    async fn take_download_lease(
        &self,
        org: &OrgId,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<miro_sam_core::ports::DownloadLease, StoreError> {
        download_lease::take(&self.db, org, holder, now, until).await
    }

    async fn release_download_lease(&self, org: &OrgId, holder: &str) -> Result<bool, StoreError> {
        download_lease::release(&self.db, org, holder).await
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

    async fn search_members(
        &self,
        org: &OrgId,
        prefix: &str,
        after: Option<(&Email, &MemberId)>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        members::search(&self.db, org, prefix, after, limit).await
    }

    async fn list_audit_page(
        &self,
        org: &OrgId,
        query: &AuditQuery,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::list_page(&self.db, org, query, before, limit).await
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

    async fn append_member_events(&self, events: &[MemberEvent]) -> Result<(), StoreError> {
        timeline::append(&self.db, events).await
    }

    async fn list_member_events(
        &self,
        org: &OrgId,
        member: &MemberId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MemberEvent>, StoreError> {
        timeline::list(&self.db, org, member, before, limit).await
    }
}
