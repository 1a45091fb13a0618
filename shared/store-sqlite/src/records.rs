//! Reclaim records on SQLite: one row per (plan, member). The compare-and-set of a transition is one
//! conditional `UPDATE`. Pages for the console are ranges of `reclaim_records_by_org` or, filtered by state, of
//! `reclaim_records_by_state`, both in (created_at, plan, numeric member id) order.

use miro_sam_core::StoreError;
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::reclaim::{
    ReclaimOutcome, ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::codec::{Query, backend, corrupt, from_json, parse_ts, parsed, sql_limit, to_json, ts};

struct RecordRow {
    plan_id: String,
    member_id: String,
    org_id: String,
    email: String,
    state: String,
    scim_user_id: Option<String>,
    outcome: Option<String>,
    created_at: String,
    updated_at: String,
}

const RECORD_COLUMNS: &str =
    "plan_id, member_id, org_id, email, state, scim_user_id, outcome, created_at, updated_at";

impl RecordRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RecordRow {
            plan_id: r.get(0)?,
            member_id: r.get(1)?,
            org_id: r.get(2)?,
            email: r.get(3)?,
            state: r.get(4)?,
            scim_user_id: r.get(5)?,
            outcome: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    }

    fn into_record(self) -> Result<ReclaimRecord, StoreError> {
        const W: &str = "reclaim record";
        Ok(ReclaimRecord {
            plan_id: parsed(W, PlanId::parse(&self.plan_id))?,
            org_id: parsed(W, OrgId::parse(&self.org_id))?,
            member_id: parsed(W, MemberId::parse(&self.member_id))?,
            email: parsed(W, Email::parse(&self.email))?,
            state: ReclaimState::parse(&self.state)
                .ok_or_else(|| corrupt(W, format!("state {:?}", self.state)))?,
            scim_user_id: self.scim_user_id,
            outcome: self
                .outcome
                .map(|o| from_json::<ReclaimOutcome>(W, &o))
                .transpose()?,
            created_at: parse_ts(W, &self.created_at)?,
            updated_at: parse_ts(W, &self.updated_at)?,
        })
    }
}

fn get_record(
    c: &Connection,
    plan: &str,
    member: &str,
) -> Result<Option<ReclaimRecord>, StoreError> {
    c.query_row(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM reclaim_records WHERE plan_id = ?1 AND member_id = ?2"
        ),
        params![plan, member],
        RecordRow::read,
    )
    .optional()
    .map_err(backend)?
    .map(RecordRow::into_record)
    .transpose()
}

fn query_records(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<ReclaimRecord>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(p, RecordRow::read)
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    rows.into_iter().map(RecordRow::into_record).collect()
}

pub(crate) fn create(
    c: &Connection,
    r: &ReclaimRecord,
) -> Result<(ReclaimRecord, bool), StoreError> {
    let outcome = r
        .outcome
        .as_ref()
        .map(|o| to_json("reclaim outcome", o))
        .transpose()?;
    let (plan, member) = (r.plan_id.to_string(), r.member_id.to_string());
    let created = c
        .execute(
            &format!(
                "INSERT INTO reclaim_records ({RECORD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (plan_id, member_id) DO NOTHING"
            ),
            params![
                plan,
                member,
                r.org_id.as_str(),
                r.email.as_str(),
                r.state.as_str(),
                r.scim_user_id,
                outcome,
                ts(r.created_at),
                ts(r.updated_at)
            ],
        )
        .map_err(backend)?
        == 1;
    let stored = get_record(c, &plan, &member)?.ok_or_else(|| {
        StoreError::Backend("reclaim record vanished right after its insert".into())
    })?;
    Ok((stored, created))
}

pub(crate) fn get(
    c: &Connection,
    plan: PlanId,
    member: &MemberId,
) -> Result<Option<ReclaimRecord>, StoreError> {
    get_record(c, &plan.to_string(), member.as_str())
}

pub(crate) fn transition(
    c: &Connection,
    plan: PlanId,
    member: &MemberId,
    from: ReclaimState,
    t: &ReclaimTransition,
) -> Result<ReclaimRecord, StoreError> {
    let (p, m) = (plan.to_string(), member.to_string());
    let outcome = t
        .outcome
        .as_ref()
        .map(|o| to_json("reclaim outcome", o))
        .transpose()?;
    // One conditional UPDATE: the compare and the set cannot be separated by another writer.
    let changed = c
        .execute(
            "UPDATE reclaim_records SET state = ?4, scim_user_id = COALESCE(?5, scim_user_id), \
             outcome = COALESCE(?6, outcome), updated_at = ?7 \
             WHERE plan_id = ?1 AND member_id = ?2 AND state = ?3",
            params![
                p,
                m,
                from.as_str(),
                t.to.as_str(),
                t.scim_user_id,
                outcome,
                ts(t.at)
            ],
        )
        .map_err(backend)?;
    match (changed, get_record(c, &p, &m)?) {
        (1, Some(r)) => Ok(r),
        (_, None) => Err(StoreError::NotFound {
            what: format!("reclaim record of member {m} in plan {p}"),
        }),
        (_, Some(r)) => Err(StoreError::Conflict {
            what: format!(
                "reclaim record of member {m} in plan {p} (expected {from}, found {})",
                r.state
            ),
        }),
    }
}

pub(crate) fn list(c: &Connection, org: &OrgId) -> Result<Vec<ReclaimRecord>, StoreError> {
    query_records(
        c,
        &format!(
            "SELECT {RECORD_COLUMNS} FROM reclaim_records WHERE org_id = ?1 \
             ORDER BY created_at, plan_id, id_len, member_id"
        ),
        [org.as_str()],
    )
}

/// Up to `limit` records, newest first, strictly before `before`.
pub(crate) fn page(
    c: &Connection,
    org: &OrgId,
    state: Option<ReclaimState>,
    before: Option<&RecordCursor>,
    limit: usize,
) -> Result<Vec<ReclaimRecord>, StoreError> {
    let (sql, params) = page_query(org, state, before, limit).params();
    query_records(c, &sql, params)
}

/// One descending range of the org's index (or, with a state, of the state index). `INDEXED BY` makes SQLite
/// refuse the query rather than quietly scan.
pub(crate) fn page_query(
    org: &OrgId,
    state: Option<ReclaimState>,
    before: Option<&RecordCursor>,
    limit: usize,
) -> Query {
    let index = match state {
        Some(_) => "reclaim_records_by_state",
        None => "reclaim_records_by_org",
    };
    let mut q = Query::new(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM reclaim_records INDEXED BY {index} WHERE org_id = ?1"
        ),
        vec![org.as_str().to_owned().into()],
    );
    if let Some(s) = state {
        q.bind(" AND state = ?", s.as_str().to_owned());
    }
    if let Some(b) = before {
        q.bind(
            " AND (created_at, plan_id, id_len, member_id) < (?",
            ts(b.created_at),
        );
        q.bind(", ?", b.plan_id.to_string());
        q.bind(", ?", b.member_id.as_str().len() as i64);
        q.bind(", ?)", b.member_id.as_str().to_owned());
    }
    q.bind(
        " ORDER BY created_at DESC, plan_id DESC, id_len DESC, member_id DESC LIMIT ?",
        sql_limit(limit),
    );
    q
}
