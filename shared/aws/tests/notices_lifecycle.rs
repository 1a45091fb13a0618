//! The notice run on DynamoDB (moto): the same day twice sends each notice once, the reclaim date makes the
//! cycles due, and a member who came back drops out; the store under the run is the DynamoDB adapter of both
//! ports (members and plans, notice records).

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use miro_client::{License, Member, Role};
use miro_sam_core::domain::{MemberId, OrgId, Subscription};
use miro_sam_core::jobs::{plan_org_streamed, set_policy};
use miro_sam_core::notices::{
    NoKeepLinks, NoticeContext, NoticeDay, NoticeDeps, NoticeState, reclaim_gate, run_notice_day,
};
use miro_sam_core::policy::{Policy, ReclaimCap};
use miro_sam_core::ports::{
    FixedClock, MailError, Mailer, MemberStore, NoticeStore, OutgoingEmail, SentEmail,
};

#[derive(Default)]
struct Outbox(Mutex<Vec<OutgoingEmail>>);

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        self.0.lock().unwrap().push(email.clone());
        Ok(SentEmail::default())
    }
}

fn id(n: u64) -> MemberId {
    MemberId::parse(&(3_458_764_517_517_800_000u64 + n).to_string()).unwrap()
}

fn member(n: u64, last_active: chrono::DateTime<Utc>) -> Member {
    Member {
        id: id(n).to_string(),
        email: format!("user{n}@example.com"),
        active: true,
        role: Role::InternalUser,
        license: License::Full,
        license_assigned_at: Some(last_active - Duration::days(400)),
        last_activity_at: Some(last_active),
        admin_roles: vec![],
    }
}

#[tokio::test]
async fn a_notice_cycle_runs_on_dynamodb() {
    let store = Arc::new(common::fresh_store().await);
    let org = OrgId::parse("3074457345821141000").unwrap();
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap();
    let members: Vec<_> = (1..=3)
        .map(|n| {
            Subscription::from_member(&org, &member(n, start - Duration::days(150)), start).unwrap()
        })
        .collect();
    store.upsert_members(&org, &members).await.unwrap();
    let policy = Policy {
        dry_run: false,
        cap: ReclaimCap {
            max_count: Some(100),
            max_percent: None,
        },
        ..Policy::default()
    };
    set_policy(store.as_ref(), &org, &policy, "admin@example.com", start)
        .await
        .unwrap();
    let outbox = Arc::new(Outbox::default());
    let clock = Arc::new(FixedClock::new(start));
    let deps = NoticeDeps {
        store: store.clone(),
        notices: store.clone(),
        mailer: outbox.clone(),
        clock: clock.clone(),
    };
    let ctx = NoticeContext::new("Acme", "it@example.com");
    let run_day = |d: i64| {
        let (store, deps, ctx, org, clock) = (
            store.clone(),
            deps.clone(),
            ctx.clone(),
            org.clone(),
            clock.clone(),
        );
        async move {
            let now = start + Duration::days(d);
            clock.set(now);
            let header = plan_org_streamed(store.as_ref(), &org, "daily run", now)
                .await
                .unwrap();
            let day = NoticeDay {
                org: &org,
                plan_id: header.plan_id,
                context: &ctx,
                keep_links: &NoKeepLinks,
            };
            let first = run_notice_day(&deps, &day).await.unwrap();
            let again = run_notice_day(&deps, &day).await.unwrap();
            (first, again)
        }
    };

    let (first, again) = run_day(0).await;
    assert_eq!(first.notified, 3, "{first:?}");
    assert_eq!(
        again.notified + again.contended,
        0,
        "a re-run sends nothing: {again:?}"
    );
    assert_eq!(outbox.0.lock().unwrap().len(), 3);

    // Member 3 comes back on day 4; on day 7 the other two are due.
    let back = Subscription::from_member(
        &org,
        &member(3, start + Duration::days(4)),
        start + Duration::days(4),
    )
    .unwrap();
    store.upsert_members(&org, &[back]).await.unwrap();
    let (day4, _) = run_day(4).await;
    assert_eq!(day4.dropped_out, 1, "{day4:?}");
    let (day5, _) = run_day(5).await;
    assert_eq!(day5.reminded, 2, "{day5:?}");
    let (day7, _) = run_day(7).await;
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
    assert_eq!(
        outbox.0.lock().unwrap().len(),
        5,
        "3 notices and 2 reminders, each once"
    );
}
