//! Plans written while they are computed, and the org's plan history. Items are upserted in transactions of
//! [`BATCH`] rows (a retried batch replaces its rows, and the shared connection is never held for long), the
//! header goes last with [`put_header`], and headers are read newest first from one descending range of
//! `plans_by_org` (org, created_at, plan_id).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use crate::SqliteStore;
use crate::codec::{backend, ts};
use crate::plans::{BATCH, Items, Row, decode, put_header, rows};

fn upsert(c: &mut Connection, items: Items, plan: &str, batch: &[Row]) -> Result<(), StoreError> {
    let tx = c.transaction().map_err(backend)?;
    {
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO {} (plan_id, id_len, member_id, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (plan_id, id_len, member_id) DO UPDATE SET body = excluded.body",
                items.table()
            ))
            .map_err(backend)?;
        for (member, body) in batch {
            stmt.execute(params![plan, member.len() as i64, member, body])
                .map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
}

fn headers_page(
    c: &Connection,
    org: &OrgId,
    before: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let mut values: Vec<Value> = vec![org.as_str().to_owned().into()];
    let mut filter = "org_id = ?1".to_owned();
    if let Some(b) = before {
        values.push(ts(b).into());
        filter.push_str(" AND created_at < ?2");
    }
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT body FROM plans INDEXED BY plans_by_org WHERE {filter} \
         ORDER BY created_at DESC, plan_id DESC LIMIT ?{}",
        values.len()
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    stmt.query_map(params_from_iter(values), |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)
}

impl SqliteStore {
    pub(crate) async fn plan_items_put(
        &self,
        plan: PlanId,
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
                let (p, all) = (id.clone(), all.clone());
                self.call(move |c| {
                    let end = (start + BATCH).min(all.len());
                    upsert(c, items, &p, &all[start..end])
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
