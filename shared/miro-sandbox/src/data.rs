//! Deterministic synthetic orgs: the same seed (on the same UTC day) yields the same members.

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::OrgSpec;
use crate::model::{ROLE_ADMIN, ROLE_EXTERNAL, ROLE_GUEST, ROLE_USER, SandboxMember};

const MEMBER_ID_BASE: u64 = 3_074_457_345_000_000_000;
const MEMBER_ID_STEP: u64 = 7919;
/// Orgs get disjoint id ranges because Miro user ids are global.
const ORG_ID_SPAN: u64 = 1_000_000_000_000;
/// Not representable as f64, so a client that parses team_id through a float gets it wrong.
const TEAM_ID_BASE: u64 = 3_074_457_345_618_265_117;

const FIRST_NAMES: &[&str] = &[
    "ada", "ben", "chloe", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas", "kate",
    "liam", "maria", "noah", "olga", "pedro", "quinn", "rosa", "sven", "tara", "umar", "vera",
    "wei", "ximena", "yusuf", "zoe", "anna", "bruno", "carla", "diego", "emma", "felix",
];
const LAST_NAMES: &[&str] = &[
    "smith",
    "garcia",
    "muller",
    "rossi",
    "kowalski",
    "nguyen",
    "okafor",
    "tanaka",
    "silva",
    "johansson",
    "dubois",
    "petrov",
    "kim",
    "novak",
    "haddad",
    "fischer",
    "moreau",
    "ivanova",
    "costa",
    "lindqvist",
    "brennan",
    "schmidt",
    "patel",
    "yamamoto",
];

const INTERNAL_DOMAIN: &str = "acme-corp.example";
const CONTRACTOR_DOMAIN: &str = "contractor.example";

/// Weights from the brief: full 55, advanced/standard/basic 10 together, occasional 5,
/// free 10, free_restricted 12, full_trial 3.
const LICENSE_WEIGHTS: &[(&str, u32)] = &[
    ("full", 55),
    ("advanced", 3),
    ("standard", 4),
    ("basic", 3),
    ("occasional", 5),
    ("free", 10),
    ("free_restricted", 12),
    ("full_trial", 3),
];

pub(crate) struct GeneratedOrg {
    pub admin: SandboxMember,
    pub team_id: String,
    pub members: Vec<SandboxMember>,
    pub full_licenses_purchased: i64,
}

/// Ids are compared numerically (all are digit strings of the same width in practice);
/// the length-first key keeps that true for ids added by tests too.
pub(crate) fn id_key(id: &str) -> (usize, String) {
    (id.len(), id.to_string())
}

pub(crate) fn generate_org(
    spec: &OrgSpec,
    index: usize,
    seed: u64,
    anchor: DateTime<Utc>,
) -> GeneratedOrg {
    let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut members = Vec::with_capacity(spec.members);
    let admin = admin_member(member_id(index, 1), anchor);
    for k in 1..=spec.members as u64 {
        let id = member_id(index, k);
        let member = if k == 1 {
            admin.clone()
        } else {
            random_member(&mut rng, id, k, anchor, spec.unknown_enum_values)
        };
        members.push(member);
    }
    let full_active = members
        .iter()
        .filter(|m| m.active && m.license == "full")
        .count() as i64;
    let full_licenses_purchased = spec
        .full_licenses_purchased
        .unwrap_or(full_active + (full_active + 9) / 10);
    GeneratedOrg {
        admin,
        team_id: (TEAM_ID_BASE + index as u64 * 1_000_003).to_string(),
        members,
        full_licenses_purchased,
    }
}

/// The id of the org's `k`-th member (1 is the installing admin): ids grow with `k`, so a member who joins
/// later (a larger `k`) sorts after everyone generated at start-up, as a new Miro user id would.
pub(crate) fn member_id(index: usize, k: u64) -> u64 {
    MEMBER_ID_BASE + index as u64 * ORG_ID_SPAN + k * MEMBER_ID_STEP
}

/// Someone invited into the org at `at`: an internal user, usually given a full license (a fifth get a free
/// one), with no activity yet.
pub(crate) fn joiner(rng: &mut StdRng, index: usize, k: u64, at: DateTime<Utc>) -> SandboxMember {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let license = if rng.random_bool(0.8) { "full" } else { "free" };
    SandboxMember {
        id: member_id(index, k).to_string(),
        email: format!("{first}.{last}.{k}@{INTERNAL_DOMAIN}"),
        active: true,
        role: ROLE_USER.to_string(),
        license: license.to_string(),
        license_assigned_at: Some(at),
        last_activity_at: None,
        admin_roles: Vec::new(),
        display_name: format!("{} {}", capitalize(first), capitalize(last)),
    }
}

/// The Company Admin who installs the OAuth app; recently active, full license.
fn admin_member(id: u64, anchor: DateTime<Utc>) -> SandboxMember {
    SandboxMember {
        id: id.to_string(),
        email: format!("jane.admin.1@{INTERNAL_DOMAIN}"),
        active: true,
        role: ROLE_ADMIN.to_string(),
        license: "full".to_string(),
        license_assigned_at: Some(anchor - ChronoDuration::days(700)),
        last_activity_at: Some(anchor - ChronoDuration::hours(3)),
        admin_roles: Vec::new(),
        display_name: "Jane Admin".to_string(),
    }
}

