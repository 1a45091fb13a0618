//! The reclaim policy: what an org's admins decide (scope, threshold, grace, exemptions, cap, dry-run), stored as
//! versioned JSON per org. What they cannot decide lives in [`guardrails`]: no policy can turn those off.

mod evaluate;
mod exemption;
pub mod guardrails;
mod notice_template;
mod notices;

use crate::domain::LicenseExt;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use miro_client::License;
use serde::{Deserialize, Serialize};

use crate::domain::OrgId;
use crate::error::DomainError;

pub use evaluate::{ExclusionRule, InactivityBasis, Verdict, evaluate};
pub use exemption::{Exemption, ExemptionMatch};
pub use guardrails::Guardrail;
pub use notice_template::{
    MAX_CONTACT_CHARS, MAX_TEMPLATE_CHARS, NoticeTemplate, NoticeVars, TEMPLATE_VARIABLES,
    TemplatePart,
};
pub use notices::{
    DEFAULT_KEEP_DAYS, DEFAULT_NOTICE_DAYS, DEFAULT_REMINDER_DAYS_BEFORE, MAX_NOTICE_DAYS,
    MAX_REMINDERS,
};

/// The policy JSON format this build writes and understands.
pub const POLICY_SCHEMA_VERSION: u32 = 1;

/// One org's reclaim rules. Parse JSON with [`Policy::from_json`]: every field is checked and a missing field takes
/// its default, so `{}` is the default policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PolicyDoc")]
pub struct Policy {
    pub schema_version: u32,
    /// Licenses the policy may reclaim. Only paid licenses are accepted: reclaiming a free seat saves nothing and
    /// still locks someone out.
    pub licenses: BTreeSet<License>,
    /// A member becomes a candidate after this many whole days without activity (exactly the threshold counts).
    pub inactivity_days: InactivityDays,
    /// Members whose license was assigned fewer than this many whole days ago are left alone: new hires and
    /// people just given a seat have not had the chance to use it.
    pub grace_days: u32,
    pub exemptions: Vec<Exemption>,
    pub cap: ReclaimCap,
    /// When true (the default), plans are computed and stored but never executed.
    pub dry_run: bool,
    /// How long a member whose reclaim was undone (by miro-sam or by an admin in Miro) is held: excluded from
    /// every plan until the hold ends. Without it, the next daily run would take the seat back again.
    pub reactivation_hold_days: u32,
    /// Whether a person approves each plan before anything is queued (the default), or the daily run queues
    /// every executable plan by itself.
    pub approval: Approval,
    /// Days between the notice to a candidate and the earliest day their seat may be reclaimed; 0 turns notices
    /// off (reclaims go ahead without a word, as before notices existed). New orgs get
    /// [`DEFAULT_NOTICE_DAYS`]; a stored policy without the field keeps 0, the behaviour it was approved with.
    pub notice_days: u32,
    /// Reminders, each this many days before the reclaim date (e.g. `[2]`), sorted from the earliest. Each is
    /// between 1 and `notice_days - 1`; ignored while notices are off.
    pub reminder_days_before: Vec<u32>,
    /// How long a member who asked to keep their seat is held out of plans.
    pub keep_days: u32,
    /// When true, a member's "keep" is a request an admin approves in the console; when false (the default) it
    /// becomes a hold at once.
    pub keep_needs_approval: bool,
    /// When true, a member whose notice bounced (or whose address was refused) may still be reclaimed on the
    /// reclaim date; when false (the default), nobody is reclaimed without a notice that was delivered.
    pub reclaim_without_notice_on_bounce: bool,
    /// Whom the org's members should ask about a notice (e.g. "the IT desk, it@example.com"); none uses the
    /// deployment's contact setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_contact: Option<String>,
    /// The org's own subject and bodies of the notice and reminder emails (minijinja); none, or a part left out,
    /// keeps the default wording. Checked when the policy is parsed ([`NoticeTemplate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_template: Option<NoticeTemplate>,
}

/// Who starts a plan's reclaims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Nothing is queued until an admin approves the plan (all of it, or a selection) in the console or with
    /// the CLI. An approval covers that plan only and lapses when a newer plan replaces it.
    #[default]
    Required,
    /// The daily run queues the candidates of every plan that may execute (not a dry run, within its cap).
    Automatic,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Required => "required",
            Approval::Automatic => "automatic",
        }
    }
}

