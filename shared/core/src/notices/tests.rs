//! The lifecycle's decisions, day by day, without a store.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miro_client::{License, Role};

use super::*;
use crate::domain::{ContentHash, Email, MemberId, OrgId, PlanId};
use crate::hold::HoldSource;
use crate::plan::{Candidate, Evidence};
use crate::policy::{ExclusionRule, ExemptionMatch, InactivityBasis, Policy};

const ON: MaySend = MaySend(true);

fn policy() -> Policy {
    Policy {
        notice_days: 7,
        reminder_days_before: vec![5, 2],
        ..Policy::default()
    }
}

fn noon(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + Duration::days(n)
}

fn candidate() -> Candidate {
    Candidate {
        member_id: MemberId::parse("42").unwrap(),
        email: Email::parse("ada@example.com").unwrap(),
        license: License::Full,
        days_inactive: 120,
        basis: InactivityBasis::LastActivity {
            at: noon(day(-120)),
        },
        reason: "no activity for 120 days".into(),
        evidence: Evidence {
            license: License::Full,
            role: Role::InternalUser,
            admin_roles: vec![],
            active: true,
            last_activity_at: None,
            license_assigned_at: None,
            content_hash: ContentHash::from_stored("00".into()),
        },
    }
}

/// A record notified on day 0, reclaim date day 7.
fn notified() -> NoticeRecord {
    NoticeRecord {
        org_id: OrgId::parse("1").unwrap(),
        member_id: MemberId::parse("42").unwrap(),
        email: Email::parse("ada@example.com").unwrap(),
        cycle: 1,
        version: 2,
        state: NoticeState::Notified,
        plan_id: PlanId::new(),
        days_inactive: 120,
        notified_on: day(0),
        reclaim_on: day(7),
        reminders: vec![],
        updated_at: noon(day(0)),
    }
}

fn with_state(state: NoticeState) -> NoticeRecord {
    NoticeRecord {
        state,
        ..notified()
    }
}

fn step_on(r: Option<&NoticeRecord>, d: i64, p: &Policy) -> Step {
    let c = candidate();
    decide(r, Standing::Candidate(&c), p, day(d), noon(day(d)), ON)
}

#[test]
fn a_new_candidate_is_told_only_when_sending_is_allowed() {
    let c = candidate();
    let p = policy();
    assert_eq!(step_on(None, 0, &p), Step::Notify { cycle: 1 });
    let silenced = decide(
        None,
        Standing::Candidate(&c),
        &p,
        day(0),
        noon(day(0)),
        MaySend(false),
    );
    assert_eq!(
        silenced,
        Step::Nothing,
        "dry run, cap or pause: nobody is told"
    );
    let off = Policy {
        notice_days: 0,
        ..policy()
    };
    assert_eq!(step_on(None, 0, &off), Step::Nothing, "notices off");
    assert_eq!(reclaim_date(&p, day(0)), day(7));
}

#[test]
fn an_ended_cycle_starts_the_next_one() {
    let r = with_state(NoticeState::DroppedOut {
        reason: DropReason::NoLongerCandidate,
    });
    assert_eq!(step_on(Some(&r), 30, &policy()), Step::Notify { cycle: 2 });
    // And a member who is not a candidate with an ended cycle is left alone.
    let s = decide(
        Some(&r),
        Standing::NotACandidate,
        &policy(),
        day(30),
        noon(day(30)),
        ON,
    );
    assert_eq!(s, Step::Nothing);
}

#[test]
fn members_who_are_no_longer_candidates_drop_out_with_the_reason() {
    let r = notified();
    let p = policy();
    let held = [ExclusionRule::Held {
        source: HoldSource::Reactivated,
        reason: "undo".into(),
        created_by: "admin".into(),
        expires_at: noon(day(90)),
    }];
    let exempt = [ExclusionRule::Exempt {
        matched: ExemptionMatch::Email(Email::parse("ada@example.com").unwrap()),
        reason: "board".into(),
        expires_at: None,
    }];
    let at = |s| decide(Some(&r), s, &p, day(3), noon(day(3)), MaySend(false));
    assert_eq!(
        at(Standing::NotACandidate),
        Step::DropOut(DropReason::NoLongerCandidate)
    );
    assert_eq!(
        at(Standing::Excluded(&held)),
        Step::DropOut(DropReason::Held)
    );
    assert_eq!(
        at(Standing::Excluded(&exempt)),
        Step::DropOut(DropReason::Exempted)
    );
    // Even a due member drops out when they became active on the reclaim date.
    let due = with_state(NoticeState::Due);
    let s = decide(
        Some(&due),
        Standing::NotACandidate,
        &p,
        day(7),
        noon(day(7)),
        ON,
    );
    assert_eq!(s, Step::DropOut(DropReason::NoLongerCandidate));
}

