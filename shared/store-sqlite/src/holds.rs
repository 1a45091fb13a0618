//! The kill switch and holds on SQLite: one row per paused org, one row per held member, each a JSON body.

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::hold::Hold;
use miro_sam_core::pause::OrgPause;
use rusqlite::{Connection, params};

use crate::codec::{backend, json_row, json_rows, to_json, ts};

pub(crate) fn put_pause(c: &Connection, pause: &OrgPause) -> Result<(), StoreError> {
    let body = to_json("org pause", pause)?;
    c.execute(
        "INSERT INTO org_pauses (org_id, body) VALUES (?1, ?2) \
         ON CONFLICT (org_id) DO UPDATE SET body = excluded.body",
        params![pause.org_id.to_string(), body],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn get_pause(c: &Connection, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
    json_row(
        c,
        "org pause",
        "SELECT body FROM org_pauses WHERE org_id = ?1",
        [org.to_string()],
    )
}

/// Read and delete in one transaction, so the returned pause is the one removed.
pub(crate) fn clear_pause(c: &mut Connection, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
    let tx = c.transaction().map_err(backend)?;
    let was = get_pause(&tx, org)?;
    tx.execute(
        "DELETE FROM org_pauses WHERE org_id = ?1",
        [org.to_string()],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(was)
}

pub(crate) fn put_hold(c: &Connection, hold: &Hold) -> Result<(), StoreError> {
    let body = to_json("hold", hold)?;
    c.execute(
        "INSERT INTO holds (org_id, member_id, expires_at, body) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (org_id, member_id) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body",
        params![
            hold.org_id.to_string(),
            hold.member_id.to_string(),
            ts(hold.expires_at),
            body
        ],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn get_hold(
    c: &Connection,
    org: &OrgId,
    member: &MemberId,
) -> Result<Option<Hold>, StoreError> {
    json_row(
        c,
        "hold",
        "SELECT body FROM holds WHERE org_id = ?1 AND member_id = ?2",
        params![org.to_string(), member.to_string()],
    )
}

pub(crate) fn list_holds(c: &Connection, org: &OrgId) -> Result<Vec<Hold>, StoreError> {
    json_rows(
        c,
        "hold",
        "SELECT body FROM holds WHERE org_id = ?1 ORDER BY length(member_id), member_id",
        [org.to_string()],
    )
}

pub(crate) fn delete_hold(
    c: &Connection,
    org: &OrgId,
    member: &MemberId,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "DELETE FROM holds WHERE org_id = ?1 AND member_id = ?2",
            params![org.to_string(), member.to_string()],
        )
        .map_err(backend)?;
    Ok(n > 0)
}
