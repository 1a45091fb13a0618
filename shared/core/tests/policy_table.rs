//! Every guardrail, exemption kind, grace, never-active, threshold and scope rule, one row each, asserting the
//! exact rule that decided.

mod common;

use chrono::Duration;
use common::*;
use miro_sam_core::domain::{Email, EmailDomain, License, Role, Subscription};
use miro_sam_core::policy::{
    ExclusionRule, Exemption, ExemptionMatch, Guardrail, InactivityBasis, InactivityDays, Policy,
    Verdict, evaluate,
};

#[derive(Debug)]
enum Expect {
    Candidate {
        days: i64,
        never_active: bool,
    },
    Below {
        days: i64,
    },
    OutOfScope,
    /// The excluding rules, in order.
    Excluded(Vec<ExclusionRule>),
}

fn guard(g: Guardrail) -> ExclusionRule {
    ExclusionRule::Guardrail { guardrail: g }
}

fn exemption(matcher: ExemptionMatch, expires_in_days: Option<i64>) -> Exemption {
    Exemption {
        matcher,
        reason: "decided by IT".into(),
        expires_at: expires_in_days.map(|d| now() + Duration::days(d)),
    }
}

fn exempt(e: &Exemption) -> ExclusionRule {
    ExclusionRule::Exempt {
        matched: e.matcher.clone(),
        reason: e.reason.clone(),
        expires_at: e.expires_at,
    }
}

fn check(name: &str, policy: &Policy, m: &Subscription, expect: Expect) {
    let got = evaluate(policy, None, m, now());
    let ok = match (&expect, &got) {
        (
            Expect::Candidate { days, never_active },
            Verdict::Candidate {
                days_inactive,
                basis,
            },
        ) => {
            days == days_inactive
                && *never_active
                    == matches!(basis, InactivityBasis::NeverActiveSinceAssigned { .. })
        }
        (Expect::Below { days }, Verdict::BelowThreshold { days_inactive, .. }) => {
            days == days_inactive
        }
        (Expect::OutOfScope, Verdict::OutOfScope) => true,
        (Expect::Excluded(rules), Verdict::Excluded(got)) => rules == got,
        _ => false,
    };
    assert!(ok, "{name}: expected {expect:?}, got {got:?}");
}

#[test]
fn guardrails_hold_whatever_the_policy() {
    // The most permissive policy there is: every paid license, 1-day threshold, no grace.
    let p = Policy {
        inactivity_days: InactivityDays::new(1).unwrap(),
        grace_days: 0,
        ..Policy::default()
    };
    let inactive = member(1, 365);
    let rows: Vec<(&str, Subscription, Vec<ExclusionRule>)> = vec![
        (
            "company admin",
            with(inactive.clone(), |m| m.role = Role::InternalAdmin),
            vec![guard(Guardrail::CompanyAdmin)],
        ),
        (
            "admin roles",
            with(inactive.clone(), |m| {
                m.admin_roles = vec!["Content Admin".into()]
            }),
            vec![guard(Guardrail::HasAdminRoles {
                names: vec!["Content Admin".into()],
            })],
        ),
        (
            "team guest",
            with(inactive.clone(), |m| m.role = Role::TeamGuestUser),
            vec![guard(Guardrail::Guest)],
        ),
        (
            "external user",
            with(inactive.clone(), |m| m.role = Role::ExternalUser),
            vec![guard(Guardrail::ExternalUser)],
        ),
        (
            "role 'unknown'",
            with(inactive.clone(), |m| m.role = Role::Unknown),
            vec![guard(Guardrail::UnknownRole {
                role: "unknown".into(),
            })],
        ),
        (
            "role Miro added later",
            with(inactive.clone(), |m| {
                m.role = Role::Other("organization_auditor".into())
            }),
            vec![guard(Guardrail::UnknownRole {
                role: "organization_auditor".into(),
            })],
        ),
        (
            "already deactivated",
            with(inactive.clone(), |m| m.active = false),
            vec![guard(Guardrail::AlreadyDeactivated)],
        ),
        (
            "removed from Miro",
            with(inactive.clone(), |m| m.removed_at = Some(days_ago(2))),
            vec![guard(Guardrail::RemovedFromMiro)],
        ),
        (
            "several at once, in fixed order",
            with(inactive.clone(), |m| {
                m.role = Role::InternalAdmin;
                m.admin_roles = vec!["User Admin".into()];
                m.active = false;
            }),
            vec![
                guard(Guardrail::CompanyAdmin),
                guard(Guardrail::HasAdminRoles {
                    names: vec!["User Admin".into()],
                }),
                guard(Guardrail::AlreadyDeactivated),
            ],
        ),
    ];
    check(
        "control: the same member unprotected",
        &p,
        &inactive,
        Expect::Candidate {
            days: 365,
            never_active: false,
        },
    );
    for (name, m, rules) in rows {
        check(name, &p, &m, Expect::Excluded(rules));
    }
}

