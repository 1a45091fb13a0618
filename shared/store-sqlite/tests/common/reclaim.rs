//! The reclaim steps the sandbox tests of the jobs and of the safety rules take again and again, over the test
//! kit's world: each written once, so that a test reads as what it checks.

use chrono::{DateTime, Utc};
use miro_client::{ScimUser, SecretString};
use miro_sam_core::domain::{MemberId, PlanId, Subscription};
use miro_sam_core::jobs::{
    self, JobError, MemberRef, PlanQueueReport, ReactivateResult, ReclaimOptions, ReclaimResult,
};
use miro_sam_core::plan::{Candidate, PlanRefusal, ReclaimPlan};
use miro_sam_core::ports::{MemberStore, PlanStore};
use miro_sam_core::reclaim::{ReclaimOutcome, ReclaimRecord};
use miro_sam_core::report::{Report, ReportConfig};
use miro_sam_testkit::world::World;

/// An operator's real reclaim: not a dry run, no approval.
pub fn live() -> ReclaimOptions {
    ReclaimOptions {
        override_dry_run: false,
        actor: "it-ops@acme-corp.example".into(),
        approved_by: None,
    }
}

/// A 300-member world under the live policy, downloaded and planned.
pub async fn live_world() -> (World, ReclaimPlan) {
    let w = miro_sam_testkit::world::world(300).await;
    w.set_live_policy().await;
    let plan = w.download_and_plan().await;
    (w, plan)
}

/// Queues the plan's candidates for the worker, as an approval does.
pub async fn enqueue(w: &World, plan_id: PlanId) -> PlanQueueReport {
    jobs::enqueue_plan(
        w.deps.store.as_ref(),
        &w.store,
        plan_id,
        false,
        w.deps.clock.now(),
    )
    .await
    .expect("the plan is queued")
}

/// The reclaim job for `member` of `plan_id` with `opts`, under the world's dependencies.
pub async fn reclaim_with(
    w: &World,
    plan_id: PlanId,
    member: &MemberId,
    opts: &ReclaimOptions,
) -> Result<ReclaimResult, JobError> {
    jobs::reclaim_member(&w.deps, plan_id, member, opts).await
}

/// The [`live`] reclaim of `member`, which the job must accept (its outcome may still be a skip or a failure).
pub async fn reclaim(w: &World, plan_id: PlanId, member: &MemberId) -> ReclaimResult {
    reclaim_with(w, plan_id, member, &live())
        .await
        .expect("the reclaim job runs")
}

/// Why the plan refused the reclaim of `member` with `opts`; panics on any other answer.
pub async fn refusal(
    w: &World,
    plan_id: PlanId,
    member: &MemberId,
    opts: &ReclaimOptions,
) -> PlanRefusal {
    match reclaim_with(w, plan_id, member, opts).await {
        Err(JobError::Refused(why)) => why,
        other => panic!("expected the plan to refuse, got {other:?}"),
    }
}

/// Undoes the reclaim of `who` for `actor`, who says `why`.
pub async fn reactivate(
    w: &World,
    who: &MemberRef,
    actor: &str,
    why: &str,
) -> Result<ReactivateResult, JobError> {
    jobs::reactivate(&w.deps, &w.org, who, actor, why).await
}

pub fn assert_reclaimed(outcome: &ReclaimOutcome) {
    assert!(
        matches!(outcome, ReclaimOutcome::Reclaimed { .. }),
        "expected a reclaim, got {outcome:?}"
    );
}

/// The reclaim record of `member` in `plan_id`, which must exist.
pub async fn record(store: &dyn PlanStore, plan_id: PlanId, member: &MemberId) -> ReclaimRecord {
    store
        .get_reclaim_record(plan_id, member)
        .await
        .expect("the record reads")
        .expect("a reclaim record")
}

/// A fresh record of the candidate `c`, as a reclaim attempt starts it at `now`.
pub fn pending(w: &World, plan_id: PlanId, c: &Candidate, now: DateTime<Utc>) -> ReclaimRecord {
    ReclaimRecord::pending(
        plan_id,
        w.org.clone(),
        c.member_id.clone(),
        c.email.clone(),
        now,
    )
}

/// The stored member whose Miro id is `id`, which must exist.
pub async fn stored_member(w: &World, id: &str) -> Subscription {
    w.store
        .get_member(&w.org, &MemberId::parse(id).expect("a member id"))
        .await
        .expect("the member reads")
        .expect("a stored member")
}

/// The SCIM user Miro has for `email`, which must exist.
pub async fn scim_user(w: &World, scim: &SecretString, email: &str) -> ScimUser {
    w.deps
        .client
        .scim_find_user_by_email(scim, email)
        .await
        .expect("SCIM answers")
        .expect("a SCIM user")
}

/// The org's report of today with `config`.
pub async fn report_today(w: &World, config: &ReportConfig) -> Report {
    let today = Utc::now().date_naive();
    jobs::org_report(
        w.deps.store.as_ref(),
        &w.org,
        today,
        today,
        config,
        Utc::now(),
    )
    .await
    .expect("the report")
}
