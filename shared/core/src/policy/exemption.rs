//! Exemptions: people an org decided must keep their seat, each with a written reason and optionally an end date.

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, EmailDomain, Subscription};
use crate::error::DomainError;

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
    /// An exemption as a person enters it (the console's form, the CLI's flags): what it matches (`kind`: `email`,
    /// `domain` or `admin_role`; and `value`), why, and optionally the last day it holds (`2027-01-31`: through the
    /// whole of that day, UTC). Every part is checked, with a message that says what a valid one looks like.
    pub fn from_input(
        kind: &str,
        value: &str,
        reason: &str,
        last_day: Option<&str>,
    ) -> Result<Self, DomainError> {
        let invalid = |detail: String| DomainError::Invalid {
            what: "exemption",
            detail,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(
                "say who it covers: an email, a domain or an admin role".into(),
            ));
        }
        let matcher = match kind {
            "email" => ExemptionMatch::Email(Email::parse(value)?),
            "domain" => ExemptionMatch::Domain(EmailDomain::parse(value)?),
            "admin_role" => ExemptionMatch::AdminRole(value.to_owned()),
            other => {
                return Err(invalid(format!(
                    "{other:?} is not something an exemption matches; choose email, domain or admin role"
                )));
            }
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid(format!(
                "the exemption for {matcher} needs a reason: say why it exists"
            )));
        }
        let expires_at = match last_day.map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => {
                let day = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    invalid(format!("the expiry {d:?} is not a date such as 2027-01-31"))
                })?;
                // The exemption holds through the whole day written.
                let end = day
                    .succ_opt()
                    .unwrap_or(day)
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default();
                Some(Utc.from_utc_datetime(&end))
            }
        };
        Ok(Exemption {
            matcher,
            reason: reason.to_owned(),
            expires_at,
        })
    }
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

#[cfg(test)]
mod input_tests {
    use super::*;

    #[test]
    fn typed_exemptions_are_checked_and_last_the_whole_day() {
        let e = Exemption::from_input("email", " CEO@Example.com ", " board ", Some("2027-01-31"))
            .unwrap();
        assert_eq!(e.matcher.to_string(), "email ceo@example.com");
        assert_eq!(e.reason, "board");
        let end: DateTime<Utc> = "2027-02-01T00:00:00Z".parse().unwrap();
        assert_eq!(e.expires_at, Some(end));
        assert!(e.applies_at(end - chrono::Duration::seconds(1)) && !e.applies_at(end));

        let d = Exemption::from_input("domain", "example.org", "contractors", None).unwrap();
        assert_eq!(d.expires_at, None);
        assert!(Exemption::from_input("admin_role", "Content Admin", "x", Some("")).is_ok());

        for (kind, value, reason, day, says) in [
            ("email", "not-an-email", "r", None, "not an email"),
            ("domain", "localhost", "r", None, "not an email domain"),
            ("team", "x", "r", None, "choose email, domain or admin role"),
            ("admin_role", " ", "r", None, "who it covers"),
            ("email", "a@example.com", "  ", None, "needs a reason"),
            (
                "email",
                "a@example.com",
                "r",
                Some("31/01/2027"),
                "2027-01-31",
            ),
        ] {
            let e = Exemption::from_input(kind, value, reason, day)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{kind} {value:?}: {e}");
        }
    }
}
