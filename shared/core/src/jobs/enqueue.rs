//! Hands a plan's candidates to the reclaim queue, one request per candidate.

use chrono::{DateTime, Utc};

use super::JobError;
use crate::domain::PlanId;
use crate::ports::{EnqueueReport, ReclaimQueue, ReclaimRequest, SubscriptionStore};
use crate::reclaim::ReclaimRecord;

/// Queues every candidate of the plan that has not been queued before. Refuses plans over their cap, plans of a
/// paused org, and dry-run plans unless `override_dry_run`.
///
/// Queuing the same plan twice queues nothing new, whatever the queue can deduplicate: a candidate counts as
/// queued once its reclaim record exists. Records are created after the send, so a crash in between re-sends
/// on the next run (harmless: the worker is idempotent) instead of losing a request.
pub async fn enqueue_plan(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan_id: PlanId,
    override_dry_run: bool,
    now: DateTime<Utc>,
) -> Result<EnqueueReport, JobError> {
    let plan = store
        .get_plan(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    plan.check_executable(override_dry_run)?;
    super::check_not_paused(store, &plan.org_id).await?;
    let mut fresh = Vec::with_capacity(plan.candidates.len());
    for c in &plan.candidates {
        if store
            .get_reclaim_record(plan.plan_id, &c.member_id)
            .await?
            .is_none()
        {
            fresh.push(c);
        }
    }
    let already = plan.candidates.len() - fresh.len();
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
        })
        .collect();
    let mut report = queue.enqueue(&batch).await?;
    for c in fresh {
        let record = ReclaimRecord::pending(
            plan.plan_id,
            plan.org_id.clone(),
            c.member_id.clone(),
            c.email.clone(),
            now,
        );
        store.create_reclaim_record(&record).await?;
    }
    report.already_queued += already;
    Ok(report)
}
