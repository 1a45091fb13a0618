//! Hard guardrails: members no policy can make reclaimable. They are code, not data, on purpose.
//!
//! - Company Admins and anyone holding an admin role: locking them out can lock the org out of its own admin console.
//! - Guests and external users: Miro's SCIM API cannot deprovision them, and they are not our employees' seats.
//! - Unknown roles: a role we cannot name is a role we cannot prove safe.
//! - Deactivated or removed members: their seat is already free; acting again would only muddy the audit trail.

use std::fmt;

use miro_client::Role;
use serde::{Deserialize, Serialize};

use crate::domain::Subscription;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "guardrail", rename_all = "snake_case")]
pub enum Guardrail {
    /// Role `organization_internal_admin`.
    CompanyAdmin,
    /// Non-empty `adminRoles`.
    HasAdminRoles { names: Vec<String> },
    /// Role `organization_team_guest_user`.
    Guest,
    /// Role `organization_external_user`.
    ExternalUser,
    /// A role outside the documented set (`unknown` or a value Miro added later).
    UnknownRole { role: String },
    /// `active` is false in Miro.
    AlreadyDeactivated,
    /// The member is no longer in Miro's member list.
    RemovedFromMiro,
}

/// Every guardrail that protects `member`, in a fixed order. Empty means the guardrails allow reclaiming.
pub fn check(member: &Subscription) -> Vec<Guardrail> {
    let mut hits = Vec::new();
    match &member.role {
        Role::InternalUser => {}
        Role::InternalAdmin => hits.push(Guardrail::CompanyAdmin),
        Role::TeamGuestUser => hits.push(Guardrail::Guest),
        Role::ExternalUser => hits.push(Guardrail::ExternalUser),
        other @ (Role::Unknown | Role::Other(_)) => hits.push(Guardrail::UnknownRole {
            role: other.as_str().to_owned(),
        }),
    }
    if !member.admin_roles.is_empty() {
        hits.push(Guardrail::HasAdminRoles {
            names: member.admin_roles.clone(),
        });
    }
    if !member.active {
        hits.push(Guardrail::AlreadyDeactivated);
    }
    if member.is_removed() {
        hits.push(Guardrail::RemovedFromMiro);
    }
    hits
}

impl fmt::Display for Guardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guardrail::CompanyAdmin => f.write_str("Company Admin (never reclaimed)"),
            Guardrail::HasAdminRoles { names } => {
                write!(
                    f,
                    "holds admin role(s) {} (never reclaimed)",
                    names.join(", ")
                )
            }
            Guardrail::Guest => f.write_str("team guest (SCIM cannot deprovision guests)"),
            Guardrail::ExternalUser => {
                f.write_str("external user (SCIM cannot deprovision external users)")
            }
            Guardrail::UnknownRole { role } => {
                write!(
                    f,
                    "unknown role \"{role}\" (cannot prove it is safe to reclaim)"
                )
            }
            Guardrail::AlreadyDeactivated => f.write_str("already deactivated in Miro"),
            Guardrail::RemovedFromMiro => f.write_str("no longer in Miro"),
        }
    }
}
