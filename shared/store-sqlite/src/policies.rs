//! Policy versions on SQLite: one row per (org, version) in `policies`, the policy as JSON. Versions are
//! numbered under the write lock and never rewritten.

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::policy::{Policy, VersionedPolicy};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::codec::{backend, parse_ts, parsed, to_json, ts};

struct PolicyRow {
    org_id: String,
    version: u32,
    created_at: String,
    created_by: String,
    body: String,
}

impl PolicyRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(PolicyRow {
            org_id: r.get(0)?,
            version: r.get(1)?,
            created_at: r.get(2)?,
            created_by: r.get(3)?,
            body: r.get(4)?,
        })
    }

    fn into_policy(self) -> Result<VersionedPolicy, StoreError> {
        const W: &str = "policy";
        Ok(VersionedPolicy {
            org_id: parsed(W, OrgId::parse(&self.org_id))?,
            version: self.version,
            created_at: parse_ts(W, &self.created_at)?,
            created_by: self.created_by,
            policy: parsed(W, Policy::from_json(&self.body))?,
        })
    }
}

fn query_policy(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Option<VersionedPolicy>, StoreError> {
    c.query_row(sql, p, PolicyRow::read)
        .optional()
        .map_err(backend)?
        .map(PolicyRow::into_policy)
        .transpose()
}

/// Stores `policy` as the org's next version and returns that version.
pub(crate) fn put(
    c: &mut Connection,
    org: &OrgId,
    policy: &Policy,
    created_by: &str,
    at: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let body = to_json("policy", policy)?;
    // IMMEDIATE takes the write lock before reading the last version, so two writers cannot both pick the
    // same number.
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let next: u32 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE org_id = ?1",
            [org.as_str()],
            |r| r.get(0),
        )
        .map_err(backend)?;
    tx.execute(
        "INSERT INTO policies (org_id, version, created_at, created_by, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![org.as_str(), next, ts(at), created_by, body],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(next)
}

pub(crate) fn latest(c: &Connection, org: &OrgId) -> Result<Option<VersionedPolicy>, StoreError> {
    query_policy(
        c,
        "SELECT org_id, version, created_at, created_by, body FROM policies WHERE org_id = ?1 \
         ORDER BY version DESC LIMIT 1",
        [org.as_str()],
    )
}

pub(crate) fn get(
    c: &Connection,
    org: &OrgId,
    version: u32,
) -> Result<Option<VersionedPolicy>, StoreError> {
    query_policy(
        c,
        "SELECT org_id, version, created_at, created_by, body FROM policies \
         WHERE org_id = ?1 AND version = ?2",
        params![org.as_str(), version],
    )
}