/// The default length of a hold after an undo.
pub const DEFAULT_REACTIVATION_HOLD_DAYS: u32 = 90;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            schema_version: POLICY_SCHEMA_VERSION,
            licenses: License::KNOWN
                .iter()
                .filter(|l| l.is_paid())
                .cloned()
                .collect(),
            inactivity_days: InactivityDays(90),
            grace_days: 30,
            exemptions: Vec::new(),
            cap: ReclaimCap {
                max_count: Some(100),
                max_percent: Some(Percent(10.0)),
            },
            dry_run: true,
            reactivation_hold_days: DEFAULT_REACTIVATION_HOLD_DAYS,
            approval: Approval::Required,
            notice_days: DEFAULT_NOTICE_DAYS,
            reminder_days_before: DEFAULT_REMINDER_DAYS_BEFORE.to_vec(),
            keep_days: DEFAULT_KEEP_DAYS,
            keep_needs_approval: false,
            reclaim_without_notice_on_bounce: false,
            notice_contact: None,
            notice_template: None,
        }
    }
}

impl Policy {
    pub fn from_json(s: &str) -> Result<Self, DomainError> {
        serde_json::from_str(s).map_err(|e| {
            // A check of `validate` reaches here as serde's message of our own error: say "invalid reclaim
            // policy" once.
            let message = e.to_string();
            let own = DomainError::InvalidPolicy(String::new()).to_string();
            DomainError::InvalidPolicy(
                message
                    .strip_prefix(&own)
                    .map(str::to_owned)
                    .unwrap_or(message),
            )
        })
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy always serializes")
    }

    /// Checks the rules that span fields; field types already guarantee their own ranges.
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |m: String| Err(DomainError::InvalidPolicy(m));
        if self.schema_version != POLICY_SCHEMA_VERSION {
            return bad(format!(
                "schema_version {} is not supported by this build (it understands {POLICY_SCHEMA_VERSION}); \
                 upgrade miro-sam or rewrite the policy",
                self.schema_version
            ));
        }
        if self.licenses.is_empty() {
            return bad(
                "licenses is empty: list at least one paid license, e.g. [\"full\"]".into(),
            );
        }
        for l in &self.licenses {
            if !l.is_paid() {
                return bad(format!(
                    "license \"{l}\" is not a paid license; reclaiming it frees no seat. Paid licenses: {}",
                    paid_license_names()
                ));
            }
        }
        if self.grace_days > 3650 {
            return bad(format!(
                "grace_days is {}; it must be at most 3650",
                self.grace_days
            ));
        }
        if !(1..=3650).contains(&self.reactivation_hold_days) {
            return bad(format!(
                "reactivation_hold_days is {}; it must be between 1 and 3650 (an undo must hold for at least a day)",
                self.reactivation_hold_days
            ));
        }
        if self.cap.max_count.is_none() && self.cap.max_percent.is_none() {
            return bad(
                "cap needs max_count, max_percent or both: a run without a ceiling is refused"
                    .into(),
            );
        }
        self.validate_notices()?;
        for (i, e) in self.exemptions.iter().enumerate() {
            if e.reason.trim().is_empty() {
                return bad(format!(
                    "exemption #{} ({}) has no reason: say why it exists",
                    i + 1,
                    e.matcher
                ));
            }
            if let ExemptionMatch::AdminRole(name) = &e.matcher
                && name.trim().is_empty()
            {
                return bad(format!("exemption #{} has an empty admin role name", i + 1));
            }
        }
        Ok(())
    }

    /// The exemptions still in force at `now`.
    pub fn active_exemptions(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Exemption> {
        self.exemptions.iter().filter(move |e| e.applies_at(now))
    }
}

