//! `AuditStore` on SQLite, over the statements in `audit`.

use async_trait::async_trait;
use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditQuery};
use miro_sam_core::domain::{AuditEntryId, OrgId};
use miro_sam_core::ports::AuditStore;

use crate::{SqliteStore, audit};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.call(move |c| audit::append(c, &e)).await
    }

    async fn get_audit(&self, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError> {
        let id = id.clone();
        self.call(move |c| audit::get(c, &id)).await
    }

    async fn list_audit(&self, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError> {
        let o = org.clone();
        self.call(move |c| audit::list(c, &o)).await
    }

    async fn list_audit_page(
        &self,
        org: &OrgId,
        query: &AuditQuery,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (o, q, b) = (org.clone(), query.clone(), before.cloned());
        self.call(move |c| audit::page(c, &o, &q, b.as_ref(), limit))
            .await
    }
}
