//! What can stop a notice job. Each message says what to do.

use chrono::NaiveDate;

use crate::domain::{MemberId, PlanId};
use crate::error::{DomainError, StoreError};
use crate::ports::MailError;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Domain(#[from] DomainError),

    /// The mail channel cannot send at all (misconfigured) or asked to slow down: the run stops, the member
    /// whose send failed is claimed again by a later run, nobody was told twice.
    #[error(
        "notices stopped: {0}. Fix the mail settings (sender, host, credentials) or wait, then run again"
    )]
    Mail(MailError),

    #[error("cannot render the notice email: {0}")]
    Template(#[from] askama::Error),

    #[error("plan {plan_id} does not exist; plan the org first")]
    PlanNotFound { plan_id: PlanId },

    #[error(
        "plan {plan_id} is not the org's latest plan ({latest} is); notices follow the latest plan only"
    )]
    NotLatestPlan { plan_id: PlanId, latest: PlanId },

    #[error(
        "plan {plan_id} was made on {planned_on}, not today ({today}); plan again today: notices go to members \
         who are candidates under the current policy today"
    )]
    StalePlan {
        plan_id: PlanId,
        planned_on: NaiveDate,
        today: NaiveDate,
    },

    #[error(
        "plan {plan_id} was made under policy version {plan_version}, but the current policy is version \
         {current}; plan again so notices follow the current policy"
    )]
    PolicyChanged {
        plan_id: PlanId,
        plan_version: u32,
        current: u32,
    },

    #[error("the org has no policy yet; store one (or plan, which stores the default) first")]
    NoPolicy,

    /// A keep that cannot be recorded, in words for the member.
    #[error("{0}")]
    KeepRefused(String),

    #[error(
        "member {member_id}'s notice record changed under us three times in a row; try again in a moment"
    )]
    Contended { member_id: MemberId },
}

impl NoticeError {
    /// Worth running again unchanged later (storage hiccup, throttling, a race).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            NoticeError::Store(StoreError::Backend(_) | StoreError::Conflict { .. })
                | NoticeError::Mail(MailError::Throttled { .. } | MailError::NotSent { .. })
                | NoticeError::Contended { .. }
        )
    }
}
