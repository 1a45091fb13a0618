//! The life of one reclaim (one member of one plan): its stored record, its outcome, and the re-check that runs
//! against Miro's answer of the moment just before acting.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use miro_client::{License, Role};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, MemberId, OrgId, PlanId, Subscription};
use crate::hold::Hold;
use crate::notices::NoticeBlock;
use crate::plan::Candidate;
use crate::policy::{ExclusionRule, Verdict, VersionedPolicy, evaluate};

/// `Pending` → (`Applying` →) `Done` | `Skipped` | `Failed`.
///
/// `Applying` is written just before the SCIM deactivation is sent. It is the evidence that lets a redelivered
/// attempt that finds the member already deactivated finish the reclaim as done (we sent it, then crashed)
/// instead of skipping it (someone else deactivated them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReclaimState {
    Pending,
    Applying,
    /// The seat was reclaimed.
    Done,
    Skipped,
    Failed,
}

impl ReclaimState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ReclaimState::Done | ReclaimState::Skipped | ReclaimState::Failed
        )
    }

    pub fn can_become(self, next: ReclaimState) -> bool {
        match self {
            ReclaimState::Pending => next != ReclaimState::Pending,
            ReclaimState::Applying => next.is_terminal(),
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReclaimState::Pending => "pending",
            ReclaimState::Applying => "applying",
            ReclaimState::Done => "done",
            ReclaimState::Skipped => "skipped",
            ReclaimState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ReclaimState::Pending,
            "applying" => ReclaimState::Applying,
            "done" => ReclaimState::Done,
            "skipped" => ReclaimState::Skipped,
            "failed" => ReclaimState::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for ReclaimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One per (plan, member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimRecord {
    pub plan_id: PlanId,
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub email: Email,
    pub state: ReclaimState,
    /// Set when the SCIM user was resolved (from `Applying` on).
    pub scim_user_id: Option<String>,
    /// Set with the terminal state.
    pub outcome: Option<ReclaimOutcome>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ReclaimRecord {
    pub fn pending(
        plan_id: PlanId,
        org_id: OrgId,
        member_id: MemberId,
        email: Email,
        now: DateTime<Utc>,
    ) -> Self {
        ReclaimRecord {
            plan_id,
            org_id,
            member_id,
            email,
            state: ReclaimState::Pending,
            scim_user_id: None,
            outcome: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The change a compare-and-set transition writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclaimTransition {
    pub to: ReclaimState,
    /// Replaces the stored value when `Some`.
    pub scim_user_id: Option<String>,
    /// Replaces the stored value when `Some`.
    pub outcome: Option<ReclaimOutcome>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReclaimOutcome {
    /// The SCIM user was deactivated; their seat is free.
    Reclaimed {
        scim_user_id: String,
        at: DateTime<Utc>,
    },
    Skipped {
        reason: SkipReason,
    },
    /// Miro refused the deactivation for a reason retrying will not fix.
    Failed {
        error: String,
    },
}

impl ReclaimOutcome {
    pub fn state(&self) -> ReclaimState {
        match self {
            ReclaimOutcome::Reclaimed { .. } => ReclaimState::Done,
            ReclaimOutcome::Skipped { .. } => ReclaimState::Skipped,
            ReclaimOutcome::Failed { .. } => ReclaimState::Failed,
        }
    }
}

impl fmt::Display for ReclaimOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReclaimOutcome::Reclaimed { scim_user_id, at } => {
                write!(
                    f,
                    "reclaimed (SCIM user {scim_user_id} deactivated at {})",
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            }
            ReclaimOutcome::Skipped { reason } => write!(f, "skipped: {reason}"),
            ReclaimOutcome::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

/// Where a page of reclaim records ended (its last, oldest record); the next page starts strictly before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCursor {
    pub created_at: DateTime<Utc>,
    pub plan_id: PlanId,
    pub member_id: MemberId,
}

impl RecordCursor {
    pub fn of(r: &ReclaimRecord) -> Self {
        RecordCursor {
            created_at: r.created_at,
            plan_id: r.plan_id,
            member_id: r.member_id.clone(),
        }
    }
}

/// Why a planned reclaim was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "skip", rename_all = "snake_case")]
pub enum SkipReason {
    GoneFromMiro,
    /// Deactivated by someone else since the plan.
    AlreadyDeactivated,
    BecameActive {
        planned_last_activity_at: Option<DateTime<Utc>>,
        last_activity_at: Option<DateTime<Utc>>,
    },
    LicenseChanged {
        planned: License,
        now: License,
    },
    RoleChanged {
        planned: Role,
        now: Role,
    },
    GainedAdminRoles {
        names: Vec<String>,
    },
    /// The org's current policy no longer covers the member's license.
    OutOfScopeNow {
        policy_version: u32,
    },
    /// The org's current policy protects the member (e.g. a new exemption).
    ExcludedNow {
        policy_version: u32,
        rules: Vec<ExclusionRule>,
    },
    /// Under the current policy the member is not inactive long enough.
    BelowThresholdNow {
        policy_version: u32,
        days_inactive: i64,
        threshold_days: u32,
    },
    ScimUserNotFound,
    /// SCIM says Company Admin even though REST did not: never reclaimed.
    ScimCompanyAdmin {
        scim_user_id: String,
    },
    /// SCIM lists admin roles (`organization_admin_role`) even though REST did not: never reclaimed.
    ScimAdminRoles {
        scim_user_id: String,
        names: Vec<String>,
    },
    /// The SCIM user found by email is not the member that was re-checked (a different id).
    ScimUserMismatch {
        scim_user_id: String,
        member_id: MemberId,
    },
    /// The SCIM user's `userName` is not the member's email under ASCII case folding (e.g. a look-alike
    /// Unicode character): possibly someone else.
    ScimEmailMismatch {
        scim_user_name: String,
        email: Email,
    },
    /// Miro showed a last activity when the plan was made and shows none now: the member changed in a way we do
    /// not understand, so we do not act (and never fall back to the license date).
    ActivityDisappeared {
        planned_last_activity_at: DateTime<Utc>,
    },
    /// The org's kill switch was on when the reclaim was about to be sent.
    OrgPaused {
        reason: String,
        paused_by: String,
        paused_at: DateTime<Utc>,
    },
    /// The org's current policy is a dry run: a plan made before the switch is not executed.
    DryRunNow {
        policy_version: u32,
    },
    /// An admin rejected this candidate of the plan.
    RejectedByAdmin {
        by: String,
        why: String,
    },
    /// A newer plan replaced this one before the reclaim ran: an approval covers its own plan only.
    PlanSuperseded {
        by_plan: PlanId,
    },
    /// The member's notice cycle does not allow the reclaim yet (or, on this cycle, at all).
    NoticePending {
        wait: NoticeWait,
    },
}

/// Why a reclaim waits for the member's notice: [`NoticeBlock`] as stored in a reclaim record's outcome and the
/// audit log. A copy of its own so the stored form is fixed here, next to the other skip reasons, whatever the
/// notices module does with its error type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "wait", rename_all = "snake_case")]
pub enum NoticeWait {
    /// No notice went out yet (none claimed, or the last send failed before anything went out).
    NotNotified,
    /// Told; the reclaim date has not come.
    NotYetDue { reclaim_on: NaiveDate },
    /// The member asked to keep the seat and an admin has not decided.
    KeepRequested,
    /// The notice bounced and the policy does not reclaim without one.
    Bounced { detail: String },
    /// The send was cut off: unknown whether the member was told.
    Unconfirmed,
    /// The cycle ended (`state` is the record's state: kept, dropped_out, reclaimed).
    Ended { state: String },
}

impl From<NoticeBlock> for NoticeWait {
    fn from(b: NoticeBlock) -> Self {
        match b {
            NoticeBlock::NotNotified => NoticeWait::NotNotified,
            NoticeBlock::NotYetDue { reclaim_on } => NoticeWait::NotYetDue { reclaim_on },
            NoticeBlock::KeepRequested => NoticeWait::KeepRequested,
            NoticeBlock::Bounced { detail } => NoticeWait::Bounced { detail },
            NoticeBlock::Unconfirmed => NoticeWait::Unconfirmed,
            NoticeBlock::Ended { state } => NoticeWait::Ended {
                state: state.to_owned(),
            },
        }
    }
}

impl NoticeWait {
    /// What is in the way, in a few words (an approval's list of members waiting).
    pub fn short(&self) -> String {
        match self {
            NoticeWait::NotNotified => "not told yet".into(),
            NoticeWait::NotYetDue { reclaim_on } => {
                format!("reclaim date {reclaim_on} not reached")
            }
            NoticeWait::KeepRequested => "asked to keep the seat".into(),
            NoticeWait::Bounced { .. } => "the notice bounced".into(),
            NoticeWait::Unconfirmed => "unknown whether the notice arrived".into(),
            NoticeWait::Ended { state } => {
                format!("notice cycle ended ({})", state.replace('_', " "))
            }
        }
    }

    /// What happens next, or what a person can do.
    fn next(&self) -> &'static str {
        match self {
            NoticeWait::NotNotified => {
                "the daily run sends the notice first; approve again once its reclaim date has come"
            }
            NoticeWait::NotYetDue { .. } => {
                "the seat may be approved for reclaim on the daily run of that day"
            }
            NoticeWait::KeepRequested => {
                "an admin approves or declines the request under keep requests in the console"
            }
            NoticeWait::Bounced { .. } => {
                "fix the address, or set reclaim_without_notice_on_bounce in the policy to reclaim without a notice"
            }
            NoticeWait::Unconfirmed => {
                "the notice is not sent twice, so this cycle does not reclaim; a new cycle starts once this one ends"
            }
            NoticeWait::Ended { .. } => {
                "a new cycle with a new notice starts if the member is a candidate again"
            }
        }
    }
}

impl fmt::Display for NoticeWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoticeWait::Bounced { detail } => write!(f, "the notice bounced ({detail})"),
            other => f.write_str(&other.short()),
        }?;
        write!(f, "; {}", self.next())
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = |t: &Option<DateTime<Utc>>| t.map_or("never".to_owned(), |t| t.to_rfc3339());
        match self {
            SkipReason::GoneFromMiro => f.write_str("the member is no longer in Miro"),
            SkipReason::AlreadyDeactivated => {
                f.write_str("already deactivated in Miro by someone else")
            }
            SkipReason::BecameActive {
                planned_last_activity_at,
                last_activity_at,
            } => write!(
                f,
                "became active since the plan (last activity {} at planning, now {})",
                date(planned_last_activity_at),
                date(last_activity_at)
            ),
            SkipReason::LicenseChanged { planned, now } => {
                write!(f, "license changed from {planned} to {now} since the plan")
            }
            SkipReason::RoleChanged { planned, now } => {
                write!(f, "role changed from {planned} to {now} since the plan")
            }
            SkipReason::GainedAdminRoles { names } => {
                write!(
                    f,
                    "gained admin role(s) {} since the plan",
                    names.join(", ")
                )
            }
            SkipReason::OutOfScopeNow { policy_version } => {
                write!(
                    f,
                    "the current policy (v{policy_version}) no longer covers this license"
                )
            }
            SkipReason::ExcludedNow {
                policy_version,
                rules,
            } => write!(
                f,
                "protected under the current policy (v{policy_version}): {}",
                rules
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            SkipReason::BelowThresholdNow {
                policy_version,
                days_inactive,
                threshold_days,
            } => write!(
                f,
                "inactive {days_inactive} days, below the current policy's (v{policy_version}) threshold of {threshold_days}"
            ),
            SkipReason::ScimUserNotFound => f.write_str("no SCIM user has this email"),
            SkipReason::ScimCompanyAdmin { scim_user_id } => {
                write!(
                    f,
                    "SCIM user {scim_user_id} is a Company Admin (never reclaimed)"
                )
            }
            SkipReason::ScimAdminRoles {
                scim_user_id,
                names,
            } => write!(
                f,
                "SCIM user {scim_user_id} holds admin role(s) {} (never reclaimed)",
                names.join(", ")
            ),
            SkipReason::ScimUserMismatch {
                scim_user_id,
                member_id,
            } => write!(
                f,
                "the SCIM user with this email has id {scim_user_id}, not member {member_id}: not the same person, \
                 nothing sent"
            ),
            SkipReason::ScimEmailMismatch {
                scim_user_name,
                email,
            } => write!(
                f,
                "the SCIM user's userName {scim_user_name:?} is not exactly {email} (ASCII case aside): possibly \
                 someone else, nothing sent"
            ),
            SkipReason::ActivityDisappeared {
                planned_last_activity_at,
            } => write!(
                f,
                "Miro showed last activity {} when planned and shows none now: the member changed, nothing sent",
                planned_last_activity_at.to_rfc3339()
            ),
            SkipReason::OrgPaused {
                reason,
                paused_by,
                paused_at,
            } => write!(
                f,
                "the org is paused (by {paused_by} at {}: {reason}); resume it and plan again",
                paused_at.format("%Y-%m-%d %H:%M UTC")
            ),
            SkipReason::DryRunNow { policy_version } => write!(
                f,
                "the org's current policy (v{policy_version}) is a dry run; nothing is sent while it is"
            ),
            SkipReason::RejectedByAdmin { by, why } => {
                write!(f, "rejected by {by}: {why}")
            }
            SkipReason::PlanSuperseded { by_plan } => write!(
                f,
                "plan {by_plan} replaced this plan before the reclaim ran; approve the new plan instead"
            ),
            SkipReason::NoticePending { wait } => {
                write!(f, "waiting for the member's notice: {wait}")
            }
        }
    }
}

/// Compares Miro's answer of the moment (`current`) with what the plan saw, and applies the org's CURRENT policy.
/// `Ok(())` means the reclaim may go ahead. Deactivation is not judged here: the caller decides between "someone
/// else did it" and "our earlier attempt did it".
pub fn recheck(
    candidate: &Candidate,
    current: &Subscription,
    policy: &VersionedPolicy,
    hold: Option<&Hold>,
    now: DateTime<Utc>,
) -> Result<(), SkipReason> {
    let planned = &candidate.evidence;
    if current.license != planned.license {
        return Err(SkipReason::LicenseChanged {
            planned: planned.license.clone(),
            now: current.license.clone(),
        });
    }
    if current.role != planned.role {
        return Err(SkipReason::RoleChanged {
            planned: planned.role.clone(),
            now: current.role.clone(),
        });
    }
    if !current.admin_roles.is_empty() {
        return Err(SkipReason::GainedAdminRoles {
            names: current.admin_roles.clone(),
        });
    }
    if let (Some(then), None) = (planned.last_activity_at, current.last_activity_at) {
        return Err(SkipReason::ActivityDisappeared {
            planned_last_activity_at: then,
        });
    }
    let newer = match (current.last_activity_at, planned.last_activity_at) {
        (Some(now_at), Some(then)) => now_at > then,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if newer {
        return Err(SkipReason::BecameActive {
            planned_last_activity_at: planned.last_activity_at,
            last_activity_at: current.last_activity_at,
        });
    }
    match evaluate(&policy.policy, hold, current, now) {
        Verdict::Candidate { .. } => Ok(()),
        Verdict::OutOfScope => Err(SkipReason::OutOfScopeNow {
            policy_version: policy.version,
        }),
        Verdict::Excluded(rules) => Err(SkipReason::ExcludedNow {
            policy_version: policy.version,
            rules,
        }),
        Verdict::BelowThreshold { days_inactive, .. } => Err(SkipReason::BelowThresholdNow {
            policy_version: policy.version,
            days_inactive,
            threshold_days: policy.policy.inactivity_days.get(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn skip(block: NoticeBlock) -> SkipReason {
        SkipReason::NoticePending { wait: block.into() }
    }

    #[test]
    fn each_notice_block_says_why_and_what_happens_next() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let cases = [
            (
                NoticeBlock::NotNotified,
                "waiting for the member's notice: not told yet; the daily run sends the notice first; approve \
                 again once its reclaim date has come",
            ),
            (
                NoticeBlock::NotYetDue { reclaim_on: date },
                "waiting for the member's notice: reclaim date 2026-12-10 not reached; the seat may be approved \
                 for reclaim on the daily run of that day",
            ),
            (
                NoticeBlock::KeepRequested,
                "waiting for the member's notice: asked to keep the seat; an admin approves or declines the \
                 request under keep requests in the console",
            ),
            (
                NoticeBlock::Bounced {
                    detail: "550 mailbox unavailable".into(),
                },
                "waiting for the member's notice: the notice bounced (550 mailbox unavailable); fix the address, \
                 or set reclaim_without_notice_on_bounce in the policy to reclaim without a notice",
            ),
            (
                NoticeBlock::Unconfirmed,
                "waiting for the member's notice: unknown whether the notice arrived; the notice is not sent \
                 twice, so this cycle does not reclaim; a new cycle starts once this one ends",
            ),
            (
                NoticeBlock::Ended {
                    state: "dropped_out",
                },
                "waiting for the member's notice: notice cycle ended (dropped out); a new cycle with a new \
                 notice starts if the member is a candidate again",
            ),
        ];
        for (block, want) in cases {
            assert_eq!(skip(block.clone()).to_string(), want, "{block:?}");
        }
    }

    #[test]
    fn the_short_form_names_the_reclaim_date() {
        let wait = NoticeWait::from(NoticeBlock::NotYetDue {
            reclaim_on: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
        });
        assert_eq!(wait.short(), "reclaim date 2026-12-10 not reached");
        assert_eq!(
            NoticeWait::from(NoticeBlock::Ended { state: "kept" }),
            NoticeWait::Ended {
                state: "kept".into()
            }
        );
    }

    /// The stored form is pinned (reclaim records and audit entries keep it as JSON in both adapters), and records
    /// written before the variant existed still read.
    #[test]
    fn the_stored_form_is_stable_and_old_records_still_read() {
        let outcome = ReclaimOutcome::Skipped {
            reason: skip(NoticeBlock::NotYetDue {
                reclaim_on: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            }),
        };
        let json = serde_json::to_string(&outcome).unwrap();
        assert_eq!(
            json,
            r#"{"outcome":"skipped","reason":{"skip":"notice_pending","wait":{"wait":"not_yet_due","reclaim_on":"2026-12-10"}}}"#
        );
        assert_eq!(
            serde_json::from_str::<ReclaimOutcome>(&json).unwrap(),
            outcome
        );
        let old = r#"{"outcome":"skipped","reason":{"skip":"dry_run_now","policy_version":3}}"#;
        assert_eq!(
            serde_json::from_str::<ReclaimOutcome>(old).unwrap(),
            ReclaimOutcome::Skipped {
                reason: SkipReason::DryRunNow { policy_version: 3 }
            }
        );
    }
}
