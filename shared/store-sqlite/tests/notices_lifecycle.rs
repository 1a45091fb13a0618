//! The notice lifecycle over simulated days on a real (in-memory) SQLite store: plan each morning, run the
//! notices, and check who was told, reminded, kept, dropped out and became due, that a re-run day sends nothing
//! twice, and what the audit log and timelines say. The mailer records what it is handed; its real adapters are
//! tested against a real SMTP server and SES on the local AWS API in their own crates.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use miro_client::Member;
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::domain::{OrgId, PlanId, Subscription};
use miro_sam_core::hold::HoldSource;
use miro_sam_core::notices::{
    CycleRef, KeepOutcome, NoKeepLinks, NoticeBlock, NoticeDaySummary, NoticeDeps, NoticeError,
    NoticeRecord, NoticeState, SEND_CLAIM_TTL, keep_seat, notice_digest, reclaim_gate,
};
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{
    AuditStore, FixedClock, MailError, MemberStore, NoticeStore, OrgStore, OutgoingEmail,
};
use miro_sam_core::timeline::MemberChange;
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::notice_world::{
    Outbox, member, member_id as id, notice_deps, org, plan_the_day, reclaiming_policy, run_day,
    seed_org, start,
};

struct World {
    store: SqliteStore,
    outbox: Arc<Outbox>,
    clock: Arc<FixedClock>,
    deps: NoticeDeps,
    org: OrgId,
    start: DateTime<Utc>,
}

fn notice_policy() -> Policy {
    Policy {
        notice_days: 7,
        reminder_days_before: vec![2],
        keep_days: 30,
        ..reclaiming_policy(1_000)
    }
}

/// Members 1-5 idle for 200 days (candidates), member 6 active yesterday.
async fn world(policy: Policy) -> World {
    let start = start();
    let store = SqliteStore::in_memory().unwrap();
    let o = org();
    let members: Vec<Member> = (1..=6)
        .map(|n| {
            let last = if n == 6 {
                start - Duration::days(1)
            } else {
                start - Duration::days(200)
            };
            member(n, last)
        })
        .collect();
    seed_org(&store, &o, &members, &policy, start).await;
    let outbox = Arc::new(Outbox::default());
    let clock = Arc::new(FixedClock::new(start));
    let deps = notice_deps(Arc::new(store.clone()), outbox.clone(), clock.clone());
    World {
        store,
        outbox,
        clock,
        deps,
        org: o,
        start,
    }
}

impl World {
    /// Morning of day `d`: plan, then run the notices on that plan.
    async fn day(&self, d: i64) -> (PlanId, Result<NoticeDaySummary, NoticeError>) {
        let now = self.start + Duration::days(d);
        self.clock.set(now);
        let plan_id = plan_the_day(&self.store, &self.org, now).await;
        (plan_id, self.run(plan_id).await)
    }

    async fn run(&self, plan_id: PlanId) -> Result<NoticeDaySummary, NoticeError> {
        run_day(&self.deps, &self.org, plan_id, &NoKeepLinks).await
    }

    async fn record(&self, n: u64) -> NoticeRecord {
        self.store
            .get_notice(&self.org, &id(n))
            .await
            .unwrap()
            .expect("a notice record")
    }

    async fn audit_kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self
            .store
            .list_audit(&self.org)
            .await
            .unwrap()
            .iter()
            .map(|e| e.event.kind())
            .filter(|k| !matches!(*k, "plan_created" | "policy_changed"))
            .collect();
        kinds.sort_unstable();
        kinds
    }
}

fn recipients(mails: &[OutgoingEmail]) -> Vec<String> {
    let mut to: Vec<_> = mails.iter().map(|m| m.to.to_string()).collect();
    to.sort();
    to
}

