//! Public value types: the ground truth tests inspect and the records they judge by.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Documented `license` enum of `/v2/orgs/{id}/members` (filter and field).
pub const LICENSES: &[&str] = &[
    "advanced",
    "standard",
    "basic",
    "full",
    "occasional",
    "free",
    "free_restricted",
    "full_trial",
    "unknown",
];

/// Documented `role` enum of `/v2/orgs/{id}/members` (filter and field).
pub const ROLES: &[&str] = &[
    "organization_internal_admin",
    "organization_internal_user",
    "organization_external_user",
    "organization_team_guest_user",
    "unknown",
];

pub const ROLE_ADMIN: &str = "organization_internal_admin";
pub const ROLE_USER: &str = "organization_internal_user";
pub const ROLE_EXTERNAL: &str = "organization_external_user";
pub const ROLE_GUEST: &str = "organization_team_guest_user";

/// Endpoint counter keys, pre-populated with 0 so tests can index them directly.
pub const ENDPOINT_KEYS: &[&str] = &[
    "authorize",
    "token",
    "token_info",
    "revoke",
    "org",
    "members",
    "member",
    "scim_list_users",
    "scim_get_user",
    "scim_patch_user",
    "scim_delete_user",
    "scim_service_provider_config",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxMember {
    pub id: String,
    pub email: String,
    pub active: bool,
    /// Wire value, e.g. "organization_internal_user".
    pub role: String,
    /// Wire value, e.g. "full". Deactivation keeps it; the seat is released because `active` is false.
    pub license: String,
    pub license_assigned_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// (type, name), e.g. ("prebuilt", "User Admin").
    pub admin_roles: Vec<(String, String)>,
    pub display_name: String,
}

impl SandboxMember {
    /// Guests and external users exist only in REST; Miro's SCIM does not expose them.
    pub fn is_scim_user(&self) -> bool {
        self.role != ROLE_EXTERNAL && self.role != ROLE_GUEST
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Counters {
    pub by_endpoint: BTreeMap<String, u64>,
    /// 429s sent, whether from the budget or from an injected burst.
    pub rate_limited: u64,
    pub faults_injected: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            by_endpoint: ENDPOINT_KEYS.iter().map(|k| (k.to_string(), 0)).collect(),
            rate_limited: 0,
            faults_injected: 0,
        }
    }
}

impl Counters {
    pub fn get(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).copied().unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ScimOp {
    Deactivate,
    Reactivate,
    Delete,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScimWrite {
    pub at: DateTime<Utc>,
    pub org_id: String,
    /// The SCIM id written to (the member id unless a test gave the member another SCIM id).
    pub user_id: String,
    pub email: String,
    pub op: ScimOp,
}
