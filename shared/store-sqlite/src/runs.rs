//! Download runs and checkpoints on SQLite: the org's last complete download in `download_runs` and the
//! checkpoint of one in progress in `download_checkpoints`, one row per org each (a put replaces it).

use miro_sam_core::StoreError;
use miro_sam_core::domain::{DownloadCheckpoint, DownloadRun, OrgId, RunId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{backend, from_json, parse_ts, parsed, to_json, ts};

pub(crate) fn put(c: &Connection, run: &DownloadRun) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO download_runs (org_id, run_id, started_at, completed_at, members_seen) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (org_id) DO UPDATE SET run_id = excluded.run_id, \
         started_at = excluded.started_at, completed_at = excluded.completed_at, \
         members_seen = excluded.members_seen",
        params![
            run.org_id.as_str(),
            run.run_id.to_string(),
            ts(run.started_at),
            ts(run.completed_at),
            run.members_seen as i64
        ],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn last(c: &Connection, org: &OrgId) -> Result<Option<DownloadRun>, StoreError> {
    let row: Option<(String, String, String, String, i64)> = c
        .query_row(
            "SELECT org_id, run_id, started_at, completed_at, members_seen FROM download_runs \
             WHERE org_id = ?1",
            [org.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(backend)?;
    const W: &str = "download run";
    row.map(|(org, run, started, completed, seen)| {
        Ok(DownloadRun {
            org_id: parsed(W, OrgId::parse(&org))?,
            run_id: parsed(W, RunId::parse(&run))?,
            started_at: parse_ts(W, &started)?,
            completed_at: parse_ts(W, &completed)?,
            members_seen: seen.max(0) as u64,
        })
    })
    .transpose()
}

pub(crate) fn put_checkpoint(c: &Connection, cp: &DownloadCheckpoint) -> Result<(), StoreError> {
    let progress = to_json("download checkpoint", &cp.progress)?;
    c.execute(
        "INSERT INTO download_checkpoints (org_id, run_id, cursor, pages_done, updated_at, progress) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (org_id) DO UPDATE SET run_id = excluded.run_id, \
         cursor = excluded.cursor, pages_done = excluded.pages_done, updated_at = excluded.updated_at, \
         progress = excluded.progress",
        params![
            cp.org_id.as_str(),
            cp.run_id.to_string(),
            cp.cursor,
            cp.pages_done as i64,
            ts(cp.updated_at),
            progress
        ],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn get_checkpoint(
    c: &Connection,
    org: &OrgId,
) -> Result<Option<DownloadCheckpoint>, StoreError> {
    type Row = (String, String, Option<String>, i64, String, Option<String>);
    let row: Option<Row> = c
        .query_row(
            "SELECT org_id, run_id, cursor, pages_done, updated_at, progress FROM download_checkpoints \
             WHERE org_id = ?1",
            [org.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()
        .map_err(backend)?;
    const W: &str = "download checkpoint";
    row.map(|(org, run, cursor, pages, updated, progress)| {
        Ok(DownloadCheckpoint {
            org_id: parsed(W, OrgId::parse(&org))?,
            run_id: parsed(W, RunId::parse(&run))?,
            cursor,
            pages_done: pages.max(0) as u64,
            updated_at: parse_ts(W, &updated)?,
            // Checkpoints written before progress was recorded have none.
            progress: match progress {
                Some(p) => from_json(W, &p)?,
                None => Default::default(),
            },
        })
    })
    .transpose()
}

/// Removing an absent checkpoint deletes nothing, which is not an error.
pub(crate) fn clear_checkpoint(c: &Connection, org: &OrgId) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM download_checkpoints WHERE org_id = ?1",
        [org.as_str()],
    )
    .map_err(backend)?;
    Ok(())
}