#[tokio::test]
async fn a_cycle_over_simulated_days_notifies_reminds_keeps_drops_out_and_comes_due() {
    let w = world(notice_policy()).await;
    w.outbox.refuse(
        "user5@example.com",
        MailError::Rejected {
            detail: "550 mailbox unavailable".into(),
        },
    );

    // Day 0: every candidate is told (member 5's address bounces); the active member 6 is not.
    let (plan0, summary) = w.day(0).await;
    let summary = summary.unwrap();
    assert_eq!(
        (summary.notified, summary.not_delivered),
        (4, 1),
        "{summary:?}"
    );
    let mails = w.outbox.take();
    assert_eq!(
        recipients(&mails),
        [
            "user1@example.com",
            "user2@example.com",
            "user3@example.com",
            "user4@example.com"
        ]
    );
    assert!(mails.iter().all(|m| m.text.contains("Monday 9 March 2026")));
    assert!(mails.iter().all(|m| m.text.contains("200 days")));
    let r1 = w.record(1).await;
    assert_eq!(r1.state, NoticeState::Notified);
    assert_eq!(r1.reclaim_on.to_string(), "2026-03-09");
    assert!(matches!(
        w.record(5).await.state,
        NoticeState::Bounced { .. }
    ));

    // The same day again (a redelivered message, a retry after a crash): nothing is sent twice.
    let again = w.run(plan0).await.unwrap();
    assert_eq!(
        again,
        NoticeDaySummary::default(),
        "a re-run day does nothing"
    );
    assert!(w.outbox.take().is_empty());

    // Day 1: member 2 keeps the seat; a second click answers the same.
    w.clock
        .set(w.start + Duration::days(1) + Duration::hours(3));
    let cycle = CycleRef {
        org: &w.org,
        member: &id(2),
        cycle: 1,
    };
    let now = w.start + Duration::days(1) + Duration::hours(3);
    let kept = keep_seat(&w.store, &w.store, cycle.clone(), now)
        .await
        .unwrap();
    let KeepOutcome::Kept { hold_until } = kept else {
        panic!("kept at once without keep_needs_approval: {kept:?}")
    };
    assert_eq!(hold_until, now + Duration::days(30), "keep_days");
    assert_eq!(
        keep_seat(&w.store, &w.store, cycle, now + Duration::minutes(1))
            .await
            .unwrap(),
        kept
    );
    let hold = w
        .store
        .get_hold(&w.org, &id(2))
        .await
        .unwrap()
        .expect("a hold");
    assert_eq!(hold.source, HoldSource::Kept);
    assert_eq!(hold.expires_at, hold_until);

    // Day 3: member 3 used Miro again and drops out; member 2 is held, so the plan excludes them.
    let back = Subscription::from_member(
        &w.org,
        &member(3, w.start + Duration::days(3) - Duration::hours(1)),
        w.start + Duration::days(3),
    )
    .unwrap();
    w.store.upsert_members(&w.org, &[back]).await.unwrap();
    let (_, summary) = w.day(3).await;
    let summary = summary.unwrap();
    assert_eq!(summary.dropped_out, 1, "{summary:?}");
    assert_eq!(summary.notified + summary.reminded, 0);
    assert!(matches!(
        w.record(3).await.state,
        NoticeState::DroppedOut { .. }
    ));
    assert!(matches!(w.record(2).await.state, NoticeState::Kept { .. }));

    // What the admins' digest says now.
    let digest = notice_digest(&w.store, &w.org, w.start + Duration::days(3))
        .await
        .unwrap();
    assert_eq!(
        digest.line("Acme"),
        "Acme: 2 seats will be reclaimed on 2026-03-09; 1 kept; 1 notice did not reach the member \
         (not reclaimed without notice)."
    );

    // Day 5, two days before: the reminder, once.
    let (plan5, summary) = w.day(5).await;
    assert_eq!(summary.unwrap().reminded, 2);
    let mails = w.outbox.take();
    assert_eq!(
        recipients(&mails),
        ["user1@example.com", "user4@example.com"]
    );
    assert!(mails.iter().all(|m| m.subject.starts_with("Reminder:")));
    assert_eq!(w.run(plan5).await.unwrap(), NoticeDaySummary::default());
    assert_eq!(w.record(1).await.state, NoticeState::Reminded);
    assert_eq!(
        reclaim_gate(&notice_policy(), Some(&w.record(1).await)),
        Err(NoticeBlock::NotYetDue {
            reclaim_on: w.record(1).await.reclaim_on
        })
    );

    // Day 7, the reclaim date: still candidates, so due; the bounced member is not.
    let (_, summary) = w.day(7).await;
    assert_eq!(summary.unwrap().due, 2);
    assert!(w.outbox.take().is_empty(), "nobody is told anything new");
    assert_eq!(
        reclaim_gate(&notice_policy(), Some(&w.record(1).await)),
        Ok(())
    );
    assert_eq!(
        reclaim_gate(&notice_policy(), Some(&w.record(4).await)),
        Ok(())
    );
    assert!(matches!(
        reclaim_gate(&notice_policy(), Some(&w.record(5).await)),
        Err(NoticeBlock::Bounced { .. })
    ));
    assert!(reclaim_gate(&notice_policy(), Some(&w.record(2).await)).is_err());

    // Every step is in the audit log, once.
    assert_eq!(
        w.audit_kinds().await,
        [
            "kept",
            "notice_due",
            "notice_due",
            "notice_ended",
            "notice_not_delivered",
            "notice_sent",
            "notice_sent",
            "notice_sent",
            "notice_sent",
            "reminder_sent",
            "reminder_sent",
        ]
    );
    let audit = w.store.list_audit(&w.org).await.unwrap();
    let kept_entry = audit
        .iter()
        .find(|e| matches!(e.event, AuditEvent::Kept { .. }))
        .unwrap();
    assert_eq!(kept_entry.actor, "user2@example.com", "the member kept it");

    // And on the timelines: told, reminded; kept.
    let t1 = w
        .store
        .list_member_events(&w.org, &id(1), None, 50)
        .await
        .unwrap();
    assert!(
        t1.iter()
            .any(|e| matches!(e.change, MemberChange::Notified { plan_id } if plan_id == plan0))
    );
    assert!(
        t1.iter()
            .any(|e| matches!(e.change, MemberChange::Reminded { days_before: 2, .. }))
    );
    let t2 = w
        .store
        .list_member_events(&w.org, &id(2), None, 50)
        .await
        .unwrap();
    assert!(
        t2.iter()
            .any(|e| matches!(e.change, MemberChange::Kept { until } if until == hold_until))
    );
}

