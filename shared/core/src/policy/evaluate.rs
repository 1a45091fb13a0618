//! Applies a policy and the guardrails to one member. Pure: the same inputs give the same verdict.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ExemptionMatch, Guardrail, Policy, guardrails};
use crate::domain::Subscription;
use crate::hold::{Hold, HoldSource};

/// Why a member in the policy's license scope is not a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ExclusionRule {
    /// A hard guardrail (see [`super::guardrails`]).
    Guardrail { guardrail: Guardrail },
    /// A policy exemption that is in force.
    Exempt {
        matched: ExemptionMatch,
        reason: String,
        expires_at: Option<DateTime<Utc>>,
    },
    /// A hold in force: the member's reclaim was undone and they are left alone until `expires_at`.
    Held {
        source: HoldSource,
        reason: String,
        created_by: String,
        expires_at: DateTime<Utc>,
    },
    /// The license was assigned fewer than `grace_days` whole days ago.
    GracePeriod {
        license_assigned_at: DateTime<Utc>,
        days_since_assigned: i64,
        grace_days: u32,
    },
    /// Never active and Miro gives no `licenseAssignedAt`: nothing proves how long the seat went unused.
    NoActivityEvidence,
}

impl fmt::Display for ExclusionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExclusionRule::Guardrail { guardrail } => write!(f, "guardrail: {guardrail}"),
            ExclusionRule::Exempt {
                matched,
                reason,
                expires_at,
            } => {
                write!(f, "exempt by {matched}: {reason}")?;
                if let Some(end) = expires_at {
                    write!(f, " (until {})", end.date_naive())?;
                }
                Ok(())
            }
            ExclusionRule::Held {
                reason,
                created_by,
                expires_at,
                ..
            } => write!(
                f,
                "held until {}: {reason} (by {created_by})",
                expires_at.date_naive()
            ),
            ExclusionRule::GracePeriod {
                license_assigned_at,
                days_since_assigned,
                grace_days,
            } => write!(
                f,
                "grace period: license assigned {days_since_assigned} days ago ({}), grace is {grace_days} days",
                license_assigned_at.date_naive()
            ),
            ExclusionRule::NoActivityEvidence => f.write_str(
                "never active and no license assignment date: inactivity cannot be proven",
            ),
        }
    }
}

/// What inactivity is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum InactivityBasis {
    /// Miro's `lastActivityAt`.
    LastActivity { at: DateTime<Utc> },
    /// Never active: counted from `licenseAssignedAt`.
    NeverActiveSinceAssigned { at: DateTime<Utc> },
}

impl InactivityBasis {
    pub fn at(&self) -> DateTime<Utc> {
        match *self {
            InactivityBasis::LastActivity { at }
            | InactivityBasis::NeverActiveSinceAssigned { at } => at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The member's license is not one the policy reclaims.
    OutOfScope,
    /// In scope but protected; every applicable rule, guardrails first.
    Excluded(Vec<ExclusionRule>),
    /// In scope, not protected, and used recently enough (or assigned recently enough, if never used).
    BelowThreshold {
        days_inactive: i64,
        basis: InactivityBasis,
    },
    /// Reclaimable under this policy.
    Candidate {
        days_inactive: i64,
        basis: InactivityBasis,
    },
}

/// Days are whole elapsed days (`(now − t)` truncated), so "exactly 90 days" is 90 and meets a 90-day threshold,
/// while 89 days and 23 hours does not. `hold` is the member's hold, if any (it protects only while in force and
/// only the member it names).
pub fn evaluate(
    policy: &Policy,
    hold: Option<&Hold>,
    member: &Subscription,
    now: DateTime<Utc>,
) -> Verdict {
    if !policy.licenses.contains(&member.license) {
        return Verdict::OutOfScope;
    }
    let mut rules: Vec<ExclusionRule> = guardrails::check(member)
        .into_iter()
        .map(|guardrail| ExclusionRule::Guardrail { guardrail })
        .collect();
    rules.extend(
        policy
            .active_exemptions(now)
            .filter(|e| e.matches(member))
            .map(|e| ExclusionRule::Exempt {
                matched: e.matcher.clone(),
                reason: e.reason.clone(),
                expires_at: e.expires_at,
            }),
    );
    if let Some(h) = hold.filter(|h| {
        h.applies_at(now) && h.member_id == member.member_id && h.org_id == member.org_id
    }) {
        rules.push(ExclusionRule::Held {
            source: h.source,
            reason: h.reason.clone(),
            created_by: h.created_by.clone(),
            expires_at: h.expires_at,
        });
    }
    if !rules.is_empty() {
        return Verdict::Excluded(rules);
    }
    if let Some(assigned) = member.license_assigned_at {
        let days = (now - assigned).num_days();
        if days < i64::from(policy.grace_days) {
            return Verdict::Excluded(vec![ExclusionRule::GracePeriod {
                license_assigned_at: assigned,
                days_since_assigned: days,
                grace_days: policy.grace_days,
            }]);
        }
    }
    let basis = match (member.last_activity_at, member.license_assigned_at) {
        (Some(at), _) => InactivityBasis::LastActivity { at },
        (None, Some(at)) => InactivityBasis::NeverActiveSinceAssigned { at },
        (None, None) => return Verdict::Excluded(vec![ExclusionRule::NoActivityEvidence]),
    };
    let days_inactive = (now - basis.at()).num_days();
    if days_inactive >= i64::from(policy.inactivity_days.get()) {
        Verdict::Candidate {
            days_inactive,
            basis,
        }
    } else {
        Verdict::BelowThreshold {
            days_inactive,
            basis,
        }
    }
}
