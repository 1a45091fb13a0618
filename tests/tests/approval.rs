//! The approval gate and the queued undo, end to end on the local AWS API: the scheduled run only plans when
//! the policy requires approval; an approval queues exactly what it covers and lapses with a newer plan; an undo
//! queued by someone without the SCIM token is carried out by the reclaim worker. The sandbox's SCIM log judges.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::jobs::{self, ApprovalReport, JobError, Selection};
use miro_sam_core::policy::{Approval, Policy};
use miro_sam_core::reclaim::{ReclaimOutcome, ReclaimState, SkipReason};
use miro_sam_testkit::world::audit_kinds;
use miro_sam_tests::*;
use miro_sandbox::ScimOp;

fn scim_ops(w: &World, op: ScimOp) -> BTreeSet<String> {
    w.scim_ops(op).into_iter().collect()
}

fn needs_approval() -> Policy {
    Policy {
        approval: Approval::Required,
        ..live_policy()
    }
}

async fn run_worker(w: &World) {
    w.reclaim_queued("worker").await;
}

/// The admin approves `members` of `plan_id` at `now`.
async fn approve(
    w: &World,
    plan_id: PlanId,
    members: Vec<MemberId>,
    now: DateTime<Utc>,
) -> Result<ApprovalReport, JobError> {
    jobs::approve_plan(
        w.rt.deps.store.as_ref(),
        w.rt.adapters.require_queue().unwrap(),
        plan_id,
        &Selection::Members(members),
        "admin@acme.example",
        now,
    )
    .await
}

#[tokio::test]
async fn with_approval_required_the_run_only_plans_and_an_approval_queues_exactly_its_selection() {
    let w = connected_world(200, needs_approval()).await;

    let (run, _) = w.daily_run().await;
    let o = &run.orgs[0];
    assert!(o.candidates >= 3, "the synthetic org has candidates: {o:?}");
    assert_eq!(o.enqueued, 0, "nothing is queued before an approval");
    let why = o.not_queued_because.clone().unwrap_or_default();
    assert!(why.contains("requires approval"), "{why}");
    assert!(!o.needs_action, "waiting for a person is not an alarm");
    assert!(w.drain_queue().await.is_empty());
    assert!(scim_ops(&w, ScimOp::Deactivate).is_empty());

    let store = w.rt.deps.store.as_ref();
    let plan_id = o.plan_id.unwrap();
    let page = store.list_plan_candidates(plan_id, None, 3).await.unwrap();
    let chosen: Vec<MemberId> = page.iter().map(|c| c.member_id.clone()).collect();
    let stranger = MemberId::parse("42").unwrap();
    let mut selection = chosen.clone();
    selection.push(stranger.clone());
    let now = w.rt.deps.clock.now();
    let report = approve(&w, plan_id, selection, now).await.unwrap();
    assert_eq!(report.queued, 3);
    assert_eq!(report.not_candidates, vec![stranger]);

    // Approving the same selection again queues nothing new.
    let again = approve(&w, plan_id, chosen.clone(), now).await.unwrap();
    assert_eq!((again.queued, again.already_queued), (0, 3));

    run_worker(&w).await;
    let expected: BTreeSet<String> = chosen.iter().map(|m| m.to_string()).collect();
    assert_eq!(scim_ops(&w, ScimOp::Deactivate), expected);
    let approvals: Vec<_> = store
        .list_audit(&w.org)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, AuditEvent::PlanApproved { .. }))
        .collect();
    assert_eq!(approvals.len(), 2);
    assert!(approvals.iter().all(|e| e.actor == "admin@acme.example"));
}

#[tokio::test]
async fn an_approval_lapses_when_a_newer_plan_replaces_its_plan() {
    let w = connected_world(150, needs_approval()).await;
    let store = w.rt.deps.store.as_ref();
    let now = w.rt.deps.clock.now();

    let (run, _) = w.daily_run().await;
    let old = store
        .get_plan(run.orgs[0].plan_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(old.candidates.len() >= 2, "{:?}", run.orgs[0]);
    let first = old.candidates[0].member_id.clone();
    let second = old.candidates[1].member_id.clone();
    // Approved and queued under the old plan, then a newer plan arrives before the worker runs.
    approve(&w, old.plan_id, vec![first.clone()], now)
        .await
        .unwrap();
    let later = w.rt.deps.clock.now() + chrono::Duration::seconds(1);
    let newer = jobs::plan_org(store, &w.org, "test", later).await.unwrap();

    let refused = approve(&w, old.plan_id, vec![second], now)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, JobError::InvalidRequest(ref m) if m.contains("was replaced by plan")),
        "{refused}"
    );

    run_worker(&w).await;
    assert!(
        scim_ops(&w, ScimOp::Deactivate).is_empty(),
        "the lapsed approval deactivated nobody"
    );
    let rec = store
        .get_reclaim_record(old.plan_id, &first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, ReclaimState::Skipped);
    assert!(
        matches!(
            rec.outcome,
            Some(ReclaimOutcome::Skipped { reason: SkipReason::PlanSuperseded { by_plan } }) if by_plan == newer.plan_id
        ),
        "{:?}",
        rec.outcome
    );
}

#[tokio::test]
async fn a_queued_undo_is_carried_out_by_the_worker_and_holds_the_member() {
    let w = connected_world(150, live_policy()).await;
    let (run, _) = w.daily_run().await;
    assert!(run.orgs[0].enqueued > 0);
    run_worker(&w).await;
    let reclaimed = scim_ops(&w, ScimOp::Deactivate);
    let member = MemberId::parse(reclaimed.iter().next().unwrap()).unwrap();

    let store = w.rt.deps.store.as_ref();
    let queue = w.rt.adapters.require_queue().unwrap();
    let request = jobs::request_reactivation(
        store,
        queue,
        &w.org,
        &member,
        "admin@acme.example",
        "on parental leave, back next week",
        w.rt.deps.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(request.member_id, member);
    assert!(
        scim_ops(&w, ScimOp::Reactivate).is_empty(),
        "asking changes nothing in Miro by itself"
    );

    run_worker(&w).await;
    assert_eq!(
        scim_ops(&w, ScimOp::Reactivate),
        BTreeSet::from([member.to_string()])
    );
    let hold = store.get_hold(&w.org, &member).await.unwrap().unwrap();
    assert_eq!(hold.created_by, "admin@acme.example");
    let kinds = audit_kinds(store, &w.org).await;
    assert!(kinds.contains(&"reactivate_requested"), "{kinds:?}");
    assert!(kinds.contains(&"reactivated"), "{kinds:?}");

    // The next plan leaves the held member out.
    let plan = jobs::plan_org(store, &w.org, "test", w.rt.deps.clock.now())
        .await
        .unwrap();
    assert!(
        plan.exclusion(&member).is_some(),
        "listed as excluded (held)"
    );
    assert!(
        store
            .get_plan_candidate(plan.plan_id, &member)
            .await
            .unwrap()
            .is_none(),
        "a held member is no candidate"
    );
}