#[tokio::test]
async fn a_send_cut_off_mid_way_is_never_sent_again_and_never_comes_due() {
    let w = world(notice_policy()).await;
    w.outbox.refuse(
        "user1@example.com",
        MailError::Unknown {
            detail: "connection reset after DATA".into(),
        },
    );
    let (_, summary) = w.day(0).await;
    assert_eq!(summary.unwrap().not_delivered, 1);
    assert_eq!(w.record(1).await.state, NoticeState::Unconfirmed);
    w.outbox.accept_all();
    for d in 1..=8 {
        let (_, s) = w.day(d).await;
        s.unwrap();
    }
    assert!(
        !w.outbox
            .take()
            .iter()
            .any(|m| m.to.as_str() == "user1@example.com" && !m.subject.starts_with("Reminder")),
        "no second notice"
    );
    assert_eq!(w.record(1).await.state, NoticeState::Unconfirmed);
    assert_eq!(
        reclaim_gate(&notice_policy(), Some(&w.record(1).await)),
        Err(NoticeBlock::Unconfirmed)
    );
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_worker_goes_stale_and_is_not_resent() {
    let w = world(notice_policy()).await;
    let plan_id = plan_the_day(&w.store, &w.org, w.start).await;
    // A worker claimed member 1's notice, then died before sending or confirming.
    let claim = NoticeRecord {
        org_id: w.org.clone(),
        member_id: id(1),
        email: miro_sam_core::Email::parse("user1@example.com").unwrap(),
        cycle: 1,
        version: 1,
        state: NoticeState::Sending { since: w.start },
        plan_id,
        days_inactive: 200,
        notified_on: w.start.date_naive(),
        reclaim_on: w.start.date_naive() + Duration::days(7),
        reminders: vec![],
        updated_at: w.start,
    };
    w.store.put_notice(&claim, None).await.unwrap();
    // Within the claim's time another run leaves it to its sender.
    w.clock.set(w.start + Duration::minutes(5));
    let s = w.run(plan_id).await.unwrap();
    assert_eq!(s.notified, 4, "the other candidates are told: {s:?}");
    assert!(!recipients(&w.outbox.take()).contains(&"user1@example.com".to_owned()));
    assert!(matches!(
        w.record(1).await.state,
        NoticeState::Sending { .. }
    ));
    // Past it, the claim is marked unconfirmed, and nothing is sent.
    w.clock.set(w.start + SEND_CLAIM_TTL + Duration::minutes(1));
    let s = w.run(plan_id).await.unwrap();
    assert_eq!((s.notified, s.not_delivered), (0, 1), "{s:?}");
    assert!(w.outbox.take().is_empty());
    assert_eq!(w.record(1).await.state, NoticeState::Unconfirmed);
}

#[tokio::test]
async fn a_misconfigured_channel_stops_the_run_and_the_next_run_sends_once() {
    let w = world(notice_policy()).await;
    for n in 1..=5 {
        w.outbox.refuse(
            &format!("user{n}@example.com"),
            MailError::Misconfigured {
                detail: "sender identity not verified".into(),
            },
        );
    }
    let (plan, r) = w.day(0).await;
    let err = r.unwrap_err();
    assert!(
        matches!(err, NoticeError::Mail(MailError::Misconfigured { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("Fix the mail settings"), "{err}");
    assert!(matches!(
        w.record(1).await.state,
        NoticeState::SendFailed { .. }
    ));
    assert!(
        w.store.get_notice(&w.org, &id(2)).await.unwrap().is_none(),
        "the run stopped at the first failure"
    );
    w.outbox.accept_all();
    let s = w.run(plan).await.unwrap();
    assert_eq!(s.notified, 5, "{s:?}");
    assert_eq!(w.outbox.take().len(), 5, "each member once");
}

#[tokio::test]
async fn nobody_is_told_under_a_dry_run_policy_or_while_paused() {
    let w = world(Policy {
        dry_run: true,
        ..notice_policy()
    })
    .await;
    let (_, s) = w.day(0).await;
    let s = s.unwrap();
    assert!(
        s.silenced.as_deref().unwrap_or("").contains("dry-run"),
        "{s:?}"
    );
    assert_eq!(s.notified, 0);
    assert!(w.outbox.take().is_empty());

    let w = world(notice_policy()).await;
    w.store
        .put_pause(&miro_sam_core::pause::OrgPause {
            org_id: w.org.clone(),
            reason: "license audit".into(),
            paused_by: "ops".into(),
            paused_at: w.start,
        })
        .await
        .unwrap();
    let (_, s) = w.day(0).await;
    let s = s.unwrap();
    assert!(
        s.silenced
            .as_deref()
            .unwrap_or("")
            .contains("license audit"),
        "{s:?}"
    );
    assert!(w.outbox.take().is_empty());
}

#[tokio::test]
async fn the_run_refuses_a_plan_that_is_not_todays_latest() {
    let w = world(notice_policy()).await;
    let (plan0, _) = w.day(0).await;
    w.outbox.take();
    w.clock.set(w.start + Duration::days(1));
    let err = w.run(plan0).await.unwrap_err();
    assert!(matches!(err, NoticeError::StalePlan { .. }), "{err}");
    assert!(err.to_string().contains("plan again today"), "{err}");
    let (_, r) = w.day(1).await;
    r.unwrap();
    let err = w.run(plan0).await.unwrap_err();
    assert!(matches!(err, NoticeError::NotLatestPlan { .. }), "{err}");
}
