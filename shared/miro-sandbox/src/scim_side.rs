//! What SCIM shows of an org where it differs from REST. By default a SCIM user is the REST member with the same
//! id; tests can make the two disagree the ways Miro's two APIs can (a different id, roles only SCIM reports,
//! a user only SCIM lists), so a client that joins them carelessly picks the wrong person here.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::data::id_key;
use crate::model::{ROLE_ADMIN, SandboxMember};
use crate::state::Org;

/// SCIM's primary `organization_user_role` value for a Company Admin.
pub const SCIM_ROLE_ADMIN: &str = "ORGANIZATION_INTERNAL_ADMIN";
/// SCIM's primary `organization_user_role` value for a plain member.
pub const SCIM_ROLE_USER: &str = "ORGANIZATION_INTERNAL_USER";

/// The roles SCIM reports for a user, set independently of what REST shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimRoles {
    /// The primary `organization_user_role` value, e.g. [`SCIM_ROLE_ADMIN`].
    pub primary: String,
    /// Values of `organization_admin_role` entries, e.g. "Content Admin".
    pub admin_roles: Vec<String>,
}

impl ScimRoles {
    /// A Company Admin by SCIM's primary role.
    pub fn company_admin() -> Self {
        ScimRoles {
            primary: SCIM_ROLE_ADMIN.to_string(),
            admin_roles: Vec::new(),
        }
    }

    /// A plain member who holds one admin role (e.g. "Content Admin").
    pub fn member_with_admin_role(name: &str) -> Self {
        ScimRoles {
            primary: SCIM_ROLE_USER.to_string(),
            admin_roles: vec![name.to_string()],
        }
    }

    /// What SCIM derives from the REST member when nothing was set.
    pub(crate) fn derived(m: &SandboxMember) -> Self {
        ScimRoles {
            primary: if m.role == ROLE_ADMIN {
                SCIM_ROLE_ADMIN.to_string()
            } else {
                m.role.to_ascii_uppercase()
            },
            admin_roles: m.admin_roles.iter().map(|(_, n)| n.clone()).collect(),
        }
    }

    pub(crate) fn is_company_admin(&self) -> bool {
        self.primary.eq_ignore_ascii_case(SCIM_ROLE_ADMIN)
    }
}

/// How an empty `lastActivityAt` is written on REST for one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyActivity {
    /// The field is left out.
    Absent,
    /// `"lastActivityAt": null`.
    Null,
    /// `"lastActivityAt": ""`, Miro's documented "never logged in".
    EmptyString,
}

/// Per-org SCIM-side differences and REST presentation choices set by tests.
#[derive(Default)]
pub(crate) struct ScimSide {
    /// REST member id → SCIM id, for members whose SCIM id differs from their member id.
    pub ids: HashMap<String, String>,
    /// REST member id (or SCIM-only user id) → roles SCIM reports instead of the derived ones.
    pub roles: HashMap<String, ScimRoles>,
    /// Users only SCIM lists, keyed by SCIM id.
    pub only: BTreeMap<(usize, String), SandboxMember>,
    /// REST member id → how REST writes its empty `lastActivityAt`.
    pub empty_activity: HashMap<String, EmptyActivity>,
    /// REST member ids whose entry in member listings is broken (no `email`, `active` as text), as a client must
    /// expect from an API that adds or changes fields.
    pub undecodable: HashSet<String>,
}

/// Where a SCIM user's state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScimHome {
    /// The REST member with this id key.
    Member((usize, String)),
    /// A SCIM-only user with this id key.
    Only((usize, String)),
}

/// One SCIM user as SCIM shows it.
pub(crate) struct ScimView<'a> {
    pub id: &'a str,
    pub member: &'a SandboxMember,
    pub roles: ScimRoles,
}

impl Org {
    /// The SCIM id of a REST member.
    pub fn scim_id_of<'a>(&'a self, member: &'a SandboxMember) -> &'a str {
        self.scim_side
            .ids
            .get(&member.id)
            .map_or(member.id.as_str(), String::as_str)
    }

    /// Resolves a SCIM id. Guests and external users are invisible to SCIM, exactly like unknown ids.
    pub fn scim_home(&self, scim_id: &str) -> Option<ScimHome> {
        let key = id_key(scim_id);
        if self.scim_side.only.contains_key(&key) {
            return Some(ScimHome::Only(key));
        }
        let member_id = self
            .scim_side
            .ids
            .iter()
            .find(|(_, s)| *s == scim_id)
            .map(|(m, _)| m.as_str());
        let member = match member_id {
            Some(m) => self.member(m)?,
            // A member whose SCIM id was changed is no longer reachable by its member id.
            None if self.scim_side.ids.contains_key(scim_id) => return None,
            None => self.member(scim_id)?,
        };
        member
            .is_scim_user()
            .then(|| ScimHome::Member(id_key(&member.id)))
    }

    pub fn scim_view(&self, home: &ScimHome) -> Option<ScimView<'_>> {
        match home {
            ScimHome::Member(k) => self.members.get(k).map(|m| self.member_view(m)),
            ScimHome::Only(k) => self.scim_side.only.get(k).map(|m| self.only_view(m)),
        }
    }

    fn only_view<'a>(&'a self, m: &'a SandboxMember) -> ScimView<'a> {
        ScimView {
            id: m.id.as_str(),
            member: m,
            roles: self.roles_of(m),
        }
    }

    fn roles_of(&self, m: &SandboxMember) -> ScimRoles {
        self.scim_side
            .roles
            .get(&m.id)
            .cloned()
            .unwrap_or_else(|| ScimRoles::derived(m))
    }

    pub fn scim_home_mut(&mut self, home: &ScimHome) -> Option<&mut SandboxMember> {
        match home {
            ScimHome::Member(k) => self.members.get_mut(k),
            ScimHome::Only(k) => self.scim_side.only.get_mut(k),
        }
    }

    fn member_view<'a>(&'a self, m: &'a SandboxMember) -> ScimView<'a> {
        ScimView {
            id: self.scim_id_of(m),
            member: m,
            roles: self.roles_of(m),
        }
    }

    /// Every SCIM user, ordered by SCIM id.
    pub fn scim_views(&self) -> Vec<ScimView<'_>> {
        let mut views: Vec<ScimView<'_>> = self
            .members
            .values()
            .filter(|m| m.is_scim_user())
            .map(|m| self.member_view(m))
            .chain(self.scim_side.only.values().map(|m| self.only_view(m)))
            .collect();
        views.sort_by_key(|v| id_key(v.id));
        views
    }
}
