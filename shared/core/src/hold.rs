//! Holds: "leave this member alone until DATE", written by miro-sam itself when a reclaim is undone.
//!
//! Why a hold and not an exemption in the policy: an undo must stick the moment it happens, without a person
//! writing a new policy version, and it must end on its own (`reactivation_hold_days`) so a member who goes idle
//! again long after is reviewed again. A hold protects one member (by id, the key that survives an email change)
//! of one org; plans list held members as excluded with the hold's reason and end date, and the reclaim worker
//! re-reads the hold just before acting.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, MemberId, OrgId};

/// Why the hold exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldSource {
    /// Someone undid a reclaim with miro-sam (`miro-sam reactivate`, the console).
    Reactivated,
    /// A member miro-sam reclaimed showed up active again in a download: an admin reactivated them in Miro.
    ReactivatedInMiro,
    /// The member answered a notice asking to keep their seat (`keep_days` in the policy).
    Kept,
}

impl HoldSource {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldSource::Reactivated => "reactivated",
            HoldSource::ReactivatedInMiro => "reactivated_in_miro",
            HoldSource::Kept => "kept",
        }
    }
}

/// One member's hold. A member has at most one; a newer hold replaces the older.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub email: Email,
    pub source: HoldSource,
    /// In words, shown next to the member in every plan.
    pub reason: String,
    /// Who placed it: the person who reactivated, or the job that noticed the reactivation.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// From this instant on the hold no longer protects the member.
    pub expires_at: DateTime<Utc>,
}

impl Hold {
    pub fn applies_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "held until {}: {} (by {})",
            self.expires_at.date_naive(),
            self.reason,
            self.created_by
        )
    }
}