fn paid_license_names() -> String {
    License::KNOWN
        .iter()
        .filter(|l| l.is_paid())
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The inactivity threshold in days: at least 1 (0 would make everyone a candidate) and at most 3650.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct InactivityDays(u32);

impl InactivityDays {
    pub fn new(days: u32) -> Result<Self, DomainError> {
        if !(1..=3650).contains(&days) {
            return Err(DomainError::InvalidPolicy(format!(
                "inactivity_days is {days}; it must be between 1 and 3650"
            )));
        }
        Ok(Self(days))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for InactivityDays {
    type Error = DomainError;
    fn try_from(d: u32) -> Result<Self, Self::Error> {
        Self::new(d)
    }
}

impl From<InactivityDays> for u32 {
    fn from(d: InactivityDays) -> u32 {
        d.0
    }
}

/// A percentage between 0 and 100 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Percent(f64);

impl Percent {
    pub fn new(p: f64) -> Result<Self, DomainError> {
        if !p.is_finite() || !(0.0..=100.0).contains(&p) {
            return Err(DomainError::InvalidPolicy(format!(
                "percentage {p} is out of range; it must be between 0 and 100"
            )));
        }
        Ok(Self(p))
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// `self` percent of `n`, rounded down: a cap never allows more than written.
    pub fn of(self, n: i64) -> u32 {
        if n <= 0 {
            return 0;
        }
        let v = (n as f64 * self.0 / 100.0).floor();
        v.clamp(0.0, u32::MAX as f64) as u32
    }
}

impl TryFrom<f64> for Percent {
    type Error = DomainError;
    fn try_from(p: f64) -> Result<Self, Self::Error> {
        Self::new(p)
    }
}

impl From<Percent> for f64 {
    fn from(p: Percent) -> f64 {
        p.0
    }
}

/// The most members one run may reclaim. With both set, the smaller applies. A plan over the cap is not
/// trimmed to fit: it is marked and refused whole, because "which subset" is a decision for a person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReclaimCap {
    #[serde(default)]
    pub max_count: Option<u32>,
    /// Percent of the org's purchased full licenses.
    #[serde(default)]
    pub max_percent: Option<Percent>,
}

/// A policy paired with the version the store gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionedPolicy {
    pub org_id: OrgId,
    /// 1 for the first policy of an org, then +1 per change.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub policy: Policy,
}

/// The JSON shape: every field optional, unknown fields refused (a typo must not silently fall back to a default).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    #[serde(default = "default_schema_version")]
    schema_version: u32,
    #[serde(default)]
    licenses: Option<BTreeSet<License>>,
    #[serde(default)]
    inactivity_days: Option<InactivityDays>,
    #[serde(default)]
    grace_days: Option<u32>,
    #[serde(default)]
    exemptions: Vec<Exemption>,
    #[serde(default)]
    cap: Option<ReclaimCap>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    reactivation_hold_days: Option<u32>,
    #[serde(default)]
    approval: Option<Approval>,
    // Notices: see `Policy::notice_days` for why a missing `notice_days` means "off", not the new-org default.
    #[serde(default)]
    notice_days: Option<u32>,
    #[serde(default)]
    reminder_days_before: Option<Vec<u32>>,
    #[serde(default)]
    keep_days: Option<u32>,
    #[serde(default)]
    keep_needs_approval: Option<bool>,
    #[serde(default)]
    reclaim_without_notice_on_bounce: Option<bool>,
    #[serde(default)]
    notice_contact: Option<String>,
    #[serde(default)]
    notice_template: Option<NoticeTemplate>,
}

fn default_schema_version() -> u32 {
    POLICY_SCHEMA_VERSION
}

impl TryFrom<PolicyDoc> for Policy {
    type Error = DomainError;
    fn try_from(d: PolicyDoc) -> Result<Self, Self::Error> {
        let def = Policy::default();
        let p = Policy {
            schema_version: d.schema_version,
            licenses: d.licenses.unwrap_or(def.licenses),
            inactivity_days: d.inactivity_days.unwrap_or(def.inactivity_days),
            grace_days: d.grace_days.unwrap_or(def.grace_days),
            exemptions: d.exemptions,
            cap: d.cap.unwrap_or(def.cap),
            dry_run: d.dry_run.unwrap_or(def.dry_run),
            reactivation_hold_days: d
                .reactivation_hold_days
                .unwrap_or(def.reactivation_hold_days),
            approval: d.approval.unwrap_or(def.approval),
            // A document without notice settings predates them (or was written without them): notices stay off
            // and there are no reminders, so upgrading never delays or announces reclaims nobody asked about.
            notice_days: d.notice_days.unwrap_or(0),
            reminder_days_before: notices::normalized(d.reminder_days_before.unwrap_or_default()),
            keep_days: d.keep_days.unwrap_or(def.keep_days),
            keep_needs_approval: d.keep_needs_approval.unwrap_or(def.keep_needs_approval),
            reclaim_without_notice_on_bounce: d
                .reclaim_without_notice_on_bounce
                .unwrap_or(def.reclaim_without_notice_on_bounce),
            notice_contact: d.notice_contact,
            notice_template: d.notice_template,
        };
        p.validate()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        Policy::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn empty_document_is_the_default_policy_with_notices_off() {
        let p = Policy::from_json("{}").unwrap();
        // A document without notice settings (every policy stored before notices existed) keeps them off.
        assert_eq!(
            p,
            Policy {
                notice_days: 0,
                reminder_days_before: vec![],
                ..Policy::default()
            }
        );
        assert!(p.dry_run, "dry-run is the default");
        assert_eq!(p.inactivity_days.get(), 90);
        assert_eq!(p.grace_days, 30);
        let expected: BTreeSet<License> = [
            License::Full,
            License::Advanced,
            License::Standard,
            License::Basic,
            License::Occasional,
        ]
        .into();
        assert_eq!(p.licenses, expected);
    }

    #[test]
    fn round_trips_through_json() {
        let mut p = Policy::default();
        p.exemptions.push(Exemption {
            matcher: ExemptionMatch::Domain(
                crate::domain::EmailDomain::parse("example.com").unwrap(),
            ),
            reason: "board members".into(),
            expires_at: None,
        });
        p.dry_run = false;
        assert_eq!(Policy::from_json(&p.to_json_pretty()).unwrap(), p);
    }

    #[test]
    fn validation_errors_are_specific() {
        assert!(err(r#"{"inactivity_days": 0}"#).contains("between 1 and 3650"));
        assert!(err(r#"{"inactivity_days": 4000}"#).contains("between 1 and 3650"));
        assert!(err(r#"{"cap": {"max_percent": 101}}"#).contains("between 0 and 100"));
        assert!(err(r#"{"cap": {"max_percent": -1}}"#).contains("between 0 and 100"));
        assert!(err(r#"{"cap": {}}"#).contains("without a ceiling"));
        assert!(err(r#"{"licenses": []}"#).contains("at least one"));
        assert!(err(r#"{"licenses": ["free"]}"#).contains("not a paid license"));
        assert!(err(r#"{"licenses": ["ful"]}"#).contains("not a paid license"));
        assert!(err(r#"{"dry_rnu": false}"#).contains("unknown field"));
        assert!(err(r#"{"schema_version": 2}"#).contains("not supported"));
        assert!(err(r#"{"grace_days": 9999}"#).contains("at most 3650"));
        assert!(err(r#"{"reactivation_hold_days": 0}"#).contains("between 1 and 3650"));
        assert!(
            err(r#"{"exemptions": [{"match": {"email": "a@b.com"}, "reason": " "}]}"#)
                .contains("has no reason")
        );
        assert!(
            err(r#"{"exemptions": [{"match": {"email": "nope"}, "reason": "x"}]}"#)
                .contains("not an email")
        );
        assert!(
            err(r#"{"exemptions": [{"match": {"admin_role": ""}, "reason": "x"}]}"#)
                .contains("empty admin role")
        );
    }

    /// `validate` is the check for policies built in code (the console, tests), not only for parsed JSON.
    #[test]
    fn validate_enforces_grace_days_like_the_json_path() {
        let p = Policy {
            grace_days: 9999,
            ..Policy::default()
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("grace_days is 9999"), "{e}");
        let p = Policy {
            reactivation_hold_days: 0,
            ..Policy::default()
        };
        assert!(p.validate().is_err());
        assert_eq!(Policy::default().reactivation_hold_days, 90);
    }

    #[test]
    fn percent_rounds_down() {
        let p = Percent::new(10.0).unwrap();
        assert_eq!(p.of(105), 10);
        assert_eq!(p.of(0), 0);
        assert_eq!(p.of(-5), 0);
        assert_eq!(Percent::new(100.0).unwrap().of(7), 7);
    }
}
