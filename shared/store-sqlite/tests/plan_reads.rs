//! A reclaim message reads the plan's header, its own candidate and the org's latest plan header, not the plan: its cost does not grow with
//! the plan. Measured with the store's plan read counter, against the sandbox.

mod common;

use common::{assert_reclaimed, enqueue, reclaim_with};
use miro_sam_core::domain::{Email, MemberId, PlanId};
use miro_sam_core::jobs::ReclaimOptions;
use miro_sam_core::plan::{ReclaimPlan, candidate_order};
use miro_sam_core::ports::PlanStore;

/// `plan` under a new id with `extra` made-up candidates (ids and emails Miro never issued) added.
fn grown(plan: &ReclaimPlan, extra: usize) -> ReclaimPlan {
    let mut p = plan.clone();
    p.plan_id = PlanId::new();
    // Each grown plan is the org's newest, as a reclaim needs its plan to be (older plans' approvals lapse).
    p.created_at = plan.created_at + chrono::Duration::seconds(1 + extra as i64);
    for i in 0..extra {
        let mut c = plan.candidates[0].clone();
        c.member_id = MemberId::parse(&format!("9{i:018}")).unwrap();
        c.email = Email::parse(&format!("padding{i}@example.invalid")).unwrap();
        p.candidates.push(c);
    }
    p.candidates.sort_by(candidate_order);
    p.totals.candidates = p.candidates.len() as u32;
    p.cap.candidates = p.totals.candidates;
    p
}

#[tokio::test]
async fn a_reclaim_message_reads_three_plan_rows_whatever_the_plan_size() {
    let w = common::world(60).await;
    w.set_live_policy().await;
    let base = w.download_and_plan().await;
    let opts = ReclaimOptions::default();
    let mut per_message = Vec::new();
    for (extra, member) in [(0, 0), (5_000, 1)] {
        let plan = grown(&base, extra);
        w.store.put_plan(&plan).await.unwrap();
        let member = &base.candidates[member].member_id;
        let before = w.store.plan_reads();
        let r = reclaim_with(&w, plan.plan_id, member, &opts)
            .await
            .expect("reclaimed");
        assert_reclaimed(&r.outcome);
        let after = w.store.plan_reads();
        per_message.push((after.rows - before.rows, after.bytes - before.bytes));
    }
    assert_eq!(
        (per_message[0].0, per_message[1].0),
        (3, 3),
        "its plan's header, its candidate and the org's latest header (is the approval still current?) only"
    );
    assert!(
        per_message[1].1 < 8 * 1024,
        "a few KiB, not the plan: {per_message:?}"
    );

    // The enqueue job pages: it never holds more than a page of the plan, and queues everyone once.
    let plan = grown(&base, 1_234);
    w.store.put_plan(&plan).await.unwrap();
    let report = enqueue(&w, plan.plan_id).await;
    assert_eq!(report.enqueued, plan.candidates.len());
    let again = enqueue(&w, plan.plan_id).await;
    assert_eq!(
        (again.enqueued, again.already_queued),
        (0, plan.candidates.len())
    );
}
