//! The per-org download lease on SQLite: one row per org in `download_leases` (holder, and until when in epoch
//! milliseconds). Taking it is one conditional upsert, so two processes sharing the file also get one holder.

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::DownloadLease;
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{backend, corrupt};

pub(crate) fn take(
    c: &Connection,
    org: &OrgId,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<DownloadLease, StoreError> {
    // The row is written only when it is free, expired or already the holder's: one statement, so atomic.
    let written = c
        .execute(
            "INSERT INTO download_leases (org_id, holder, until_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (org_id) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE download_leases.until_ms <= ?4 OR download_leases.holder = excluded.holder",
            params![
                org.to_string(),
                holder,
                until.timestamp_millis(),
                now.timestamp_millis()
            ],
        )
        .map_err(backend)?;
    if written == 1 {
        return Ok(DownloadLease::Taken);
    }
    let held: Option<(String, i64)> = c
        .query_row(
            "SELECT holder, until_ms FROM download_leases WHERE org_id = ?1",
            [org.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(backend)?;
    let (holder, until_ms) = held.ok_or_else(|| {
        corrupt(
            "download lease",
            format!("org {org}: the lease was neither written nor found"),
        )
    })?;
    let until = DateTime::from_timestamp_millis(until_ms).ok_or_else(|| {
        corrupt(
            "download lease",
            format!("org {org}: until_ms {until_ms} is not a time"),
        )
    })?;
    Ok(DownloadLease::Held { holder, until })
}

pub(crate) fn release(c: &Connection, org: &OrgId, holder: &str) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "DELETE FROM download_leases WHERE org_id = ?1 AND holder = ?2",
            params![org.to_string(), holder],
        )
        .map_err(backend)?;
    Ok(n == 1)
}
