//! Member timelines on SQLite: one row per event in `member_events`, keyed by (org, member,
//! [`MemberEvent::key`]), so appending an event already stored is a no-op and a timeline page is one descending
//! range of the primary key. SQLite keeps every event (the retention is a minimum).

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::timeline::MemberEvent;
use rusqlite::{Connection, params};

use crate::codec::{Query, backend, json_rows, sql_limit, to_json};

/// All events in one transaction: a batch is stored whole or not at all.
pub(crate) fn append(c: &mut Connection, events: &[MemberEvent]) -> Result<(), StoreError> {
    let rows = events
        .iter()
        .map(|e| Ok((e, e.key(), to_json("member event", e)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let tx = c.transaction().map_err(backend)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO member_events (org_id, member_id, event_key, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (org_id, member_id, event_key) DO NOTHING",
            )
            .map_err(backend)?;
        for (e, key, body) in &rows {
            stmt.execute(params![e.org_id.as_str(), e.member_id.as_str(), key, body])
                .map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
}

pub(crate) fn page(
    c: &Connection,
    org: &OrgId,
    member: &MemberId,
    before: Option<&str>,
    limit: usize,
) -> Result<Vec<MemberEvent>, StoreError> {
    let (sql, params) = page_query(org, member, before, limit).params();
    json_rows(c, "member event", &sql, params)
}

/// One descending range of the primary key (org, member, event_key).
pub(crate) fn page_query(
    org: &OrgId,
    member: &MemberId,
    before: Option<&str>,
    limit: usize,
) -> Query {
    let mut q = Query::new(
        "SELECT body FROM member_events WHERE org_id = ?1 AND member_id = ?2",
        vec![
            org.as_str().to_owned().into(),
            member.as_str().to_owned().into(),
        ],
    );
    if let Some(b) = before {
        q.bind(" AND event_key < ?", b.to_owned());
    }
    q.bind(" ORDER BY event_key DESC LIMIT ?", sql_limit(limit));
    q
}