fn random_member(
    rng: &mut StdRng,
    id: u64,
    k: u64,
    anchor: DateTime<Utc>,
    unknown_enums: bool,
) -> SandboxMember {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let role = match rng.random_range(0..100u32) {
        0..85 => ROLE_USER,
        85..88 => ROLE_ADMIN,
        88..95 => ROLE_EXTERNAL,
        _ => ROLE_GUEST,
    };
    let mut license = if role == ROLE_GUEST {
        // Team guests are rarely given paid seats.
        if rng.random_bool(0.7) {
            "free_restricted"
        } else {
            "free"
        }
    } else {
        weighted_license(rng)
    }
    .to_string();
    let mut role = role.to_string();
    if unknown_enums {
        // k = 2 and 3 guarantee at least one of each in small orgs.
        if k == 2 || k % 50 == 17 {
            license = "enterprise_plus".to_string();
        }
        if k == 3 || k % 50 == 33 {
            role = "organization_super_user".to_string();
        }
    }
    let active = role == ROLE_ADMIN || rng.random_bool(0.95);
    let admin_roles = if role == ROLE_USER && rng.random_bool(0.02) {
        let name = ["Content Admin", "User Admin", "Security Admin"][rng.random_range(0..3)];
        vec![("prebuilt".to_string(), name.to_string())]
    } else {
        Vec::new()
    };
    let last_activity_at = random_last_activity(rng, anchor);
    let license_assigned_at = random_license_assigned(rng, anchor, last_activity_at);
    let domain = if role == ROLE_EXTERNAL || role == ROLE_GUEST {
        CONTRACTOR_DOMAIN
    } else {
        INTERNAL_DOMAIN
    };
    SandboxMember {
        id: id.to_string(),
        email: format!("{first}.{last}.{k}@{domain}"),
        active,
        role,
        license,
        license_assigned_at,
        last_activity_at,
        admin_roles,
        display_name: format!("{} {}", capitalize(first), capitalize(last)),
    }
}

fn weighted_license(rng: &mut StdRng) -> &'static str {
    let total: u32 = LICENSE_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (license, weight) in LICENSE_WEIGHTS {
        if roll < *weight {
            return license;
        }
        roll -= weight;
    }
    "full"
}

/// ~8% never active; half of the rest within 30 days; the others spread over two years, denser when recent.
fn random_last_activity(rng: &mut StdRng, anchor: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if rng.random_bool(0.08) {
        return None;
    }
    let secs = if rng.random_bool(0.5) {
        rng.random_range(0..30 * 86_400)
    } else {
        let u: f64 = rng.random();
        30 * 86_400 + (u * u * (700.0 * 86_400.0)) as i64
    };
    Some(anchor - ChronoDuration::seconds(secs))
}

/// Mostly before the last activity and within three years; ~5% fresh (last 30 days); ~3% absent.
fn random_license_assigned(
    rng: &mut StdRng,
    anchor: DateTime<Utc>,
    last_activity: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let roll = rng.random_range(0..100u32);
    if roll < 3 {
        return None;
    }
    if roll < 8 {
        return Some(anchor - ChronoDuration::seconds(rng.random_range(0..30 * 86_400)));
    }
    let earliest = anchor - ChronoDuration::days(3 * 365);
    let latest = last_activity.unwrap_or(anchor).max(earliest);
    let span = (latest - earliest).num_seconds().max(1);
    Some(earliest + ChronoDuration::seconds(rng.random_range(0..span)))
}

/// Start of the current UTC day: keeps generated timestamps identical for the same seed
/// across sandboxes started on the same day, while staying relative to "now".
pub(crate) fn day_anchor(now: DateTime<Utc>) -> DateTime<Utc> {
    let date = now.date_naive();
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_roughly_as_specified() {
        let spec = OrgSpec {
            members: 5000,
            ..OrgSpec::default()
        };
        let org = generate_org(&spec, 0, 7, day_anchor(Utc::now()));
        let n = org.members.len() as f64;
        let share = |f: &dyn Fn(&SandboxMember) -> bool| {
            org.members.iter().filter(|m| f(m)).count() as f64 / n
        };
        let full = share(&|m| m.license == "full");
        assert!((0.45..0.62).contains(&full), "full share {full}");
        let internal = share(&|m| m.role == ROLE_USER);
        assert!(
            (0.80..0.90).contains(&internal),
            "internal share {internal}"
        );
        let active = share(&|m| m.active);
        assert!((0.92..0.98).contains(&active), "active share {active}");
        let never = share(&|m| m.last_activity_at.is_none());
        assert!((0.05..0.11).contains(&never), "never-active share {never}");
        let ids: Vec<u64> = org.members.iter().map(|m| m.id.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(org.members.iter().all(|m| m.id.len() == 19));
        assert!(org.full_licenses_purchased > 0);
    }
}
