//! Where each org's Miro credentials live, and the lease that lets exactly one worker refresh them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::OrgId;
use crate::error::StoreError;

/// An org's OAuth tokens. The secrets are [`SecretString`]s: `Debug` prints them redacted and nothing here
/// serializes them by accident.
#[derive(Debug, Clone)]
pub struct TokenBundle {
    pub org_id: OrgId,
    pub access_token: SecretString,
    /// Present when the app uses expiring tokens. Miro replaces it on every refresh: the old one is spent.
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    pub team_id: Option<String>,
    /// The Miro user who connected the org.
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
    /// Assigned by the store: 1 for the first write, +1 for every write after. Ignored on writes.
    pub version: u64,
}

/// The answer to [`TokenStore::lease_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshLease {
    /// The caller holds the lease until the `until` it asked for: it alone may spend the refresh token of that
    /// version. Storing the refreshed tokens (any write that bumps the version) ends the lease.
    Taken,
    /// Another worker holds the lease of that version until `until` (millisecond precision). Wait for its write,
    /// or for `until`, then ask again.
    Held { until: DateTime<Utc> },
    /// The stored tokens are no longer that version (someone refreshed or reconnected): re-read them.
    Moved,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// [`StoreError::NotConnected`] when the org has no tokens.
    async fn get_tokens(&self, org: &OrgId) -> Result<TokenBundle, StoreError>;

    /// Unconditional write (connecting or reconnecting an org). Returns the new version.
    async fn put_tokens(&self, bundle: &TokenBundle) -> Result<u64, StoreError>;

    /// Writes only if the stored version is still `expected_version` (optimistic concurrency for refreshes).
    /// [`StoreError::Conflict`] when someone else wrote first, or when there is nothing stored. Returns the
    /// new version.
    async fn put_tokens_if_version(
        &self,
        bundle: &TokenBundle,
        expected_version: u64,
    ) -> Result<u64, StoreError>;

    /// Takes the refresh lease of `version` until `until`, unless another caller holds an unexpired one (its
    /// `until` is after `now`). A refresh token works once, so every refresh — before a job and after a 401 —
    /// runs under this lease; `until` must outlast the whole refresh (the token call with all its retries, and
    /// storing the result). `now` and `until` come from the caller's clock so that every worker judges expiry
    /// by the same clock, and so tests can move it. Times are kept to the millisecond.
    /// [`StoreError::NotConnected`] when the org has no tokens.
    async fn lease_refresh(
        &self,
        org: &OrgId,
        version: u64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<RefreshLease, StoreError>;

    /// Ends the caller's lease early (its refresh failed and stored nothing), so other workers need not wait
    /// for `until`. Only the lease of `version` that ends at exactly `until` — the caller's own — is removed;
    /// anything else is left as it is.
    async fn release_refresh(
        &self,
        org: &OrgId,
        version: u64,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// [`StoreError::NoScimToken`] when none is stored.
    async fn get_scim_token(&self, org: &OrgId) -> Result<SecretString, StoreError>;

    async fn put_scim_token(&self, org: &OrgId, token: &SecretString) -> Result<(), StoreError>;
}
