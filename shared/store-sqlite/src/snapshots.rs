//! Daily snapshots on SQLite: one row per (org, day) in `snapshots`, the snapshot as JSON.

use chrono::NaiveDate;
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::snapshot::OrgSnapshot;
use rusqlite::{Connection, params};

use crate::codec::{backend, day, json_row, json_rows, to_json};

const WHAT: &str = "snapshot";

/// A second put for the same day replaces the first.
pub(crate) fn put(c: &Connection, snapshot: &OrgSnapshot) -> Result<(), StoreError> {
    let body = to_json(WHAT, snapshot)?;
    c.execute(
        "INSERT INTO snapshots (org_id, day, body) VALUES (?1, ?2, ?3) \
         ON CONFLICT (org_id, day) DO UPDATE SET body = excluded.body",
        params![snapshot.org_id.as_str(), day(snapshot.date), body],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn get(
    c: &Connection,
    org: &OrgId,
    date: NaiveDate,
) -> Result<Option<OrgSnapshot>, StoreError> {
    json_row(
        c,
        WHAT,
        "SELECT body FROM snapshots WHERE org_id = ?1 AND day = ?2",
        params![org.as_str(), day(date)],
    )
}

pub(crate) fn list(
    c: &Connection,
    org: &OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<OrgSnapshot>, StoreError> {
    json_rows(
        c,
        WHAT,
        "SELECT body FROM snapshots WHERE org_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
        params![org.as_str(), day(from), day(to)],
    )
}

pub(crate) fn latest(c: &Connection, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError> {
    json_row(
        c,
        WHAT,
        "SELECT body FROM snapshots WHERE org_id = ?1 ORDER BY day DESC LIMIT 1",
        [org.as_str()],
    )
}
