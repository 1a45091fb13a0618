//! The report an IT team reads: seats bought vs assigned vs used, who the current plan would reclaim, what was
//! reclaimed so far and what that saves. Pure: [`build_report`] turns stored data into a serializable [`Report`];
//! the CLI renders it (table, JSON, CSV, HTML).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use miro_client::License;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{DownloadRun, Email, MemberId, OrgId, PlanId, RegisteredOrg, Subscription};
use crate::notices::NoticeStats;
use crate::plan::ReclaimPlan;
use crate::snapshot::OrgSnapshot;

/// Pricing is configuration: Miro's price depends on the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConfig {
    /// Price of one paid seat per month in minor units (cents). `None`: no savings section.
    pub price_per_seat_month_minor: Option<u64>,
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            price_per_seat_month_minor: None,
            currency: "USD".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub org_id: OrgId,
    pub org_name: Option<String>,
    pub generated_at: DateTime<Utc>,
    /// The day of the latest snapshot the seat numbers come from; `None` before the first download.
    pub as_of: Option<NaiveDate>,
    pub seats: Option<SeatSummary>,
    pub current_plan: Option<PlanSummary>,
    /// The current plan's candidates, most inactive first.
    pub candidates: Vec<CandidateLine>,
    pub reclaims: ReclaimTotals,
    /// Every member reclaimed to date (latest reclaim per member).
    pub reclaimed: Vec<ReclaimedSeat>,
    pub savings: Option<Savings>,
    /// One point per stored snapshot in the requested range, ascending.
    pub series: Vec<SeriesPoint>,
    /// How the notices to members went ([`crate::notices::notice_stats`]); none when the report was built
    /// without them. [`build_report`] leaves it empty: the caller counts the notice records with
    /// [`Report::with_notices`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notices: Option<NoticeStats>,
}

impl Report {
    /// The report with the org's notice counts.
    pub fn with_notices(mut self, notices: NoticeStats) -> Self {
        self.notices = Some(notices);
        self
    }
}

/// From the latest snapshot; see [`OrgSnapshot`] for the exact populations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSummary {
    pub purchased: i64,
    pub assigned_paid: u32,
    pub assigned_by_license: BTreeMap<License, u32>,
    /// Paid seats whose holder was active in the last 30 / 60 / 90 / 120 days.
    pub used_30d: u32,
    pub used_60d: u32,
    pub used_90d: u32,
    pub used_120d: u32,
    pub never_active: u32,
    pub deactivated: u32,
    /// purchased − assigned paid (negative: over-assigned).
    pub unused: i64,
    /// Paid seats assigned beyond those purchased (0 unless `unused` is negative): the same fact, spelled out
    /// for readers of the JSON, who would otherwise have to know what a negative `unused` means.
    #[serde(default)]
    pub over_assigned: u64,
    pub members: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub plan_id: PlanId,
    pub created_at: DateTime<Utc>,
    pub policy_version: u32,
    pub dry_run: bool,
    pub candidates: u32,
    pub excluded: u32,
    pub cap_limit: u32,
    pub cap_exceeded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateLine {
    pub member_id: MemberId,
    pub email: Email,
    pub license: License,
    pub days_inactive: i64,
    pub reason: String,
}

/// Counted from the audit log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimTotals {
    /// Distinct members ever reclaimed.
    pub reclaimed_members: u32,
    /// Of those, how many are still deactivated (see [`ReclaimedSeat::still_deactivated`]).
    pub still_deactivated: u32,
    pub reactivations: u32,
    pub skipped: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimedSeat {
    pub member_id: MemberId,
    pub email: Email,
    pub license: License,
    pub plan_id: PlanId,
    pub reclaimed_at: DateTime<Utc>,
    /// False when the member was reactivated through miro-sam after the reclaim, or when a download that ran
    /// after the reclaim saw them active again (reactivated in Miro directly).
    pub still_deactivated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Savings {
    pub currency: String,
    pub price_per_seat_month_minor: u64,
    /// Reclaimed seats still deactivated.
    pub seats: u32,
    pub monthly_minor: u64,
    pub annual_minor: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub date: NaiveDate,
    pub purchased: i64,
    pub assigned_paid: u32,
    pub active_30d: u32,
    pub active_90d: u32,
    pub never_active: u32,
    pub deactivated: u32,
    pub unused: i64,
}

/// Everything the report is computed from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub org_id: &'a OrgId,
    pub org: Option<&'a RegisteredOrg>,
    /// Snapshots of the wanted range; the latest one also gives the seat summary.
    pub snapshots: &'a [OrgSnapshot],
    pub latest_plan: Option<&'a ReclaimPlan>,
    pub members: &'a [Subscription],
    pub audit: &'a [AuditEntry],
    pub last_download: Option<&'a DownloadRun>,
    pub now: DateTime<Utc>,
    pub config: &'a ReportConfig,
}