#[test]
fn reminders_go_out_on_their_days_then_the_cycle_is_due() {
    let p = policy();
    let mut r = notified();
    assert_eq!(step_on(Some(&r), 1, &p), Step::Nothing);
    assert_eq!(step_on(Some(&r), 2, &p), Step::Remind { days_before: 5 });
    r.reminders.push(Reminder {
        days_before: 5,
        state: ReminderState::Sent { at: noon(day(2)) },
    });
    r.state = NoticeState::Reminded;
    assert_eq!(step_on(Some(&r), 3, &p), Step::Nothing, "sent once");
    assert_eq!(step_on(Some(&r), 5, &p), Step::Remind { days_before: 2 });
    r.reminders.push(Reminder {
        days_before: 2,
        state: ReminderState::Sent { at: noon(day(5)) },
    });
    assert_eq!(step_on(Some(&r), 6, &p), Step::Nothing);
    assert_eq!(step_on(Some(&r), 7, &p), Step::MarkDue);
    assert_eq!(step_on(Some(&r), 9, &p), Step::MarkDue, "a missed day");
}

#[test]
fn a_missed_reminder_day_sends_only_the_latest_reminder() {
    let p = policy();
    let r = notified();
    // Days 2 to 5 were missed: the 5-day reminder is stale, the 2-day one is the one to send.
    assert_eq!(step_on(Some(&r), 6, &p), Step::Remind { days_before: 2 });
}

#[test]
fn a_failed_reminder_is_tried_again_and_an_undelivered_one_is_not() {
    let p = policy();
    let mut r = notified();
    r.reminders.push(Reminder {
        days_before: 5,
        state: ReminderState::SendFailed {
            error: "connection refused".into(),
        },
    });
    assert_eq!(step_on(Some(&r), 3, &p), Step::Remind { days_before: 5 });
    r.reminders[0].state = ReminderState::NotDelivered {
        detail: "bounced".into(),
    };
    assert_eq!(step_on(Some(&r), 3, &p), Step::Nothing);
}

#[test]
fn a_claim_is_left_to_its_sender_until_it_goes_stale() {
    let p = policy();
    let r = with_state(NoticeState::Sending {
        since: noon(day(0)),
    });
    let c = candidate();
    let at = |now| decide(Some(&r), Standing::Candidate(&c), &p, day(0), now, ON);
    assert_eq!(at(noon(day(0)) + Duration::minutes(5)), Step::Nothing);
    assert_eq!(at(noon(day(0)) + SEND_CLAIM_TTL), Step::MarkUnconfirmed);
    let mut r = notified();
    r.reminders.push(Reminder {
        days_before: 5,
        state: ReminderState::Sending {
            since: noon(day(2)),
        },
    });
    let s = decide(
        Some(&r),
        Standing::Candidate(&c),
        &p,
        day(2),
        noon(day(2)) + SEND_CLAIM_TTL,
        ON,
    );
    assert_eq!(s, Step::MarkReminderUndelivered { days_before: 5 });
}

#[test]
fn a_send_that_failed_before_anything_went_out_is_claimed_again() {
    let r = with_state(NoticeState::SendFailed {
        error: "connection refused".into(),
    });
    assert_eq!(step_on(Some(&r), 1, &policy()), Step::Notify { cycle: 1 });
}

#[test]
fn bounced_unconfirmed_and_requested_keeps_are_never_due_by_default() {
    let p = policy();
    for state in [
        NoticeState::Bounced {
            detail: "550".into(),
        },
        NoticeState::Unconfirmed,
        NoticeState::KeepRequested { at: noon(day(1)) },
    ] {
        let r = with_state(state);
        assert_eq!(step_on(Some(&r), 8, &p), Step::Nothing, "{:?}", r.state);
        assert!(reclaim_gate(&p, Some(&r)).is_err());
    }
    let lenient = Policy {
        reclaim_without_notice_on_bounce: true,
        ..policy()
    };
    let bounced = with_state(NoticeState::Bounced {
        detail: "550".into(),
    });
    assert_eq!(step_on(Some(&bounced), 6, &lenient), Step::Nothing);
    assert_eq!(step_on(Some(&bounced), 7, &lenient), Step::MarkDue);
    let unconfirmed = with_state(NoticeState::Unconfirmed);
    assert_eq!(step_on(Some(&unconfirmed), 7, &lenient), Step::Nothing);
}

#[test]
fn the_reclaim_gate_opens_only_on_a_due_cycle_while_notices_are_on() {
    let p = policy();
    assert_eq!(reclaim_gate(&p, None), Err(NoticeBlock::NotNotified));
    assert_eq!(
        reclaim_gate(&p, Some(&notified())),
        Err(NoticeBlock::NotYetDue { reclaim_on: day(7) })
    );
    assert_eq!(
        reclaim_gate(&p, Some(&with_state(NoticeState::Due))),
        Ok(())
    );
    let kept = with_state(NoticeState::Kept {
        at: noon(day(2)),
        hold_until: noon(day(92)),
    });
    assert_eq!(
        reclaim_gate(&p, Some(&kept)),
        Err(NoticeBlock::Ended { state: "kept" })
    );
    let off = Policy {
        notice_days: 0,
        ..policy()
    };
    assert_eq!(reclaim_gate(&off, None), Ok(()), "notices off: as before");
    let msg = reclaim_gate(&p, Some(&notified())).unwrap_err().to_string();
    assert!(msg.contains("2026-03-08"), "{msg}");
}
