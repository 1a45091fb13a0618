//! One org's seat numbers for one day: the series behind every chart and the "before/after" of a reclaim.

use crate::domain::LicenseExt;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use miro_client::{License, Organization};
use serde::{Deserialize, Serialize};

use crate::domain::{OrgId, Subscription};

/// The windows the activity buckets use, in days.
pub const ACTIVITY_WINDOWS_DAYS: [i64; 4] = [30, 60, 90, 120];

/// Counts of paid seats in use, by how recently they were used.
///
/// Population: members still in Miro (`removed_at` is `None`), `active` (not deactivated) and holding a paid license
/// ([`LicenseExt::is_paid`]). A member counts in `days_N` when their `last_activity_at` is at or after `now − N days`.
/// The buckets are cumulative: everyone in `days_30` is also in `days_60`, and so on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityBuckets {
    pub days_30: u32,
    pub days_60: u32,
    pub days_90: u32,
    pub days_120: u32,
}

/// An org's seats on one (UTC) day. Storing one per day, keyed by date, makes re-running a day overwrite rather
/// than duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSnapshot {
    pub org_id: OrgId,
    /// The UTC calendar day of `computed_at`.
    pub date: NaiveDate,
    pub computed_at: DateTime<Utc>,
    /// `fullLicensesPurchased` from Miro.
    pub purchased_full_licenses: i64,
    /// Members still in Miro, whatever their license or state.
    pub members: u32,
    /// Seats in use by license type: members still in Miro and not deactivated (deactivation releases the seat).
    pub assigned_by_license: BTreeMap<License, u32>,
    /// Sum of `assigned_by_license` over paid licenses.
    pub assigned_paid: u32,
    pub active_within: ActivityBuckets,
    /// Paid seats (same population as [`ActivityBuckets`]) whose holder has no recorded activity at all.
    pub never_active: u32,
    /// Members still in Miro who are deactivated, any license.
    pub deactivated: u32,
    /// `purchased_full_licenses − assigned_paid`. Negative when more paid seats are assigned than purchased: Miro
    /// then bills the overage, which is worth seeing rather than hiding behind a zero.
    pub unused_seats: i64,
}

impl OrgSnapshot {
    /// Computes the snapshot of `org` at `now` from every stored subscription of that org (removed ones may be
    /// included; they are ignored).
    pub fn compute(
        org_id: &OrgId,
        org: &Organization,
        subscriptions: &[Subscription],
        now: DateTime<Utc>,
    ) -> Self {
        Self::compute_with_purchased(org_id, org.full_licenses_purchased, subscriptions, now)
    }

    pub fn compute_with_purchased(
        org_id: &OrgId,
        purchased_full_licenses: i64,
        subscriptions: &[Subscription],
        now: DateTime<Utc>,
    ) -> Self {
        let mut b = SnapshotBuilder::new(org_id, purchased_full_licenses, now);
        for m in subscriptions {
            b.add(m);
        }
        b.finish()
    }
}

/// Computes an [`OrgSnapshot`] one member at a time, so the snapshot of any org can be taken while paging through
/// its stored members instead of holding them all. Same rules as [`OrgSnapshot::compute`].
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    s: OrgSnapshot,
    /// `now − N days` for each of [`ACTIVITY_WINDOWS_DAYS`].
    since: [DateTime<Utc>; 4],
}

impl SnapshotBuilder {
    pub fn new(org_id: &OrgId, purchased_full_licenses: i64, now: DateTime<Utc>) -> Self {
        SnapshotBuilder {
            s: OrgSnapshot {
                org_id: org_id.clone(),
                date: now.date_naive(),
                computed_at: now,
                purchased_full_licenses,
                members: 0,
                assigned_by_license: BTreeMap::new(),
                assigned_paid: 0,
                active_within: ActivityBuckets::default(),
                never_active: 0,
                deactivated: 0,
                unused_seats: 0,
            },
            since: ACTIVITY_WINDOWS_DAYS.map(|days| now - Duration::days(days)),
        }
    }

    /// Counts `m` (members of other orgs and removed members are ignored).
    pub fn add(&mut self, m: &Subscription) {
        let s = &mut self.s;
        if m.org_id != s.org_id || m.is_removed() {
            return;
        }
        s.members += 1;
        if !m.active {
            s.deactivated += 1;
            return;
        }
        *s.assigned_by_license.entry(m.license.clone()).or_default() += 1;
        if !m.license.is_paid() {
            return;
        }
        s.assigned_paid += 1;
        match m.last_activity_at {
            None => s.never_active += 1,
            Some(t) => {
                let [d30, d60, d90, d120] = self.since;
                let b = &mut s.active_within;
                b.days_30 += u32::from(t >= d30);
                b.days_60 += u32::from(t >= d60);
                b.days_90 += u32::from(t >= d90);
                b.days_120 += u32::from(t >= d120);
            }
        }
    }

    pub fn finish(mut self) -> OrgSnapshot {
        self.s.unused_seats = self.s.purchased_full_licenses - i64::from(self.s.assigned_paid);
        self.s
    }
}