#[test]
fn exemptions_by_email_domain_and_admin_role() {
    let by_email = exemption(
        ExemptionMatch::Email(Email::parse("USER1@acme.example").unwrap()),
        None,
    );
    let by_domain = exemption(
        ExemptionMatch::Domain(EmailDomain::parse("board.acme.example").unwrap()),
        Some(10),
    );
    let by_role = exemption(ExemptionMatch::AdminRole("board janitor".into()), None);
    let p = Policy {
        exemptions: vec![by_email.clone(), by_domain.clone(), by_role.clone()],
        ..Policy::default()
    };

    check(
        "email",
        &p,
        &member(1, 200),
        Expect::Excluded(vec![exempt(&by_email)]),
    );
    let board = with(member(2, 200), |m| {
        m.email = Email::parse("chair@board.acme.example").unwrap()
    });
    check(
        "domain",
        &p,
        &board,
        Expect::Excluded(vec![exempt(&by_domain)]),
    );
    let sub_domain = with(member(3, 200), |m| {
        m.email = Email::parse("x@eu.board.acme.example").unwrap()
    });
    check(
        "domain match is exact",
        &p,
        &sub_domain,
        Expect::Candidate {
            days: 200,
            never_active: false,
        },
    );
    // Anyone with an admin role is already behind a guardrail; the exemption is reported next to it.
    let janitor = with(member(4, 200), |m| {
        m.admin_roles = vec!["Board Janitor".into()]
    });
    check(
        "admin role name",
        &p,
        &janitor,
        Expect::Excluded(vec![
            guard(Guardrail::HasAdminRoles {
                names: vec!["Board Janitor".into()],
            }),
            exempt(&by_role),
        ]),
    );
    check(
        "no exemption matches",
        &p,
        &member(5, 200),
        Expect::Candidate {
            days: 200,
            never_active: false,
        },
    );
}

#[test]
fn expired_exemptions_no_longer_apply() {
    let mut p = Policy::default();
    let expired = exemption(
        ExemptionMatch::Email(Email::parse("user1@acme.example").unwrap()),
        Some(0),
    );
    let expired_long_ago = exemption(
        ExemptionMatch::Domain(EmailDomain::parse("acme.example").unwrap()),
        Some(-30),
    );
    p.exemptions = vec![expired, expired_long_ago];
    check(
        "expiring exactly now",
        &p,
        &member(1, 200),
        Expect::Candidate {
            days: 200,
            never_active: false,
        },
    );
    let still = exemption(
        ExemptionMatch::Email(Email::parse("user1@acme.example").unwrap()),
        Some(1),
    );
    p.exemptions.push(still.clone());
    check(
        "one still in force",
        &p,
        &member(1, 200),
        Expect::Excluded(vec![exempt(&still)]),
    );
}

