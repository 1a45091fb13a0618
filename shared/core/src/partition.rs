//! A partition of an org's members list into filtered cursor streams that can be paged at once.
//!
//! # Why
//! One cursor stream is strictly sequential: the next cursor is in the answer to the previous page, so one stream
//! never goes faster than one page per round trip. At Miro's latency that is far below the credit ceiling.
//! Reaching it needs several cursor streams at once, over filters that split the list into disjoint parts whose
//! union is the list. The download pages them together and merges them back into one id-ordered stream
//! (`jobs::download`), so everything after the paging is the same as for one stream.
//!
//! # The partition, and what makes it exact
//! Miro's members endpoint filters by `active` (boolean), `license` and `role` (documented enums, each with an
//! `unknown` value). The parts are the cells of `active × license` (or `active × license × role`), every
//! documented filter value included, `unknown` too.
//!
//! - `active`: every member carries the required boolean, so `{active=true} ∪ {active=false}` is the list and the
//!   two are disjoint. Exact with no assumption beyond "the filter filters the field it names".
//! - `license` (and `role`): with K the documented values and S(f, v) the rule "filter value f selects member value
//!   v", the partition relies on **S(f, v) ⇔ f = v, or f = `unknown` and v ∉ K**: the `unknown` filter is the
//!   catch-all for values outside the enum. Then every value is selected by exactly one f ∈ K, so the cells are
//!   disjoint and cover the list. The sandbox implements exactly S. For Miro itself S is **UNCONFIRMED**
//!   (`docs/miro-api.md`: Miro documents the enum, not what `license=unknown` selects): that is why partitioned
//!   paging is a setting, off by default.
//!
//! Two guards keep a wrong assumption from turning into lost data (both in the download):
//! 1. every member a part returns must satisfy S for that part's filter ([`in_part`]), or the download fails;
//! 2. a stored member absent from a partitioned listing is looked up (`GET /members/{id}`) and only a 404 counts
//!    as gone. This also covers a member who moves between parts while the download runs.

use miro_client::{License, Member, MemberFilter, Role};
use serde::{Deserialize, Serialize};

/// How the members list is split into cursor streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// One unfiltered stream: exact by Miro's documentation alone. The default.
    #[default]
    Sequential,
    /// `active=true` and `active=false`: exact with no assumption, but orgs are ~95% active, so nothing is gained.
    Active,
    /// `active × license` (2 × 9 parts).
    ActiveLicense,
    /// `active × license × role` (2 × 9 × 5 parts).
    ActiveLicenseRole,
}

impl Partitioning {
    pub const ALL: [Partitioning; 4] = [
        Partitioning::Sequential,
        Partitioning::Active,
        Partitioning::ActiveLicense,
        Partitioning::ActiveLicenseRole,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Partitioning::Sequential => "sequential",
            Partitioning::Active => "active",
            Partitioning::ActiveLicense => "active×license",
            Partitioning::ActiveLicenseRole => "active×license×role",
        }
    }

    /// The spelling in settings and on command lines.
    pub fn arg(self) -> &'static str {
        match self {
            Partitioning::Sequential => "sequential",
            Partitioning::Active => "active",
            Partitioning::ActiveLicense => "active-license",
            Partitioning::ActiveLicenseRole => "active-license-role",
        }
    }

    pub fn from_arg(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.arg() == s.trim())
    }

    /// The filter of every part. `Sequential` is one part without any filter.
    pub fn filters(self) -> Vec<MemberFilter> {
        if self == Partitioning::Sequential {
            return vec![MemberFilter::default()];
        }
        let licenses: Vec<Option<License>> = match self {
            Partitioning::Active => vec![None],
            _ => License::KNOWN.iter().cloned().map(Some).collect(),
        };
        let roles: Vec<Option<Role>> = match self {
            Partitioning::ActiveLicenseRole => Role::KNOWN.iter().cloned().map(Some).collect(),
            _ => vec![None],
        };
        let mut out = Vec::new();
        for active in [Some(true), Some(false)] {
            for license in &licenses {
                for role in &roles {
                    out.push(MemberFilter {
                        license: license.clone(),
                        role: role.clone(),
                        active,
                    });
                }
            }
        }
        out
    }
}

/// The selection rule S the exactness proof assumes: equal wire values, and the filter value `unknown` also
/// selects every value outside the documented enum.
pub fn license_selects(filter: &License, value: &License) -> bool {
    match filter {
        License::Unknown => matches!(value, License::Unknown | License::Other(_)),
        f => f == value,
    }
}

/// Same rule for roles.
pub fn role_selects(filter: &Role, value: &Role) -> bool {
    match filter {
        Role::Unknown => matches!(value, Role::Unknown | Role::Other(_)),
        f => f == value,
    }
}

/// Whether `m` belongs to the part `f` selects, under rule S (guard 1).
pub fn in_part(f: &MemberFilter, m: &Member) -> bool {
    selects(f, m.active, &m.license, &m.role)
}

/// [`in_part`] on the fields themselves (a stored member, a snapshot count).
pub fn selects(f: &MemberFilter, active: bool, license: &License, role: &Role) -> bool {
    f.active.is_none_or(|a| active == a)
        && f.license
            .as_ref()
            .is_none_or(|l| license_selects(l, license))
        && f.role.as_ref().is_none_or(|r| role_selects(r, role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_is_in_exactly_one_part() {
        let odd = [
            (true, License::Full, Role::InternalUser),
            (
                false,
                License::Other("future".into()),
                Role::Other("x".into()),
            ),
            (true, License::Unknown, Role::Unknown),
        ];
        for p in Partitioning::ALL {
            let filters = p.filters();
            for (active, license, role) in &odd {
                let n = filters
                    .iter()
                    .filter(|f| selects(f, *active, license, role))
                    .count();
                assert_eq!(n, 1, "{p:?} {active} {license:?} {role:?}");
            }
        }
        assert_eq!(Partitioning::ActiveLicense.filters().len(), 18);
        assert_eq!(
            Partitioning::from_arg("active-license"),
            Some(Partitioning::ActiveLicense)
        );
        assert_eq!(Partitioning::default(), Partitioning::Sequential);
    }
}
