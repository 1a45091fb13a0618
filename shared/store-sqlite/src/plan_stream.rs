//! Plans written while they are computed, and the org's plan history. Items are upserted in transactions of
//! [`BATCH`] rows (a retried batch replaces its rows, and the shared connection is never held for long), the
//! header goes last with [`put_header`], and headers are read newest first from one descending range of
//! `plans_by_org` (org, created_at, plan_id).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader};
use rusqlite::{Connection, OptionalExtension};

use crate::SqliteStore;
use crate::codec::{Query, backend, sql_limit, ts};
use crate::plans::{BATCH, Items, Row, decode, put_header, rows, write_rows};

/// One batch of a streamed plan's items, refused once the plan has its header: readers would then see items
/// come and go under a written plan. The check and the writes are one transaction.
fn upsert(
    c: &mut Connection,
    items: Items,
    plan: &str,
    org: &OrgId,
    batch: &[Row],
) -> Result<(), StoreError> {
    let tx = c.transaction().map_err(backend)?;
    let written: Option<i64> = tx
        .query_row("SELECT 1 FROM plans WHERE plan_id = ?1", [plan], |r| {
            r.get(0)
        })
        .optional()
        .map_err(backend)?;
    if written.is_some() {
        return Err(StoreError::AlreadyExists {
            what: format!(
                "plan {plan} of org {org} (its header is written, so its items are fixed; write a new plan's \
                 items before its header, or replace the whole plan with put_plan)"
            ),
        });
    }
    write_rows(
        &tx,
        items,
        plan,
        batch,
        " ON CONFLICT (plan_id, id_len, member_id) DO UPDATE SET body = excluded.body",
    )?;
    tx.commit().map_err(backend)
}

fn headers_page(
    c: &Connection,
    org: &OrgId,
    before: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let (sql, params) = headers_query(org, before, limit).params();
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    stmt.query_map(params, |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)
}

pub(crate) fn headers_query(org: &OrgId, before: Option<DateTime<Utc>>, limit: usize) -> Query {
    let mut q = Query::new(
        "SELECT body FROM plans INDEXED BY plans_by_org WHERE org_id = ?1",
        vec![org.as_str().to_owned().into()],
    );
    if let Some(b) = before {
        q.bind(" AND created_at < ?", ts(b));
    }
    q.bind(
        " ORDER BY created_at DESC, plan_id DESC LIMIT ?",
        sql_limit(limit),
    );
    q
}

impl SqliteStore {
    pub(crate) async fn plan_items_put(
        &self,
        plan: PlanId,
        org: &OrgId,
        candidates: &[Candidate],
        exclusions: &[Exclusion],
    ) -> Result<(), StoreError> {
        let id = plan.to_string();
        for (items, all) in [
            (
                Items::Candidates,
                rows("plan candidate", candidates, |c| &c.member_id)?,
            ),
            (
                Items::Exclusions,
                rows("plan exclusion", exclusions, |e| &e.member_id)?,
            ),
        ] {
            let all = Arc::new(all);
            for start in (0..all.len()).step_by(BATCH) {
                let (p, o, all) = (id.clone(), org.clone(), all.clone());
                self.call(move |c| {
                    let end = (start + BATCH).min(all.len());
                    upsert(c, items, &p, &o, &all[start..end])
                })
                .await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn plan_header_put(&self, header: &PlanHeader) -> Result<(), StoreError> {
        let header = header.clone();
        self.call(move |c| put_header(c, &header)).await
    }

    pub(crate) async fn plan_headers_page(
        &self,
        org: &OrgId,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<PlanHeader>, StoreError> {
        let (o, counters) = (org.clone(), self.plan_reads.clone());
        self.call(move |c| {
            decode(
                &counters,
                "plan header",
                headers_page(c, &o, before, limit)?,
            )
        })
        .await
    }
}
