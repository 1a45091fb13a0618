//! Who signs in at `/oauth/authorize`: by default the Company Admin who installed the app, or a user a test
//! picks (a plain member, a member with another role, another org's admin), so a client's sign-in checks can be
//! tested against the same flow Miro runs.

use serde::{Deserialize, Serialize};

use crate::model::ROLE_ADMIN;
use crate::state::{Org, State};

/// The user the next authorizations grant for (set with `SandboxControl::set_sign_in`; stays until changed).
/// "The org" is the one the authorize request picks: the org whose team `team_id` names, else the first org.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignInAs {
    /// The org's installing Company Admin (member #1). Today's behaviour.
    #[default]
    OrgAdmin,
    /// This member of the org, with whatever role and admin roles the member has. Must be active: Miro does not
    /// let a deactivated user sign in.
    Member { member_id: String },
    /// The first active member of the org (in id order, never the installing admin) whose `role` is this wire
    /// value, e.g. `organization_internal_user` for a plain member or `organization_external_user`.
    MemberWithRole { role: String },
    /// The installing admin of the org with this id: the grant is for that org and its team, whatever org the
    /// request picked (the user chose their own team on the consent page).
    AdminOf { org_id: String },
}

/// The grant an authorization makes: whose tokens, in which org and team.
pub(crate) struct Grantee {
    pub org_id: String,
    pub team_id: String,
    pub user_id: String,
}

impl SignInAs {
    /// The grantee for an authorize request that picked `picked`; an error message when the chosen user does
    /// not exist (the test's setup is wrong, and the answer says how).
    pub(crate) fn grantee(&self, state: &State, picked: &Org) -> Result<Grantee, String> {
        let of = |org: &Org, user_id: &str| Grantee {
            org_id: org.id.clone(),
            team_id: org.team_id.clone(),
            user_id: user_id.to_string(),
        };
        match self {
            SignInAs::OrgAdmin => Ok(of(picked, &picked.admin.id)),
            SignInAs::Member { member_id } => match picked.member(member_id) {
                Some(m) if m.active => Ok(of(picked, &m.id)),
                Some(_) => Err(format!(
                    "sandbox sign-in: member {member_id} of org {} is deactivated and cannot sign in",
                    picked.id
                )),
                None => Err(format!(
                    "sandbox sign-in: no member {member_id} in org {} (set_sign_in names a member of the org \
                     the request's team_id picks)",
                    picked.id
                )),
            },
            SignInAs::MemberWithRole { role } => picked
                .members
                .values()
                .find(|m| m.active && m.role == *role && m.id != picked.admin.id)
                .map(|m| of(picked, &m.id))
                .ok_or_else(|| {
                    format!(
                        "sandbox sign-in: org {} has no active member with role {role:?} besides the installing \
                         admin",
                        picked.id
                    )
                }),
            SignInAs::AdminOf { org_id } => state
                .org(org_id)
                .map(|o| of(o, &o.admin.id))
                .ok_or_else(|| format!("sandbox sign-in: no org {org_id} in this sandbox")),
        }
    }
}

impl Org {
    /// Company Admin by the user's current member entry (a test can change it); the installing admin of an org
    /// generated without members is one too.
    pub(crate) fn is_company_admin(&self, user_id: &str) -> bool {
        match self.member(user_id) {
            Some(m) => m.role == ROLE_ADMIN,
            None => user_id == self.admin.id,
        }
    }

    /// The name Miro shows for a user of this org (token info's `user` and `createdBy`).
    pub(crate) fn user_name(&self, user_id: &str) -> String {
        match self.member(user_id) {
            Some(m) => m.display_name.clone(),
            None => self.admin.display_name.clone(),
        }
    }
}
