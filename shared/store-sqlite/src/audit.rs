//! The audit log on SQLite: one row per entry (JSON body), append-only by trigger. The `kind` and `member_id`
//! columns repeat what the body says ([`AuditEvent::kind`], [`AuditEvent::member_id`]) so the console's filtered
//! pages are ranges of an index: `audit_by_member`, `audit_by_kind` or `audit_by_org`, each ending in
//! (at, entry_id), the page order.
//!
//! [`AuditEvent::kind`]: miro_sam_core::audit::AuditEvent::kind
//! [`AuditEvent::member_id`]: miro_sam_core::audit::AuditEvent::member_id

use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditQuery};
use miro_sam_core::domain::{AuditEntryId, OrgId};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use crate::codec::{backend, json_row, json_rows, to_json, ts};

pub(crate) fn append(c: &Connection, entry: &AuditEntry) -> Result<(), StoreError> {
    let body = to_json("audit entry", entry)?;
    let n = c
        .execute(
            "INSERT INTO audit_log (entry_id, org_id, at, kind, member_id, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (entry_id) DO NOTHING",
            params![
                entry.id.as_str(),
                entry.org_id.as_str(),
                ts(entry.at),
                entry.event.kind(),
                entry.event.member_id().map(|m| m.as_str()),
                body
            ],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::AlreadyExists {
            what: format!("audit entry {}", entry.id),
        });
    }
    Ok(())
}

pub(crate) fn get(c: &Connection, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError> {
    json_row(
        c,
        "audit entry",
        "SELECT body FROM audit_log WHERE entry_id = ?1",
        [id.as_str()],
    )
}

pub(crate) fn list(c: &Connection, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError> {
    json_rows(
        c,
        "audit entry",
        "SELECT body FROM audit_log WHERE org_id = ?1 ORDER BY at, entry_id",
        [org.as_str()],
    )
}

/// Up to `limit` matching entries, newest first, strictly before `before`.
///
/// The member filter picks the member index (a member has few entries, so a kind filter on top reads little),
/// else the kind filter the kind index. The two upper bounds, `before` and `query.to`, become one row-value
/// bound: `at < to` is `(at, entry_id) < (to, '')`, as no id is empty. `INDEXED BY` makes SQLite refuse the
/// query rather than quietly scan the log.
pub(crate) fn page(
    c: &Connection,
    org: &OrgId,
    query: &AuditQuery,
    before: Option<&AuditCursor>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut values: Vec<Value> = vec![org.as_str().to_owned().into()];
    let mut filter = "org_id = ?1".to_owned();
    let mut bind = |filter: &mut String, sql: &str, v: Value| {
        values.push(v);
        filter.push_str(&sql.replace('?', &format!("?{}", values.len())));
    };
    let index = match (&query.member, &query.kind) {
        (Some(_), _) => "audit_by_member",
        (None, Some(_)) => "audit_by_kind",
        (None, None) => "audit_by_org",
    };
    if let Some(m) = &query.member {
        bind(
            &mut filter,
            " AND member_id = ?",
            m.as_str().to_owned().into(),
        );
    }
    if let Some(k) = &query.kind {
        bind(&mut filter, " AND kind = ?", k.clone().into());
    }
    if let Some(from) = query.from {
        bind(&mut filter, " AND at >= ?", ts(from).into());
    }
    let upper = [
        before.map(|b| (ts(b.at), b.id.as_str().to_owned())),
        query.to.map(|t| (ts(t), String::new())),
    ]
    .into_iter()
    .flatten()
    .min();
    if let Some((at, id)) = upper {
        bind(&mut filter, " AND (at, entry_id) < (?", at.into());
        bind(&mut filter, ", ?)", id.into());
    }
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT body FROM audit_log INDEXED BY {index} WHERE {filter} \
         ORDER BY at DESC, entry_id DESC LIMIT ?{}",
        values.len()
    );
    json_rows(c, "audit entry", &sql, params_from_iter(values))
}
