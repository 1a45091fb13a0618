//! A reclaim plan: who would lose their seat under a policy, why, who is protected and by which rule, and whether
//! the run stays under its cap. Built by a pure function so a plan can be reviewed, stored and re-derived.

use chrono::{DateTime, Utc};
use miro_client::{License, Role};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use crate::domain::{ContentHash, Email, MemberId, OrgId, PlanId, Subscription};
use crate::hold::Hold;
use crate::policy::{ExclusionRule, InactivityBasis, Policy, Verdict, VersionedPolicy, evaluate};

/// The plan JSON format this build writes.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// Refuses, when a stored plan is read, a `schema_version` newer than this build writes. Why on read: a newer
/// miro-sam may store fields that change what a plan means (who may be reclaimed); an older build that ignored
/// them would act on a plan it does not understand. Older versions are read as they are (fields added since
/// have defaults that keep their meaning). The stores report the refusal as corrupt data naming the plan.
fn known_schema_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v > PLAN_SCHEMA_VERSION {
        return Err(serde::de::Error::custom(format!(
            "plan schema_version {v} is newer than this build understands ({PLAN_SCHEMA_VERSION}): a newer \
             miro-sam wrote it; upgrade miro-sam to read it"
        )));
    }
    Ok(v)
}

/// Candidates or exclusions per store read when a job pages through a plan: bounded memory, few round trips.
pub const PLAN_PAGE: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReclaimPlan {
    #[serde(deserialize_with = "known_schema_version")]
    pub schema_version: u32,
    pub plan_id: PlanId,
    pub org_id: OrgId,
    pub created_at: DateTime<Utc>,
    pub policy_version: u32,
    /// The policy as it was when planned, so the plan explains itself even after the policy changes.
    pub policy: Policy,
    /// Purchased full licenses the cap percentage was taken of; `None` when no download has run yet.
    pub purchased_full_licenses: Option<i64>,
    /// Most inactive first, then by member id.
    pub candidates: Vec<Candidate>,
    /// In-scope members protected by a guardrail, an exemption, the grace period or missing evidence; by member id.
    pub exclusions: Vec<Exclusion>,
    pub totals: PlanTotals,
    pub cap: CapCheck,
}

/// What the member looked like when planned. Execution compares Miro's answer of the moment against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub license: License,
    pub role: Role,
    pub admin_roles: Vec<String>,
    pub active: bool,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub license_assigned_at: Option<DateTime<Utc>>,
    pub content_hash: ContentHash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub member_id: MemberId,
    pub email: Email,
    pub license: License,
    pub days_inactive: i64,
    pub basis: InactivityBasis,
    /// In words, e.g. "no activity for 212 days (last active 2025-10-01; threshold 90 days)".
    pub reason: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub member_id: MemberId,
    pub email: Email,
    pub license: License,
    /// Every rule that protects the member; the first is the strongest.
    pub rules: Vec<ExclusionRule>,
    /// The rules in words, joined with "; ".
    pub reason: String,
}

impl Exclusion {
    pub fn has_rule(&self, pred: impl Fn(&ExclusionRule) -> bool) -> bool {
        self.rules.iter().any(pred)
    }
}

/// Counts over the org's members still in Miro plus removed ones still stored (removed ones land in `excluded`
/// when their license is in scope).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTotals {
    pub members_considered: u32,
    /// License not in the policy's scope; summarized, not listed.
    pub out_of_scope: u32,
    pub excluded: u32,
    /// In scope, unprotected, but used (or assigned) within the threshold; summarized, not listed.
    pub below_threshold: u32,
    pub candidates: u32,
}

/// The cap of the run against the candidates found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapCheck {
    pub candidates: u32,
    pub max_count: Option<u32>,
    pub max_percent: Option<f64>,
    /// `max_percent` of the purchased seats, rounded down.
    pub percent_limit: Option<u32>,
    /// The smaller of the two limits.
    pub limit: u32,
    pub exceeded: bool,
    pub explanation: String,
}

/// Why a plan may not be executed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanRefusal {
    #[error(
        "plan {plan_id} has {candidates} candidates, over the cap of {limit} ({explanation}); nothing is reclaimed \
         from it. Narrow the policy or raise the cap, then plan again"
    )]
    CapExceeded {
        plan_id: PlanId,
        candidates: u32,
        limit: u32,
        explanation: String,
    },
    #[error(
        "plan {plan_id} was made under a dry-run policy (version {policy_version}); set \"dry_run\": false in the \
         org's policy and plan again to reclaim for real"
    )]
    DryRun {
        plan_id: PlanId,
        policy_version: u32,
    },
    #[error(
        "org {org_id} is {pause}; nothing is sent to Miro while it is paused. Resume it (`miro-sam resume`) \
         and plan again"
    )]
    OrgPaused { org_id: OrgId, pause: String },
}

