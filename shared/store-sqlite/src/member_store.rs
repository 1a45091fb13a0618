//! `MemberStore` on SQLite: members (`members`, `member_search`), download runs and checkpoints (`runs`),
//! snapshots (`snapshots`) and timelines (`timeline`). Each call runs its statements on the blocking pool.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{
    DownloadCheckpoint, DownloadRun, Email, MemberId, OrgId, Subscription,
};
use miro_sam_core::ports::MemberStore;
use miro_sam_core::snapshot::OrgSnapshot;
use miro_sam_core::timeline::MemberEvent;

use crate::{SqliteStore, member_search, members, runs, snapshots, timeline};

#[async_trait]
impl MemberStore for SqliteStore {
    async fn upsert_members(
        &self,
        org: &OrgId,
        members: &[Subscription],
    ) -> Result<(), StoreError> {
        if let Some(m) = members.iter().find(|m| &m.org_id != org) {
            return Err(StoreError::Backend(format!(
                "member {} belongs to org {}, not {org}: refusing a mixed batch",
                m.member_id, m.org_id
            )));
        }
        if members.is_empty() {
            return Ok(());
        }
        let (members, written) = (members.to_vec(), self.member_rows_written.clone());
        self.call(move |c| members::upsert(c, &members, &written))
            .await
    }

    async fn get_member(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Subscription>, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| members::get(c, &o, &m)).await
    }

    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<Subscription>, StoreError> {
        let (o, e) = (org.clone(), email.clone());
        self.call(move |c| members::find_by_email(c, &o, &e)).await
    }

    async fn list_members(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
        let o = org.clone();
        self.call(move |c| members::list(c, &o)).await
    }

    async fn list_members_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        upto: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        let (o, a, u) = (org.clone(), after.cloned(), upto.cloned());
        self.call(move |c| members::page(c, &o, a.as_ref(), u.as_ref(), limit))
            .await
    }

    async fn search_members(
        &self,
        org: &OrgId,
        prefix: &str,
        after: Option<(&Email, &MemberId)>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        let (o, p) = (org.clone(), prefix.to_owned());
        let a = after.map(|(e, m)| (e.clone(), m.clone()));
        self.call(move |c| member_search::search(c, &o, &p, a.as_ref().map(|(e, m)| (e, m)), limit))
            .await
    }

    async fn mark_removed(
        &self,
        org: &OrgId,
        members: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (o, ids) = (org.clone(), members.to_vec());
        self.call(move |c| members::mark_removed(c, &o, &ids, at))
            .await
    }

    async fn put_download_run(&self, run: &DownloadRun) -> Result<(), StoreError> {
        let run = run.clone();
        self.call(move |c| runs::put(c, &run)).await
    }

    async fn last_download_run(&self, org: &OrgId) -> Result<Option<DownloadRun>, StoreError> {
        let o = org.clone();
        self.call(move |c| runs::last(c, &o)).await
    }

    async fn put_checkpoint(&self, checkpoint: &DownloadCheckpoint) -> Result<(), StoreError> {
        let cp = checkpoint.clone();
        self.call(move |c| runs::put_checkpoint(c, &cp)).await
    }

    async fn get_checkpoint(&self, org: &OrgId) -> Result<Option<DownloadCheckpoint>, StoreError> {
        let o = org.clone();
        self.call(move |c| runs::get_checkpoint(c, &o)).await
    }

    async fn clear_checkpoint(&self, org: &OrgId) -> Result<(), StoreError> {
        let o = org.clone();
        self.call(move |c| runs::clear_checkpoint(c, &o)).await
    }

    async fn put_snapshot(&self, snapshot: &OrgSnapshot) -> Result<(), StoreError> {
        let s = snapshot.clone();
        self.call(move |c| snapshots::put(c, &s)).await
    }

    async fn get_snapshot(
        &self,
        org: &OrgId,
        date: NaiveDate,
    ) -> Result<Option<OrgSnapshot>, StoreError> {
        let o = org.clone();
        self.call(move |c| snapshots::get(c, &o, date)).await
    }

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<OrgSnapshot>, StoreError> {
        let o = org.clone();
        self.call(move |c| snapshots::list(c, &o, from, to)).await
    }

    async fn latest_snapshot(&self, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError> {
        let o = org.clone();
        self.call(move |c| snapshots::latest(c, &o)).await
    }

    async fn append_member_events(&self, events: &[MemberEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let e = events.to_vec();
        self.call(move |c| timeline::append(c, &e)).await
    }

    async fn list_member_events(
        &self,
        org: &OrgId,
        member: &MemberId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MemberEvent>, StoreError> {
        let (o, m, b) = (org.clone(), member.clone(), before.map(str::to_owned));
        self.call(move |c| timeline::page(c, &o, &m, b.as_deref(), limit))
            .await
    }
}
