//! Controls that make SCIM and REST disagree the ways Miro's two APIs can, and that act "as an admin in Miro"
//! (changes made outside SCIM, so they are not in the SCIM write log). Rust API only, like `update_member`.

use crate::control::SandboxControl;
use crate::data::id_key;
use crate::model::SandboxMember;
use crate::scim_side::{EmptyActivity, ScimRoles};

impl SandboxControl {
    /// SCIM shows this member under `scim_id` instead of its member id (Miro documents no guarantee that the
    /// two are equal). The member id then answers 404 on SCIM. False for an unknown org or member.
    pub fn set_scim_id(&self, org_id: &str, member_id: &str, scim_id: &str) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        if org.member(member_id).is_none() {
            return false;
        }
        org.scim_side
            .ids
            .insert(member_id.to_string(), scim_id.to_string());
        true
    }

    /// The id SCIM shows for a member (its member id unless [`set_scim_id`](Self::set_scim_id) changed it).
    pub fn scim_id_of(&self, org_id: &str, member_id: &str) -> Option<String> {
        let state = self.shared.lock();
        let org = state.org(org_id)?;
        let member = org.member(member_id)?;
        Some(org.scim_id_of(member).to_string())
    }

    /// The roles SCIM reports for a member (or a SCIM-only user, by its id), whatever REST says: REST keeps
    /// showing the member's own `role` and `adminRoles`. A SCIM Company Admin is refused deactivation (409)
    /// like a REST one. False for an unknown org or user.
    pub fn set_scim_roles(&self, org_id: &str, member_id: &str, roles: ScimRoles) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        let known =
            org.member(member_id).is_some() || org.scim_side.only.contains_key(&id_key(member_id));
        if known {
            org.scim_side.roles.insert(member_id.to_string(), roles);
        }
        known
    }

    /// The member never logged in, and REST writes that in the given form (absent, `null` or `""`).
    /// False for an unknown org or member.
    pub fn set_last_activity_empty(
        &self,
        org_id: &str,
        member_id: &str,
        form: EmptyActivity,
    ) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        let Some(member) = org.members.get_mut(&id_key(member_id)) else {
            return false;
        };
        member.last_activity_at = None;
        org.scim_side
            .empty_activity
            .insert(member_id.to_string(), form);
        true
    }

    /// A user only SCIM lists (REST does not show it), with `user.id` as its SCIM id and `user.email` as its
    /// `userName`. Useful for a near-twin of a member, e.g. the same address with a Kelvin sign (U+212A) for
    /// a `k`, which full Unicode case folding would confuse with the member. Replaces a SCIM-only user with the
    /// same id. False for an unknown org.
    pub fn add_scim_only_user(&self, org_id: &str, user: SandboxMember) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        org.scim_side.only.insert(id_key(&user.id), user);
        true
    }

    /// SCIM-only users, sorted by id.
    pub fn scim_only_users(&self, org_id: &str) -> Vec<SandboxMember> {
        self.shared
            .lock()
            .org(org_id)
            .map(|o| o.scim_side.only.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Deactivates or reactivates a user the way an admin does in Miro's admin console: no SCIM call, nothing
    /// in the SCIM write log, visible to REST and SCIM alike. `id` is a member id or a SCIM id (a SCIM-only
    /// user, or a member under its changed SCIM id). False for an unknown org or user.
    pub fn admin_set_active(&self, org_id: &str, id: &str, active: bool) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        if let Some(member) = org.members.get_mut(&id_key(id)) {
            member.active = active;
            return true;
        }
        let Some(home) = org.scim_home(id) else {
            return false;
        };
        match org.scim_home_mut(&home) {
            Some(user) => {
                user.active = active;
                true
            }
            None => false,
        }
    }

    /// From now on REST lists this member with a broken entry (no `email`, `active` given as text): a client must
    /// keep the rest of the page. `false` undoes it. False for an unknown org or member.
    pub fn set_member_entry_undecodable(
        &self,
        org_id: &str,
        member_id: &str,
        broken: bool,
    ) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        if org.member(member_id).is_none() {
            return false;
        }
        if broken {
            org.scim_side.undecodable.insert(member_id.to_string());
        } else {
            org.scim_side.undecodable.remove(member_id);
        }
        true
    }
}
