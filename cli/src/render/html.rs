//! The report as one self-contained HTML file: inline CSS and SVG charts, no scripts, no network.

use miro_sam_core::report::{Report, SeatSummary, SeriesPoint};
use std::fmt::Write;

use super::{money, thousands, unused_seats};

const CANDIDATE_ROWS: usize = 200;

pub fn render(report: &Report) -> String {
    let mut body = String::new();
    let name = esc(report.org_name.as_deref().unwrap_or("Miro org"));
    let _ = write!(
        body,
        "<h1>{name}</h1><p class=muted>Org {} · generated {} · seats as of {}</p>",
        esc(report.org_id.as_str()),
        report.generated_at.format("%Y-%m-%d %H:%M UTC"),
        report
            .as_of
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never (no download yet)".into())
    );
    tiles(&mut body, report);
    if let Some(s) = &report.seats {
        body.push_str("<h2>Seat use</h2>");
        body.push_str(&bar_chart(&seat_bars(s)));
        body.push_str("<h2>Paid seats by last activity</h2>");
        body.push_str(&bar_chart(&activity_bars(s)));
    }
    body.push_str("<h2>Over time</h2>");
    if report.series.len() >= 2 {
        body.push_str(&line_chart(&report.series));
    } else {
        body.push_str("<p class=muted>One point per daily download; the chart appears from the second day on.</p>");
    }
    candidates(&mut body, report);
    reclaimed(&mut body, report);
    notices(&mut body, report);
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>miro-sam report: {name}</title>\
         <style>{CSS}</style></head><body>{body}</body></html>\n"
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#1b1b1f;padding:0 1em}\
h1{margin-bottom:0}h2{margin-top:2em;border-bottom:1px solid #ddd}.muted{color:#666}\
.tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:130px}\
.tile b{display:block;font-size:1.6em}table{border-collapse:collapse;width:100%;font-size:.9em}\
td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left}th{background:#fafafa}\
svg text{font-size:12px;fill:#333}.warn{color:#b00020;font-weight:bold}";

fn tiles(out: &mut String, report: &Report) {
    let mut tiles: Vec<(String, String)> = Vec::new();
    if let Some(s) = &report.seats {
        tiles.push(("Purchased".into(), thousands(s.purchased.max(0) as u64)));
        tiles.push(("Assigned (paid)".into(), thousands(s.assigned_paid as u64)));
        tiles.push(("Used, 90 days".into(), thousands(s.used_90d as u64)));
        tiles.push(("Never used".into(), thousands(s.never_active as u64)));
        tiles.push(("Unused purchased".into(), unused_seats(s.unused)));
    }
    if let Some(p) = &report.current_plan {
        tiles.push(("Reclaim candidates".into(), thousands(p.candidates as u64)));
    }
    tiles.push((
        "Reclaimed to date".into(),
        thousands(report.reclaims.reclaimed_members as u64),
    ));
    if let Some(s) = &report.savings {
        tiles.push(("Saved per year".into(), money(s.annual_minor, &s.currency)));
    }
    out.push_str("<div class=tiles>");
    for (label, value) in tiles {
        let _ = write!(
            out,
            "<div class=tile><b>{}</b>{}</div>",
            esc(&value),
            esc(&label)
        );
    }
    out.push_str("</div>");
}

fn seat_bars(s: &SeatSummary) -> Vec<(String, u64, &'static str)> {
    vec![
        ("Purchased".into(), s.purchased.max(0) as u64, "#6c757d"),
        ("Assigned (paid)".into(), s.assigned_paid as u64, "#4263eb"),
        ("Used in 30 days".into(), s.used_30d as u64, "#2b8a3e"),
        ("Used in 90 days".into(), s.used_90d as u64, "#40c057"),
        ("Never used".into(), s.never_active as u64, "#e8590c"),
        ("Deactivated".into(), s.deactivated as u64, "#adb5bd"),
    ]
}

/// The cumulative windows of the snapshot turned into disjoint buckets.
fn activity_bars(s: &SeatSummary) -> Vec<(String, u64, &'static str)> {
    let over_120 = (s.assigned_paid as u64)
        .saturating_sub(s.used_120d as u64)
        .saturating_sub(s.never_active as u64);
    vec![
        ("0–30 days".into(), s.used_30d as u64, "#2b8a3e"),
        (
            "31–60 days".into(),
            s.used_60d.saturating_sub(s.used_30d) as u64,
            "#74b816",
        ),
        (
            "61–90 days".into(),
            s.used_90d.saturating_sub(s.used_60d) as u64,
            "#fab005",
        ),
        (
            "91–120 days".into(),
            s.used_120d.saturating_sub(s.used_90d) as u64,
            "#f76707",
        ),
        ("over 120 days".into(), over_120, "#e03131"),
        ("never".into(), s.never_active as u64, "#862e9c"),
    ]
}

fn bar_chart(bars: &[(String, u64, &str)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (150.0, 640.0, 26.0);
    let height = row_h * bars.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg role=img width=\"100%\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        label_w + bar_w + 90.0
    );
    for (i, (label, value, color)) in bars.iter().enumerate() {
        let y = i as f64 * row_h + 5.0;
        let w = bar_w * (*value as f64) / (max as f64);
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{color}\" rx=\"3\"/>\
             <text x=\"{:.1}\" y=\"{}\">{}</text>",
            y + 15.0,
            esc(label),
            row_h - 8.0,
            label_w + w + 6.0,
            y + 15.0,
            thousands(*value)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn line_chart(series: &[SeriesPoint]) -> String {
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
    let mut svg = format!(
        "<svg role=img width=\"100%\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ccc\"/>\
         <text x=\"0\" y=\"{}\">{}</text><text x=\"0\" y=\"{}\">0</text>",
        left + w + 20.0,
        top + h + 50.0,
        top + h,
        left + w,
        top + h,
        top + 10.0,
        thousands(max as u64),
        top + h
    );
    for (k, (label, color, pick)) in lines.iter().enumerate() {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p))))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\
             <rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{label}</text>",
            points.join(" "),
            left + k as f64 * 170.0,
            top + h + 30.0,
            left + k as f64 * 170.0 + 14.0,
            top + h + 39.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        top + h + 16.0,
        series[0].date,
        left + w,
        top + h + 16.0,
        series[series.len() - 1].date
    );
    svg
}

