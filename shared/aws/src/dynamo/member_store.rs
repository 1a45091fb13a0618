//! `MemberStore` on the table: members (`members`), download runs and checkpoints (`runs`), snapshots
//! (`snapshots`) and timelines (`timeline`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{
    DownloadCheckpoint, DownloadRun, Email, MemberId, OrgId, Subscription,
};
use miro_sam_core::ports::MemberStore;
use miro_sam_core::snapshot::OrgSnapshot;
use miro_sam_core::timeline::MemberEvent;

use super::{DynamoStore, members, runs, snapshots, timeline};

#[async_trait]
impl MemberStore for DynamoStore {
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

    async fn search_members(
        &self,
        org: &OrgId,
        prefix: &str,
        after: Option<(&Email, &MemberId)>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        members::search(&self.db, org, prefix, after, limit).await
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
