//! The report as one self-contained HTML file: inline CSS and SVG charts, no scripts, no network.
//!
//! The page is the askama template `cli/templates/report.html` (the console's template engine, so HTML is rendered
//! one way and escaped by the engine); this file only works out what the template shows: the tiles, the charts'
//! geometry and the money as text.

use askama::Template;
use miro_sam_core::report::{CandidateLine, Report, SeatSummary, SeriesPoint};

use super::{money, thousands, unused_seats};

const CANDIDATE_ROWS: usize = 200;

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    report: &'a Report,
    name: &'a str,
    org_id: &'a str,
    generated: String,
    as_of: String,
    tiles: Vec<Tile>,
    bar_charts: Vec<BarChart>,
    line_chart: Option<LineChart>,
    candidates: &'a [CandidateLine],
    more_candidates: usize,
    savings: Option<SavingsText>,
    /// `None` when the report has no notice numbers; empty when no notice was sent yet.
    notices: Option<Vec<(&'static str, String)>>,
}

struct Tile {
    label: &'static str,
    value: String,
}

struct SavingsText {
    monthly: String,
    annual: String,
    seats: u32,
    per_seat: String,
}

pub fn render(report: &Report) -> String {
    let page = Page {
        report,
        name: report.org_name.as_deref().unwrap_or("Miro org"),
        org_id: report.org_id.as_str(),
        generated: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        as_of: report
            .as_of
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never (no download yet)".into()),
        tiles: tiles(report),
        bar_charts: report
            .seats
            .as_ref()
            .map(|s| {
                vec![
                    BarChart::new("Seat use", &seat_bars(s)),
                    BarChart::new("Paid seats by last activity", &activity_bars(s)),
                ]
            })
            .unwrap_or_default(),
        line_chart: (report.series.len() >= 2).then(|| LineChart::new(&report.series)),
        candidates: &report.candidates[..report.candidates.len().min(CANDIDATE_ROWS)],
        more_candidates: report.candidates.len().saturating_sub(CANDIDATE_ROWS),
        savings: report.savings.as_ref().map(|s| SavingsText {
            monthly: money(s.monthly_minor, &s.currency),
            annual: money(s.annual_minor, &s.currency),
            seats: s.seats,
            per_seat: money(s.price_per_seat_month_minor, &s.currency),
        }),
        notices: report
            .notices
            .as_ref()
            .map(|n| if n.is_empty() { Vec::new() } else { n.rows() }),
    };
    // Rendering only writes into a String, which cannot fail; should askama ever report an error, the file says so
    // rather than the command panicking.
    match page.render() {
        Ok(mut html) => {
            html.push('\n');
            html
        }
        Err(e) => format!(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>miro-sam report</title></head><body>\
             <p>The report could not be rendered ({}). Run the command again; if it fails again, report it as a bug.</p>\
             </body></html>\n",
            e.to_string()
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        ),
    }
}

fn tiles(report: &Report) -> Vec<Tile> {
    let mut tiles = Vec::new();
    let mut tile = |label, value| tiles.push(Tile { label, value });
    if let Some(s) = &report.seats {
        tile("Purchased", thousands(s.purchased.max(0) as u64));
        tile("Assigned (paid)", thousands(s.assigned_paid as u64));
        tile("Used, 90 days", thousands(s.used_90d as u64));
        tile("Never used", thousands(s.never_active as u64));
        tile("Unused purchased", unused_seats(s.unused));
    }
    if let Some(p) = &report.current_plan {
        tile("Reclaim candidates", thousands(p.candidates as u64));
    }
    tile(
        "Reclaimed to date",
        thousands(report.reclaims.reclaimed_members as u64),
    );
    if let Some(s) = &report.savings {
        tile("Saved per year", money(s.annual_minor, &s.currency));
    }
    tiles
}

fn seat_bars(s: &SeatSummary) -> Vec<(&'static str, u64, &'static str)> {
    vec![
        ("Purchased", s.purchased.max(0) as u64, "#6c757d"),
        ("Assigned (paid)", s.assigned_paid as u64, "#4263eb"),
        ("Used in 30 days", s.used_30d as u64, "#2b8a3e"),
        ("Used in 90 days", s.used_90d as u64, "#40c057"),
        ("Never used", s.never_active as u64, "#e8590c"),
        ("Deactivated", s.deactivated as u64, "#adb5bd"),
    ]
}

