//! The append-only audit log: what was done to whose seat, when, by whom and why. Entries are never updated; an
//! entry id can be written once.

use chrono::{DateTime, NaiveDate, Utc};
use miro_client::License;
use serde::{Deserialize, Serialize};

use crate::domain::{AuditEntryId, Email, MemberId, OrgId, PlanId};
use crate::hold::HoldSource;
use crate::notices::DropReason;
use crate::reclaim::{ReclaimOutcome, SkipReason};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub org_id: OrgId,
    pub at: DateTime<Utc>,
    /// Who or what acted: a person's name or email for manual actions, the job name for scheduled ones.
    pub actor: String,
    pub event: AuditEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// Someone approved the app for the org and its tokens were stored.
    OrgConnected {
        user_id: String,
        user_name: String,
        scopes: Vec<String>,
    },
    PolicyChanged {
        version: u32,
    },
    PlanCreated {
        plan_id: PlanId,
        policy_version: u32,
        candidates: u32,
        cap_exceeded: bool,
        dry_run: bool,
    },
    Reclaimed {
        plan_id: PlanId,
        member_id: MemberId,
        email: Email,
        license: License,
        scim_user_id: String,
    },
    ReclaimSkipped {
        plan_id: PlanId,
        member_id: MemberId,
        email: Email,
        reason: SkipReason,
    },
    ReclaimFailed {
        plan_id: PlanId,
        member_id: MemberId,
        email: Email,
        error: String,
    },
    /// An undo: the member was reactivated through SCIM.
    Reactivated {
        member_id: Option<MemberId>,
        email: Email,
        scim_user_id: String,
        why: String,
    },
    /// A hold was placed: the member is excluded from plans until `expires_at`.
    HoldPlaced {
        member_id: MemberId,
        email: Email,
        source: HoldSource,
        reason: String,
        expires_at: DateTime<Utc>,
    },
    /// The kill switch was turned on: nothing is sent to SCIM for the org until it is resumed.
    OrgPaused {
        reason: String,
    },
    /// The kill switch was turned off.
    OrgResumed {
        paused_by: String,
        paused_at: DateTime<Utc>,
        reason: String,
    },
    /// A person approved candidates of a plan (all of them, or a selection): they were queued for reclaim.
    PlanApproved {
        plan_id: PlanId,
        /// Candidates queued by this approval.
        queued: u32,
        /// True when the admin approved a selection rather than the whole plan.
        selection: bool,
    },
    /// A person rejected one candidate of a plan: that plan will not reclaim them.
    CandidateRejected {
        plan_id: PlanId,
        member_id: MemberId,
        email: Email,
        why: String,
    },
    /// A person asked for an undo from the console; the reclaim worker carries it out (then `Reactivated`).
    ReactivateRequested {
        member_id: MemberId,
        email: Email,
        why: String,
    },
    /// A person removed a member's hold.
    HoldRemoved {
        member_id: MemberId,
        email: Email,
    },
    /// An admin signed in to the console.
    SignedIn {
        user_id: String,
        email: String,
    },
    /// A candidate was told their seat will be reclaimed from `reclaim_on` (cycle `cycle` of their notices).
    NoticeSent {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        plan_id: PlanId,
        reclaim_on: NaiveDate,
    },
    /// A reminder of the notice went out, `days_before` the reclaim date.
    ReminderSent {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        days_before: u32,
        reclaim_on: NaiveDate,
    },
    /// A notice or reminder did not (certainly) reach the member: bounced, refused, or cut off mid-send.
    NoticeNotDelivered {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        /// "notice" or "reminder N days before".
        message: String,
        detail: String,
    },
    /// The reclaim date came and the member was still a candidate: the reclaim may go through the approval gate.
    NoticeDue {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        reclaim_on: NaiveDate,
    },
    /// The member left the notice cycle before the reclaim (active again, exempted, held).
    NoticeEnded {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        reason: DropReason,
    },
    /// The member asked to keep their seat; the policy wants an admin to decide.
    KeepRequested {
        member_id: MemberId,
        email: Email,
        cycle: u32,
    },
    /// The member keeps their seat: held out of plans until `hold_until`.
    Kept {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        hold_until: DateTime<Utc>,
        /// The admin who approved the request, when the policy asked for one.
        approved_by: Option<String>,
    },
    /// An admin declined a member's request to keep their seat: the notice cycle goes on.
    KeepDeclined {
        member_id: MemberId,
        email: Email,
        cycle: u32,
        why: String,
    },
    /// An admin signed out of the console (their browser dropped the session cookie).
    SignedOut {
        user_id: String,
        email: String,
    },
    /// The admins' notice digest of `day` was claimed and sent (`line` is what it said; `channels` where it went).
    /// Its entry id is the day's, so a re-run day sends no second digest.
    DigestSent {
        day: NaiveDate,
        line: String,
        channels: Vec<String>,
    },
}

