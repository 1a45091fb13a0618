//! A bounce that arrives after the channel accepted the message: SES took the notice, and the recipient's server
//! refused it later. A refusal at send time is recorded by the run itself ([`super::run_notice_day`]); this is
//! the same record for the late one, so a member whose notice never arrived is not reclaimed on it (unless the
//! policy says `reclaim_without_notice_on_bounce`).
//!
//! Which message bounced comes from its reference ([`super::message`] builds it as
//! `{org}/{member}/{cycle}/notice` or `.../reminder-{days}`); the SES tag carries it with `-` for `/`
//! ([`parse_notice_reference`] reads both). A bounce of another cycle, or of a cycle that has ended, changes
//! nothing: the outcome says why.

use chrono::{DateTime, Utc};

use super::error::NoticeError;
use super::keep::CycleRef;
use super::message::MessageKind;
use super::record::{NoticeRecord, NoticeState, ReminderState};
use super::run::{NOTICE_ACTOR, append_once, notice_audit_id};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{MemberId, OrgId};
use crate::error::StoreError;
use crate::ports::SubscriptionStore;

/// Which message of which cycle: what a notice's reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRef {
    pub org: OrgId,
    pub member: MemberId,
    pub cycle: u32,
    pub message: MessageKind,
}

impl NoticeRef {
    fn cycle_ref(&self) -> CycleRef<'_> {
        CycleRef {
            org: &self.org,
            member: &self.member,
            cycle: self.cycle,
        }
    }
}

/// A reference (or SES tag value) that names no notice of miro-sam's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{value}' is not a miro-sam notice reference (expected org/member/cycle/notice or \
     org/member/cycle/reminder-DAYS, with / or -); the message was not one of miro-sam's notices, or its tag \
     was changed"
)]
pub struct BadReference {
    pub value: String,
}

/// Reads a notice reference: `{org}/{member}/{cycle}/notice` or `{org}/{member}/{cycle}/reminder-{days}`, with
/// `/` or `-` between the parts (the SES tag value has `-`). Unambiguous because org and member ids are digits.
pub fn parse_notice_reference(value: &str) -> Result<NoticeRef, BadReference> {
    let bad = || BadReference {
        value: value.to_owned(),
    };
    let parts: Vec<&str> = value.trim().split(['/', '-']).collect();
    let (org, member, cycle, message) = match parts.as_slice() {
        [org, member, cycle, "notice"] => (org, member, cycle, MessageKind::Notice),
        [org, member, cycle, "reminder", days] => {
            let days_before = days.parse().map_err(|_| bad())?;
            (org, member, cycle, MessageKind::Reminder { days_before })
        }
        _ => return Err(bad()),
    };
    let cycle: u32 = cycle.parse().map_err(|_| bad())?;
    if cycle == 0 {
        return Err(bad());
    }
    Ok(NoticeRef {
        org: OrgId::parse(org).map_err(|_| bad())?,
        member: MemberId::parse(member).map_err(|_| bad())?,
        cycle,
        message,
    })
}

/// What a late bounce did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceOutcome {
    /// The notice bounced: the cycle is now `Bounced`, so the member is not reclaimed on it.
    NoticeBounced,
    /// A reminder bounced: that reminder is `NotDelivered`; the notice was delivered, so the cycle goes on.
    ReminderNotDelivered { days_before: u32 },
    /// The bounce was recorded before (a redelivered event); nothing changed.
    AlreadyRecorded,
    /// Nothing changed, and why (another cycle, an ended cycle, a message never sent).
    Ignored { why: String },
}