/// The cumulative windows of the snapshot turned into disjoint buckets.
fn activity_bars(s: &SeatSummary) -> Vec<(&'static str, u64, &'static str)> {
    let over_120 = (s.assigned_paid as u64)
        .saturating_sub(s.used_120d as u64)
        .saturating_sub(s.never_active as u64);
    vec![
        ("0–30 days", s.used_30d as u64, "#2b8a3e"),
        (
            "31–60 days",
            s.used_60d.saturating_sub(s.used_30d) as u64,
            "#74b816",
        ),
        (
            "61–90 days",
            s.used_90d.saturating_sub(s.used_60d) as u64,
            "#fab005",
        ),
        (
            "91–120 days",
            s.used_120d.saturating_sub(s.used_90d) as u64,
            "#f76707",
        ),
        ("over 120 days", over_120, "#e03131"),
        ("never", s.never_active as u64, "#862e9c"),
    ]
}

/// A horizontal bar chart: a label column, bars scaled to the largest value, the value after each bar.
struct BarChart {
    title: &'static str,
    width: f64,
    height: f64,
    label_w: f64,
    bar_h: f64,
    bars: Vec<Bar>,
}

struct Bar {
    label: &'static str,
    color: &'static str,
    value: String,
    y: f64,
    text_y: f64,
    /// One decimal is plenty for a bar's length and keeps the file small.
    width: String,
    value_x: String,
}

impl BarChart {
    fn new(title: &'static str, bars: &[(&'static str, u64, &'static str)]) -> Self {
        let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
        let (label_w, bar_w, row_h) = (150.0, 640.0, 26.0);
        BarChart {
            title,
            width: label_w + bar_w + 90.0,
            height: row_h * bars.len() as f64 + 10.0,
            label_w,
            bar_h: row_h - 8.0,
            bars: bars
                .iter()
                .enumerate()
                .map(|(i, &(label, value, color))| {
                    let y = i as f64 * row_h + 5.0;
                    let w = bar_w * (value as f64) / (max as f64);
                    Bar {
                        label,
                        color,
                        value: thousands(value),
                        y,
                        text_y: y + 15.0,
                        width: format!("{w:.1}"),
                        value_x: format!("{:.1}", label_w + w + 6.0),
                    }
                })
                .collect(),
        }
    }
}

/// The seat numbers over time: one polyline per measure, a key below, the first and last day on the axis.
struct LineChart {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    axis_y: f64,
    max_y: f64,
    max: String,
    key_y: f64,
    key_text_y: f64,
    date_y: f64,
    first: String,
    last: String,
    lines: Vec<Line>,
}

struct Line {
    label: &'static str,
    color: &'static str,
    points: String,
    key_x: f64,
    key_text_x: f64,
}