/// Everything of a plan except its candidate and exclusion lists: what a store keeps as the plan's header, and
/// all a reclaim message needs besides its own candidate. The field names are [`ReclaimPlan`]'s, so a plan's JSON
/// without `candidates` and `exclusions` is its header's JSON (the SQLite migration to plans-as-rows relies on
/// it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanHeader {
    #[serde(deserialize_with = "known_schema_version")]
    pub schema_version: u32,
    pub plan_id: PlanId,
    pub org_id: OrgId,
    pub created_at: DateTime<Utc>,
    pub policy_version: u32,
    pub policy: Policy,
    pub purchased_full_licenses: Option<i64>,
    /// As built, `totals.candidates` and `totals.excluded` are the lengths of the two lists.
    pub totals: PlanTotals,
    pub cap: CapCheck,
}

impl PlanHeader {
    /// Whether the plan may be executed. `override_dry_run` exists for demos against the sandbox; the cap can
    /// never be overridden.
    pub fn check_executable(&self, override_dry_run: bool) -> Result<(), PlanRefusal> {
        if self.cap.exceeded {
            return Err(PlanRefusal::CapExceeded {
                plan_id: self.plan_id,
                candidates: self.cap.candidates,
                limit: self.cap.limit,
                explanation: self.cap.explanation.clone(),
            });
        }
        if self.policy.dry_run && !override_dry_run {
            return Err(PlanRefusal::DryRun {
                plan_id: self.plan_id,
                policy_version: self.policy_version,
            });
        }
        Ok(())
    }
}

/// The order of a plan's candidate list: most inactive first, then by member id.
pub fn candidate_order(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.days_inactive
        .cmp(&a.days_inactive)
        .then_with(|| a.member_id.cmp(&b.member_id))
}

impl ReclaimPlan {
    /// The plan's header (a copy of everything but the two lists).
    pub fn header(&self) -> PlanHeader {
        PlanHeader {
            schema_version: self.schema_version,
            plan_id: self.plan_id,
            org_id: self.org_id.clone(),
            created_at: self.created_at,
            policy_version: self.policy_version,
            policy: self.policy.clone(),
            purchased_full_licenses: self.purchased_full_licenses,
            totals: self.totals,
            cap: self.cap.clone(),
        }
    }

    /// The whole plan from its header and its lists in any order: candidates are put in plan order
    /// ([`candidate_order`]), exclusions in member id order, as [`build_plan`] leaves them.
    pub fn from_parts(
        header: PlanHeader,
        mut candidates: Vec<Candidate>,
        mut exclusions: Vec<Exclusion>,
    ) -> Self {
        candidates.sort_by(candidate_order);
        exclusions.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        ReclaimPlan {
            schema_version: header.schema_version,
            plan_id: header.plan_id,
            org_id: header.org_id,
            created_at: header.created_at,
            policy_version: header.policy_version,
            policy: header.policy,
            purchased_full_licenses: header.purchased_full_licenses,
            candidates,
            exclusions,
            totals: header.totals,
            cap: header.cap,
        }
    }

    pub fn candidate(&self, member: &MemberId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| &c.member_id == member)
    }

    pub fn exclusion(&self, member: &MemberId) -> Option<&Exclusion> {
        self.exclusions.iter().find(|e| &e.member_id == member)
    }

    /// Whether the plan may be executed. `override_dry_run` exists for demos against the sandbox; the cap can
    /// never be overridden.
    pub fn check_executable(&self, override_dry_run: bool) -> Result<(), PlanRefusal> {
        self.header().check_executable(override_dry_run)
    }
}

/// Builds the plan for `org_id` from its stored subscriptions (other orgs' rows are ignored).
/// `purchased_full_licenses` feeds the percentage cap; without it a percentage cap refuses any candidate.
/// `holds` are the org's holds (expired ones are ignored): held members are listed as excluded.
pub fn build_plan(
    plan_id: PlanId,
    org_id: &OrgId,
    purchased_full_licenses: Option<i64>,
    policy: &VersionedPolicy,
    holds: &[Hold],
    subscriptions: &[Subscription],
    now: DateTime<Utc>,
) -> ReclaimPlan {
    let mut b = PlanBuilder::new(plan_id, org_id, policy, holds, now);
    let (candidates, exclusions) = b.add(subscriptions);
    ReclaimPlan::from_parts(b.finish(purchased_full_licenses), candidates, exclusions)
}

/// A plan built a page of members at a time, so planning a large org holds one page: [`PlanBuilder::add`]
/// judges a page and returns its candidates and exclusions (to be stored as items), [`PlanBuilder::finish`] the
/// header with the totals and the cap check, written last. [`build_plan`] is the same over one slice.
pub struct PlanBuilder<'a> {
    plan_id: PlanId,
    org_id: OrgId,
    policy: &'a VersionedPolicy,
    holds: HashMap<MemberId, Hold>,
    now: DateTime<Utc>,
    totals: PlanTotals,
}

