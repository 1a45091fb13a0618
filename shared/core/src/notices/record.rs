//! One member's notice record: the current notice cycle of one member of one org, as the store keeps it.
//!
//! A cycle starts when a member becomes a candidate and is told (the notice), and ends when they drop out (active
//! again, exempted, held, no longer a candidate), keep their seat, or are reclaimed. A member has one record, the
//! current (or last) cycle's; a new cycle replaces an ended one and counts up `cycle`. The audit log and the
//! member's timeline keep the history.
//!
//! Every change is a compare-and-set on `version` ([`crate::ports::NoticeStore::put_notice`]), and each send is
//! claimed (written as `Sending`) BEFORE the email goes out. Why: a redelivered message or a second worker then
//! finds the claim and sends nothing, and a crash between the claim and the send leaves evidence instead of a
//! second notice. A claim that never got its confirmation is not sent again ([`NoticeState::Unconfirmed`]):
//! "told at most once" is the promise, and the member is then never reclaimed on that cycle's notice either.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, MemberId, OrgId, PlanId};

/// How long a send claim may stay unconfirmed before a later run calls it [`NoticeState::Unconfirmed`]: far
/// longer than one send takes (the mailers time out well within it), so a slow worker is never overtaken.
pub const SEND_CLAIM_TTL: Duration = Duration::minutes(15);

/// Where a notice cycle stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NoticeState {
    /// The notice is claimed and being sent (since `since`). Nobody else sends it.
    Sending { since: DateTime<Utc> },
    /// The channel refused the notice before accepting it (e.g. the mail server was down or the sender is not
    /// verified): nothing went out, so a later run may claim it again.
    SendFailed { error: String },
    /// The notice went out. The reclaim date counts from here.
    Notified,
    /// At least one reminder went out (see [`NoticeRecord::reminders`]).
    Reminded,
    /// The address was refused or bounced: the member was not told. Not reclaimed on this cycle unless the policy
    /// says `reclaim_without_notice_on_bounce`.
    Bounced { detail: String },
    /// A send was claimed but never confirmed (a crash or a cut-off mid-send): it may or may not have gone out,
    /// so it is not sent again, and the member is not reclaimed on this cycle.
    Unconfirmed,
    /// The reclaim date came and the member was still a candidate under the policy of that day: the reclaim may
    /// go ahead through the approval gate.
    Due,
    /// The member asked to keep their seat and the policy wants an admin to decide (`keep_needs_approval`).
    /// Never due while it waits.
    KeepRequested { at: DateTime<Utc> },
    /// Ended: the member kept their seat (a hold keeps them out of plans until `hold_until`).
    Kept {
        at: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    },
    /// Ended: the member is no longer a candidate.
    DroppedOut { reason: DropReason },
    /// Ended: the seat was reclaimed under `plan_id`.
    Reclaimed { plan_id: PlanId },
}

impl NoticeState {
    /// An ended cycle: the member is told again only in a new cycle.
    pub fn is_ended(&self) -> bool {
        matches!(
            self,
            NoticeState::Kept { .. }
                | NoticeState::DroppedOut { .. }
                | NoticeState::Reclaimed { .. }
        )
    }

    /// A short stable name, for counts and filters.
    pub fn kind(&self) -> &'static str {
        match self {
            NoticeState::Sending { .. } => "sending",
            NoticeState::SendFailed { .. } => "send_failed",
            NoticeState::Notified => "notified",
            NoticeState::Reminded => "reminded",
            NoticeState::Bounced { .. } => "bounced",
            NoticeState::Unconfirmed => "unconfirmed",
            NoticeState::Due => "due",
            NoticeState::KeepRequested { .. } => "keep_requested",
            NoticeState::Kept { .. } => "kept",
            NoticeState::DroppedOut { .. } => "dropped_out",
            NoticeState::Reclaimed { .. } => "reclaimed",
        }
    }
}

/// Why a member left the notice cycle before the reclaim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Used Miro again, or is otherwise no longer a candidate (license changed, left the org, below threshold).
    NoLongerCandidate,
    /// A policy exemption (or a guardrail) now protects them.
    Exempted,
    /// A hold protects them (an undo, or a keep approved elsewhere).
    Held,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::NoLongerCandidate => "no longer a candidate (active again or out of scope)",
            DropReason::Exempted => "exempted by the policy",
            DropReason::Held => "held out of plans",
        })
    }
}

/// One reminder of a cycle, claimed before it is sent like the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// Days before the reclaim date (one of the policy's `reminder_days_before`).
    pub days_before: u32,
    pub state: ReminderState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReminderState {
    Sending {
        since: DateTime<Utc>,
    },
    Sent {
        at: DateTime<Utc>,
    },
    /// Refused before it was accepted; a later run may claim it again.
    SendFailed {
        error: String,
    },
    /// Bounced, or claimed and never confirmed: not sent again. The notice was delivered, so the cycle goes on.
    NotDelivered {
        detail: String,
    },
}

/// The current notice cycle of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub org_id: OrgId,
    pub member_id: MemberId,
    /// The address the notice went to.
    pub email: Email,
    /// 1 for the member's first cycle, +1 for each new one.
    pub cycle: u32,
    /// The store's compare-and-set counter: 1 when the record is first written, +1 with every write.
    pub version: u64,
    pub state: NoticeState,
    /// The plan that named the member a candidate when the cycle started.
    pub plan_id: PlanId,
    /// Days without activity the notice quotes.
    pub days_inactive: i64,
    /// The day the cycle started (the notice was claimed).
    pub notified_on: NaiveDate,
    /// The first day the seat may be reclaimed: `notified_on + notice_days`.
    pub reclaim_on: NaiveDate,
    /// Reminders claimed so far, in the order they were claimed.
    pub reminders: Vec<Reminder>,
    pub updated_at: DateTime<Utc>,
}

impl NoticeRecord {
    /// What identifies this cycle outside the store (a keep link, an audit entry id): org, member and cycle.
    pub fn cycle_key(&self) -> String {
        format!("{}/{}/{}", self.org_id, self.member_id, self.cycle)
    }

    /// The record as the next write stores it: `state` replaced, version and time moved on.
    pub fn next(&self, state: NoticeState, now: DateTime<Utc>) -> NoticeRecord {
        NoticeRecord {
            state,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The reminder claimed for `days_before`, if any.
    pub fn reminder(&self, days_before: u32) -> Option<&Reminder> {
        self.reminders.iter().find(|r| r.days_before == days_before)
    }
}