impl LineChart {
    /// `series` has at least two points (one point draws no line; the page says so instead).
    fn new(series: &[SeriesPoint]) -> Self {
        type Pick = fn(&SeriesPoint) -> f64;
        let lines: [(&str, &str, Pick); 4] = [
            ("purchased", "#6c757d", |p| p.purchased.max(0) as f64),
            ("assigned (paid)", "#4263eb", |p| p.assigned_paid as f64),
            ("active 90 days", "#40c057", |p| p.active_90d as f64),
            ("active 30 days", "#2b8a3e", |p| p.active_30d as f64),
        ];
        let (w, h, left, top) = (760.0, 240.0, 50.0, 10.0);
        let max = series
            .iter()
            .flat_map(|p| lines.iter().map(move |l| (l.2)(p)))
            .fold(1.0_f64, f64::max);
        let n = series.len() as f64;
        let x = |i: usize| left + w * i as f64 / (n - 1.0).max(1.0);
        let y = |v: f64| top + h - h * v / max;
        let day = |p: Option<&SeriesPoint>| p.map(|p| p.date.to_string()).unwrap_or_default();
        LineChart {
            width: left + w + 20.0,
            height: top + h + 50.0,
            left,
            right: left + w,
            axis_y: top + h,
            max_y: top + 10.0,
            max: thousands(max as u64),
            key_y: top + h + 30.0,
            key_text_y: top + h + 39.0,
            date_y: top + h + 16.0,
            first: day(series.first()),
            last: day(series.last()),
            lines: lines
                .iter()
                .enumerate()
                .map(|(k, &(label, color, pick))| Line {
                    label,
                    color,
                    points: series
                        .iter()
                        .enumerate()
                        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p))))
                        .collect::<Vec<_>>()
                        .join(" "),
                    key_x: left + k as f64 * 170.0,
                    key_text_x: left + k as f64 * 170.0 + 14.0,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_miro_is_escaped_by_the_template() {
        use miro_sam_core::domain::{Email, MemberId, PlanId};
        use miro_sam_core::report::{CandidateLine, PlanSummary};
        let mut r = report(None);
        r.org_name = Some("Acme & <b>Sons</b>".into());
        r.current_plan = Some(PlanSummary {
            plan_id: PlanId::new(),
            created_at: r.generated_at,
            policy_version: 1,
            dry_run: false,
            candidates: 1,
            excluded: 0,
            cap_limit: 100,
            cap_exceeded: false,
        });
        r.candidates = vec![CandidateLine {
            member_id: MemberId::parse("3458764517517852417").unwrap(),
            email: Email::parse("<script>alert(1)</script>@example.com").unwrap(),
            license: miro_sam_core::domain::License::Advanced,
            days_inactive: 120,
            reason: "inactive \"120\" days".into(),
        }];
        let html = render(&r);
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("<td>&#60;script&#62;alert(1)&#60;/script&#62;@example.com</td>"),
            "{html}"
        );
        assert!(
            html.contains("<h1>Acme &#38; &#60;b&#62;Sons&#60;/b&#62;</h1>"),
            "{html}"
        );
        assert!(
            html.contains("<td>inactive &#34;120&#34; days</td>"),
            "{html}"
        );
        assert!(html.ends_with("</html>\n"), "{html}");
    }

    fn report(notices: Option<miro_sam_core::notices::NoticeStats>) -> Report {
        use miro_sam_core::domain::OrgId;
        use miro_sam_core::report::{ReportConfig, ReportInput, build_report};
        let org = OrgId::parse("3074457345821141000").unwrap();
        let report = build_report(ReportInput {
            org_id: &org,
            org: None,
            snapshots: &[],
            latest_plan: None,
            members: &[],
            audit: &[],
            last_download: None,
            now: chrono::Utc::now(),
            config: &ReportConfig::default(),
        });
        match notices {
            Some(n) => report.with_notices(n),
            None => report,
        }
    }

    #[test]
    fn the_notice_counts_are_shown_in_html_and_in_the_table() {
        use miro_sam_core::notices::{NoticeStats, keep_rate};
        let stats = NoticeStats {
            notified: 8,
            reminded: 5,
            kept: 2,
            keep_requests: 1,
            due: 3,
            reclaimed: 2,
            not_delivered: 1,
            dropped_out: 1,
            reactivated_after_reclaim: 1,
            keep_rate_percent: keep_rate(2, 8),
        };
        let r = report(Some(stats));
        let html = render(&r);
        assert!(html.contains("<h2>Notices to members</h2>"), "{html}");
        for row in [
            "<tr><th>Told (notice delivered)</th><td>8</td></tr>",
            "<tr><th>Reminded</th><td>5</td></tr>",
            "<tr><th>Kept (incl. requests)</th><td>2</td></tr>",
            "<tr><th>Due (waiting for approval)</th><td>3</td></tr>",
            "<tr><th>Reclaimed after notice</th><td>2</td></tr>",
            "<tr><th>Reactivated after reclaim</th><td>1</td></tr>",
            "<tr><th>Keep rate</th><td>25.0%</td></tr>",
        ] {
            assert!(html.contains(row), "{row} in {html}");
        }
        let table = super::super::table::render(&r);
        assert!(table.contains("Notices to members:"), "{table}");
        let keep = table.lines().find(|l| l.contains("Keep rate")).unwrap();
        assert!(keep.trim_end().ends_with("25.0%"), "{keep}");
        let json = super::super::json::render(&r);
        assert!(json.contains("\"keep_rate_percent\": 25.0"), "{json}");

        let none_yet = render(&report(Some(NoticeStats::default())));
        assert!(none_yet.contains("No notice sent yet."));
        let without = render(&report(None));
        assert!(!without.contains("Notices to members"));
    }
}
