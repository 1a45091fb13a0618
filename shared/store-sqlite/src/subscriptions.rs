//! `SubscriptionStore` on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditQuery};
use miro_sam_core::domain::{
    AuditEntryId, DownloadCheckpoint, DownloadRun, Email, MemberId, OrgId, PlanId, RegisteredOrg,
    RunId, Subscription,
};
use miro_sam_core::hold::Hold;
use miro_sam_core::pause::OrgPause;
use miro_sam_core::plan::{Candidate, Exclusion, PlanHeader, ReclaimPlan};
use miro_sam_core::policy::{Policy, VersionedPolicy};
use miro_sam_core::ports::SubscriptionStore;
use miro_sam_core::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};
use miro_sam_core::snapshot::OrgSnapshot;
use miro_sam_core::timeline::MemberEvent;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::codec::{backend, day, from_json, json_row, json_rows, parse_ts, parsed, to_json, ts};
use crate::{SqliteStore, audit, holds, member_search, members, records, timeline};

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

#[async_trait]
impl SubscriptionStore for SqliteStore {
    async fn put_org(&self, org: &RegisteredOrg) -> Result<(), StoreError> {
        let (id, name, at) = (org.id.to_string(), org.name.clone(), ts(org.connected_at));
        self.call(move |c| {
            c.execute(
                "INSERT INTO orgs (org_id, name, connected_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (org_id) DO UPDATE SET name = excluded.name, connected_at = excluded.connected_at",
                params![id, name, at],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<RegisteredOrg>, StoreError> {
        let id = org.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT org_id, name, connected_at FROM orgs WHERE org_id = ?1",
                [id],
                org_row,
            )
            .optional()
            .map_err(backend)?
            .map(into_org)
            .transpose()
        })
        .await
    }

    async fn list_orgs(&self) -> Result<Vec<RegisteredOrg>, StoreError> {
        self.call(|c| {
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
        })
        .await
    }

    async fn upsert_members(
        &self,
        org: &OrgId,
        members: &[Subscription],
    ) -> Result<(), StoreError> {
        if let Some(m) = members.iter().find(|m| &m.org_id != org) {
            return Err(StoreError::Backend(format!(
                "member {} belongs to org {}, not {org}: refusing a mixed batch",
                m.member_id, m.org_id
            )));
        }
        if members.is_empty() {
            return Ok(());
        }
        let (members, written) = (members.to_vec(), self.member_rows_written.clone());
        self.call(move |c| members::upsert(c, &members, &written))
            .await
    }

    async fn get_member(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Subscription>, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| members::get(c, &o, &m)).await
    }

