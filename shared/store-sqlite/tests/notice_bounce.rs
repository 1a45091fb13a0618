//! A bounce that arrives after SES accepted the message ([`record_bounce`]) against a real SQLite store: the
//! told member's cycle becomes bounced and the reclaim gate refuses it, a reminder's bounce touches only that
//! reminder, and a bounce of another or an ended cycle changes nothing. Redelivered events change nothing twice.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::domain::{Email, MemberId, OrgId, PlanId};
use miro_sam_core::notices::{
    BounceOutcome, DropReason, MessageKind, NoticeBlock, NoticeContext, NoticeRecord, NoticeRef,
    NoticeState, Reminder, ReminderState, parse_notice_reference, reclaim_gate, record_bounce,
    render,
};
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{AuditStore, NoticeStore};
use miro_sam_sqlite::SqliteStore;

const DETAIL: &str = "ada@example.com: smtp; 550 5.1.1 user unknown";

fn org() -> OrgId {
    OrgId::parse("3074457345821141000").unwrap()
}

fn member() -> MemberId {
    MemberId::parse("3458764517517852417").unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap()
}

fn record(cycle: u32, state: NoticeState, reminders: Vec<Reminder>) -> NoticeRecord {
    NoticeRecord {
        org_id: org(),
        member_id: member(),
        email: Email::parse("ada@example.com").unwrap(),
        cycle,
        version: 1,
        state,
        plan_id: PlanId::new(),
        days_inactive: 120,
        notified_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        reclaim_on: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        reminders,
        updated_at: now() - Duration::days(1),
    }
}

async fn store_with(r: &NoticeRecord) -> SqliteStore {
    let store = SqliteStore::in_memory().expect("in-memory SQLite opens");
    store.put_notice(r, None).await.unwrap();
    store
}

/// The reference of the message as the notices build it (render), read back as the SES tag carries it.
fn reference_of(r: &NoticeRecord, kind: MessageKind) -> NoticeRef {
    let email = render(r, kind, &NoticeContext::new("Acme", "it@example.com"), None).unwrap();
    let tagged = email.reference.replace('/', "-");
    let parsed = parse_notice_reference(&tagged).unwrap();
    assert_eq!(parsed, parse_notice_reference(&email.reference).unwrap());
    parsed
}

async fn not_delivered_entries(store: &SqliteStore) -> Vec<(String, String)> {
    store
        .list_audit(&org())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            AuditEvent::NoticeNotDelivered {
                message, detail, ..
            } => Some((message, detail)),
            _ => None,
        })
        .collect()
}

fn notice_policy() -> Policy {
    Policy {
        notice_days: 7,
        ..Policy::default()
    }
}

#[tokio::test]
async fn a_told_member_whose_notice_bounced_is_bounced_and_not_reclaimed() {
    for state in [
        NoticeState::Notified,
        NoticeState::Reminded,
        NoticeState::Due,
    ] {
        let r = record(2, state.clone(), vec![]);
        let store = store_with(&r).await;
        let notice = reference_of(&r, MessageKind::Notice);
        assert_eq!(
            (notice.org.clone(), notice.member.clone(), notice.cycle),
            (org(), member(), 2)
        );

        let outcome = record_bounce(&store, &notice, DETAIL, now()).await.unwrap();
        assert_eq!(outcome, BounceOutcome::NoticeBounced, "from {state:?}");
        let after = store.get_notice(&org(), &member()).await.unwrap().unwrap();
        assert_eq!(
            after.state,
            NoticeState::Bounced {
                detail: DETAIL.into()
            }
        );
        assert_eq!(after.version, 2);
        assert_eq!(
            reclaim_gate(&notice_policy(), Some(&after)),
            Err(NoticeBlock::Bounced {
                detail: DETAIL.into()
            })
        );
        assert_eq!(
            not_delivered_entries(&store).await,
            vec![("notice".to_owned(), DETAIL.to_owned())]
        );

        // The event delivered again: nothing changes, no second entry.
        let again = record_bounce(&store, &notice, DETAIL, now() + Duration::minutes(5))
            .await
            .unwrap();
        assert_eq!(again, BounceOutcome::AlreadyRecorded);
        let unchanged = store.get_notice(&org(), &member()).await.unwrap().unwrap();
        assert_eq!(unchanged, after);
        assert_eq!(not_delivered_entries(&store).await.len(), 1);
    }
}

