//! The overview's "Notices" panel counts the org's notice records as the store holds them: told, reminded,
//! kept, due, reclaimed after notice, not delivered, dropped out, reclaims undone since (from the org's holds)
//! and the keep rate. More records than one store page, so the count walks the pages.

mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use miro_sam_core::domain::{Email, MemberId, PlanId};
use miro_sam_core::hold::{Hold, HoldSource};
use miro_sam_core::notices::{DropReason, NoticeRecord, NoticeState, Reminder, ReminderState};
use miro_sam_core::plan::PLAN_PAGE;
use miro_sam_core::ports::{NoticeStore, OrgStore};

#[tokio::test]
async fn the_overview_counts_the_notice_records_of_the_org() {
    let c = console(Options::members(5)).await;
    let now = c.now();
    let plan_id = PlanId::new();
    let record = |n: u64, state: NoticeState| NoticeRecord {
        org_id: c.w.org.clone(),
        // Member ids past any the sandbox hands out, so the records are the test's own.
        member_id: MemberId::parse(&(9_000_000 + n).to_string()).unwrap(),
        email: Email::parse(&format!("member{n}@example.com")).unwrap(),
        cycle: 1,
        version: 1,
        state,
        plan_id,
        days_inactive: 120,
        notified_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        reclaim_on: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        reminders: vec![],
        updated_at: now - Duration::days(5),
    };

    let b = c.signed_in_browser().await;
    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 200);
    let panel = between(&page, "aria-label=\"Notices\"", "</section>");
    assert!(panel.contains("No notice sent yet"), "{panel}");

    // A page and a bit of members told and waiting (10 of them reminded), then one of each other state.
    let waiting = PLAN_PAGE as u64 + 7;
    for n in 0..waiting {
        let mut r = record(n, NoticeState::Notified);
        if n < 10 {
            r.state = NoticeState::Reminded;
            r.reminders = vec![Reminder {
                days_before: 2,
                state: ReminderState::Sent { at: now },
            }];
        }
        c.w.store.put_notice(&r, None).await.unwrap();
    }
    let base = waiting;
    let others = [
        NoticeState::Kept {
            at: now,
            hold_until: now + Duration::days(90),
        },
        NoticeState::Kept {
            at: now,
            hold_until: now + Duration::days(90),
        },
        NoticeState::KeepRequested { at: now },
        NoticeState::Due,
        NoticeState::Due,
        NoticeState::Reclaimed { plan_id },
        NoticeState::Reclaimed { plan_id },
        NoticeState::Bounced {
            detail: "550 no such user".into(),
        },
        NoticeState::Unconfirmed,
        NoticeState::DroppedOut {
            reason: DropReason::NoLongerCandidate,
        },
        NoticeState::Sending { since: now },
    ];
    for (i, state) in others.into_iter().enumerate() {
        c.w.store
            .put_notice(&record(base + i as u64, state), None)
            .await
            .unwrap();
    }
    // The first reclaimed member (base + 5) was reactivated in Miro after the reclaim; the second was not.
    let reclaimed = record(base + 5, NoticeState::Due);
    c.w.store
        .put_hold(&Hold {
            org_id: c.w.org.clone(),
            member_id: reclaimed.member_id.clone(),
            email: reclaimed.email.clone(),
            source: HoldSource::ReactivatedInMiro,
            reason: "active again in Miro after the reclaim".into(),
            created_by: "download".into(),
            created_at: now - Duration::days(1),
            expires_at: now + Duration::days(89),
        })
        .await
        .unwrap();

    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 200);
    let panel = between(&page, "aria-label=\"Notices\"", "</section>");
    // Told: the waiting members and every state but bounced, unconfirmed and the send in flight.
    let told = waiting + 8;
    assert_eq!(cell(panel, "Told (notice delivered)"), told.to_string());
    assert_eq!(cell(panel, "Reminded"), "10");
    assert_eq!(cell(panel, "Kept (incl. requests)"), "3");
    assert_eq!(cell(panel, "Keep requests waiting"), "1");
    assert_eq!(cell(panel, "Due (waiting for approval)"), "2");
    assert_eq!(cell(panel, "Reclaimed after notice"), "2");
    assert_eq!(cell(panel, "Not delivered"), "2");
    assert_eq!(cell(panel, "Dropped out"), "1");
    assert_eq!(cell(panel, "Reactivated after reclaim"), "1");
    let rate = (3.0 * 1000.0 / told as f64).round() / 10.0;
    assert_eq!(cell(panel, "Keep rate"), format!("{rate:.1}%"));
    assert!(!panel.contains("No notice sent yet"));
}
