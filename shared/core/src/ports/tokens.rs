//! Where each org's Miro credentials live.

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

    /// [`StoreError::NoScimToken`] when none is stored.
    async fn get_scim_token(&self, org: &OrgId) -> Result<SecretString, StoreError>;

    async fn put_scim_token(&self, org: &OrgId, token: &SecretString) -> Result<(), StoreError>;
}
