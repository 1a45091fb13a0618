//! Simulated days: how an org's members change from one day to the next, so a client can build weeks of
//! history (daily downloads, snapshots, timelines) against the sandbox in seconds. Each day moves the sandbox
//! clock to 24 hours after the previous simulated day began (the sandbox's start for the first), then people work, go quiet, come back, join and leave, and admins change licenses.
//! Deterministic: the same seed, org and day number give the same changes whenever they run (times are on
//! the simulated day's calendar, not the wall clock's).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::data::{self, id_key};
use crate::model::SandboxMember;
use crate::state::State;

/// Licenses an admin may upgrade a member from, and the ones the org pays for (what a downgrade starts from).
const FREE: [&str; 2] = ["free", "free_restricted"];
const PAID: [&str; 5] = ["full", "advanced", "standard", "basic", "occasional"];

/// Members count as working recently when they worked within this many days, or got their license within
/// [`NEW_STARTER_DAYS`] and have not worked yet.
const RECENT_DAYS: i64 = 30;
const NEW_STARTER_DAYS: i64 = 14;

/// How members change over one day. Chances are per member per day unless said otherwise.
#[derive(Clone, Debug)]
pub struct DayChurn {
    /// Someone working recently (and not gone quiet) works today.
    pub works_again: f64,
    /// Someone working recently goes quiet: stops working (another project, leave) until they come back.
    pub goes_quiet: f64,
    /// Someone idle for [`RECENT_DAYS`] days or more, never active, or quiet, works today.
    pub comes_back: f64,
    /// People joining per day: 0 to this many, evenly.
    pub max_joins: u32,
    /// Chance that one person leaves the org today (gone from the listing).
    pub one_leaves: f64,
    /// License changes per day: 0 to this many; two in three upgrade a free member to full, the others
    /// downgrade a paid member to free.
    pub max_license_changes: u32,
}

