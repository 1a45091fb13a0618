//! The overview: the org's seats from the latest snapshot, seats over time, activity buckets, savings, the
//! last download, the notices to members and what needs attention. A fixed number of small reads whatever the
//! org's size, except the notice counts, which read the notice records a page at a time (one per member told);
//! each part that cannot be read says so instead of failing the page.

use askama::Template;
use axum::response::Response;
use chrono::Duration;
use miro_sam_core::StoreError;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::notices::notice_stats;
use miro_sam_core::reclaim::{ReclaimOutcome, ReclaimState, RecordCursor};
use miro_sam_core::snapshot::OrgSnapshot;
use plotters::style::RGBColor;

use super::PageRequest;
use crate::charts::{self, Line};
use crate::error::PageError;
use crate::format::{money, signed, thousands, when};
use crate::state::AppState;
use crate::views::{Layout, html};

/// Days of snapshots the chart over time shows.
const SERIES_DAYS: i64 = 120;
/// Reclaim records per read when counting, and the most reads one count makes: counts beyond that are shown
/// as "at least".
const COUNT_PAGE: usize = 500;
const COUNT_PAGES: usize = 4;

pub(crate) struct Tile {
    pub label: String,
    pub value: String,
}

pub(crate) struct Alert {
    pub text: String,
    pub href: Option<String>,
}

pub(crate) struct PlanLine {
    pub id: String,
    pub created: String,
    pub policy_version: u32,
    pub candidates: String,
    pub excluded: String,
    pub dry_run: bool,
    pub cap_exceeded: bool,
    pub cap: String,
    pub potential: Option<String>,
}

