//! The audit log: one item per entry id (so an id can be written once, enforced by the condition), listed per
//! org in time order through GSI1, and an entry about a member also per member through GSI2 (same sort key), so
//! the console's page of one member's entries is a key range whatever the size of the org's log.

use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditQuery};
use miro_sam_core::domain::{AuditEntryId, OrgId};

use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, doc_item, parse_doc, s};
use super::keys::{
    AUDIT_SK, audit_gsi_pk, audit_gsi_sk, audit_member_gsi_pk, audit_pk, sortable_time,
};
use crate::table::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK};

pub(crate) async fn append(db: &Db, entry: &AuditEntry) -> Result<(), StoreError> {
    let mut item = doc_item(audit_pk(&entry.id), AUDIT_SK, "audit entry", entry)?;
    let sk = audit_gsi_sk(entry.at, &entry.id);
    item.insert(GSI1_PK.to_owned(), s(audit_gsi_pk(&entry.org_id)));
    item.insert(GSI1_SK.to_owned(), s(sk.clone()));
    if let Some(member) = entry.event.member_id() {
        item.insert(
            GSI2_PK.to_owned(),
            s(audit_member_gsi_pk(&entry.org_id, member)),
        );
        item.insert(GSI2_SK.to_owned(), s(sk));
    }
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

/// Up to `limit` of the org's entries matching `query`, newest first, strictly before `before`. The time window
/// and the cursor are the key range (`from` .. the lower of `to` and the cursor); a member narrows it to that
/// member's entries in GSI2; the kind is checked on each entry read, reading on until `limit` match or the log
/// ends. Entries written before GSI2 existed carry no member keys and appear only in the unfiltered log.
pub(crate) async fn list_page(
    db: &Db,
    org: &OrgId,
    query: &AuditQuery,
    before: Option<&AuditCursor>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let from = query.from.map(sortable_time);
    // `{to}` is below every key of an entry at `to` (`{to}#{id}`) and above every earlier one.
    let to = [
        query.to.map(sortable_time),
        before.map(|c| audit_gsi_sk(c.at, &c.id)),
    ]
    .into_iter()
    .flatten()
    .min();
    let Some(range) = SkRange::bounded(from, to) else {
        return Ok(Vec::new());
    };
    let q = match &query.member {
        Some(m) => KeyQuery::index(GSI2, audit_member_gsi_pk(org, m), range),
        None => KeyQuery::index(GSI1, audit_gsi_pk(org), range),
    }
    .descending();
    let keep = |i: &Item| -> Result<Option<AuditEntry>, StoreError> {
        let e: AuditEntry = parse_doc(i, "audit entry")?;
        let is_cursor = before.is_some_and(|c| c.at == e.at && c.id == e.id);
        Ok((!is_cursor && query.matches(&e)).then_some(e))
    };
    db.query_matching(q, limit, keep).await
}
