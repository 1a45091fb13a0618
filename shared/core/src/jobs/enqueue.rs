//! Hands a plan's candidates to the reclaim queue, one request per candidate.

use super::JobError;
use crate::domain::PlanId;
use crate::ports::{EnqueueReport, ReclaimQueue, ReclaimRequest, SubscriptionStore};

/// Queues every candidate of the plan. Refuses plans over their cap, and dry-run plans unless
/// `override_dry_run`. Queuing the same plan twice queues nothing new (dedup per plan and member).
pub async fn enqueue_plan(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan_id: PlanId,
    override_dry_run: bool,
) -> Result<EnqueueReport, JobError> {
    let plan = store
        .get_plan(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    plan.check_executable(override_dry_run)?;
    let batch: Vec<ReclaimRequest> = plan
        .candidates
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
    Ok(queue.enqueue(&batch).await?)
}
