//! The append-only audit log: what was done to whose seat, when, by whom and why. Entries are never updated; an
//! entry id can be written once.

use chrono::{DateTime, Utc};
use miro_client::License;
use serde::{Deserialize, Serialize};

use crate::domain::{AuditEntryId, Email, MemberId, OrgId, PlanId};
use crate::hold::HoldSource;
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
        }
    }

    /// The email the event is about, if it is about one person.
    pub fn email(&self) -> Option<&Email> {
        match self {
            AuditEvent::Reclaimed { email, .. }
            | AuditEvent::ReclaimSkipped { email, .. }
            | AuditEvent::ReclaimFailed { email, .. }
            | AuditEvent::Reactivated { email, .. }
            | AuditEvent::HoldPlaced { email, .. } => Some(email),
            AuditEvent::OrgConnected { .. }
            | AuditEvent::PolicyChanged { .. }
            | AuditEvent::PlanCreated { .. }
            | AuditEvent::OrgPaused { .. }
            | AuditEvent::OrgResumed { .. } => None,
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
