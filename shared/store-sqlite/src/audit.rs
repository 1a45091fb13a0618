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
use rusqlite::{Connection, params};

use crate::codec::{Query, backend, json_row, json_rows, sql_limit, to_json, ts};

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
pub(crate) fn page(
    c: &Connection,
    org: &OrgId,
    query: &AuditQuery,
    before: Option<&AuditCursor>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let (sql, params) = page_query(org, query, before, limit).params();
    json_rows(c, "audit entry", &sql, params)
}

/// The member filter picks the member index (a member has few entries, so a kind filter on top reads little),
/// else the kind filter the kind index. The two upper bounds, `before` and `query.to`, become one row-value
/// bound: `at < to` is `(at, entry_id) < (to, '')`, as no id is empty. `INDEXED BY` makes SQLite refuse the
/// query rather than quietly scan the log.
pub(crate) fn page_query(
    org: &OrgId,
    query: &AuditQuery,
    before: Option<&AuditCursor>,
    limit: usize,
) -> Query {
    let index = match (&query.member, &query.kind) {
        (Some(_), _) => "audit_by_member",
        (None, Some(_)) => "audit_by_kind",
        (None, None) => "audit_by_org",
    };
    let mut q = Query::new(
        &format!("SELECT body FROM audit_log INDEXED BY {index} WHERE org_id = ?1"),
        vec![org.as_str().to_owned().into()],
    );
    if let Some(m) = &query.member {
        q.bind(" AND member_id = ?", m.as_str().to_owned());
    }
    if let Some(k) = &query.kind {
        q.bind(" AND kind = ?", k.clone());
    }
    if let Some(from) = query.from {
        q.bind(" AND at >= ?", ts(from));
    }
    let upper = [
        before.map(|b| (ts(b.at), b.id.as_str().to_owned())),
        query.to.map(|t| (ts(t), String::new())),
    ]
    .into_iter()
    .flatten()
    .min();
    if let Some((at, id)) = upper {
        q.bind(" AND (at, entry_id) < (?", at);
        q.bind(", ?)", id);
    }
    q.bind(" ORDER BY at DESC, entry_id DESC LIMIT ?", sql_limit(limit));
    q
}

#[cfg(test)]
mod tests {
    use miro_sam_core::audit::{AuditEntry, AuditEvent, AuditQuery};
    use miro_sam_core::contract::fixtures::{audit_entry, member_id, org, t0};
    use miro_sam_core::ports::AuditStore;
    use rusqlite::Connection;

    use crate::SqliteStore;
    use crate::codec::{to_json, ts};
    use crate::schema::{MIGRATIONS, migrate};

    /// The migration that adds `audit_log.member_id`.
    fn audit_members() -> usize {
        MIGRATIONS
            .iter()
            .position(|m| m.contains("ALTER TABLE audit_log ADD COLUMN member_id"))
            .expect("the migration exists")
    }

    #[tokio::test]
    async fn entries_stored_before_the_member_column_are_found_by_member_after_the_migration() {
        let mut c = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS.iter().take(audit_members()).enumerate() {
            c.execute_batch(sql).unwrap();
            c.pragma_update(None, "user_version", i as u32 + 1).unwrap();
        }
        let about_member = audit_entry(&org(), "reclaim/old", t0());
        let about_org = AuditEntry {
            event: AuditEvent::PolicyChanged { version: 2 },
            ..audit_entry(&org(), "policy/old", t0())
        };
        for e in [&about_member, &about_org] {
            c.execute(
                "INSERT INTO audit_log (entry_id, org_id, at, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    e.id.as_str(),
                    e.org_id.as_str(),
                    ts(e.at),
                    e.event.kind(),
                    to_json("audit entry", e).unwrap()
                ],
            )
            .unwrap();
        }
        migrate(&mut c).unwrap();
        let still_append_only = c.execute("UPDATE audit_log SET kind = kind", []);
        assert!(
            still_append_only
                .unwrap_err()
                .to_string()
                .contains("append-only"),
            "the update trigger is back after the migration"
        );
        let store = SqliteStore::init(c).unwrap();

        assert_eq!(about_member.event.member_id(), Some(&member_id(1)));
        let by_member = AuditQuery {
            member: Some(member_id(1)),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_audit_page(&org(), &by_member, None, 10)
                .await
                .unwrap(),
            vec![about_member.clone()]
        );
        assert_eq!(
            store
                .list_audit_page(&org(), &AuditQuery::default(), None, 10)
                .await
                .unwrap(),
            vec![about_member, about_org],
            "newest first; at the same instant, by id descending"
        );
    }
}
