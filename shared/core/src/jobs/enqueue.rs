//! Hands a plan's candidates to the reclaim queue, one request per candidate, a page at a time.
//!
//! Only candidates whose notice cycle allows the reclaim are queued ([`notices::reclaim_gate`] under the org's
//! current policy, the one the worker re-checks with): the others are reported as waiting, get no reclaim
//! record, and so are queued by a later approval (or automatic run) once their cycle is due.

use chrono::{DateTime, Utc};

use super::JobError;
use super::plan::current_policy;
use crate::domain::{Email, MemberId, PlanId};
use crate::notices;
use crate::plan::{Candidate, PLAN_PAGE, PlanHeader};
use crate::policy::Policy;
use crate::ports::{ReclaimQueue, ReclaimRequest, SubscriptionStore};
use crate::reclaim::{NoticeWait, ReclaimRecord};

/// What queuing a plan's candidates did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanQueueReport {
    pub enqueued: usize,
    /// Candidates that already had a reclaim record (queued, done or rejected before), or whose request the
    /// queue dropped as a repeat.
    pub already_queued: usize,
    /// Candidates not queued because their notice cycle does not allow the reclaim yet, in member id order.
    pub waiting_for_notice: Vec<WaitingForNotice>,
}

/// A candidate held back by their notice cycle, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingForNotice {
    pub member_id: MemberId,
    pub email: Email,
    pub wait: NoticeWait,
}

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
) -> Result<PlanQueueReport, JobError> {
    let plan = store
        .get_plan_header(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    plan.check_executable(override_dry_run)?;
    super::check_not_paused(store, &plan.org_id).await?;
    let gate = current_policy(store, &plan.org_id, now).await?.policy;
    queue_all_candidates(store, queue, &plan, &gate, None, now).await
}

/// Queues every candidate of the plan that has no reclaim record yet, a page at a time.
pub(super) async fn queue_all_candidates(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan: &PlanHeader,
    gate: &Policy,
    approved_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PlanQueueReport, JobError> {
    let mut report = PlanQueueReport::default();
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
        let sent = queue_candidates(store, queue, plan, page, gate, approved_by, now).await?;
        report.add(sent);
        if last_page {
            break;
        }
    }
    Ok(report)
}

impl PlanQueueReport {
    pub(super) fn add(&mut self, other: PlanQueueReport) {
        self.enqueued += other.enqueued;
        self.already_queued += other.already_queued;
        self.waiting_for_notice.extend(other.waiting_for_notice);
    }
}

/// Queues those of `candidates` that have no reclaim record yet and whose notice cycle passes the gate of `gate`
/// (the org's current policy), then creates their records. A candidate counts as queued once its record exists;
/// records are created after the send, so a crash in between re-sends next time (harmless: the worker is
/// idempotent) instead of losing a request.
pub(super) async fn queue_candidates(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan: &PlanHeader,
    candidates: Vec<Candidate>,
    gate: &Policy,
    approved_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PlanQueueReport, JobError> {
    let mut report = PlanQueueReport::default();
    let mut fresh = Vec::with_capacity(candidates.len());
    for c in candidates {
        if store
            .get_reclaim_record(plan.plan_id, &c.member_id)
            .await?
            .is_some()
        {
            report.already_queued += 1;
            continue;
        }
        // One read per candidate, only with notices on; the cap bounds the candidates.
        if gate.notices_enabled() {
            let notice = store.get_notice(&plan.org_id, &c.member_id).await?;
            if let Err(block) = notices::reclaim_gate(gate, notice.as_ref()) {
                report.waiting_for_notice.push(WaitingForNotice {
                    member_id: c.member_id,
                    email: c.email,
                    wait: block.into(),
                });
                continue;
            }
        }
        fresh.push(c);
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