impl Default for DayChurn {
    /// A plausible company: most people who work keep working, about one in six hundred a day drifts off,
    /// a handful come back, a person joins or leaves every day or two.
    fn default() -> Self {
        DayChurn {
            works_again: 0.6,
            goes_quiet: 0.006,
            comes_back: 0.002,
            max_joins: 2,
            one_leaves: 0.5,
            max_license_changes: 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenseChange {
    pub member_id: String,
    pub from: String,
    pub to: String,
}

/// What one simulated day did, and the org's ground truth at its end.
#[derive(Clone, Debug, Serialize)]
pub struct LivedDay {
    /// 1 for the org's first simulated day.
    pub day: u64,
    /// The sandbox clock as the day began: 24 hours after the previous simulated day began.
    pub now: DateTime<Utc>,
    /// Members whose last activity moved to today.
    pub worked: u32,
    pub went_quiet: Vec<String>,
    /// Idle, never active or quiet members who worked today.
    pub came_back: Vec<String>,
    pub joined: Vec<String>,
    pub left: Vec<String>,
    pub license_changes: Vec<LicenseChange>,
    /// Active members per license at the end of the day: the seats Miro would show.
    pub active_by_license: BTreeMap<String, u32>,
}

/// Per-org state the days carry forward.
pub(crate) struct OrgLife {
    index: usize,
    days_lived: u64,
    /// `k` of the next member to join (ids and emails grow with it).
    next_k: u64,
    /// Members who went quiet: they do not work until they come back.
    quiet: BTreeSet<String>,
}

impl OrgLife {
    pub fn new(index: usize, members: usize) -> OrgLife {
        OrgLife {
            index,
            days_lived: 0,
            next_k: members as u64 + 1,
            quiet: BTreeSet::new(),
        }
    }
}

/// Advances the clock a day and lives it in org `org_id`. `None` for an unknown org (the clock is untouched).
pub(crate) fn live_day(state: &mut State, org_id: &str, churn: &DayChurn) -> Option<LivedDay> {
    state.org(org_id)?;
    // The day begins 24 hours after the previous one began, not 24 hours after now: the real seconds a client
    // spends between days do not pile up, so every day's work happens at the same hour and a day's outcome
    // does not depend on how fast the client ran (unless the clock was moved past that, then it begins now).
    state.day_mark = (state.day_mark + Duration::days(1)).max(state.now());
    state.clock_offset = state.day_mark - Utc::now();
    let now = state.now();
    let seed = state.seed;
    let org = state.org_mut(org_id)?;
    let admin_id = org.admin.id.clone();
    let life = &mut org.life;
    life.days_lived += 1;
    let mut rng = StdRng::seed_from_u64(
        seed ^ (life.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ life.days_lived.wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    let today = data::day_anchor(now);
    let mut day = LivedDay {
        day: life.days_lived,
        now,
        worked: 0,
        went_quiet: Vec::new(),
        came_back: Vec::new(),
        joined: Vec::new(),
        left: Vec::new(),
        license_changes: Vec::new(),
        active_by_license: BTreeMap::new(),
    };

    // The installing admin stays as generated: every OAuth token is theirs, and tests rely on them.
    for m in org
        .members
        .values_mut()
        .filter(|m| m.active && m.id != admin_id)
    {
        let recent = match m.last_activity_at {
            Some(at) => at >= today - Duration::days(RECENT_DAYS),
            None => m
                .license_assigned_at
                .is_some_and(|at| at >= today - Duration::days(NEW_STARTER_DAYS)),
        };
        if recent && !life.quiet.contains(&m.id) {
            if rng.random_bool(churn.goes_quiet) {
                life.quiet.insert(m.id.clone());
                day.went_quiet.push(m.id.clone());
            } else if rng.random_bool(churn.works_again) {
                m.last_activity_at = Some(work_time(&mut rng, today, now));
                day.worked += 1;
            }
        } else if rng.random_bool(churn.comes_back) {
            life.quiet.remove(&m.id);
            m.last_activity_at = Some(work_time(&mut rng, today, now));
            day.came_back.push(m.id.clone());
            day.worked += 1;
        }
    }

    for _ in 0..rng.random_range(0..=churn.max_joins) {
        let k = life.next_k;
        life.next_k += 1;
        let at = work_time(&mut rng, today, now);
        let m = data::joiner(&mut rng, life.index, k, at);
        day.joined.push(m.id.clone());
        org.members.insert(id_key(&m.id), m);
    }

    if rng.random_bool(churn.one_leaves)
        && let Some(id) = pick(&mut rng, &org.members, &admin_id, |_| true)
    {
        org.members.remove(&id_key(&id));
        life.quiet.remove(&id);
        day.left.push(id);
    }

    for _ in 0..rng.random_range(0..=churn.max_license_changes) {
        let upgrade = rng.random_range(0..3) < 2;
        let from: &[&str] = if upgrade { &FREE } else { &PAID };
        let Some(id) = pick(&mut rng, &org.members, &admin_id, |m| {
            m.active && from.contains(&m.license.as_str())
        }) else {
            continue;
        };
        let to = if upgrade { "full" } else { "free" };
        let at = work_time(&mut rng, today, now);
        if let Some(m) = org.members.get_mut(&id_key(&id)) {
            day.license_changes.push(LicenseChange {
                member_id: id,
                from: std::mem::replace(&mut m.license, to.to_string()),
                to: to.to_string(),
            });
            m.license_assigned_at = Some(at);
        }
    }

    for m in org.members.values().filter(|m| m.active) {
        *day.active_by_license.entry(m.license.clone()).or_insert(0) += 1;
    }
    Some(day)
}

/// A moment of the simulated day's working morning (08:00 to 12:00 UTC), never after the sandbox's now.
fn work_time(rng: &mut StdRng, today: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let at = today + Duration::hours(8) + Duration::seconds(rng.random_range(0..4 * 3600));
    at.min(now)
}

/// A member other than the installing admin that `fits`, drawn evenly; a few draws, then `None`.
fn pick(
    rng: &mut StdRng,
    members: &BTreeMap<(usize, String), SandboxMember>,
    admin_id: &str,
    fits: impl Fn(&SandboxMember) -> bool,
) -> Option<String> {
    if members.is_empty() {
        return None;
    }
    (0..50).find_map(|_| {
        let m = members.values().nth(rng.random_range(0..members.len()))?;
        (m.id != admin_id && fits(m)).then(|| m.id.clone())
    })
}
