//! The audit log: one item per entry id (so an id can be written once, enforced by the condition), listed per
//! org in time order through the GSI.

use miro_sam_core::StoreError;
use miro_sam_core::audit::AuditEntry;
use miro_sam_core::domain::{AuditEntryId, OrgId};

use super::db::{Db, KeyQuery, SkRange};
use super::item::{doc_item, parse_doc, s};
use super::keys::{AUDIT_SK, audit_gsi_pk, audit_gsi_sk, audit_pk};
use crate::table::{GSI1, GSI1_PK, GSI1_SK};

pub(crate) async fn append(db: &Db, entry: &AuditEntry) -> Result<(), StoreError> {
    let mut item = doc_item(audit_pk(&entry.id), AUDIT_SK, "audit entry", entry)?;
    item.insert(GSI1_PK.to_owned(), s(audit_gsi_pk(&entry.org_id)));
    item.insert(GSI1_SK.to_owned(), s(audit_gsi_sk(entry.at, &entry.id)));
    if db.put_if_absent(item).await? {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists {
            what: format!("audit entry {}", entry.id),
        })
    }
}

pub(crate) async fn get(db: &Db, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError> {
    db.get(audit_pk(id), AUDIT_SK)
        .await?
        .map(|i| parse_doc(&i, "audit entry"))
        .transpose()
}

/// Through the GSI, which trails writes by a moment on real DynamoDB.
pub(crate) async fn list(db: &Db, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError> {
    let items = db
        .query(KeyQuery::index(GSI1, audit_gsi_pk(org), SkRange::All))
        .await?;
    let mut entries = items
        .iter()
        .map(|i| parse_doc::<AuditEntry>(i, "audit entry"))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    Ok(entries)
}
