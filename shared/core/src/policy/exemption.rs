//! Exemptions: people an org decided must keep their seat, each with a written reason and optionally an end date.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, EmailDomain, Subscription};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    #[serde(rename = "match")]
    pub matcher: ExemptionMatch,
    /// Why this exemption exists; shown next to every member it protects.
    pub reason: String,
    /// From this instant on the exemption no longer applies. `None`: until removed from the policy.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who an exemption covers. JSON: `{"email": "ceo@example.com"}`, `{"domain": "example.com"}` or
/// `{"admin_role": "Content Admin"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionMatch {
    Email(Email),
    /// Every address at exactly this domain.
    Domain(EmailDomain),
    /// Members holding an admin role of this name (compared case-insensitively). Members with any admin role
    /// are already protected by a guardrail; this exemption records the org's own intent next to it.
    AdminRole(String),
}

impl Exemption {
    pub fn applies_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }

    pub fn matches(&self, member: &Subscription) -> bool {
        match &self.matcher {
            ExemptionMatch::Email(e) => &member.email == e,
            ExemptionMatch::Domain(d) => d.matches(&member.email),
            ExemptionMatch::AdminRole(name) => {
                let name = name.trim();
                member
                    .admin_roles
                    .iter()
                    .any(|r| r.trim().eq_ignore_ascii_case(name))
            }
        }
    }
}

impl fmt::Display for ExemptionMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExemptionMatch::Email(e) => write!(f, "email {e}"),
            ExemptionMatch::Domain(d) => write!(f, "domain {d}"),
            ExemptionMatch::AdminRole(r) => write!(f, "admin role \"{r}\""),
        }
    }
}
