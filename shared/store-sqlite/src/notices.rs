//! Notice records on SQLite: one row per (org, member), the record as JSON beside the version that every write
//! compares. The primary key is (org, id length, id), which is numeric member id order, so a page of records is
//! one range of the key whatever the org's size.

use async_trait::async_trait;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::notices::NoticeRecord;
use miro_sam_core::ports::{NoticeStore, check_notice_version};
use rusqlite::{Connection, params};

use crate::SqliteStore;
use crate::codec::{backend, json_row, json_rows, sql_limit, to_json};

/// Schema migration 9 (listed in `schema::MIGRATIONS`): the notice records of issue 12.
pub(crate) const MIGRATION: &str = r#"
    CREATE TABLE notices (
        org_id     TEXT NOT NULL,
        id_len     INTEGER NOT NULL,
        member_id  TEXT NOT NULL,
        version    INTEGER NOT NULL,   -- NoticeRecord::version, compared by every update
        state      TEXT NOT NULL,      -- NoticeState::kind, for counts and filters
        body       TEXT NOT NULL,      -- JSON NoticeRecord
        PRIMARY KEY (org_id, id_len, member_id)
    ) WITHOUT ROWID;
"#;

const WHAT: &str = "notice record";

fn id_len(m: &MemberId) -> i64 {
    m.as_str().len() as i64
}

fn put(c: &Connection, r: &NoticeRecord, expected: Option<u64>) -> Result<(), StoreError> {
    check_notice_version(r, expected)?;
    let body = to_json(WHAT, r)?;
    let (org, member) = (r.org_id.to_string(), r.member_id.to_string());
    let version = i64::try_from(r.version)
        .map_err(|_| StoreError::Backend(format!("notice version {} is too large", r.version)))?;
    let (len, kind) = (id_len(&r.member_id), r.state.kind());
    let row = params![org, len, member, version, kind, body];
    let changed = match expected {
        None => c
            .execute(
                "INSERT INTO notices (org_id, id_len, member_id, version, state, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                row,
            )
            .map_err(backend)?,
        // The row's values and, last (?7), the version it must still have.
        Some(v) => c
            .execute(
                "UPDATE notices SET version = ?4, state = ?5, body = ?6 \
                 WHERE org_id = ?1 AND id_len = ?2 AND member_id = ?3 AND version = ?7",
                [row, params![v as i64]].concat().as_slice(),
            )
            .map_err(backend)?,
    };
    if changed == 1 {
        return Ok(());
    }
    let what = format!(
        "notice record of member {} in org {}",
        r.member_id, r.org_id
    );
    match expected {
        None => Err(StoreError::AlreadyExists { what }),
        // Both statements run under the connection's lock, so the row cannot appear or vanish in between.
        Some(_) if get(c, &r.org_id, &r.member_id)?.is_some() => Err(StoreError::Conflict { what }),
        Some(_) => Err(StoreError::NotFound { what }),
    }
}

fn get(c: &Connection, org: &OrgId, m: &MemberId) -> Result<Option<NoticeRecord>, StoreError> {
    json_row(
        c,
        WHAT,
        "SELECT body FROM notices WHERE org_id = ?1 AND id_len = ?2 AND member_id = ?3",
        params![org.to_string(), id_len(m), m.to_string()],
    )
}

fn page(
    c: &Connection,
    org: &OrgId,
    after: Option<&MemberId>,
    limit: usize,
) -> Result<Vec<NoticeRecord>, StoreError> {
    match after {
        None => json_rows(
            c,
            WHAT,
            "SELECT body FROM notices WHERE org_id = ?1 ORDER BY id_len, member_id LIMIT ?2",
            params![org.to_string(), sql_limit(limit)],
        ),
        Some(a) => json_rows(
            c,
            WHAT,
            "SELECT body FROM notices WHERE org_id = ?1 AND (id_len, member_id) > (?2, ?3) \
             ORDER BY id_len, member_id LIMIT ?4",
            params![org.to_string(), id_len(a), a.to_string(), sql_limit(limit)],
        ),
    }
}

#[async_trait]
impl NoticeStore for SqliteStore {
    async fn put_notice(
        &self,
        record: &NoticeRecord,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let r = record.clone();
        self.call(move |c| put(c, &r, expected_version)).await
    }

    async fn get_notice(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<NoticeRecord>, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| get(c, &o, &m)).await
    }

    async fn list_notices_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        let (o, a) = (org.clone(), after.cloned());
        self.call(move |c| page(c, &o, a.as_ref(), limit)).await
    }
}
