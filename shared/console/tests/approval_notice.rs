//! The console's approval result with notices on (issue 12): candidates whose notice cycle is not due are not
//! queued, and the result page says how many wait and why. The cycles are written into the store as the daily
//! notice run leaves them (that run has its own tests).

mod common;
mod support;

use chrono::Duration;
use common::*;
use miro_sam_core::jobs;
use miro_sam_core::notices::{NoticeRecord, NoticeState};
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::NoticeStore;

/// Every candidate of the plan told today (reclaim date a week ahead); the first asked to keep the seat.
async fn told_today(c: &Console, plan: &ReclaimPlan) -> chrono::NaiveDate {
    let now = c.now();
    let today = now.date_naive();
    let reclaim_on = today + Duration::days(7);
    for (i, cand) in plan.candidates.iter().enumerate() {
        let record = NoticeRecord {
            org_id: c.w.org.clone(),
            member_id: cand.member_id.clone(),
            email: cand.email.clone(),
            cycle: 1,
            version: 1,
            state: if i == 0 {
                NoticeState::KeepRequested { at: now }
            } else {
                NoticeState::Notified
            },
            plan_id: plan.plan_id,
            days_inactive: 200,
            notified_on: today,
            reclaim_on,
            reminders: vec![],
            updated_at: now,
        };
        c.w.store.put_notice(&record, None).await.unwrap();
    }
    reclaim_on
}

async fn seed_with_notices(c: &Console) -> ReclaimPlan {
    c.seed().await;
    jobs::set_policy(
        &c.w.store,
        &c.w.org,
        &Policy {
            notice_days: 7,
            ..live_policy()
        },
        "test",
        c.now(),
    )
    .await
    .unwrap();
    // After the seed's plan (made on the real clock), so it is the latest.
    jobs::plan_org(&c.w.store, &c.w.org, "test", chrono::Utc::now())
        .await
        .unwrap()
}

#[tokio::test]
async fn approving_the_whole_plan_queues_nobody_whose_notice_is_not_due_and_says_why() {
    let c = console(Options::default()).await;
    let plan = seed_with_notices(&c).await;
    let reclaim_on = told_today(&c, &plan).await;
    let b = c.signed_in_browser().await;
    let (_, csrf) = c.form_page(&b, "/plans").await;

    let (status, page) = c.approve_plan(&b, plan.plan_id, &csrf).await;
    assert_eq!(status, 200, "{page}");
    let n = plan.candidates.len();
    assert!(
        page.contains(&format!(
            "Approved the whole plan: 0 candidates queued for reclaim. Each is re-checked against Miro just before \
             its seat is taken. Not queued, waiting for their notice: {n} (asked to keep the seat; reclaim date \
             {reclaim_on} not reached); approve again once their reclaim date has come."
        )),
        "{page}"
    );
    assert!(c.w.store.queued_requests(10_000).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_selection_whose_members_wait_for_their_notice_queues_only_the_due_ones() {
    let c = console(Options::default()).await;
    let plan = seed_with_notices(&c).await;
    let reclaim_on = told_today(&c, &plan).await;
    // The second candidate's reclaim date has come (the daily run marked them due).
    let due = &plan.candidates[1].member_id;
    let r = c.w.store.get_notice(&c.w.org, due).await.unwrap().unwrap();
    c.w.store
        .put_notice(&r.next(NoticeState::Due, c.now()), Some(r.version))
        .await
        .unwrap();

    let b = c.signed_in_browser().await;
    let (_, csrf) = c.form_page(&b, "/plans").await;
    let (waiting, due_id) = (plan.candidates[2].member_id.to_string(), due.to_string());
    let (status, page) = c
        .select(
            &b,
            plan.plan_id,
            &csrf,
            &[
                ("action", "approve"),
                ("member", waiting.as_str()),
                ("member", due_id.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!(
            "Approved 1 of the ticked candidates: queued for reclaim. Not queued, waiting for their notice: 1 \
             (reclaim date {reclaim_on} not reached); approve again once their reclaim date has come."
        )),
        "{page}"
    );
    let queued = c.w.store.queued_requests(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(&queued[0].reclaim().unwrap().member_id, due);
}
