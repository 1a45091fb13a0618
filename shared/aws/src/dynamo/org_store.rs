//! `OrgStore` on the table: orgs (`orgs`), policy versions (`policies`), the kill switch and holds (`holds`)
//! and the download lease (`download_lease`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, RegisteredOrg};
use miro_sam_core::hold::Hold;
use miro_sam_core::pause::OrgPause;
use miro_sam_core::policy::{Policy, VersionedPolicy};
use miro_sam_core::ports::{DownloadLease, OrgStore};

use super::{DynamoStore, download_lease, holds, orgs, policies};

#[async_trait]
impl OrgStore for DynamoStore {
    async fn put_org(&self, org: &RegisteredOrg) -> Result<(), StoreError> {
        orgs::put(&self.db, org).await
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError> {
        orgs::get(&self.db, org).await
    }

    async fn list_orgs(&self) -> Result<Vec<RegisteredOrg>, StoreError> {
        orgs::list(&self.db).await
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

    async fn take_download_lease(
        &self,
        org: &OrgId,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<DownloadLease, StoreError> {
        download_lease::take(&self.db, org, holder, now, until).await
    }

    async fn release_download_lease(&self, org: &OrgId, holder: &str) -> Result<bool, StoreError> {
        download_lease::release(&self.db, org, holder).await
    }
}