/// Records that the message `notice` names bounced, with the receiving server's `detail`. Safe to repeat.
pub async fn record_bounce(
    store: &dyn SubscriptionStore,
    notice: &NoticeRef,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<BounceOutcome, NoticeError> {
    let cycle = notice.cycle_ref();
    for _ in 0..3 {
        let Some(r) = store.get_notice(cycle.org, cycle.member).await? else {
            return Ok(ignored(notice, "the member has no notice record".into()));
        };
        if r.cycle != notice.cycle {
            return Ok(ignored(
                notice,
                format!(
                    "it belongs to cycle {}, and the member's current cycle is {}",
                    notice.cycle, r.cycle
                ),
            ));
        }
        if r.state.is_ended() {
            return Ok(ignored(
                notice,
                format!("the cycle has ended ({})", r.state.kind()),
            ));
        }
        let step = match notice.message {
            MessageKind::Notice => notice_bounced(&r, detail, now),
            MessageKind::Reminder { days_before } => reminder_bounced(&r, days_before, detail, now),
        };
        let next = match step {
            Step::Write(next) => next,
            Step::Done(outcome) => {
                // A crash between the record and its audit entry: the redelivery writes the entry.
                if outcome == BounceOutcome::AlreadyRecorded {
                    audit(store, &r, notice.message, detail, now).await?;
                }
                return Ok(outcome);
            }
        };
        match store.put_notice(&next, Some(r.version)).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
        audit(store, &r, notice.message, detail, now).await?;
        let outcome = match notice.message {
            MessageKind::Notice => BounceOutcome::NoticeBounced,
            MessageKind::Reminder { days_before } => {
                BounceOutcome::ReminderNotDelivered { days_before }
            }
        };
        tracing::warn!(org = %r.org_id, member = %r.member_id, cycle = r.cycle, ?outcome,
            "a sent notice bounced; recorded");
        return Ok(outcome);
    }
    Err(NoticeError::Contended {
        member_id: notice.member.clone(),
    })
}

enum Step {
    Write(NoticeRecord),
    Done(BounceOutcome),
}

fn notice_bounced(r: &NoticeRecord, detail: &str, now: DateTime<Utc>) -> Step {
    match &r.state {
        // The notice went out (or is going out: the run's confirmation then finds the record moved on and
        // leaves it bounced) or was unconfirmed: the bounce says it went and did not arrive.
        NoticeState::Notified
        | NoticeState::Reminded
        | NoticeState::Due
        | NoticeState::Sending { .. }
        | NoticeState::Unconfirmed => Step::Write(r.next(
            NoticeState::Bounced {
                detail: detail.to_owned(),
            },
            now,
        )),
        NoticeState::Bounced { .. } => Step::Done(BounceOutcome::AlreadyRecorded),
        other => Step::Done(BounceOutcome::Ignored {
            why: format!(
                "the notice is {}, not sent and waiting for the reclaim date",
                other.kind()
            ),
        }),
    }
}

fn reminder_bounced(r: &NoticeRecord, days_before: u32, detail: &str, now: DateTime<Utc>) -> Step {
    let Some(reminder) = r.reminder(days_before) else {
        return Step::Done(BounceOutcome::Ignored {
            why: format!("no reminder {days_before} days before was sent in this cycle"),
        });
    };
    match reminder.state {
        ReminderState::Sent { .. } | ReminderState::Sending { .. } => {
            let mut next = r.next(r.state.clone(), now);
            for x in next
                .reminders
                .iter_mut()
                .filter(|x| x.days_before == days_before)
            {
                x.state = ReminderState::NotDelivered {
                    detail: detail.to_owned(),
                };
            }
            Step::Write(next)
        }
        ReminderState::NotDelivered { .. } => Step::Done(BounceOutcome::AlreadyRecorded),
        ReminderState::SendFailed { .. } => Step::Done(BounceOutcome::Ignored {
            why: format!("the reminder {days_before} days before was never sent"),
        }),
    }
}

fn ignored(notice: &NoticeRef, why: String) -> BounceOutcome {
    tracing::info!(org = %notice.org, member = %notice.member, cycle = notice.cycle, why = %why,
        "bounce of a notice ignored");
    BounceOutcome::Ignored { why }
}

/// `notice/{org}/{member}/{cycle}/bounce/{notice|reminder-N}`: one entry per bounced message, whatever the
/// redeliveries. The send-time refusals have their own (`not-delivered/...`): a message is refused or bounces.
async fn audit(
    store: &dyn SubscriptionStore,
    r: &NoticeRecord,
    message: MessageKind,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), NoticeError> {
    let (what, label) = match message {
        MessageKind::Notice => ("bounce/notice".to_owned(), "notice".to_owned()),
        MessageKind::Reminder { days_before } => (
            format!("bounce/reminder-{days_before}"),
            format!("reminder {days_before} days before"),
        ),
    };
    append_once(
        store,
        AuditEntry {
            id: notice_audit_id(r, &what)?,
            org_id: r.org_id.clone(),
            at: now,
            actor: NOTICE_ACTOR.to_owned(),
            event: AuditEvent::NoticeNotDelivered {
                member_id: r.member_id.clone(),
                email: r.email.clone(),
                cycle: r.cycle,
                message: label,
                detail: detail.to_owned(),
            },
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> (String, String, u32, MessageKind) {
        let r = parse_notice_reference(s).unwrap();
        (r.org.to_string(), r.member.to_string(), r.cycle, r.message)
    }

    #[test]
    fn reads_references_and_ses_tag_values() {
        let notice = ("3074".into(), "3458".into(), 2, MessageKind::Notice);
        assert_eq!(parsed("3074/3458/2/notice"), notice);
        assert_eq!(parsed("3074-3458-2-notice"), notice);
        let reminder = (
            "3074".into(),
            "3458".into(),
            12,
            MessageKind::Reminder { days_before: 3 },
        );
        assert_eq!(parsed("3074/3458/12/reminder-3"), reminder);
        assert_eq!(parsed("3074-3458-12-reminder-3"), reminder);
    }

    #[test]
    fn refuses_what_is_not_a_reference() {
        for s in [
            "",
            "digest",
            "3074-3458-2",
            "3074-3458-2-kept",
            "30a4-3458-2-notice",
            "3074-3458-x-notice",
            "3074-3458-0-notice",
            "3074-3458-2-reminder",
            "3074-3458-2-reminder-x",
            "3074-3458-2-notice-1",
            "3074--2-notice",
        ] {
            let e = parse_notice_reference(s).unwrap_err();
            assert!(
                e.to_string().contains("not a miro-sam notice reference"),
                "{s}: {e}"
            );
        }
    }
}
