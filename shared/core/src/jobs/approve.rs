//! The approval gate: a person approves a plan (all of it or a selection) or rejects some of its candidates.
//!
//! Approving is queuing: the approved candidates are sent to the reclaim queue and get their reclaim record,
//! exactly as [`super::enqueue_plan`] does for a whole plan, so the worker, its re-check and its idempotency are
//! the same whoever started it. The console that calls this never holds the SCIM token.
//!
//! An approval covers its own plan only: it is refused once a newer plan exists, and the worker skips a queued
//! reclaim whose plan was replaced before it ran ([`crate::reclaim::SkipReason::PlanSuperseded`]).
//!
//! An approval does not skip the notice: a candidate whose cycle is not due (not told yet, the reclaim date not
//! come, a keep request waiting, ...) is not queued and is listed in [`ApprovalReport::waiting_for_notice`]; an
//! approval on or after the reclaim date queues them.

use chrono::{DateTime, Utc};

use super::JobError;
use super::enqueue::WaitingForNotice;
use super::plan::{append_once, current_policy};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, MemberId, PlanId};
use crate::error::StoreError;
use crate::plan::{Candidate, PlanHeader, PlanRefusal};
use crate::ports::{ReclaimQueue, SubscriptionStore};
use crate::reclaim::{ReclaimOutcome, ReclaimRecord, ReclaimState, ReclaimTransition, SkipReason};

/// Which candidates an approval covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Members(Vec<MemberId>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalReport {
    /// Candidates queued by this approval.
    pub queued: u32,
    /// Selected candidates that already had a reclaim record (queued, done or rejected before).
    pub already_queued: u32,
    /// Selected members that are not candidates of the plan (nothing was done for them).
    pub not_candidates: Vec<MemberId>,
    /// Selected candidates not queued because their notice cycle does not allow the reclaim yet; approve again
    /// once it does.
    pub waiting_for_notice: Vec<WaitingForNotice>,
}

