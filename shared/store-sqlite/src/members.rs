//! Members on SQLite: one row per (org, member), read in numeric id order through the
//! `members_by_numeric_id` index (length first, then text: ids carry no leading zeros), so a page of a range
//! costs the same at the end of a million-member org as at its start.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{ContentHash, Email, License, MemberId, OrgId, Role, Subscription};
use rusqlite::{Connection, Row, TransactionBehavior, params};

use crate::codec::{backend, from_json, opt_ts, parse_opt_ts, parse_ts, parsed, to_json, ts};

const MEMBER_COLUMNS: &str = "m.org_id, m.member_id, m.email, m.license, m.role, m.admin_roles, m.active, \
     m.license_assigned_at, m.last_activity_at, m.first_seen_at, m.last_seen_at, m.removed_at, m.content_hash, \
     r.completed_at";

/// A member row as text, converted outside the rusqlite closure so conversion errors keep their own type.
struct MemberRow {
    org_id: String,
    member_id: String,
    email: String,
    license: String,
    role: String,
    admin_roles: String,
    active: bool,
    license_assigned_at: Option<String>,
    last_activity_at: Option<String>,
    first_seen_at: String,
    last_seen_at: String,
    removed_at: Option<String>,
    content_hash: String,
    run_completed_at: Option<String>,
}

impl MemberRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(MemberRow {
            org_id: r.get(0)?,
            member_id: r.get(1)?,
            email: r.get(2)?,
            license: r.get(3)?,
            role: r.get(4)?,
            admin_roles: r.get(5)?,
            active: r.get(6)?,
            license_assigned_at: r.get(7)?,
            last_activity_at: r.get(8)?,
            first_seen_at: r.get(9)?,
            last_seen_at: r.get(10)?,
            removed_at: r.get(11)?,
            content_hash: r.get(12)?,
            run_completed_at: r.get(13)?,
        })
    }

    fn into_subscription(self) -> Result<Subscription, StoreError> {
        const W: &str = "member";
        let removed_at = parse_opt_ts(W, self.removed_at)?;
        let mut last_seen_at = parse_ts(W, &self.last_seen_at)?;
        // Members not removed were in the org's last complete listing; see SubscriptionStore::get_member.
        if removed_at.is_none()
            && let Some(run) = parse_opt_ts(W, self.run_completed_at)?
        {
            last_seen_at = last_seen_at.max(run);
        }
        Ok(Subscription {
            org_id: parsed(W, OrgId::parse(&self.org_id))?,
            member_id: parsed(W, MemberId::parse(&self.member_id))?,
            email: parsed(W, Email::parse(&self.email))?,
            license: License::parse(&self.license),
            role: Role::parse(&self.role),
            admin_roles: from_json(W, &self.admin_roles)?,
            active: self.active,
            license_assigned_at: parse_opt_ts(W, self.license_assigned_at)?,
            last_activity_at: parse_opt_ts(W, self.last_activity_at)?,
            first_seen_at: parse_ts(W, &self.first_seen_at)?,
            last_seen_at,
            removed_at,
            content_hash: ContentHash::from_stored(self.content_hash),
        })
    }
}

/// Numeric id order: shorter ids first, then text (ids carry no leading zeros).
const NUMERIC: &str = "ORDER BY length(m.member_id), m.member_id";

/// Members matching `filter`, ordered and limited by `tail` (an `ORDER BY`, maybe with a `LIMIT`).
fn query_members(
    c: &Connection,
    filter: &str,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Subscription>, StoreError> {
    query_members_sql(c, &members_sql(filter, tail), params)
}

/// The member query with `filter` after its `WHERE` and `tail` (order, limit) after that.
pub(crate) fn members_sql(filter: &str, tail: &str) -> String {
    format!(
        "SELECT {MEMBER_COLUMNS} FROM members m LEFT JOIN download_runs r ON r.org_id = m.org_id \
         WHERE {filter} {tail}"
    )
}

/// Members as `sql` (built by [`members_sql`]) selects them, in its order.
pub(crate) fn query_members_sql(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Subscription>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, MemberRow::read)
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    rows.into_iter().map(MemberRow::into_subscription).collect()
}

fn one<T>(mut v: Vec<T>) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        Some(v.swap_remove(0))
    }
}

