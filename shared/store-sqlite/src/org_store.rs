//! `OrgStore` on SQLite: orgs (`orgs`), policy versions (`policies`), the kill switch and holds (`holds`) and
//! the download lease (`download_lease`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, RegisteredOrg};
use miro_sam_core::hold::Hold;
use miro_sam_core::pause::OrgPause;
use miro_sam_core::policy::{Policy, VersionedPolicy};
use miro_sam_core::ports::{DownloadLease, OrgStore};

use crate::{SqliteStore, download_lease, holds, orgs, policies};

#[async_trait]
impl OrgStore for SqliteStore {
    async fn put_org(&self, org: &RegisteredOrg) -> Result<(), StoreError> {
        let o = org.clone();
        self.call(move |c| orgs::put(c, &o)).await
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError> {
        let o = org.clone();
        self.call(move |c| orgs::get(c, &o)).await
    }

    async fn list_orgs(&self) -> Result<Vec<RegisteredOrg>, StoreError> {
        self.call(|c| orgs::list(c)).await
    }

    async fn put_policy(
        &self,
        org: &OrgId,
        policy: &Policy,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionedPolicy, StoreError> {
        let (o, p, by) = (org.clone(), policy.clone(), created_by.to_owned());
        let version = self
            .call(move |c| policies::put(c, &o, &p, &by, at))
            .await?;
        Ok(VersionedPolicy {
            org_id: org.clone(),
            version,
            created_at: at,
            created_by: created_by.to_owned(),
            policy: policy.clone(),
        })
    }

    async fn latest_policy(&self, org: &OrgId) -> Result<Option<VersionedPolicy>, StoreError> {
        let o = org.clone();
        self.call(move |c| policies::latest(c, &o)).await
    }

    async fn get_policy(
        &self,
        org: &OrgId,
        version: u32,
    ) -> Result<Option<VersionedPolicy>, StoreError> {
        let o = org.clone();
        self.call(move |c| policies::get(c, &o, version)).await
    }

    async fn put_pause(&self, pause: &OrgPause) -> Result<(), StoreError> {
        let p = pause.clone();
        self.call(move |c| holds::put_pause(c, &p)).await
    }

    async fn get_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
        let o = org.clone();
        self.call(move |c| holds::get_pause(c, &o)).await
    }

    async fn clear_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
        let o = org.clone();
        self.call(move |c| holds::clear_pause(c, &o)).await
    }

    async fn put_hold(&self, hold: &Hold) -> Result<(), StoreError> {
        let h = hold.clone();
        self.call(move |c| holds::put_hold(c, &h)).await
    }

    async fn get_hold(&self, org: &OrgId, member: &MemberId) -> Result<Option<Hold>, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| holds::get_hold(c, &o, &m)).await
    }

    async fn list_holds(&self, org: &OrgId) -> Result<Vec<Hold>, StoreError> {
        let o = org.clone();
        self.call(move |c| holds::list_holds(c, &o)).await
    }

    async fn delete_hold(&self, org: &OrgId, member: &MemberId) -> Result<bool, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| holds::delete_hold(c, &o, &m)).await
    }

    async fn take_download_lease(
        &self,
        org: &OrgId,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<DownloadLease, StoreError> {
        let (o, h) = (org.clone(), holder.to_owned());
        self.call(move |c| download_lease::take(c, &o, &h, now, until))
            .await
    }

    async fn release_download_lease(&self, org: &OrgId, holder: &str) -> Result<bool, StoreError> {
        let (o, h) = (org.clone(), holder.to_owned());
        self.call(move |c| download_lease::release(c, &o, &h)).await
    }
}
