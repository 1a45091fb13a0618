//! Plans on SQLite: the header is a row of `plans` (JSON `PlanHeader`), every candidate a row of
//! `plan_candidates` and every exclusion a row of `plan_exclusions` (JSON bodies), keyed by (plan, member).
//!
//! A reclaim message reads the header and its own candidate (two primary-key lookups), whatever the size of the
//! plan. Rows are keyed by (plan, id length, id), so the primary key itself is numeric member id order and a page
//! of [`SqliteStore::plan_candidates_page`] is an index range scan.
//!
//! Writes go in bounded transactions (the connection is shared; a plan of a million candidates must not hold it
//! for seconds): first the old header and rows go, then the rows in batches of [`BATCH`], and the header last.
//! Every reader starts from the header, so it sees either no plan or all of it, never half of one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use miro_sam_core::StoreError;
use miro_sam_core::domain::{MemberId, OrgId, PlanId};
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SqliteStore;
use crate::codec::{backend, from_json, to_json, ts};

/// Rows per write transaction.
pub(crate) const BATCH: usize = 1_000;

/// What plan reads cost through one store handle (and its clones): rows of `plans`, `plan_candidates` and
/// `plan_exclusions` returned, and the bytes of their JSON bodies. The bench divides them by reclaim messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanReads {
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct PlanReadCounters {
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl PlanReadCounters {
    fn count(&self, bodies: &[String]) {
        self.rows.fetch_add(bodies.len() as u64, Ordering::Relaxed);
        let bytes: usize = bodies.iter().map(String::len).sum();
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PlanReads {
        PlanReads {
            rows: self.rows.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Which item table.
#[derive(Clone, Copy)]
pub(crate) enum Items {
    Candidates,
    Exclusions,
}

impl Items {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Items::Candidates => "plan_candidates",
            Items::Exclusions => "plan_exclusions",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Items::Candidates => "plan candidate",
            Items::Exclusions => "plan exclusion",
        }
    }
}

/// One item row to insert: member id and JSON body.
pub(crate) type Row = (String, String);

pub(crate) fn rows<T: Serialize>(
    what: &str,
    items: &[T],
    id: impl Fn(&T) -> &MemberId,
) -> Result<Vec<Row>, StoreError> {
    items
        .iter()
        .map(|i| Ok((id(i).to_string(), to_json(what, i)?)))
        .collect()
}

pub(crate) fn decode<T: DeserializeOwned>(
    counters: &PlanReadCounters,
    what: &str,
    bodies: Vec<String>,
) -> Result<Vec<T>, StoreError> {
    counters.count(&bodies);
    bodies.iter().map(|b| from_json(what, b)).collect()
}

/// Removes the header first (readers then find no plan), then every row of the plan: a replaced plan never
/// shows a mix of two versions, and the rows of an interrupted earlier write go too.
fn clear(c: &mut Connection, plan: &str) -> Result<(), StoreError> {
    let tx = c.transaction().map_err(backend)?;
    tx.execute("DELETE FROM plans WHERE plan_id = ?1", [plan])
        .map_err(backend)?;
    for t in [Items::Candidates, Items::Exclusions] {
        tx.execute(
            &format!("DELETE FROM {} WHERE plan_id = ?1", t.table()),
            [plan],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn insert(c: &mut Connection, items: Items, plan: &str, batch: &[Row]) -> Result<(), StoreError> {
    let tx = c.transaction().map_err(backend)?;
    write_rows(&tx, items, plan, batch, "")?;
    tx.commit().map_err(backend)
}

/// Writes `batch` into the items table in `tx`; `on_conflict` is empty (a row already there is an error) or an
/// `ON CONFLICT` clause.
pub(crate) fn write_rows(
    tx: &Transaction<'_>,
    items: Items,
    plan: &str,
    batch: &[Row],
    on_conflict: &str,
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO {} (plan_id, id_len, member_id, body) VALUES (?1, ?2, ?3, ?4){on_conflict}",
            items.table()
        ))
        .map_err(backend)?;
    for (member, body) in batch {
        stmt.execute(params![plan, member.len() as i64, member, body])
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn put_header(c: &Connection, header: &PlanHeader) -> Result<(), StoreError> {
    let body = to_json("plan header", header)?;
    c.execute(
        "INSERT INTO plans (plan_id, org_id, created_at, body) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (plan_id) DO UPDATE SET org_id = excluded.org_id, created_at = excluded.created_at, \
         body = excluded.body",
        params![
            header.plan_id.to_string(),
            header.org_id.to_string(),
            ts(header.created_at),
            body
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn one_body(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Option<String>, StoreError> {
    c.query_row(sql, p, |r| r.get::<_, String>(0))
        .optional()
        .map_err(backend)
}

fn page_bodies(
    c: &Connection,
    items: Items,
    plan: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // (id_len, member_id) is numeric order; the row-value comparison is a range scan of the primary key.
    let (len, id) = after.map_or((-1, String::new()), |a| (a.len() as i64, a.to_owned()));
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT body FROM {} WHERE plan_id = ?1 AND (id_len, member_id) > (?2, ?3) \
             ORDER BY id_len, member_id LIMIT ?4",
            items.table()
        ))
        .map_err(backend)?;
    stmt.query_map(params![plan, len, id, limit], |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)
}

impl SqliteStore {
    pub(crate) async fn plan_put(&self, plan: &ReclaimPlan) -> Result<(), StoreError> {
        let id = plan.plan_id.to_string();
        let candidates = rows("plan candidate", &plan.candidates, |c| &c.member_id)?;
        let exclusions = rows("plan exclusion", &plan.exclusions, |e| &e.member_id)?;
        let header = plan.header();
        let p = id.clone();
        self.call(move |c| clear(c, &p)).await?;
        for (items, all) in [
            (Items::Candidates, candidates),
            (Items::Exclusions, exclusions),
        ] {
            let all = Arc::new(all);
            for start in (0..all.len()).step_by(BATCH) {
                let (p, all) = (id.clone(), all.clone());
                self.call(move |c| {
                    let end = (start + BATCH).min(all.len());
                    insert(c, items, &p, &all[start..end])
                })
                .await?;
            }
        }
        self.call(move |c| put_header(c, &header)).await
    }

    pub(crate) async fn plan_header(&self, plan: PlanId) -> Result<Option<PlanHeader>, StoreError> {
        let (id, counters) = (plan.to_string(), self.plan_reads.clone());
        self.call(move |c| {
            let body = one_body(c, "SELECT body FROM plans WHERE plan_id = ?1", [id])?;
            Ok(decode(&counters, "plan header", body.into_iter().collect())?.pop())
        })
        .await
    }

    pub(crate) async fn plan_latest_header(
        &self,
        org: &OrgId,
    ) -> Result<Option<PlanHeader>, StoreError> {
        let (o, counters) = (org.to_string(), self.plan_reads.clone());
        self.call(move |c| {
            let body = one_body(
                c,
                "SELECT body FROM plans WHERE org_id = ?1 ORDER BY created_at DESC, plan_id DESC LIMIT 1",
                [o],
            )?;
            Ok(decode(&counters, "plan header", body.into_iter().collect())?.pop())
        })
        .await
    }

    pub(crate) async fn plan_candidate(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<Candidate>, StoreError> {
        let (p, m, counters) = (
            plan.to_string(),
            member.to_string(),
            self.plan_reads.clone(),
        );
        self.call(move |c| {
            let body = one_body(
                c,
                "SELECT body FROM plan_candidates WHERE plan_id = ?1 AND id_len = ?2 AND member_id = ?3",
                params![p, m.len() as i64, m],
            )?;
            Ok(decode(&counters, "plan candidate", body.into_iter().collect())?.pop())
        })
        .await
    }

    pub(crate) async fn plan_candidates_page(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Candidate>, StoreError> {
        self.page(Items::Candidates, plan, after, limit).await
    }

    pub(crate) async fn plan_exclusions_page(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Exclusion>, StoreError> {
        self.page(Items::Exclusions, plan, after, limit).await
    }

    async fn page<T: DeserializeOwned + Send + 'static>(
        &self,
        items: Items,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let (p, a, counters) = (
            plan.to_string(),
            after.map(ToString::to_string),
            self.plan_reads.clone(),
        );
        self.call(move |c| {
            let bodies = page_bodies(c, items, &p, a.as_deref(), limit)?;
            decode(&counters, items.what(), bodies)
        })
        .await
    }

    /// Plan rows read through this handle (and its clones) since it was opened.
    pub fn plan_reads(&self) -> PlanReads {
        self.plan_reads.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use miro_sam_core::contract::fixtures::{org, plan};
    use miro_sam_core::ports::PlanStore;
    use rusqlite::Connection;

    use crate::SqliteStore;
    use crate::codec::{to_json, ts};
    use crate::schema::{MIGRATIONS, migrate};

    /// The migration to plans-as-rows position in [`MIGRATIONS`]: the one that creates `plan_candidates`.
    fn plans_as_rows() -> usize {
        MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE plan_candidates"))
            .expect("the migration exists")
    }

    #[tokio::test]
    async fn a_plan_stored_whole_by_an_earlier_version_is_split_into_rows_by_the_migration() {
        let mut c = Connection::open_in_memory().unwrap();
        let before = plans_as_rows();
        for (i, sql) in MIGRATIONS.iter().take(before).enumerate() {
            c.execute_batch(sql).unwrap();
            c.pragma_update(None, "user_version", i as u32 + 1).unwrap();
        }
        let p = plan(&org());
        assert!(!p.candidates.is_empty() && !p.exclusions.is_empty());
        c.execute(
            "INSERT INTO plans (plan_id, org_id, created_at, body) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                p.plan_id.to_string(),
                p.org_id.to_string(),
                ts(p.created_at),
                to_json("plan", &p).unwrap()
            ],
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let store = SqliteStore::init(c).unwrap();

        assert_eq!(store.get_plan(p.plan_id).await.unwrap(), Some(p.clone()));
        let c0 = &p.candidates[0];
        assert_eq!(
            store
                .get_plan_candidate(p.plan_id, &c0.member_id)
                .await
                .unwrap()
                .as_ref(),
            Some(c0)
        );
        assert_eq!(
            store.latest_plan_header(&org()).await.unwrap(),
            Some(p.header())
        );
        let reads = store.plan_reads();
        assert!(reads.rows > 0 && reads.bytes > 0, "{reads:?}");
    }
}
