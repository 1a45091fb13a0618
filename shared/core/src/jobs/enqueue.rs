//! Hands a plan's candidates to the reclaim queue, one request per candidate, a page at a time.

use chrono::{DateTime, Utc};

use super::JobError;
use crate::domain::PlanId;
use crate::plan::{Candidate, PLAN_PAGE, PlanHeader};
use crate::ports::{EnqueueReport, ReclaimQueue, ReclaimRequest, SubscriptionStore};
use crate::reclaim::ReclaimRecord;

/// Queues every candidate of the plan that has not been queued before. Refuses plans over their cap, plans of a
/// paused org, and dry-run plans unless `override_dry_run`.
///
/// Queuing the same plan twice queues nothing new, whatever the queue can deduplicate: a candidate counts as
/// queued once its reclaim record exists. Records are created after the send, so a crash in between re-sends
/// on the next run (harmless: the worker is idempotent) instead of losing a request.
///
/// The candidates are read [`PLAN_PAGE`] at a time (in member id order, not the plan's most-inactive-first
/// order: the cap refuses a whole plan, so no order decides who is reclaimed), and each page is sent and
/// recorded before the next is read, so memory does not grow with the plan.
pub async fn enqueue_plan(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan_id: PlanId,
    override_dry_run: bool,
    now: DateTime<Utc>,
) -> Result<EnqueueReport, JobError> {
    let plan = store
        .get_plan_header(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    plan.check_executable(override_dry_run)?;
    super::check_not_paused(store, &plan.org_id).await?;
    queue_all_candidates(store, queue, &plan, None, now).await
}

/// Queues every candidate of the plan that has no reclaim record yet, a page at a time.
pub(super) async fn queue_all_candidates(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan: &PlanHeader,
    approved_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<EnqueueReport, JobError> {
    let mut report = EnqueueReport::default();
    let mut after = None;
    loop {
        let page = store
            .list_plan_candidates(plan.plan_id, after.as_ref(), PLAN_PAGE)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.member_id.clone());
        let last_page = page.len() < PLAN_PAGE;
        let sent = queue_candidates(store, queue, plan, page, approved_by, now).await?;
        report.enqueued += sent.enqueued;
        report.already_queued += sent.already_queued;
        if last_page {
            break;
        }
    }
    Ok(report)
}

/// Queues those of `candidates` that have no reclaim record yet, then creates their records. A candidate counts
/// as queued once its record exists; records are created after the send, so a crash in between re-sends next
/// time (harmless: the worker is idempotent) instead of losing a request.
pub(super) async fn queue_candidates(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan: &PlanHeader,
    candidates: Vec<Candidate>,
    approved_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<EnqueueReport, JobError> {
    let mut report = EnqueueReport::default();
    let mut fresh = Vec::with_capacity(candidates.len());
    for c in candidates {
        if store
            .get_reclaim_record(plan.plan_id, &c.member_id)
            .await?
            .is_none()
        {
            fresh.push(c);
        } else {
            report.already_queued += 1;
        }
    }
    if fresh.is_empty() {
        return Ok(report);
    }
    let batch: Vec<ReclaimRequest> = fresh
        .iter()
        .map(|c| {
            ReclaimRequest::new(
                plan.plan_id,
                plan.org_id.clone(),
                c.member_id.clone(),
                c.email.clone(),
                c.reason.clone(),
            )
            .approved_by(approved_by)
        })
        .collect();
    let sent = queue.enqueue(&batch).await?;
    report.enqueued += sent.enqueued;
    report.already_queued += sent.already_queued;
    for c in fresh {
        let record =
            ReclaimRecord::pending(plan.plan_id, plan.org_id.clone(), c.member_id, c.email, now);
        store.create_reclaim_record(&record).await?;
    }
    Ok(report)
}
