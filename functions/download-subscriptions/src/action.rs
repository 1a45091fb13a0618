//! What a person must do for an org, named in the run's result (and counted in the `OrgsNeedingAction` metric that
//! raises an alarm): a failure no re-run can fix, or an org whose policy reclaims but that cannot reclaim.

use miro_client::MiroError;
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::JobError;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The org's tokens are missing, expired, revoked or refused on refresh: an admin connects the org again.
    Reconnect,
    /// Miro refuses the app access to the org's endpoints (scope, app in a developer team, not a Company Admin).
    FixAppAccess,
    /// The org's policy reclaims seats, but no SCIM token is stored (or SCIM refuses it).
    StoreScimToken,
    /// Notices cannot be sent (the SES sender is not a verified identity, sending is paused): members are not
    /// told, so their seats are not reclaimed.
    FixNoticeMail,
}

impl Action {
    /// The action a failed org's error calls for, if a person must act (re-running cannot fix it).
    pub fn for_error(e: &JobError) -> Option<Action> {
        match e {
            JobError::Store(StoreError::NoScimToken { .. })
            | JobError::Miro(MiroError::ScimUnauthorized { .. } | MiroError::ScimDisabled { .. }) => {
                Some(Action::StoreScimToken)
            }
            JobError::Miro(MiroError::OrgForbidden { .. }) => Some(Action::FixAppAccess),
            e if e.needs_reconnect() => Some(Action::Reconnect),
            _ => None,
        }
    }

    /// One sentence for the operator: what to do, with the command where there is one.
    pub fn what_to_do(self, org: &OrgId) -> String {
        match self {
            Action::Reconnect => format!(
                "reconnect org {org}: send a Company Admin of the org a new connect link \
                 (miro-sam aws connect-link) and have them approve the app"
            ),
            Action::FixAppAccess => format!(
                "fix the Miro app's access to org {org} (the organizations:read scope, an app installed in a team \
                 of the Enterprise org, a Company Admin installing it), then reconnect the org"
            ),
            Action::StoreScimToken => format!(
                "store the SCIM token of org {org} (miro-sam aws scim-token --org {org}); until then its \
                 reclaims are not queued"
            ),
            Action::FixNoticeMail => format!(
                "fix the notice mail settings (the org's notices.error says what SES refused; usually: verify the                  sender MIRO_SAM_NOTICE_FROM, the stack's NoticeSender, in Amazon SES); until then org {org}'s                  members are not told and their seats are not reclaimed"
            ),
        }
    }
}

/// An org that failed in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedOrg {
    pub org_id: OrgId,
    pub error: String,
    /// The next run tries again; `false` when only a person can fix it (see the org's action).
    pub retryable: bool,
}

/// An org a person must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionNeeded {
    pub org_id: OrgId,
    pub action: Action,
    pub what_to_do: String,
}
