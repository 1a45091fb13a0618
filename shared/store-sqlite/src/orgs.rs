//! Registered orgs on SQLite: one row per org in `orgs`.

use miro_sam_core::StoreError;
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::codec::{backend, parse_ts, parsed, ts};

fn org_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn into_org(
    (id, name, connected_at): (String, String, String),
) -> Result<RegisteredOrg, StoreError> {
    Ok(RegisteredOrg {
        id: parsed("org", OrgId::parse(&id))?,
        name,
        connected_at: parse_ts("org", &connected_at)?,
    })
}

pub(crate) fn put(c: &Connection, org: &RegisteredOrg) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO orgs (org_id, name, connected_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (org_id) DO UPDATE SET name = excluded.name, connected_at = excluded.connected_at",
        params![org.id.as_str(), org.name, ts(org.connected_at)],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn get(c: &Connection, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError> {
    c.query_row(
        "SELECT org_id, name, connected_at FROM orgs WHERE org_id = ?1",
        [org.as_str()],
        org_row,
    )
    .optional()
    .map_err(backend)?
    .map(into_org)
    .transpose()
}

/// Numeric id order: shorter ids first, then by text (ids are digits).
pub(crate) fn list(c: &Connection) -> Result<Vec<RegisteredOrg>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT org_id, name, connected_at FROM orgs ORDER BY length(org_id), org_id",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([], org_row)
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    rows.into_iter().map(into_org).collect()
}
