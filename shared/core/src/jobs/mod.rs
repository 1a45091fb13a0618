//! The jobs: connect an org, download it, plan, enqueue, reclaim one member, undo, report. Each is an async function over the
//! ports plus a [`MiroClient`], safe to re-run: re-running a finished step changes nothing.

mod approve;
mod connect;
mod download;
mod enqueue;
mod hold;
mod pause;
mod plan;
mod plan_diff;
mod reactivate;
mod reclaim;
mod report;
mod token;
mod undo;

use std::sync::Arc;

use miro_client::{MiroClient, MiroError, OAuthApp};

use crate::domain::{MemberId, OrgId, PlanId};
use crate::error::{DomainError, StoreError};
use crate::plan::PlanRefusal;
use crate::ports::{Clock, SubscriptionStore, TokenStore};

pub use approve::{ApprovalReport, Selection, approve_plan, reject_candidates};
pub use connect::{
    ConnectOptions, ConnectedOrg, REQUIRED_SCOPE, bundle_of, connect_org, is_connecting_user,
};
pub use download::{
    DownloadOptions, DownloadOutcome, DownloadPause, DownloadSummary, StopAt, download_org,
    download_org_until, download_org_with, register_org,
};
pub use enqueue::{PlanQueueReport, WaitingForNotice, enqueue_plan};
pub use hold::{HoldRequest, place_hold, remove_hold};
pub use pause::{check_not_paused, pause_org, resume_org};
pub use plan::{current_policy, plan_org, plan_org_streamed, set_policy};
pub use plan_diff::{PlanDiff, plan_diff};
pub use reactivate::{MemberRef, ReactivateResult, reactivate};
pub use reclaim::{ReclaimOptions, ReclaimResult, reclaim_member};
pub use report::org_report;
pub use token::{REFRESH_MARGIN, usable_access_token};
pub use undo::request_reactivation;

/// What the Miro-facing jobs need. Cheap to clone.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn SubscriptionStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub client: MiroClient,
    pub clock: Arc<dyn Clock>,
    /// The Miro app's credentials, needed to refresh expiring tokens. Without them a token that is about to
    /// expire is used as long as it lasts, then the org must be reconnected.
    pub oauth_app: Option<OAuthApp>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),

    /// Miro's error, with how to reconnect where the client's message says only that the org must be: the
    /// client knows Miro, not miro-sam's commands.
    #[error("{0}{hint}", hint = reconnect_hint(.0))]
    Miro(#[from] MiroError),

    #[error(transparent)]
    Domain(#[from] DomainError),

    #[error(transparent)]
    Refused(#[from] PlanRefusal),

    #[error("plan {plan_id} does not exist; list the org's plans or make a new one")]
    PlanNotFound { plan_id: PlanId },

    #[error(
        "member {member_id} is not a candidate of plan {plan_id}; only a plan's candidates can be reclaimed"
    )]
    NotACandidate {
        plan_id: PlanId,
        member_id: MemberId,
    },

    #[error(
        "the access token of org {org} has expired and {why}; reconnect the org (`miro-sam connect`, or the \
         /oauth/start link of your deployment)"
    )]
    TokenExpired { org: OrgId, why: &'static str },

    #[error(
        "another worker is reclaiming member {member_id} of plan {plan_id} right now; retry in a moment"
    )]
    Busy {
        plan_id: PlanId,
        member_id: MemberId,
    },

    #[error(
        "org {org} has no member {what}, neither in miro-sam's data nor in Miro's SCIM directory"
    )]
    MemberNotFound { org: OrgId, what: String },

    #[error("{0}")]
    InvalidRequest(String),
}

/// How to reconnect an org, after a Miro error that ends in "reconnect the org".
fn reconnect_hint(e: &MiroError) -> &'static str {
    match e {
        MiroError::Unauthorized { .. } | MiroError::OAuthRejected { .. } => {
            " (`miro-sam connect`, or the /oauth/start link of your deployment)"
        }
        _ => "",
    }
}

impl JobError {
    /// Worth running again later unchanged: Miro was busy or unreachable, storage hiccuped, or another worker
    /// held the item. Everything else needs a person (or is final).
    pub fn is_retryable(&self) -> bool {
        match self {
            JobError::Miro(e) => e.is_transient(),
            JobError::Store(StoreError::Backend(_) | StoreError::Conflict { .. }) => true,
            JobError::Busy { .. } => true,
            _ => false,
        }
    }

    /// A person must reconnect the org or fix its Miro settings.
    pub fn needs_reconnect(&self) -> bool {
        match self {
            JobError::Miro(e) => e.needs_reconnect(),
            JobError::TokenExpired { .. } => true,
            JobError::Store(StoreError::NotConnected { .. } | StoreError::NoScimToken { .. }) => {
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's message says the org must be reconnected; the job's error says how.
    #[test]
    fn a_rejected_token_says_how_to_reconnect() {
        let miro = MiroError::Unauthorized {
            endpoint: "/v2/orgs/{org}".into(),
            code: String::new(),
        };
        assert!(!miro.to_string().contains("miro-sam"), "{miro}");
        let job = JobError::from(miro).to_string();
        assert!(
            job.contains("Reconnect the org") && job.contains("`miro-sam connect`"),
            "{job}"
        );
        let other = JobError::from(MiroError::NotFound {
            endpoint: "/v2/orgs/{org}".into(),
            message: "gone".into(),
        })
        .to_string();
        assert!(!other.contains("miro-sam connect"), "{other}");
    }
}
