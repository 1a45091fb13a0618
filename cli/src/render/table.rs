//! The report as plain text for a terminal.

use miro_sam_core::report::Report;
use std::fmt::Write;

use super::{money, thousands, unused_seats};

/// How many candidates the terminal view lists; the CSV export has them all.
const CANDIDATES_SHOWN: usize = 15;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let name = report.org_name.as_deref().unwrap_or("(unnamed org)");
    let _ = writeln!(out, "Miro org {name} ({})", report.org_id);
    match report.as_of {
        Some(d) => {
            let _ = writeln!(out, "Seats as of {d}");
        }
        None => {
            let _ = writeln!(out, "No download yet: run `miro-sam sync`.");
        }
    }
    if let Some(s) = &report.seats {
        let line = |out: &mut String, label: &str, n: i64| {
            let _ = writeln!(out, "  {label:<34}{:>10}", fmt_i64(n));
        };
        line(&mut out, "Full licenses purchased", s.purchased);
        line(&mut out, "Paid seats assigned", s.assigned_paid as i64);
        line(&mut out, "  used in the last 30 days", s.used_30d as i64);
        line(&mut out, "  used in the last 60 days", s.used_60d as i64);
        line(&mut out, "  used in the last 90 days", s.used_90d as i64);
        line(&mut out, "  used in the last 120 days", s.used_120d as i64);
        line(&mut out, "  never used", s.never_active as i64);
        let _ = writeln!(
            out,
            "  {:<34}{:>10}",
            "Unused purchased seats",
            unused_seats(s.unused)
        );
        line(&mut out, "Deactivated members", s.deactivated as i64);
        line(&mut out, "Members", s.members as i64);
        let _ = writeln!(out, "  Assigned by license:");
        for (license, n) in &s.assigned_by_license {
            let _ = writeln!(
                out,
                "    {:<32}{:>10}",
                license.as_str(),
                thousands(*n as u64)
            );
        }
    }
    if let Some(p) = &report.current_plan {
        let _ = writeln!(
            out,
            "\nCurrent plan {} ({}; policy v{}{}{})",
            p.plan_id,
            p.created_at.format("%Y-%m-%d %H:%M UTC"),
            p.policy_version,
            if p.dry_run { ", dry run" } else { "" },
            if p.cap_exceeded {
                ", CAP EXCEEDED: it will not execute"
            } else {
                ""
            },
        );
        let _ = writeln!(
            out,
            "  {} candidates, {} excluded, cap {}",
            p.candidates, p.excluded, p.cap_limit
        );
        for c in report.candidates.iter().take(CANDIDATES_SHOWN) {
            let _ = writeln!(
                out,
                "  - {:<40} {:<16} {}",
                c.email.as_str(),
                c.license.as_str(),
                c.reason
            );
        }
        if report.candidates.len() > CANDIDATES_SHOWN {
            let _ = writeln!(
                out,
                "  … and {} more (see the CSV export)",
                report.candidates.len() - CANDIDATES_SHOWN
            );
        }
    }
    let r = &report.reclaims;
    let _ = writeln!(
        out,
        "\nReclaimed to date: {} members ({} still deactivated), {} reactivated, {} skipped, {} failed",
        r.reclaimed_members, r.still_deactivated, r.reactivations, r.skipped, r.failed
    );
    if let Some(n) = &report.notices {
        let _ = writeln!(out, "\nNotices to members:");
        for (label, value) in n.rows() {
            let _ = writeln!(out, "  {label:<34}{value:>10}");
        }
    }
    if let Some(s) = &report.savings {
        let _ = writeln!(
            out,
            "Money saved: {} a month, {} a year ({} seats at {} a month)",
            money(s.monthly_minor, &s.currency),
            money(s.annual_minor, &s.currency),
            s.seats,
            money(s.price_per_seat_month_minor, &s.currency)
        );
    }
    out
}

fn fmt_i64(n: i64) -> String {
    if n < 0 {
        format!("-{}", thousands(n.unsigned_abs()))
    } else {
        thousands(n as u64)
    }
}
