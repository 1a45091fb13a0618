//! What the day asks of one member's notice cycle, and whether a reclaim may go ahead. Pure: the same record,
//! standing, policy and day give the same answer, so the lifecycle is tested without a store or a clock.
//!
//! ```text
//! candidate ─▶ Sending ─▶ Notified ─▶ Reminded ─▶ Due ─▶ Reclaimed (through the approval gate)
//!                 │           │  └──────────────────┘
//!                 │           └─ keep ─▶ Kept | KeepRequested (keep_needs_approval)
//!                 ├─▶ SendFailed (nothing went out: claimed again later)
//!                 ├─▶ Bounced (due only with reclaim_without_notice_on_bounce)
//!                 └─▶ Unconfirmed (never sent again, never due)
//! any open state ─▶ DroppedOut when the member is no longer a candidate (active, exempted, held)
//! ```

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::record::{DropReason, NoticeRecord, NoticeState, ReminderState, SEND_CLAIM_TTL};
use crate::plan::Candidate;
use crate::policy::{ExclusionRule, Policy};

/// Where the member stands in the day's plan, made under the current policy.
#[derive(Debug, Clone, Copy)]
pub enum Standing<'a> {
    Candidate(&'a Candidate),
    /// Listed as excluded, by the first (strongest) rule of these.
    Excluded(&'a [ExclusionRule]),
    /// Neither: below the threshold, out of scope, or gone.
    NotACandidate,
}

impl Standing<'_> {
    /// Why a member with this standing leaves a cycle; `None` for a candidate.
    pub fn drop_reason(&self) -> Option<DropReason> {
        match self {
            Standing::Candidate(_) => None,
            Standing::Excluded(rules) => Some(match rules.first() {
                Some(ExclusionRule::Held { .. }) => DropReason::Held,
                Some(ExclusionRule::Exempt { .. } | ExclusionRule::Guardrail { .. }) => {
                    DropReason::Exempted
                }
                _ => DropReason::NoLongerCandidate,
            }),
            Standing::NotACandidate => Some(DropReason::NoLongerCandidate),
        }
    }
}

/// The one thing to do for a member today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Claim and send the notice of `cycle` (a new cycle, or the same one again after a send that failed
    /// before anything went out). The reclaim date is `today + notice_days`.
    Notify {
        cycle: u32,
    },
    /// Claim and send the reminder for `days_before`.
    Remind {
        days_before: u32,
    },
    /// The reclaim date has come and the member is still a candidate.
    MarkDue,
    /// The notice's claim is older than [`SEND_CLAIM_TTL`] without a confirmation.
    MarkUnconfirmed,
    /// The reminder's claim is older than [`SEND_CLAIM_TTL`] without a confirmation.
    MarkReminderUndelivered {
        days_before: u32,
    },
    DropOut(DropReason),
}

/// Whether today's run may send anything: notices on, the plan executable (not a dry run, within its cap) and
/// the org not paused. Telling people their seat goes when nothing will be reclaimed would be a false alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaySend(pub bool);

/// Decides today's step for one member.
pub fn decide(
    record: Option<&NoticeRecord>,
    standing: Standing<'_>,
    policy: &Policy,
    today: NaiveDate,
    now: DateTime<Utc>,
    may_send: MaySend,
) -> Step {
    let sending = may_send.0 && policy.notices_enabled();
    let open = record.filter(|r| !r.state.is_ended());
    let Some(r) = open else {
        return match standing {
            Standing::Candidate(_) if sending => Step::Notify {
                cycle: record.map_or(1, |r| r.cycle + 1),
            },
            _ => Step::Nothing,
        };
    };
    if let Some(reason) = standing.drop_reason() {
        return Step::DropOut(reason);
    }
    match &r.state {
        NoticeState::Sending { since } => {
            if now - *since >= SEND_CLAIM_TTL {
                Step::MarkUnconfirmed
            } else {
                Step::Nothing
            }
        }
        NoticeState::SendFailed { .. } if sending => Step::Notify { cycle: r.cycle },
        NoticeState::Notified | NoticeState::Reminded => {
            if today >= r.reclaim_on {
                return Step::MarkDue;
            }
            reminder_step(r, policy, today, now, sending)
        }
        NoticeState::Bounced { .. }
            if today >= r.reclaim_on && policy.reclaim_without_notice_on_bounce =>
        {
            Step::MarkDue
        }
        _ => Step::Nothing,
    }
}