pub(crate) struct SeriesRow {
    pub date: String,
    pub purchased: String,
    pub assigned: String,
    pub active_30: String,
    pub active_90: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub(crate) struct OverviewPage {
    pub layout: Layout,
    pub as_of: Option<String>,
    pub tiles: Vec<Tile>,
    pub alerts: Vec<Alert>,
    pub series_chart: Option<String>,
    pub series: Vec<SeriesRow>,
    pub activity_chart: Option<String>,
    pub activity: Vec<(String, String)>,
    pub plan: Option<PlanLine>,
    pub realised: Vec<(String, String)>,
    pub realised_note: Option<String>,
    /// The notices to members ([`notice_stats`]) as labelled counts; none when they could not be read.
    pub notices: Option<Vec<(&'static str, String)>>,
    /// True when no notice record exists yet.
    pub notices_empty: bool,
    pub download: Option<String>,
    pub checkpoint: Option<String>,
    /// Parts of the page that could not be read, in words.
    pub problems: Vec<String>,
}

pub(crate) async fn overview(p: PageRequest) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let org_id = &admin.session.org;
    let store = st.deps.store.as_ref();
    let now = st.now();
    let mut problems = Problems::default();

    let latest = problems.got(store.latest_snapshot(org_id).await, "the latest snapshot");
    let today = now.date_naive();
    let series = problems.got(
        store
            .list_snapshots(org_id, today - Duration::days(SERIES_DAYS), today)
            .await,
        "the snapshots",
    );
    let header = problems.got(store.latest_plan_header(org_id).await, "the latest plan");
    let run = problems.got(store.last_download_run(org_id).await, "the last download");
    let checkpoint = problems.got(
        store.get_checkpoint(org_id).await,
        "the download checkpoint",
    );
    let pause = problems.got(store.get_pause(org_id).await, "the pause switch");
    let price = st.config.price_per_seat_month_minor;
    let currency = st.config.currency.as_str();

    let mut tiles = Vec::new();
    if let Some(s) = &latest {
        let t = |label: &str, value: String| Tile {
            label: label.into(),
            value,
        };
        tiles.extend([
            t("Purchased", signed(s.purchased_full_licenses)),
            t("Assigned (paid)", thousands(s.assigned_paid.into())),
            t("Used in 30 days", thousands(s.active_within.days_30.into())),
            t("Used in 60 days", thousands(s.active_within.days_60.into())),
            t("Used in 90 days", thousands(s.active_within.days_90.into())),
            t(
                "Used in 120 days",
                thousands(s.active_within.days_120.into()),
            ),
            t("Never used", thousands(s.never_active.into())),
            t("Unused purchased", signed(s.unused_seats)),
            t("Deactivated", thousands(s.deactivated.into())),
        ]);
    }

    let plan = header.as_ref().map(|h| PlanLine {
        id: h.plan_id.to_string(),
        created: when(h.created_at),
        policy_version: h.policy_version,
        candidates: thousands(h.totals.candidates.into()),
        excluded: thousands(h.totals.excluded.into()),
        dry_run: h.policy.dry_run,
        cap_exceeded: h.cap.exceeded,
        cap: h.cap.explanation.clone(),
        potential: price.map(|p| {
            let monthly = p * u64::from(h.totals.candidates);
            format!(
                "{} a month ({} a year)",
                money(monthly, currency),
                money(monthly * 12, currency)
            )
        }),
    });

    let (realised, realised_note) = match realised(st, org_id).await {
        Ok(r) => {
            let mut rows = vec![
                (
                    "Members whose seat was reclaimed".to_owned(),
                    r.reclaimed.show(),
                ),
                ("Reactivated since".to_owned(), r.reactivated.show()),
                ("Net seats freed".to_owned(), thousands(r.net())),
            ];
            if let Some(p) = price {
                let monthly = p * r.net();
                rows.push((
                    "Realised savings".to_owned(),
                    format!(
                        "{} a month ({} a year)",
                        money(monthly, currency),
                        money(monthly * 12, currency)
                    ),
                ));
            }
            let note = r.reclaimed.more.then(|| {
                format!(
                    "Counted over the latest {} reclaims; older ones are not included.",
                    thousands((COUNT_PAGE * COUNT_PAGES) as u64)
                )
            });
            (rows, note)
        }
        Err(e) => {
            problems.note("the reclaim counts", e);
            (Vec::new(), None)
        }
    };

    let (notices, notices_empty) = match notice_stats(store, store, org_id).await {
        Ok(n) => (Some(n.rows()), n.is_empty()),
        Err(e) => {
            problems.note("the notice counts", e);
            (None, false)
        }
    };

    let mut alerts = Vec::new();
    if let Some(p) = &pause {
        alerts.push(Alert {
            text: format!(
                "Reclaims are paused: {p}. Nothing is sent to Miro until an admin resumes."
            ),
            href: Some(format!("{}/policy", st.base)),
        });
    }
    match st.deps.tokens.get_tokens(org_id).await {
        Err(StoreError::NotConnected { .. }) => alerts.push(Alert {
            text: "miro-sam holds no Miro token for this org: reconnect it (the operator's connect link).".into(),
            href: None,
        }),
        Ok(b) if b.expires_at.is_some_and(|t| t <= now) && b.refresh_token.is_none() => alerts.push(Alert {
            text: "The org's Miro token has expired and cannot be refreshed: reconnect the org.".into(),
            href: None,
        }),
        Ok(_) => {}
        Err(e) => problems.note("the org's Miro connection", e),
    }
    match st.deps.tokens.get_scim_token(org_id).await {
        Ok(_) => {}
        Err(StoreError::NoScimToken { .. }) => alerts.push(Alert {
            text: "No SCIM token is stored for this org: approved reclaims and undos cannot be carried out until \
                   the operator stores one (`miro-sam scim-token`)."
                .into(),
            href: None,
        }),
        Err(e) => problems.note("the SCIM token", e),
    }
    match &run {
        None => alerts.push(Alert {
            text: "No complete download yet: the numbers appear after the first daily run.".into(),
            href: None,
        }),
        Some(r) if now - r.completed_at > Duration::hours(36) => alerts.push(Alert {
            text: format!(
                "The last complete download ended {}, over 36 hours ago: check the daily run.",
                when(r.completed_at)
            ),
            href: None,
        }),
        Some(_) => {}
    }
    if header.as_ref().is_some_and(|h| h.cap.exceeded) {
        alerts.push(Alert {
            text: "The latest plan is over its cap: it cannot be approved whole. Approve a selection, or narrow \
                   the policy."
                .into(),
            href: Some(format!("{}/plans", st.base)),
        });
    }

    let page = OverviewPage {
        layout: p.layout("Overview"),
        as_of: latest.as_ref().map(|s| s.date.to_string()),
        tiles,
        alerts,
        series_chart: series_chart(&series),
        series: series
            .iter()
            .rev()
            .take(14)
            .map(|s| SeriesRow {
                date: s.date.to_string(),
                purchased: signed(s.purchased_full_licenses),
                assigned: thousands(s.assigned_paid.into()),
                active_30: thousands(s.active_within.days_30.into()),
                active_90: thousands(s.active_within.days_90.into()),
            })
            .collect(),
        activity_chart: latest.as_ref().and_then(|s| charts::bars(&activity_bars(s))),
        activity: latest
            .as_ref()
            .map(|s| activity_bars(s).into_iter().map(|(l, v, _)| (l, thousands(v))).collect())
            .unwrap_or_default(),
        plan,
        realised,
        realised_note,
        notices,
        notices_empty,
        download: run.as_ref().map(|r| {
            format!(
                "Last complete download ended {} ({} members seen, took {} s).",
                when(r.completed_at),
                thousands(r.members_seen),
                (r.completed_at - r.started_at).num_seconds().max(0)
            )
        }),
        checkpoint: checkpoint.as_ref().map(|c| {
            format!(
                "A download is under way or was interrupted: {} pages done, last progress {}. The next run \
                 continues from there.",
                thousands(c.pages_done),
                when(c.updated_at)
            )
        }),
        problems: problems.0,
    };
    Ok(html(&page))
}

/// The value, or its default with the failure noted for the page.
/// The parts of the page that could not be read, each as "what: why"; the page shows the rest.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    /// The value read, or its type's empty value with the failure noted as `what`'s.
    fn got<T: Default>(&mut self, r: Result<T, StoreError>, what: &str) -> T {
        r.unwrap_or_else(|e| {
            self.note(what, e);
            T::default()
        })
    }

