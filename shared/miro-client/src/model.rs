//! Miro's payloads as typed values. Shapes follow `docs/miro-api.md`; where that page says UNCONFIRMED the
//! decoders are tolerant (unknown enum values are kept, empty dates are `None`, ids may be strings or bare numbers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wire::{id_string, lenient_datetime, opt_id_string};

/// Generates an enum over Miro's documented wire values with an `Other(String)` catch-all, so a value Miro adds
/// tomorrow is kept and reported rather than failing a whole page of members.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value Miro sent that this version does not know.
            Other(String),
        }

        impl $name {
            /// Every documented value, in documentation order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s.as_str(),
                }
            }

            pub fn parse(s: &str) -> Self {
                match s {
                    $($wire => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

wire_enum! {
    /// An org member's license (`license` on `/v2/orgs/{org}/members`).
    License {
        Advanced => "advanced",
        Standard => "standard",
        Basic => "basic",
        Full => "full",
        Occasional => "occasional",
        Free => "free",
        FreeRestricted => "free_restricted",
        FullTrial => "full_trial",
        Unknown => "unknown",
    }
}

wire_enum! {
    /// An org member's role (`role` on `/v2/orgs/{org}/members`).
    Role {
        InternalAdmin => "organization_internal_admin",
        InternalUser => "organization_internal_user",
        ExternalUser => "organization_external_user",
        TeamGuestUser => "organization_team_guest_user",
        Unknown => "unknown",
    }
}

/// One entry of a member's `adminRoles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRole {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// An organization member as returned by `GET /v2/orgs/{org}/members[/{id}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub email: String,
    pub active: bool,
    pub role: Role,
    pub license: License,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub license_assigned_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub last_activity_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub admin_roles: Vec<AdminRole>,
}

/// `GET /v2/orgs/{org}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub name: String,
    /// Kept as text: the plan enum has grown before and an unknown plan must not stop a download.
    pub plan: String,
    pub full_licenses_purchased: i64,
}

/// One page of `GET /v2/orgs/{org}/members`.
#[derive(Debug, Clone)]
pub struct MembersPage {
    pub members: Vec<Member>,
    /// Entries of the page that are not a member we can read (a required field missing or mistyped). The rest of
    /// the page is still delivered; the caller decides what an incomplete page means.
    pub undecodable: Vec<UndecodableMember>,
    /// The cursor for the next page; `None` when this was the last page.
    pub next_cursor: Option<String>,
}

/// What can safely be said about a member entry that did not decode: its id if it has a readable one, and the
/// kind of problem. Never the entry itself, nor serde's message when it could quote a value (an email, a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecodableMember {
    pub id: Option<String>,
    pub problem: String,
}

impl UndecodableMember {
    pub(crate) fn of(entry: &serde_json::Value, e: &serde_json::Error) -> Self {
        let id = match entry.get("id") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let msg = e.to_string();
        // "missing field `x`" and "unknown variant" name only our own field names; other messages may quote data.
        let problem = if msg.starts_with("missing field") {
            msg
        } else if !entry.is_object() {
            "the entry is not a JSON object".to_owned()
        } else {
            "a field has a value of the wrong type".to_owned()
        };
        UndecodableMember { id, problem }
    }
}

/// Filters for the members list. With `emails`, Miro ignores every other filter and paging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFilter {
    pub license: Option<License>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// A `{type, name, id}` reference inside token info.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// `GET /v1/oauth-token`: which org, team and user a token belongs to, and its scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub organization: Entity,
    pub team: Entity,
    pub user: Entity,
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub scopes: Vec<String>,
}

impl TokenInfo {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A SCIM user, reduced to what the product reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub user_name: String,
    #[serde(default = "crate::wire::default_true")]
    pub active: bool,
    /// Free-form license text ("Full", "Free Restricted", ...); compare case-insensitively.
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub roles: Vec<ScimRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimRole {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, deserialize_with = "crate::wire::any_as_string")]
    pub value: String,
    #[serde(default)]
    pub primary: Option<bool>,
}

impl ScimUser {
    /// The user's organization roles SCIM lists (values of `organization_user_role` entries, e.g.
    /// "ORGANIZATION_INTERNAL_ADMIN"). What a role means for the product is the core's to decide.
    pub fn user_role_values(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.kind.eq_ignore_ascii_case("organization_user_role"))
            .map(|r| r.value.clone())
            .collect()
    }

    /// The admin roles SCIM lists (values of `organization_admin_role` entries, e.g. "Content Admin"). REST's
    /// `adminRoles` is optional, so this is the signal to trust at the moment of a change.
    pub fn admin_role_names(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.kind.eq_ignore_ascii_case("organization_admin_role"))
            .map(|r| r.value.clone())
            .collect()
    }
}

/// One page of SCIM `GET /Users`.
#[derive(Debug, Clone)]
pub struct ScimUsersPage {
    pub users: Vec<ScimUser>,
    pub total_results: u64,
    pub start_index: u64,
}

/// What `GET /ServiceProviderConfig` tells us; used as the SCIM connection test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimServiceInfo {
    pub patch_supported: bool,
    pub filter_max_results: Option<u64>,
}

/// Raw token endpoint answer; turned into [`crate::TokenGrant`] straight away so the strings live in secrets.
#[derive(Deserialize)]
pub(crate) struct RawTokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub user_id: Option<String>,
}
