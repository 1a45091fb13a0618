//! The audit log: an append-only record of what miro-sam and its admins did, per org.

use async_trait::async_trait;

use crate::audit::{AuditCursor, AuditEntry, AuditQuery};
use crate::domain::{AuditEntryId, OrgId};
use crate::error::StoreError;

/// The audit log. `crate::contract` (feature `contract-tests`) checks every guarantee below.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends the entry. [`StoreError::AlreadyExists`] if its id was used before; the stored entry is kept.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    async fn get_audit(&self, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError>;
    /// The org's entries ordered by (`at`, id).
    async fn list_audit(&self, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError>;

    /// Up to `limit` of the org's audit entries that match `query`, newest first (by `at`, then id,
    /// descending), strictly before `before` when given. An adapter may read past entries that do not match,
    /// but returns fewer than `limit` only at the end of the log. Each page costs the same wherever it starts,
    /// whatever the size of the org (adapters answer from an index in the page's order): the console's log.
    async fn list_audit_page(
        &self,
        org: &OrgId,
        query: &AuditQuery,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