/// Inserts or replaces the members in one transaction; counts the rows into `written`.
pub(crate) fn upsert(
    c: &mut Connection,
    members: &[Subscription],
    written: &AtomicU64,
) -> Result<(), StoreError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO members (org_id, member_id, email, license, role, admin_roles, active, \
                 license_assigned_at, last_activity_at, first_seen_at, last_seen_at, removed_at, content_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                 ON CONFLICT (org_id, member_id) DO UPDATE SET email = excluded.email, \
                 license = excluded.license, role = excluded.role, admin_roles = excluded.admin_roles, \
                 active = excluded.active, license_assigned_at = excluded.license_assigned_at, \
                 last_activity_at = excluded.last_activity_at, first_seen_at = excluded.first_seen_at, \
                 last_seen_at = excluded.last_seen_at, removed_at = excluded.removed_at, \
                 content_hash = excluded.content_hash",
            )
            .map_err(backend)?;
        for m in members {
            stmt.execute(params![
                m.org_id.as_str(),
                m.member_id.as_str(),
                m.email.as_str(),
                m.license.as_str(),
                m.role.as_str(),
                to_json("admin roles", &m.admin_roles)?,
                m.active,
                opt_ts(m.license_assigned_at),
                opt_ts(m.last_activity_at),
                ts(m.first_seen_at),
                ts(m.last_seen_at),
                opt_ts(m.removed_at),
                m.content_hash.as_str(),
            ])
            .map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)?;
    written.fetch_add(members.len() as u64, Ordering::Relaxed);
    Ok(())
}

pub(crate) fn get(
    c: &Connection,
    org: &OrgId,
    member: &MemberId,
) -> Result<Option<Subscription>, StoreError> {
    Ok(one(query_members(
        c,
        "m.org_id = ?1 AND m.member_id = ?2",
        NUMERIC,
        params![org.as_str(), member.as_str()],
    )?))
}

pub(crate) fn find_by_email(
    c: &Connection,
    org: &OrgId,
    email: &Email,
) -> Result<Option<Subscription>, StoreError> {
    Ok(one(query_members(
        c,
        "m.org_id = ?1 AND m.email = ?2",
        NUMERIC,
        params![org.as_str(), email.as_str()],
    )?))
}

pub(crate) fn list(c: &Connection, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
    query_members(c, "m.org_id = ?1", NUMERIC, [org.as_str()])
}

/// Members with ids in `(after, upto]`, at most `limit`, in numeric order.
///
/// Read in up to three index seeks on `members_by_numeric_id`: the ids of `after`'s length above it, the lengths
/// strictly between, and the ids of `upto`'s length up to it. (A single row-value comparison on
/// `(length, member_id)` is not used as an index bound by SQLite: it would scan the org from its start.)
pub(crate) fn page(
    c: &Connection,
    org: &OrgId,
    after: Option<&MemberId>,
    upto: Option<&MemberId>,
    limit: usize,
) -> Result<Vec<Subscription>, StoreError> {
    let o = org.as_str();
    let lo_len = after.map_or(0, |a| a.as_str().len() as i64);
    let hi_len = upto.map_or(i64::MAX, |u| u.as_str().len() as i64);
    let mut out = Vec::new();
    let left = |out: &Vec<Subscription>| i64::try_from(limit - out.len()).unwrap_or(i64::MAX);
    if lo_len > hi_len || limit == 0 {
        return Ok(out);
    }
    if let Some(a) = after {
        let seg = if lo_len == hi_len {
            let u = upto.map_or("", |u| u.as_str());
            query_members(
                c,
                "m.org_id = ?1 AND length(m.member_id) = ?2 AND m.member_id > ?3 AND m.member_id <= ?4",
                "ORDER BY m.member_id LIMIT ?5",
                params![o, lo_len, a.as_str(), u, left(&out)],
            )?
        } else {
            query_members(
                c,
                "m.org_id = ?1 AND length(m.member_id) = ?2 AND m.member_id > ?3",
                "ORDER BY m.member_id LIMIT ?4",
                params![o, lo_len, a.as_str(), left(&out)],
            )?
        };
        out.extend(seg);
        if lo_len == hi_len {
            return Ok(out);
        }
    }
    if out.len() < limit {
        out.extend(query_members(
            c,
            "m.org_id = ?1 AND length(m.member_id) > ?2 AND length(m.member_id) < ?3",
            &format!("{NUMERIC} LIMIT ?4"),
            params![o, lo_len, hi_len, left(&out)],
        )?);
    }
    if let Some(u) = upto
        && out.len() < limit
    {
        out.extend(query_members(
            c,
            "m.org_id = ?1 AND length(m.member_id) = ?2 AND m.member_id <= ?3",
            "ORDER BY m.member_id LIMIT ?4",
            params![o, hi_len, u.as_str(), left(&out)],
        )?);
    }
    Ok(out)
}

pub(crate) fn mark_removed(
    c: &mut Connection,
    org: &OrgId,
    members: &[MemberId],
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let at = ts(at);
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let mut n = 0u64;
    {
        // The stored run is the previous complete listing, which still contained the member.
        let mut stmt = tx
            .prepare_cached(
                "UPDATE members SET removed_at = ?3, last_seen_at = MAX(last_seen_at, \
                 COALESCE((SELECT completed_at FROM download_runs WHERE org_id = ?1), last_seen_at)) \
                 WHERE org_id = ?1 AND member_id = ?2 AND removed_at IS NULL",
            )
            .map_err(backend)?;
        for id in members {
            n += stmt
                .execute(params![org.as_str(), id.as_str(), at])
                .map_err(backend)? as u64;
        }
    }
    tx.commit().map_err(backend)?;
    Ok(n)
}