#[tokio::test]
async fn a_reminder_bounce_marks_only_that_reminder() {
    let sent = |days_before| Reminder {
        days_before,
        state: ReminderState::Sent { at: now() },
    };
    let r = record(3, NoticeState::Reminded, vec![sent(3), sent(1)]);
    let store = store_with(&r).await;
    let reminder = reference_of(&r, MessageKind::Reminder { days_before: 1 });

    let outcome = record_bounce(&store, &reminder, DETAIL, now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        BounceOutcome::ReminderNotDelivered { days_before: 1 }
    );
    let after = store.get_notice(&org(), &member()).await.unwrap().unwrap();
    assert_eq!(
        after.state,
        NoticeState::Reminded,
        "the notice was delivered"
    );
    assert_eq!(after.reminder(3), Some(&sent(3)));
    assert_eq!(
        after.reminder(1).unwrap().state,
        ReminderState::NotDelivered {
            detail: DETAIL.into()
        }
    );
    assert_eq!(
        not_delivered_entries(&store).await,
        vec![("reminder 1 days before".to_owned(), DETAIL.to_owned())]
    );
    assert_eq!(
        record_bounce(&store, &reminder, DETAIL, now())
            .await
            .unwrap(),
        BounceOutcome::AlreadyRecorded
    );
    assert_eq!(
        store.get_notice(&org(), &member()).await.unwrap().unwrap(),
        after
    );

    // A reminder this cycle never sent: nothing changes.
    let never = NoticeRef {
        message: MessageKind::Reminder { days_before: 5 },
        ..reminder
    };
    assert!(matches!(
        record_bounce(&store, &never, DETAIL, now()).await.unwrap(),
        BounceOutcome::Ignored { .. }
    ));
    assert_eq!(
        store.get_notice(&org(), &member()).await.unwrap().unwrap(),
        after
    );
}

#[tokio::test]
async fn a_bounce_of_another_or_an_ended_cycle_changes_nothing() {
    // The member is in cycle 4; a bounce of cycle 3's notice arrives.
    let r = record(4, NoticeState::Notified, vec![]);
    let store = store_with(&r).await;
    let old = NoticeRef {
        cycle: 3,
        ..reference_of(&r, MessageKind::Notice)
    };
    let BounceOutcome::Ignored { why } = record_bounce(&store, &old, DETAIL, now()).await.unwrap()
    else {
        panic!("a bounce of an earlier cycle is ignored");
    };
    assert!(why.contains("cycle 3") && why.contains("is 4"), "{why}");
    assert_eq!(
        store.get_notice(&org(), &member()).await.unwrap().unwrap(),
        r
    );

    for ended in [
        NoticeState::Reclaimed {
            plan_id: PlanId::new(),
        },
        NoticeState::DroppedOut {
            reason: DropReason::NoLongerCandidate,
        },
    ] {
        let r = record(2, ended, vec![]);
        let store = store_with(&r).await;
        let notice = reference_of(&r, MessageKind::Notice);
        let BounceOutcome::Ignored { why } =
            record_bounce(&store, &notice, DETAIL, now()).await.unwrap()
        else {
            panic!("a bounce of an ended cycle is ignored");
        };
        assert!(why.contains("ended"), "{why}");
        assert_eq!(
            store.get_notice(&org(), &member()).await.unwrap().unwrap(),
            r
        );
        assert!(not_delivered_entries(&store).await.is_empty());
    }

    // No record at all.
    let empty = SqliteStore::in_memory().unwrap();
    let notice = reference_of(&r, MessageKind::Notice);
    assert!(matches!(
        record_bounce(&empty, &notice, DETAIL, now()).await.unwrap(),
        BounceOutcome::Ignored { .. }
    ));
    assert!(empty.get_notice(&org(), &member()).await.unwrap().is_none());
}
