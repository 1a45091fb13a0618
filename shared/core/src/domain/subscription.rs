//! One member's license as we track it over time.

use super::LicenseExt;
use chrono::{DateTime, SecondsFormat, Utc};
use miro_client::{License, Member, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Email, MemberId, OrgId};
use crate::error::DomainError;

/// SHA-256 (hex) over the Miro-sourced fields of a member. Equal hashes mean "nothing Miro told us changed", which
/// lets a daily download skip the write for the large majority of members who did not change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    /// Wraps a hash read back from storage. Hashes are opaque: they are only ever compared.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One member of one org and the license they hold, as of the last download.
///
/// The Miro fields (`member_id` … `last_activity_at`) are what Miro reported; `first_seen_at`, `last_seen_at` and
/// `removed_at` are our own bookkeeping and are deliberately outside the content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub email: Email,
    pub license: License,
    pub role: Role,
    /// Names of the member's `adminRoles` ("Content Admin", custom names…), sorted.
    pub admin_roles: Vec<String>,
    /// False once the member is deactivated in Miro (their seat is then already free).
    pub active: bool,
    pub license_assigned_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// When a download first saw this member.
    pub first_seen_at: DateTime<Utc>,
    /// When a download last saw this member. Stores keep this cheap: a member unchanged since their last write is
    /// reported as seen by the org's last complete download (see
    /// [`crate::ports::MemberStore::get_member`]).
    pub last_seen_at: DateTime<Utc>,
    /// Set when a complete member listing no longer contained this member; `None` while they are in Miro.
    pub removed_at: Option<DateTime<Utc>>,
    pub content_hash: ContentHash,
}

impl Subscription {
    /// A member just read from Miro, seen for the first time at `now`. A download that already knows the member
    /// keeps the stored `first_seen_at` instead.
    pub fn from_member(
        org_id: &OrgId,
        member: &Member,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let member_id = MemberId::parse(&member.id)?;
        let email = Email::parse(&member.email)?;
        let mut admin_roles: Vec<String> = member
            .admin_roles
            .iter()
            .map(|r| {
                if r.name.trim().is_empty() {
                    r.kind.clone()
                } else {
                    r.name.clone()
                }
            })
            .collect();
        admin_roles.sort();
        admin_roles.dedup();
        let mut s = Subscription {
            org_id: org_id.clone(),
            member_id,
            email,
            license: member.license.clone(),
            role: member.role.clone(),
            admin_roles,
            active: member.active,
            license_assigned_at: member.license_assigned_at,
            last_activity_at: member.last_activity_at,
            first_seen_at: now,
            last_seen_at: now,
            removed_at: None,
            content_hash: ContentHash(String::new()),
        };
        s.content_hash = s.compute_hash();
        Ok(s)
    }

    /// Recomputes the hash from the Miro fields (use after editing them, e.g. in tests).
    pub fn compute_hash(&self) -> ContentHash {
        let mut h = Sha256::new();
        // Length-prefixed fields, so ("ab","c") and ("a","bc") can never hash alike. The version tag lets a
        // future field change re-hash everyone once instead of comparing apples with pears.
        let mut field = |name: &str, value: &str| {
            h.update(name.as_bytes());
            h.update((value.len() as u64).to_be_bytes());
            h.update(value.as_bytes());
        };
        field("v", "1");
        field("org", self.org_id.as_str());
        field("id", self.member_id.as_str());
        field("email", self.email.as_str());
        field("license", self.license.as_str());
        field("role", self.role.as_str());
        field("active", if self.active { "1" } else { "0" });
        field("assigned", &opt_time(self.license_assigned_at));
        field("activity", &opt_time(self.last_activity_at));
        field("admin_roles", &self.admin_roles.len().to_string());
        for r in &self.admin_roles {
            field("admin_role", r);
        }
        ContentHash(hex::encode(h.finalize()))
    }

    pub fn is_removed(&self) -> bool {
        self.removed_at.is_some()
    }

    /// Holds a paid license and can use it: present in Miro and not deactivated.
    pub fn holds_paid_seat(&self) -> bool {
        self.license.is_paid() && self.active && !self.is_removed()
    }
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use miro_client::AdminRole;

