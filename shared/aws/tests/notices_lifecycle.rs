//! The notice run on DynamoDB (moto): the same day twice sends each notice once, the reclaim date makes the
//! cycles due, and a member who came back drops out; the store under the run is the DynamoDB adapter of both
//! ports (members and plans, notice records).

mod common;

use std::sync::Arc;

use chrono::Duration;
use miro_sam_core::domain::Subscription;
use miro_sam_core::notices::{NoKeepLinks, NoticeState, reclaim_gate};
use miro_sam_core::ports::{FixedClock, MemberStore, NoticeStore};
use miro_sam_testkit::notice_world::{
    Outbox, member, member_id as id, notice_deps, org, plan_the_day, reclaiming_policy, run_day,
    seed_org, start,
};

#[tokio::test]
async fn a_notice_cycle_runs_on_dynamodb() {
    let store = Arc::new(common::fresh_store().await);
    let org = org();
    let start = start();
    let members: Vec<_> = (1..=3)
        .map(|n| member(n, start - Duration::days(150)))
        .collect();
    let policy = reclaiming_policy(100);
    seed_org(store.as_ref(), &org, &members, &policy, start).await;
    let outbox = Arc::new(Outbox::default());
    let clock = Arc::new(FixedClock::new(start));
    let deps = notice_deps(store.clone(), outbox.clone(), clock.clone());
    let morning = |d: i64| {
        let (store, deps, org, clock) = (store.clone(), deps.clone(), org.clone(), clock.clone());
        async move {
            let now = start + Duration::days(d);
            clock.set(now);
            let plan_id = plan_the_day(store.as_ref(), &org, now).await;
            let first = run_day(&deps, &org, plan_id, &NoKeepLinks).await.unwrap();
            let again = run_day(&deps, &org, plan_id, &NoKeepLinks).await.unwrap();
            (first, again)
        }
    };

    let (first, again) = morning(0).await;
    assert_eq!(first.notified, 3, "{first:?}");
    assert_eq!(
        again.notified + again.contended,
        0,
        "a re-run sends nothing: {again:?}"
    );
    assert_eq!(outbox.count(), 3);

    // Member 3 comes back on day 4; on day 7 the other two are due.
    let back = Subscription::from_member(
        &org,
        &member(3, start + Duration::days(4)),
        start + Duration::days(4),
    )
    .unwrap();
    store.upsert_members(&org, &[back]).await.unwrap();
    let (day4, _) = morning(4).await;
    assert_eq!(day4.dropped_out, 1, "{day4:?}");
    let (day5, _) = morning(5).await;
    assert_eq!(day5.reminded, 2, "{day5:?}");
    let (day7, _) = morning(7).await;
    assert_eq!(day7.due, 2, "{day7:?}");
    for n in 1..=2 {
        let r = store.get_notice(&org, &id(n)).await.unwrap().unwrap();
        assert_eq!(r.state, NoticeState::Due);
        assert_eq!(reclaim_gate(&policy, Some(&r)), Ok(()));
    }
    assert!(matches!(
        store.get_notice(&org, &id(3)).await.unwrap().unwrap().state,
        NoticeState::DroppedOut { .. }
    ));
    assert_eq!(outbox.count(), 5, "3 notices and 2 reminders, each once");
}