    fn note(&mut self, what: &str, e: impl std::fmt::Display) {
        self.0.push(format!("{what}: {e}"));
    }
}

fn series_chart(series: &[OrgSnapshot]) -> Option<String> {
    let dates: Vec<String> = series.iter().map(|s| s.date.to_string()).collect();
    let pick = |f: fn(&OrgSnapshot) -> f64| series.iter().map(f).collect::<Vec<f64>>();
    charts::over_time(
        &dates,
        &[
            Line {
                label: "purchased",
                color: RGBColor(108, 117, 125),
                values: pick(|s| s.purchased_full_licenses.max(0) as f64),
            },
            Line {
                label: "assigned (paid)",
                color: RGBColor(66, 99, 235),
                values: pick(|s| s.assigned_paid as f64),
            },
            Line {
                label: "used in 90 days",
                color: RGBColor(64, 192, 87),
                values: pick(|s| s.active_within.days_90 as f64),
            },
            Line {
                label: "used in 30 days",
                color: RGBColor(43, 138, 62),
                values: pick(|s| s.active_within.days_30 as f64),
            },
        ],
    )
}

/// The snapshot's cumulative windows as disjoint buckets of paid seats.
fn activity_bars(s: &OrgSnapshot) -> Vec<(String, u64, RGBColor)> {
    let a = &s.active_within;
    let over_120 = u64::from(s.assigned_paid)
        .saturating_sub(a.days_120.into())
        .saturating_sub(s.never_active.into());
    vec![
        ("0–30 days".into(), a.days_30.into(), RGBColor(43, 138, 62)),
        (
            "31–60".into(),
            a.days_60.saturating_sub(a.days_30).into(),
            RGBColor(116, 184, 22),
        ),
        (
            "61–90".into(),
            a.days_90.saturating_sub(a.days_60).into(),
            RGBColor(250, 176, 5),
        ),
        (
            "91–120".into(),
            a.days_120.saturating_sub(a.days_90).into(),
            RGBColor(247, 103, 7),
        ),
        ("over 120".into(), over_120, RGBColor(224, 49, 49)),
        (
            "never".into(),
            s.never_active.into(),
            RGBColor(134, 46, 156),
        ),
    ]
}

/// A count that stopped at the cap.
#[derive(Clone, Copy, Default)]
struct Count {
    n: u64,
    more: bool,
}

impl Count {
    fn show(self) -> String {
        if self.more {
            format!("at least {}", thousands(self.n))
        } else {
            thousands(self.n)
        }
    }
}

struct Realised {
    /// Distinct members with a finished reclaim.
    reclaimed: Count,
    /// Of those, members reactivated since their latest reclaim (an undo through miro-sam or in Miro; both
    /// leave a hold).
    reactivated: Count,
}

impl Realised {
    fn net(&self) -> u64 {
        self.reclaimed.n.saturating_sub(self.reactivated.n)
    }
}

/// Reclaimed seats net of reactivations, from the done reclaim records (a state index, page by page, capped)
/// and the org's holds (one per undone member). Why not the audit log: counting one kind of entry may read
/// past every other kind, i.e. the whole log, on every visit.
async fn realised(st: &AppState, org: &OrgId) -> Result<Realised, StoreError> {
    let store = st.deps.store.as_ref();
    let mut latest: HashMap<MemberId, DateTime<Utc>> = HashMap::new();
    let mut more = false;
    let mut before: Option<RecordCursor> = None;
    for i in 0..COUNT_PAGES {
        let page = store
            .list_reclaim_records_page(org, Some(ReclaimState::Done), before.as_ref(), COUNT_PAGE)
            .await?;
        for r in &page {
            let at = match &r.outcome {
                Some(ReclaimOutcome::Reclaimed { at, .. }) => *at,
                _ => r.updated_at,
            };
            let e = latest.entry(r.member_id.clone()).or_insert(at);
            *e = (*e).max(at);
        }
        if page.len() < COUNT_PAGE {
            break;
        }
        more = i + 1 == COUNT_PAGES;
        before = page.last().map(RecordCursor::of);
    }
    let undone = store
        .list_holds(org)
        .await?
        .iter()
        .filter(|h| {
            latest
                .get(&h.member_id)
                .is_some_and(|at| h.created_at >= *at)
        })
        .count() as u64;
    Ok(Realised {
        reclaimed: Count {
            n: latest.len() as u64,
            more,
        },
        reactivated: Count { n: undone, more },
    })
}