impl AuditEvent {
    /// A short stable name, e.g. for an index column or a filter.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::OrgConnected { .. } => "org_connected",
            AuditEvent::PolicyChanged { .. } => "policy_changed",
            AuditEvent::PlanCreated { .. } => "plan_created",
            AuditEvent::Reclaimed { .. } => "reclaimed",
            AuditEvent::ReclaimSkipped { .. } => "reclaim_skipped",
            AuditEvent::ReclaimFailed { .. } => "reclaim_failed",
            AuditEvent::Reactivated { .. } => "reactivated",
            AuditEvent::HoldPlaced { .. } => "hold_placed",
            AuditEvent::OrgPaused { .. } => "org_paused",
            AuditEvent::OrgResumed { .. } => "org_resumed",
            AuditEvent::PlanApproved { .. } => "plan_approved",
            AuditEvent::CandidateRejected { .. } => "candidate_rejected",
            AuditEvent::ReactivateRequested { .. } => "reactivate_requested",
            AuditEvent::HoldRemoved { .. } => "hold_removed",
            AuditEvent::SignedIn { .. } => "signed_in",
            AuditEvent::NoticeSent { .. } => "notice_sent",
            AuditEvent::ReminderSent { .. } => "reminder_sent",
            AuditEvent::NoticeNotDelivered { .. } => "notice_not_delivered",
            AuditEvent::NoticeDue { .. } => "notice_due",
            AuditEvent::NoticeEnded { .. } => "notice_ended",
            AuditEvent::KeepRequested { .. } => "keep_requested",
            AuditEvent::Kept { .. } => "kept",
            AuditEvent::KeepDeclined { .. } => "keep_declined",
            AuditEvent::SignedOut { .. } => "signed_out",
            AuditEvent::DigestSent { .. } => "digest_sent",
        }
    }

    /// Every kind [`Self::kind`] can return, for filters and their validation.
    pub const KINDS: [&'static str; 25] = [
        "org_connected",
        "policy_changed",
        "plan_created",
        "reclaimed",
        "reclaim_skipped",
        "reclaim_failed",
        "reactivated",
        "hold_placed",
        "org_paused",
        "org_resumed",
        "plan_approved",
        "candidate_rejected",
        "reactivate_requested",
        "hold_removed",
        "signed_in",
        "notice_sent",
        "reminder_sent",
        "notice_not_delivered",
        "notice_due",
        "notice_ended",
        "keep_requested",
        "kept",
        "keep_declined",
        "signed_out",
        "digest_sent",
    ];

    /// The member the event is about, if it names one by id.
    pub fn member_id(&self) -> Option<&MemberId> {
        match self {
            AuditEvent::Reclaimed { member_id, .. }
            | AuditEvent::ReclaimSkipped { member_id, .. }
            | AuditEvent::ReclaimFailed { member_id, .. }
            | AuditEvent::HoldPlaced { member_id, .. }
            | AuditEvent::CandidateRejected { member_id, .. }
            | AuditEvent::ReactivateRequested { member_id, .. }
            | AuditEvent::HoldRemoved { member_id, .. }
            | AuditEvent::NoticeSent { member_id, .. }
            | AuditEvent::ReminderSent { member_id, .. }
            | AuditEvent::NoticeNotDelivered { member_id, .. }
            | AuditEvent::NoticeDue { member_id, .. }
            | AuditEvent::NoticeEnded { member_id, .. }
            | AuditEvent::KeepRequested { member_id, .. }
            | AuditEvent::Kept { member_id, .. }
            | AuditEvent::KeepDeclined { member_id, .. } => Some(member_id),
            AuditEvent::Reactivated { member_id, .. } => member_id.as_ref(),
            _ => None,
        }
    }

    /// The email the event is about, if it is about one person.
    pub fn email(&self) -> Option<&Email> {
        match self {
            AuditEvent::Reclaimed { email, .. }
            | AuditEvent::ReclaimSkipped { email, .. }
            | AuditEvent::ReclaimFailed { email, .. }
            | AuditEvent::Reactivated { email, .. }
            | AuditEvent::HoldPlaced { email, .. }
            | AuditEvent::CandidateRejected { email, .. }
            | AuditEvent::ReactivateRequested { email, .. }
            | AuditEvent::HoldRemoved { email, .. }
            | AuditEvent::NoticeSent { email, .. }
            | AuditEvent::ReminderSent { email, .. }
            | AuditEvent::NoticeNotDelivered { email, .. }
            | AuditEvent::NoticeDue { email, .. }
            | AuditEvent::NoticeEnded { email, .. }
            | AuditEvent::KeepRequested { email, .. }
            | AuditEvent::Kept { email, .. }
            | AuditEvent::KeepDeclined { email, .. } => Some(email),
            AuditEvent::OrgConnected { .. }
            | AuditEvent::PolicyChanged { .. }
            | AuditEvent::PlanCreated { .. }
            | AuditEvent::OrgPaused { .. }
            | AuditEvent::OrgResumed { .. }
            | AuditEvent::PlanApproved { .. }
            | AuditEvent::SignedIn { .. }
            | AuditEvent::SignedOut { .. }
            | AuditEvent::DigestSent { .. } => None,
        }
    }
}

