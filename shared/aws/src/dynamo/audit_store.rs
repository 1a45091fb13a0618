//! `AuditStore` on the table, over the items in `audit`.

use async_trait::async_trait;
use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditQuery};
use miro_sam_core::domain::{AuditEntryId, OrgId};
use miro_sam_core::ports::AuditStore;

use super::{DynamoStore, audit};

#[async_trait]
impl AuditStore for DynamoStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(&self.db, entry).await
    }

    async fn get_audit(&self, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError> {
        audit::get(&self.db, id).await
    }

    async fn list_audit(&self, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError> {
        audit::list(&self.db, org).await
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
}
