//! Each org's registration and what its admins set or hold on it: policies, the kill switch, member holds, and
//! the download lease that keeps two downloads of one org apart.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{MemberId, OrgId, RegisteredOrg};
use crate::error::StoreError;
use crate::hold::Hold;
use crate::pause::OrgPause;
use crate::policy::{Policy, VersionedPolicy};
use crate::ports::DownloadLease;

/// Orgs, policies, pauses, holds and download leases. `crate::contract` (feature `contract-tests`) checks
/// every guarantee below.
#[async_trait]
pub trait OrgStore: Send + Sync {
    // --- Orgs -------------------------------------------------------------------------------------------------

    /// Inserts or replaces the org.
    async fn put_org(&self, org: &RegisteredOrg) -> Result<(), StoreError>;
    async fn get_org(&self, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError>;
    /// Ordered by org id.
    async fn list_orgs(&self) -> Result<Vec<RegisteredOrg>, StoreError>;

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
    ) -> Result<DownloadLease, StoreError>;
    /// Ends `holder`'s lease of the org; another holder's lease is left as it is. Returns whether one was ended.
    async fn release_download_lease(&self, org: &OrgId, holder: &str) -> Result<bool, StoreError>;
}