    fn member() -> Member {
        Member {
            id: "3458764517517819000".into(),
            email: "Jane@Example.com".into(),
            active: true,
            role: Role::InternalUser,
            license: License::Full,
            license_assigned_at: Some(Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()),
            last_activity_at: Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()),
            admin_roles: vec![],
        }
    }

    fn org() -> OrgId {
        OrgId::parse("3074457345821141000").unwrap()
    }

    #[test]
    fn hash_is_stable_across_days_and_bookkeeping() {
        let day1 = Utc.with_ymd_and_hms(2026, 5, 1, 6, 0, 0).unwrap();
        let day2 = Utc.with_ymd_and_hms(2026, 5, 2, 6, 0, 0).unwrap();
        let a = Subscription::from_member(&org(), &member(), day1).unwrap();
        let mut b = Subscription::from_member(&org(), &member(), day2).unwrap();
        assert_eq!(a.content_hash, b.content_hash);
        b.removed_at = Some(day2);
        b.first_seen_at = day1;
        assert_eq!(
            a.content_hash,
            b.compute_hash(),
            "our own bookkeeping must not change the hash"
        );
        assert_eq!(a.content_hash.as_str().len(), 64);
    }

    #[test]
    fn hash_changes_with_every_miro_field() {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 6, 0, 0).unwrap();
        let base = Subscription::from_member(&org(), &member(), now)
            .unwrap()
            .content_hash;
        type Edit = Box<dyn Fn(&mut Member)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("id", Box::new(|m| m.id = "3458764517517819001".into())),
            ("email", Box::new(|m| m.email = "john@example.com".into())),
            ("active", Box::new(|m| m.active = false)),
            ("role", Box::new(|m| m.role = Role::InternalAdmin)),
            (
                "role other",
                Box::new(|m| m.role = Role::Other("organization_x".into())),
            ),
            ("license", Box::new(|m| m.license = License::Basic)),
            ("assigned", Box::new(|m| m.license_assigned_at = None)),
            (
                "assigned moved",
                Box::new(|m| {
                    m.license_assigned_at = Some(Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 6).unwrap())
                }),
            ),
            ("activity", Box::new(|m| m.last_activity_at = None)),
            (
                "activity moved",
                Box::new(|m| {
                    m.last_activity_at = Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 1).unwrap())
                }),
            ),
            (
                "admin roles",
                Box::new(|m| {
                    m.admin_roles = vec![AdminRole {
                        kind: "prebuilt".into(),
                        name: "User Admin".into(),
                    }]
                }),
            ),
        ];
        for (what, edit) in edits {
            let mut m = member();
            edit(&mut m);
            let h = Subscription::from_member(&org(), &m, now)
                .unwrap()
                .content_hash;
            assert_ne!(h, base, "changing {what} must change the hash");
        }
        let other_org =
            Subscription::from_member(&OrgId::parse("1").unwrap(), &member(), now).unwrap();
        assert_ne!(
            other_org.content_hash, base,
            "the org is part of the identity"
        );
    }

    #[test]
    fn admin_role_order_does_not_matter() {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 6, 0, 0).unwrap();
        let role = |n: &str| AdminRole {
            kind: "prebuilt".into(),
            name: n.into(),
        };
        let mut a = member();
        a.admin_roles = vec![role("User Admin"), role("Content Admin")];
        let mut b = member();
        b.admin_roles = vec![role("Content Admin"), role("User Admin")];
        let sa = Subscription::from_member(&org(), &a, now).unwrap();
        let sb = Subscription::from_member(&org(), &b, now).unwrap();
        assert_eq!(sa.content_hash, sb.content_hash);
        assert_eq!(sa.admin_roles, vec!["Content Admin", "User Admin"]);
    }

    #[test]
    fn invalid_members_are_refused_with_the_reason() {
        let now = Utc::now();
        let mut m = member();
        m.email = "not-an-email".into();
        assert!(matches!(
            Subscription::from_member(&org(), &m, now),
            Err(DomainError::NotAnEmail { .. })
        ));
        let mut m = member();
        m.id = "abc".into();
        assert!(matches!(
            Subscription::from_member(&org(), &m, now),
            Err(DomainError::NotAnId { .. })
        ));
    }
}