pub fn build_report(input: ReportInput<'_>) -> Report {
    let mut snapshots: Vec<&OrgSnapshot> = input
        .snapshots
        .iter()
        .filter(|s| &s.org_id == input.org_id)
        .collect();
    snapshots.sort_by_key(|s| s.date);
    let latest = snapshots.last().copied();

    let seats = latest.map(|s| SeatSummary {
        purchased: s.purchased_full_licenses,
        assigned_paid: s.assigned_paid,
        assigned_by_license: s.assigned_by_license.clone(),
        used_30d: s.active_within.days_30,
        used_60d: s.active_within.days_60,
        used_90d: s.active_within.days_90,
        used_120d: s.active_within.days_120,
        never_active: s.never_active,
        deactivated: s.deactivated,
        unused: s.unused_seats,
        over_assigned: s.unused_seats.min(0).unsigned_abs(),
        members: s.members,
    });

    let current_plan = input.latest_plan.map(|p| PlanSummary {
        plan_id: p.plan_id,
        created_at: p.created_at,
        policy_version: p.policy_version,
        dry_run: p.policy.dry_run,
        candidates: p.totals.candidates,
        excluded: p.totals.excluded,
        cap_limit: p.cap.limit,
        cap_exceeded: p.cap.exceeded,
    });
    let candidates = input
        .latest_plan
        .map(|p| {
            p.candidates
                .iter()
                .map(|c| CandidateLine {
                    member_id: c.member_id.clone(),
                    email: c.email.clone(),
                    license: c.license.clone(),
                    days_inactive: c.days_inactive,
                    reason: c.reason.clone(),
                })
                .collect()
        })
        .unwrap_or_default();

    let (reclaims, reclaimed) = reclaimed_seats(&input);

    let savings = input.config.price_per_seat_month_minor.map(|price| {
        let monthly = price * u64::from(reclaims.still_deactivated);
        Savings {
            currency: input.config.currency.clone(),
            price_per_seat_month_minor: price,
            seats: reclaims.still_deactivated,
            monthly_minor: monthly,
            annual_minor: monthly * 12,
        }
    });

    let series = snapshots
        .iter()
        .map(|s| SeriesPoint {
            date: s.date,
            purchased: s.purchased_full_licenses,
            assigned_paid: s.assigned_paid,
            active_30d: s.active_within.days_30,
            active_90d: s.active_within.days_90,
            never_active: s.never_active,
            deactivated: s.deactivated,
            unused: s.unused_seats,
        })
        .collect();

    Report {
        org_id: input.org_id.clone(),
        org_name: input.org.map(|o| o.name.clone()),
        generated_at: input.now,
        as_of: latest.map(|s| s.date),
        seats,
        current_plan,
        candidates,
        reclaims,
        reclaimed,
        savings,
        series,
        notices: None,
    }
}

fn reclaimed_seats(input: &ReportInput<'_>) -> (ReclaimTotals, Vec<ReclaimedSeat>) {
    let mut totals = ReclaimTotals::default();
    let mut audit: Vec<&AuditEntry> = input
        .audit
        .iter()
        .filter(|e| &e.org_id == input.org_id)
        .collect();
    audit.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));

    // Latest reclaim per member; a member reclaimed, reactivated and reclaimed again is one seat.
    let mut latest: BTreeMap<MemberId, ReclaimedSeat> = BTreeMap::new();
    for e in &audit {
        match &e.event {
            AuditEvent::Reclaimed {
                plan_id,
                member_id,
                email,
                license,
                ..
            } => {
                latest.insert(
                    member_id.clone(),
                    ReclaimedSeat {
                        member_id: member_id.clone(),
                        email: email.clone(),
                        license: license.clone(),
                        plan_id: *plan_id,
                        reclaimed_at: e.at,
                        still_deactivated: true,
                    },
                );
            }
            AuditEvent::ReclaimSkipped { .. } => totals.skipped += 1,
            AuditEvent::ReclaimFailed { .. } => totals.failed += 1,
            AuditEvent::Reactivated { .. } => totals.reactivations += 1,
            AuditEvent::OrgConnected { .. }
            | AuditEvent::PolicyChanged { .. }
            | AuditEvent::PlanCreated { .. }
            | AuditEvent::HoldPlaced { .. }
            | AuditEvent::OrgPaused { .. }
            | AuditEvent::OrgResumed { .. }
            | AuditEvent::PlanApproved { .. }
            | AuditEvent::CandidateRejected { .. }
            | AuditEvent::ReactivateRequested { .. }
            | AuditEvent::HoldRemoved { .. }
            | AuditEvent::SignedIn { .. }
            | AuditEvent::NoticeSent { .. }
            | AuditEvent::ReminderSent { .. }
            | AuditEvent::NoticeNotDelivered { .. }
            | AuditEvent::NoticeDue { .. }
            | AuditEvent::NoticeEnded { .. }
            | AuditEvent::KeepRequested { .. }
            | AuditEvent::Kept { .. }
            | AuditEvent::KeepDeclined { .. }
            | AuditEvent::SignedOut { .. }
            | AuditEvent::DigestSent { .. } => {}
        }
    }

    let members: BTreeMap<&MemberId, &Subscription> =
        input.members.iter().map(|m| (&m.member_id, m)).collect();
    for seat in latest.values_mut() {
        let reactivated_by_us = audit.iter().any(|e| {
            e.at >= seat.reclaimed_at
                && matches!(&e.event, AuditEvent::Reactivated { member_id, email, .. }
                    if member_id.as_ref() == Some(&seat.member_id) || email == &seat.email)
        });
        // Stored member data only counts if a download ran after the reclaim; before that it predates it.
        let seen_active_since = input
            .last_download
            .is_some_and(|run| run.completed_at > seat.reclaimed_at)
            && members
                .get(&seat.member_id)
                .is_some_and(|m| m.active && !m.is_removed());
        seat.still_deactivated = !reactivated_by_us && !seen_active_since;
    }
    totals.reclaimed_members = latest.len() as u32;
    totals.still_deactivated = latest.values().filter(|s| s.still_deactivated).count() as u32;
    (totals, latest.into_values().collect())
}
