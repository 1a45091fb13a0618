//! What miro-sam makes of Miro's license and role values: product decisions, kept out of `miro-client`, which
//! only decodes what Miro sends (ARCHITECTURE.md, "Boundaries that never bend").

use miro_client::{License, ScimUser};

/// The SCIM `organization_user_role` value of a Company Admin.
const COMPANY_ADMIN_ROLE: &str = "ORGANIZATION_INTERNAL_ADMIN";

/// Whether a license is a seat worth reclaiming.
pub trait LicenseExt {
    /// Licenses that cost money and are therefore worth reclaiming. Unknown values are not assumed paid: a
    /// license Miro adds later is never reclaimed before someone decides it should be.
    fn is_paid(&self) -> bool;
}

impl LicenseExt for License {
    fn is_paid(&self) -> bool {
        matches!(
            self,
            License::Full
                | License::Advanced
                | License::Standard
                | License::Basic
                | License::Occasional
        )
    }
}

/// What a SCIM user's roles mean for a reclaim.
pub trait ScimUserExt {
    /// True when the SCIM role list marks this user as a Company Admin: the last check before a deactivation, so
    /// it reads SCIM's own roles, not the download's.
    fn is_company_admin(&self) -> bool;
}

impl ScimUserExt for ScimUser {
    fn is_company_admin(&self) -> bool {
        self.user_role_values()
            .iter()
            .any(|v| v.eq_ignore_ascii_case(COMPANY_ADMIN_ROLE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miro_client::ScimRole;

    fn user(roles: &[(&str, &str)]) -> ScimUser {
        let roles: Vec<ScimRole> = roles
            .iter()
            .map(|(kind, value)| ScimRole {
                kind: kind.to_string(),
                value: value.to_string(),
                primary: None,
            })
            .collect();
        ScimUser {
            id: "1".into(),
            user_name: "ann@example.com".into(),
            active: true,
            user_type: None,
            roles,
        }
    }

    #[test]
    fn only_the_user_role_makes_a_company_admin() {
        assert!(
            user(&[("organization_user_role", "ORGANIZATION_INTERNAL_ADMIN")]).is_company_admin()
        );
        assert!(
            user(&[("Organization_User_Role", "organization_internal_admin")]).is_company_admin()
        );
        assert!(
            !user(&[("organization_admin_role", "ORGANIZATION_INTERNAL_ADMIN")]).is_company_admin()
        );
        assert!(
            !user(&[("organization_user_role", "ORGANIZATION_INTERNAL_USER")]).is_company_admin()
        );
        assert!(!user(&[]).is_company_admin());
    }

    #[test]
    fn paid_licenses() {
        for l in [
            License::Full,
            License::Advanced,
            License::Standard,
            License::Basic,
            License::Occasional,
        ] {
            assert!(l.is_paid(), "{l:?}");
        }
        for l in [
            License::Free,
            License::FreeRestricted,
            License::FullTrial,
            License::Unknown,
        ] {
            assert!(!l.is_paid(), "{l:?}");
        }
    }
}