impl AuditEntry {
    /// The reclaim outcome this entry recorded, if it is a reclaim entry.
    pub fn reclaim_outcome(&self) -> Option<ReclaimOutcome> {
        match &self.event {
            AuditEvent::Reclaimed { scim_user_id, .. } => Some(ReclaimOutcome::Reclaimed {
                scim_user_id: scim_user_id.clone(),
                at: self.at,
            }),
            AuditEvent::ReclaimSkipped { reason, .. } => Some(ReclaimOutcome::Skipped {
                reason: reason.clone(),
            }),
            AuditEvent::ReclaimFailed { error, .. } => Some(ReclaimOutcome::Failed {
                error: error.clone(),
            }),
            _ => None,
        }
    }
}

/// Which entries an audit page shows. Every field narrows; the default shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries about this member ([`AuditEvent::member_id`]).
    pub member: Option<MemberId>,
    /// Entries of this kind ([`AuditEvent::kind`]; one of [`AuditEvent::KINDS`]).
    pub kind: Option<String>,
    /// Entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.member
            .as_ref()
            .is_none_or(|m| e.event.member_id() == Some(m))
            && self.kind.as_deref().is_none_or(|k| e.event.kind() == k)
            && self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at < t)
    }
}

/// Where an audit page ended: the (`at`, id) of its last (oldest) entry. The next page starts strictly before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: DateTime<Utc>,
    pub id: AuditEntryId,
}

impl AuditCursor {
    pub fn of(e: &AuditEntry) -> Self {
        AuditCursor {
            at: e.at,
            id: e.id.clone(),
        }
    }
}