    async fn find_member_by_email(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<Subscription>, StoreError> {
        let (o, e) = (org.clone(), email.clone());
        self.call(move |c| members::find_by_email(c, &o, &e)).await
    }

    async fn list_members(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
        let o = org.clone();
        self.call(move |c| members::list(c, &o)).await
    }

    async fn list_members_page(
        &self,
        org: &OrgId,
        after: Option<&MemberId>,
        upto: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        let (o, a, u) = (org.clone(), after.cloned(), upto.cloned());
        self.call(move |c| members::page(c, &o, a.as_ref(), u.as_ref(), limit))
            .await
    }

    async fn mark_removed(
        &self,
        org: &OrgId,
        members: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (o, ids) = (org.clone(), members.to_vec());
        self.call(move |c| members::mark_removed(c, &o, &ids, at))
            .await
    }

    async fn put_download_run(&self, run: &DownloadRun) -> Result<(), StoreError> {
        let run = run.clone();
        self.call(move |c| {
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
        })
        .await
    }

    async fn last_download_run(&self, org: &OrgId) -> Result<Option<DownloadRun>, StoreError> {
        let o = org.to_string();
        self.call(move |c| {
            let row: Option<(String, String, String, String, i64)> = c
                .query_row(
                    "SELECT org_id, run_id, started_at, completed_at, members_seen FROM download_runs \
                     WHERE org_id = ?1",
                    [o],
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
        })
        .await
    }

    async fn put_checkpoint(&self, cp: &DownloadCheckpoint) -> Result<(), StoreError> {
        let cp = cp.clone();
        let progress = to_json("download checkpoint", &cp.progress)?;
        self.call(move |c| {
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
        })
        .await
    }

    async fn get_checkpoint(&self, org: &OrgId) -> Result<Option<DownloadCheckpoint>, StoreError> {
        let o = org.to_string();
        self.call(move |c| {
            type Row = (String, String, Option<String>, i64, String, Option<String>);
            let row: Option<Row> = c
                .query_row(
                    "SELECT org_id, run_id, cursor, pages_done, updated_at, progress FROM download_checkpoints \
                     WHERE org_id = ?1",
                    [o],
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
                    progress: match progress {
                        Some(p) => from_json(W, &p)?,
                        None => Default::default(),
                    },
                })
            })
            .transpose()
        })
        .await
    }

    async fn clear_checkpoint(&self, org: &OrgId) -> Result<(), StoreError> {
        let o = org.to_string();
        self.call(move |c| {
            c.execute("DELETE FROM download_checkpoints WHERE org_id = ?1", [o])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn put_snapshot(&self, snapshot: &OrgSnapshot) -> Result<(), StoreError> {
        let (o, d) = (snapshot.org_id.to_string(), day(snapshot.date));
        let body = to_json("snapshot", snapshot)?;
        self.call(move |c| {
            c.execute(
                "INSERT INTO snapshots (org_id, day, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (org_id, day) DO UPDATE SET body = excluded.body",
                params![o, d, body],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_snapshot(
        &self,
        org: &OrgId,
        date: NaiveDate,
    ) -> Result<Option<OrgSnapshot>, StoreError> {
        let (o, d) = (org.to_string(), day(date));
        self.call(move |c| {
            json_row(
                c,
                "snapshot",
                "SELECT body FROM snapshots WHERE org_id = ?1 AND day = ?2",
                params![o, d],
            )
        })
        .await
    }

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<OrgSnapshot>, StoreError> {
        let (o, f, t) = (org.to_string(), day(from), day(to));
        self.call(move |c| {
            json_rows(
                c,
                "snapshot",
                "SELECT body FROM snapshots WHERE org_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
                params![o, f, t],
            )
        })
        .await
    }

    async fn latest_snapshot(&self, org: &OrgId) -> Result<Option<OrgSnapshot>, StoreError> {
        let o = org.to_string();
        self.call(move |c| {
            json_row(
                c,
                "snapshot",
                "SELECT body FROM snapshots WHERE org_id = ?1 ORDER BY day DESC LIMIT 1",
                [o],
            )
        })
        .await
    }

    async fn put_policy(
        &self,
        org: &OrgId,
        policy: &Policy,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionedPolicy, StoreError> {
        let o = org.to_string();
        let body = to_json("policy", policy)?;
        let (by, at_s) = (created_by.to_owned(), ts(at));
        let version = self
            .call(move |c| {
                // IMMEDIATE takes the write lock before reading the last version, so two writers cannot both
                // pick the same number.
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                let next: u32 = tx
                    .query_row(
                        "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE org_id = ?1",
                        [&o],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                tx.execute(
                    "INSERT INTO policies (org_id, version, created_at, created_by, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![o, next, at_s, by, body],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(next)
            })
            .await?;
        Ok(VersionedPolicy {
            org_id: org.clone(),
            version,
            created_at: at,
            created_by: created_by.to_owned(),
            policy: policy.clone(),
        })
    }

    async fn latest_policy(&self, org: &OrgId) -> Result<Option<VersionedPolicy>, StoreError> {
        let o = org.to_string();
        self.call(move |c| {
            query_policy(
                c,
                "SELECT org_id, version, created_at, created_by, body FROM policies WHERE org_id = ?1 \
                 ORDER BY version DESC LIMIT 1",
                [o],
            )
        })
        .await
    }

    async fn get_policy(
        &self,
        org: &OrgId,
        version: u32,
    ) -> Result<Option<VersionedPolicy>, StoreError> {
        let o = org.to_string();
        self.call(move |c| {
            query_policy(
                c,
                "SELECT org_id, version, created_at, created_by, body FROM policies \
                 WHERE org_id = ?1 AND version = ?2",
                params![o, version],
            )
        })
        .await
    }

    async fn put_plan(&self, plan: &ReclaimPlan) -> Result<(), StoreError> {
        self.plan_put(plan).await
    }

    async fn get_plan_header(&self, plan: PlanId) -> Result<Option<PlanHeader>, StoreError> {
        self.plan_header(plan).await
    }

    async fn latest_plan_header(&self, org: &OrgId) -> Result<Option<PlanHeader>, StoreError> {
        self.plan_latest_header(org).await
    }

    async fn get_plan_candidate(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<Candidate>, StoreError> {
        self.plan_candidate(plan, member).await
    }

    async fn list_plan_candidates(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Candidate>, StoreError> {
        self.plan_candidates_page(plan, after, limit).await
    }

    async fn list_plan_exclusions(
        &self,
        plan: PlanId,
        after: Option<&MemberId>,
        limit: usize,
    ) -> Result<Vec<Exclusion>, StoreError> {
        self.plan_exclusions_page(plan, after, limit).await
    }

    async fn create_reclaim_record(
        &self,
        record: &ReclaimRecord,
    ) -> Result<(ReclaimRecord, bool), StoreError> {
        let r = record.clone();
        self.call(move |c| records::create(c, &r)).await
    }

    async fn get_reclaim_record(
        &self,
        plan: PlanId,
        member: &MemberId,
    ) -> Result<Option<ReclaimRecord>, StoreError> {
        let m = member.clone();
        self.call(move |c| records::get(c, plan, &m)).await
    }

    async fn transition_reclaim(
        &self,
        plan: PlanId,
        member: &MemberId,
        from: ReclaimState,
        transition: &ReclaimTransition,
    ) -> Result<ReclaimRecord, StoreError> {
        let (m, t) = (member.clone(), transition.clone());
        self.call(move |c| records::transition(c, plan, &m, from, &t))
            .await
    }

    async fn list_reclaim_records(&self, org: &OrgId) -> Result<Vec<ReclaimRecord>, StoreError> {
        let o = org.clone();
        self.call(move |c| records::list(c, &o)).await
    }

    async fn put_pause(&self, pause: &OrgPause) -> Result<(), StoreError> {
        let p = pause.clone();
        self.call(move |c| holds::put_pause(c, &p)).await
    }

    async fn get_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
        let o = org.clone();
        self.call(move |c| holds::get_pause(c, &o)).await
    }

    async fn clear_pause(&self, org: &OrgId) -> Result<Option<OrgPause>, StoreError> {
        let o = org.clone();
        self.call(move |c| holds::clear_pause(c, &o)).await
    }

    async fn put_hold(&self, hold: &Hold) -> Result<(), StoreError> {
        let h = hold.clone();
        self.call(move |c| holds::put_hold(c, &h)).await
    }

    async fn get_hold(&self, org: &OrgId, member: &MemberId) -> Result<Option<Hold>, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| holds::get_hold(c, &o, &m)).await
    }

    async fn list_holds(&self, org: &OrgId) -> Result<Vec<Hold>, StoreError> {
        let o = org.clone();
        self.call(move |c| holds::list_holds(c, &o)).await
    }

    async fn delete_hold(&self, org: &OrgId, member: &MemberId) -> Result<bool, StoreError> {
        let (o, m) = (org.clone(), member.clone());
        self.call(move |c| holds::delete_hold(c, &o, &m)).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.call(move |c| audit::append(c, &e)).await
    }

    async fn get_audit(&self, id: &AuditEntryId) -> Result<Option<AuditEntry>, StoreError> {
        let id = id.clone();
        self.call(move |c| audit::get(c, &id)).await
    }

    async fn list_audit(&self, org: &OrgId) -> Result<Vec<AuditEntry>, StoreError> {
        let o = org.clone();
        self.call(move |c| audit::list(c, &o)).await
    }

    async fn take_download_lease(
        &self,
        org: &OrgId,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<miro_sam_core::ports::DownloadLease, StoreError> {
        let (o, h) = (org.clone(), holder.to_owned());
        self.call(move |c| crate::download_lease::take(c, &o, &h, now, until))
            .await
    }

    async fn release_download_lease(&self, org: &OrgId, holder: &str) -> Result<bool, StoreError> {
        let (o, h) = (org.clone(), holder.to_owned());
        self.call(move |c| crate::download_lease::release(c, &o, &h))
            .await
    }

    async fn put_plan_items(
        &self,
        plan: PlanId,
        org: &OrgId,
        candidates: &[Candidate],
        exclusions: &[Exclusion],
    ) -> Result<(), StoreError> {
        self.plan_items_put(plan, org, candidates, exclusions).await
    }

    async fn put_plan_header(&self, header: &PlanHeader) -> Result<(), StoreError> {
        self.plan_header_put(header).await
    }

    async fn list_plan_headers(
        &self,
        org: &OrgId,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<PlanHeader>, StoreError> {
        self.plan_headers_page(org, before, limit).await
    }

    async fn search_members(
        &self,
        org: &OrgId,
        prefix: &str,
        after: Option<(&Email, &MemberId)>,
        limit: usize,
    ) -> Result<Vec<Subscription>, StoreError> {
        let (o, p) = (org.clone(), prefix.to_owned());
        let a = after.map(|(e, m)| (e.clone(), m.clone()));
        self.call(move |c| member_search::search(c, &o, &p, a.as_ref().map(|(e, m)| (e, m)), limit))
            .await
    }

    async fn list_audit_page(
        &self,
        org: &OrgId,
        query: &AuditQuery,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (o, q, b) = (org.clone(), query.clone(), before.cloned());
        self.call(move |c| audit::page(c, &o, &q, b.as_ref(), limit))
            .await
    }

    async fn list_reclaim_records_page(
        &self,
        org: &OrgId,
        state: Option<ReclaimState>,
        before: Option<&RecordCursor>,
        limit: usize,
    ) -> Result<Vec<ReclaimRecord>, StoreError> {
        let (o, b) = (org.clone(), before.cloned());
        self.call(move |c| records::page(c, &o, state, b.as_ref(), limit))
            .await
    }

    async fn append_member_events(&self, events: &[MemberEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let e = events.to_vec();
        self.call(move |c| timeline::append(c, &e)).await
    }

    async fn list_member_events(
        &self,
        org: &OrgId,
        member: &MemberId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MemberEvent>, StoreError> {
        let (o, m, b) = (org.clone(), member.clone(), before.map(str::to_owned));
        self.call(move |c| timeline::page(c, &o, &m, b.as_deref(), limit))
            .await
    }
}