impl<'a> PlanBuilder<'a> {
    pub fn new(
        plan_id: PlanId,
        org_id: &OrgId,
        policy: &'a VersionedPolicy,
        holds: &[Hold],
        now: DateTime<Utc>,
    ) -> Self {
        PlanBuilder {
            plan_id,
            org_id: org_id.clone(),
            policy,
            holds: holds
                .iter()
                .filter(|h| &h.org_id == org_id)
                .map(|h| (h.member_id.clone(), h.clone()))
                .collect(),
            now,
            totals: PlanTotals::default(),
        }
    }

    /// Judges these members (other orgs' are ignored): their candidates and exclusions, in input order.
    pub fn add(&mut self, members: &[Subscription]) -> (Vec<Candidate>, Vec<Exclusion>) {
        let p = &self.policy.policy;
        let mut candidates = Vec::new();
        let mut exclusions = Vec::new();
        for m in members.iter().filter(|m| m.org_id == self.org_id) {
            self.totals.members_considered += 1;
            match evaluate(p, self.holds.get(&m.member_id), m, self.now) {
                Verdict::OutOfScope => self.totals.out_of_scope += 1,
                Verdict::BelowThreshold { .. } => self.totals.below_threshold += 1,
                Verdict::Excluded(rules) => {
                    self.totals.excluded += 1;
                    exclusions.push(Exclusion {
                        member_id: m.member_id.clone(),
                        email: m.email.clone(),
                        license: m.license.clone(),
                        reason: rules
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                        rules,
                    });
                }
                Verdict::Candidate {
                    days_inactive,
                    basis,
                } => {
                    self.totals.candidates += 1;
                    candidates.push(Candidate {
                        member_id: m.member_id.clone(),
                        email: m.email.clone(),
                        license: m.license.clone(),
                        days_inactive,
                        basis,
                        reason: candidate_reason(days_inactive, basis, p.inactivity_days.get()),
                        evidence: evidence_of(m),
                    });
                }
            }
        }
        (candidates, exclusions)
    }

    /// The plan's header: everything judged so far, and the cap checked against it.
    pub fn finish(self, purchased_full_licenses: Option<i64>) -> PlanHeader {
        let p = &self.policy.policy;
        PlanHeader {
            schema_version: PLAN_SCHEMA_VERSION,
            plan_id: self.plan_id,
            org_id: self.org_id,
            created_at: self.now,
            policy_version: self.policy.version,
            policy: p.clone(),
            purchased_full_licenses,
            totals: self.totals,
            cap: check_cap(p, self.totals.candidates, purchased_full_licenses),
        }
    }
}

pub fn evidence_of(m: &Subscription) -> Evidence {
    Evidence {
        license: m.license.clone(),
        role: m.role.clone(),
        admin_roles: m.admin_roles.clone(),
        active: m.active,
        last_activity_at: m.last_activity_at,
        license_assigned_at: m.license_assigned_at,
        content_hash: m.content_hash.clone(),
    }
}

pub fn candidate_reason(days: i64, basis: InactivityBasis, threshold: u32) -> String {
    match basis {
        InactivityBasis::LastActivity { at } => format!(
            "no activity for {days} days (last active {}; threshold {threshold} days)",
            at.date_naive()
        ),
        InactivityBasis::NeverActiveSinceAssigned { at } => format!(
            "never active; license assigned {days} days ago ({}; threshold {threshold} days)",
            at.date_naive()
        ),
    }
}

fn check_cap(p: &Policy, candidates: u32, purchased: Option<i64>) -> CapCheck {
    let max_count = p.cap.max_count;
    let max_percent = p.cap.max_percent;
    let percent_limit = max_percent.map(|pct| purchased.map_or(0, |n| pct.of(n)));
    let limit = match (max_count, percent_limit) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        // Validation refuses a policy without a cap; a hand-built one gets no headroom rather than unlimited.
        (None, None) => 0,
    };
    let mut parts = Vec::new();
    if let Some(c) = max_count {
        parts.push(format!("max_count {c}"));
    }
    if let (Some(pct), Some(lim)) = (max_percent, percent_limit) {
        match purchased {
            Some(n) => parts.push(format!("{}% of {n} purchased seats = {lim}", pct.get())),
            None => parts.push(format!(
                "{}% of purchased seats = 0 because purchased seats are unknown (run a download first)",
                pct.get()
            )),
        }
    }
    if parts.is_empty() {
        parts.push("no cap configured".into());
    }
    CapCheck {
        candidates,
        max_count,
        max_percent: max_percent.map(|p| p.get()),
        percent_limit,
        limit,
        exceeded: candidates > limit,
        explanation: parts.join(", "),
    }
}