/// Whether a member whose last cycle ended may start a new one on facts read at `facts_as_of`: only when those
/// facts are newer than the end. Why: a plan made before a reclaim (or a keep, or a drop-out) still lists the
/// member as a candidate until the next download sees what happened; re-running that day's notices, or planning
/// again before the next download, would otherwise tell a member whose seat was just freed (or just kept) that it
/// is about to be reclaimed.
pub fn may_open_cycle_after(ended: &NoticeRecord, facts_as_of: DateTime<Utc>) -> bool {
    ended.updated_at < facts_as_of
}

/// The reminder whose day has come most recently, unless it (or a later one) was claimed already. Reminders a
/// missed day skipped are not sent late: one message saying the date is enough.
fn reminder_step(
    r: &NoticeRecord,
    policy: &Policy,
    today: NaiveDate,
    now: DateTime<Utc>,
    sending: bool,
) -> Step {
    for rem in &r.reminders {
        if let ReminderState::Sending { since } = rem.state {
            return if now - since >= SEND_CLAIM_TTL {
                Step::MarkReminderUndelivered {
                    days_before: rem.days_before,
                }
            } else {
                Step::Nothing
            };
        }
    }
    if !sending {
        return Step::Nothing;
    }
    let days_left = (r.reclaim_on - today).num_days();
    let Some(due) = policy
        .reminders()
        .iter()
        .copied()
        .filter(|d| i64::from(*d) >= days_left)
        .min()
    else {
        return Step::Nothing;
    };
    let settled = r.reminders.iter().any(|rem| {
        rem.days_before <= due && !matches!(rem.state, ReminderState::SendFailed { .. })
    });
    if settled {
        Step::Nothing
    } else {
        Step::Remind { days_before: due }
    }
}

/// The reclaim date of a cycle started today.
pub fn reclaim_date(policy: &Policy, today: NaiveDate) -> NaiveDate {
    today + Duration::days(i64::from(policy.notice_days))
}

/// Why a reclaim must wait for (or cannot rely on) the member's notice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeBlock {
    #[error("the member has not been told yet: the daily run sends the notice first")]
    NotNotified,
    #[error("the member was told; the seat may be reclaimed from {reclaim_on}")]
    NotYetDue { reclaim_on: NaiveDate },
    #[error("the member asked to keep the seat; an admin decides in the console")]
    KeepRequested,
    #[error(
        "the notice did not reach the member ({detail}); set reclaim_without_notice_on_bounce to reclaim anyway"
    )]
    Bounced { detail: String },
    #[error(
        "it is unknown whether the notice reached the member (the send was cut off); it is not sent twice, so \
         this cycle does not reclaim"
    )]
    Unconfirmed,
    #[error("the member's notice cycle ended ({state}); a new one starts with the next notice")]
    Ended { state: &'static str },
}

/// Whether the member's seat may be reclaimed today as far as notices go (the plan, the approval, the pause and
/// the re-check still decide the rest). With notices off, always.
pub fn reclaim_gate(policy: &Policy, record: Option<&NoticeRecord>) -> Result<(), NoticeBlock> {
    if !policy.notices_enabled() {
        return Ok(());
    }
    let Some(r) = record else {
        return Err(NoticeBlock::NotNotified);
    };
    match &r.state {
        NoticeState::Due => Ok(()),
        NoticeState::Notified | NoticeState::Reminded => Err(NoticeBlock::NotYetDue {
            reclaim_on: r.reclaim_on,
        }),
        NoticeState::Sending { .. } | NoticeState::SendFailed { .. } => {
            Err(NoticeBlock::NotNotified)
        }
        NoticeState::KeepRequested { .. } => Err(NoticeBlock::KeepRequested),
        NoticeState::Bounced { detail } => Err(NoticeBlock::Bounced {
            detail: detail.clone(),
        }),
        NoticeState::Unconfirmed => Err(NoticeBlock::Unconfirmed),
        s @ (NoticeState::Kept { .. }
        | NoticeState::DroppedOut { .. }
        | NoticeState::Reclaimed { .. }) => Err(NoticeBlock::Ended { state: s.kind() }),
    }
}
