//! Member timelines on SQLite: one row per event in `member_events`, keyed by (org, member,
//! [`MemberEvent::key`]), so appending an event already stored is a no-op and a timeline page is one descending
//! range of the primary key. SQLite keeps every event (the retention is a minimum).

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::timeline::MemberEvent;
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use crate::codec::{backend, json_rows, to_json};

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
    let mut values: Vec<Value> = vec![
        org.as_str().to_owned().into(),
        member.as_str().to_owned().into(),
    ];
    let mut filter = "org_id = ?1 AND member_id = ?2".to_owned();
    if let Some(b) = before {
        values.push(b.to_owned().into());
        filter.push_str(" AND event_key < ?3");
    }
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT body FROM member_events WHERE {filter} ORDER BY event_key DESC LIMIT ?{}",
        values.len()
    );
    json_rows(c, "member event", &sql, params_from_iter(values))
}