#[test]
fn grace_period_for_recently_assigned_licenses() {
    let p = Policy::default(); // 30 days grace
    let reassigned = with(member(1, 200), |m| {
        m.license_assigned_at = Some(days_ago(10))
    });
    check(
        "assigned 10 days ago",
        &p,
        &reassigned,
        Expect::Excluded(vec![ExclusionRule::GracePeriod {
            license_assigned_at: days_ago(10),
            days_since_assigned: 10,
            grace_days: 30,
        }]),
    );
    let edge = with(member(2, 200), |m| {
        m.license_assigned_at = Some(days_ago(30))
    });
    check(
        "assigned exactly 30 days ago: grace is over",
        &p,
        &edge,
        Expect::Candidate {
            days: 200,
            never_active: false,
        },
    );
    let almost = with(member(3, 200), |m| {
        m.license_assigned_at = Some(days_ago(30) + Duration::seconds(1))
    });
    check(
        "29 days and change",
        &p,
        &almost,
        Expect::Excluded(vec![ExclusionRule::GracePeriod {
            license_assigned_at: days_ago(30) + Duration::seconds(1),
            days_since_assigned: 29,
            grace_days: 30,
        }]),
    );
}

#[test]
fn never_active_members() {
    let p = Policy::default();
    let never = |assigned: Option<i64>| {
        with(member(1, 0), |m| {
            m.last_activity_at = None;
            m.license_assigned_at = assigned.map(days_ago);
        })
    };
    check(
        "never active, assigned 120 days ago",
        &p,
        &never(Some(120)),
        Expect::Candidate {
            days: 120,
            never_active: true,
        },
    );
    check(
        "never active, assigned 60 days ago",
        &p,
        &never(Some(60)),
        Expect::Below { days: 60 },
    );
    check(
        "never active, no assignment date",
        &p,
        &never(None),
        Expect::Excluded(vec![ExclusionRule::NoActivityEvidence]),
    );
}

#[test]
fn threshold_edges() {
    let p = Policy::default(); // 90 days
    check(
        "exactly 90 days",
        &p,
        &member(1, 90),
        Expect::Candidate {
            days: 90,
            never_active: false,
        },
    );
    let just_under = with(member(2, 0), |m| {
        m.last_activity_at = Some(days_ago(90) + Duration::seconds(1))
    });
    check(
        "89 days 23:59:59",
        &p,
        &just_under,
        Expect::Below { days: 89 },
    );
    check(
        "active yesterday",
        &p,
        &member(3, 1),
        Expect::Below { days: 1 },
    );
    let future = with(member(4, 0), |m| {
        m.last_activity_at = Some(now() + Duration::hours(3))
    });
    check(
        "activity in the future (clock skew)",
        &p,
        &future,
        Expect::Below { days: 0 },
    );
    let p30 = Policy {
        inactivity_days: InactivityDays::new(30).unwrap(),
        ..Policy::default()
    };
    check(
        "custom 30-day threshold",
        &p30,
        &member(5, 30),
        Expect::Candidate {
            days: 30,
            never_active: false,
        },
    );
}

#[test]
fn license_scope() {
    let p = Policy::default();
    for license in [
        License::Free,
        License::FreeRestricted,
        License::FullTrial,
        License::Unknown,
    ] {
        let m = with(member(1, 365), |m| m.license = license.clone());
        check(
            &format!("{license} is not paid"),
            &p,
            &m,
            Expect::OutOfScope,
        );
    }
    let m = with(member(1, 365), |m| {
        m.license = License::Other("enterprise_plus".into())
    });
    check("unknown license value", &p, &m, Expect::OutOfScope);
    for license in [
        License::Full,
        License::Advanced,
        License::Standard,
        License::Basic,
        License::Occasional,
    ] {
        let m = with(member(1, 365), |m| m.license = license.clone());
        check(
            &format!("{license} is in the default scope"),
            &p,
            &m,
            Expect::Candidate {
                days: 365,
                never_active: false,
            },
        );
    }
    let full_only = Policy::from_json(r#"{"licenses": ["full"]}"#).unwrap();
    let basic = with(member(1, 365), |m| m.license = License::Basic);
    check(
        "basic outside a full-only policy",
        &full_only,
        &basic,
        Expect::OutOfScope,
    );
    // Scope comes first: an out-of-scope guest is counted, not listed.
    let free_guest = with(member(2, 365), |m| {
        m.license = License::Free;
        m.role = Role::TeamGuestUser;
    });
    check("free guest", &p, &free_guest, Expect::OutOfScope);
}