/// Approves candidates of `plan_id` for reclaim and queues them. Refused for a plan that is not the org's
/// latest, a dry-run plan, a paused org, and a whole plan over its cap; a selection may be approved from a plan
/// over its cap when the selection itself is within the cap ("which subset" is the person's decision).
pub async fn approve_plan(
    store: &dyn SubscriptionStore,
    queue: &dyn ReclaimQueue,
    plan_id: PlanId,
    selection: &Selection,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ApprovalReport, JobError> {
    let actor = required_actor(actor)?;
    let plan = latest_plan_or_refuse(store, plan_id).await?;
    if plan.policy.dry_run {
        return Err(PlanRefusal::DryRun {
            plan_id,
            policy_version: plan.policy_version,
        }
        .into());
    }
    super::check_not_paused(store, &plan.org_id).await?;
    // The gate asks the policy the worker re-checks with (the current one), so what is queued is not skipped.
    let gate = current_policy(store, &plan.org_id, now).await?.policy;

    let mut report = ApprovalReport::default();
    let chosen: Vec<Candidate> = match selection {
        Selection::All => {
            plan.check_executable(false)?;
            let sent =
                super::enqueue::queue_all_candidates(store, queue, &plan, &gate, Some(actor), now)
                    .await?;
            report.queued = sent.enqueued as u32;
            report.already_queued = sent.already_queued as u32;
            report.waiting_for_notice = sent.waiting_for_notice;
            Vec::new()
        }
        Selection::Members(members) => {
            if members.is_empty() {
                return Err(JobError::InvalidRequest(
                    "the selection is empty: choose at least one candidate to approve".into(),
                ));
            }
            let mut found = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for m in members.iter().filter(|m| seen.insert((*m).clone())) {
                match store.get_plan_candidate(plan_id, m).await? {
                    Some(c) => found.push(c),
                    None => report.not_candidates.push(m.clone()),
                }
            }
            if found.len() as u64 > u64::from(plan.cap.limit) {
                return Err(JobError::InvalidRequest(format!(
                    "the selection has {} candidates, over the plan's cap of {} ({}); select fewer",
                    found.len(),
                    plan.cap.limit,
                    plan.cap.explanation
                )));
            }
            found
        }
    };
    if !chosen.is_empty() {
        let sent =
            super::enqueue::queue_candidates(store, queue, &plan, chosen, &gate, Some(actor), now)
                .await?;
        report.queued += sent.enqueued as u32;
        report.already_queued += sent.already_queued as u32;
        report.waiting_for_notice = sent.waiting_for_notice;
    }
    append_once(
        store,
        AuditEntry {
            id: AuditEntryId::unique("approve"),
            org_id: plan.org_id.clone(),
            at: now,
            actor: actor.to_owned(),
            event: AuditEvent::PlanApproved {
                plan_id,
                queued: report.queued,
                selection: matches!(selection, Selection::Members(_)),
            },
        },
    )
    .await?;
    tracing::info!(plan = %plan_id, queued = report.queued, already = report.already_queued, waiting_for_notice = report.waiting_for_notice.len(), %actor, "plan approved");
    Ok(report)
}

/// Rejects candidates of the plan: each gets a reclaim record that ends `skipped` (rejected by `actor`), so
/// neither an approval nor a redelivered message reclaims them under this plan. Returns how many were rejected
/// now; a candidate already queued, done or rejected is left as it is.
pub async fn reject_candidates(
    store: &dyn SubscriptionStore,
    plan_id: PlanId,
    members: &[MemberId],
    actor: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u32, JobError> {
    let actor = required_actor(actor)?;
    let why = why.trim();
    if why.is_empty() {
        return Err(JobError::InvalidRequest(
            "a rejection needs a reason; it ends up in the audit log".into(),
        ));
    }
    let plan = store
        .get_plan_header(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    let mut rejected = 0;
    for m in members {
        let Some(c) = store.get_plan_candidate(plan_id, m).await? else {
            return Err(JobError::NotACandidate {
                plan_id,
                member_id: m.clone(),
            });
        };
        let record = ReclaimRecord::pending(
            plan_id,
            plan.org_id.clone(),
            c.member_id.clone(),
            c.email.clone(),
            now,
        );
        let (_, created) = store.create_reclaim_record(&record).await?;
        if !created {
            continue;
        }
        let outcome = ReclaimOutcome::Skipped {
            reason: SkipReason::RejectedByAdmin {
                by: actor.to_owned(),
                why: why.to_owned(),
            },
        };
        match store
            .transition_reclaim(
                plan_id,
                m,
                ReclaimState::Pending,
                &ReclaimTransition {
                    to: ReclaimState::Skipped,
                    scim_user_id: None,
                    outcome: Some(outcome),
                    at: now,
                },
            )
            .await
        {
            Ok(_) => {}
            // A worker picked it up in between (it was queued by someone else): that is its outcome now.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
        append_once(
            store,
            AuditEntry {
                id: AuditEntryId::parse(&format!("reject/{plan_id}/{m}"))?,
                org_id: plan.org_id.clone(),
                at: now,
                actor: actor.to_owned(),
                event: AuditEvent::CandidateRejected {
                    plan_id,
                    member_id: m.clone(),
                    email: c.email,
                    why: why.to_owned(),
                },
            },
        )
        .await?;
        rejected += 1;
    }
    Ok(rejected)
}

/// The plan's header if it is still the org's latest plan; an approval of an older plan has lapsed.
async fn latest_plan_or_refuse(
    store: &dyn SubscriptionStore,
    plan_id: PlanId,
) -> Result<PlanHeader, JobError> {
    let plan = store
        .get_plan_header(plan_id)
        .await?
        .ok_or(JobError::PlanNotFound { plan_id })?;
    if let Some(latest) = store.latest_plan_header(&plan.org_id).await?
        && latest.plan_id != plan_id
    {
        return Err(JobError::InvalidRequest(format!(
            "plan {plan_id} was replaced by plan {} (made {}); an approval covers one plan only. Review and \
             approve the new plan",
            latest.plan_id,
            latest.created_at.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    Ok(plan)
}

fn required_actor(actor: &str) -> Result<&str, JobError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(JobError::InvalidRequest(
            "an approval needs who is approving; it ends up in the audit log".into(),
        ));
    }
    Ok(actor)
}