fn candidates(out: &mut String, report: &Report) {
    let Some(plan) = &report.current_plan else {
        out.push_str(
            "<h2>Reclaim plan</h2><p class=muted>No plan yet: run <code>miro-sam plan</code>.</p>",
        );
        return;
    };
    let _ = write!(
        out,
        "<h2>Reclaim plan</h2><p>Plan <code>{}</code>, policy v{}{}: {} candidates, {} excluded by policy or guardrails.</p>",
        plan.plan_id,
        plan.policy_version,
        if plan.dry_run { " (dry run)" } else { "" },
        plan.candidates,
        plan.excluded
    );
    if plan.cap_exceeded {
        let _ = write!(
            out,
            "<p class=warn>The candidates exceed the per-run cap of {}: this plan will not execute.</p>",
            plan.cap_limit
        );
    }
    out.push_str(
        "<table><tr><th>Email</th><th>License</th><th>Days inactive</th><th>Reason</th></tr>",
    );
    for c in report.candidates.iter().take(CANDIDATE_ROWS) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.email.as_str()),
            esc(c.license.as_str()),
            c.days_inactive,
            esc(&c.reason)
        );
    }
    out.push_str("</table>");
    if report.candidates.len() > CANDIDATE_ROWS {
        let _ = write!(
            out,
            "<p class=muted>… and {} more in candidates.csv.</p>",
            report.candidates.len() - CANDIDATE_ROWS
        );
    }
}

fn reclaimed(out: &mut String, report: &Report) {
    let r = &report.reclaims;
    let _ = write!(
        out,
        "<h2>Reclaimed</h2><p>{} members reclaimed to date, {} still deactivated; {} reactivated, {} skipped at the \
         last-moment re-check, {} failed.</p>",
        r.reclaimed_members, r.still_deactivated, r.reactivations, r.skipped, r.failed
    );
    if let Some(s) = &report.savings {
        let _ = write!(
            out,
            "<p>Saving <b>{}</b> a month (<b>{}</b> a year): {} seats at {} a month.</p>",
            money(s.monthly_minor, &s.currency),
            money(s.annual_minor, &s.currency),
            s.seats,
            money(s.price_per_seat_month_minor, &s.currency)
        );
    }
}

fn notices(out: &mut String, report: &Report) {
    let Some(n) = &report.notices else {
        return;
    };
    out.push_str("<h2>Notices to members</h2>");
    if n.is_empty() {
        out.push_str("<p class=muted>No notice sent yet.</p>");
        return;
    }
    out.push_str("<table class=notices>");
    for (label, value) in n.rows() {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(label),
            esc(&value)
        );
    }
    out.push_str("</table>");
}

/// HTML-escapes text from Miro or the operator.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<script>\"x\" & y"),
            "&lt;script&gt;&quot;x&quot; &amp; y"
        );
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
