//! CSV exports for spreadsheets. Text that a spreadsheet would run as a formula is prefixed with `'`; numbers are
//! written as they are, so a spreadsheet keeps them numeric (an over-assigned `unused` of -272 stays a number).

use miro_sam_core::report::Report;
use std::fmt::Write;

/// One cell of a row. Only text can carry a formula: a number the code formatted itself never does, and
/// defusing it would turn it into text (`'-272`) that sums and charts skip.
enum Cell<'a> {
    Text(&'a str),
    Num(i64),
}

use Cell::{Num, Text};

/// One CSV text field, quoted when needed and defused against formula injection.
pub fn field(raw: &str) -> String {
    let defused = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn header(out: &mut String, names: &[&str]) {
    let line: Vec<String> = names.iter().map(|n| field(n)).collect();
    let _ = writeln!(out, "{}", line.join(","));
}

fn row(out: &mut String, cells: &[Cell<'_>]) {
    let line: Vec<String> = cells
        .iter()
        .map(|c| match c {
            Text(t) => field(t),
            Num(n) => n.to_string(),
        })
        .collect();
    let _ = writeln!(out, "{}", line.join(","));
}

fn boolean(b: bool) -> Cell<'static> {
    Text(if b { "true" } else { "false" })
}

pub fn candidates(report: &Report) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &["member_id", "email", "license", "days_inactive", "reason"],
    );
    for c in &report.candidates {
        row(
            &mut out,
            &[
                Text(c.member_id.as_str()),
                Text(c.email.as_str()),
                Text(c.license.as_str()),
                Num(c.days_inactive),
                Text(&c.reason),
            ],
        );
    }
    out
}

pub fn reclaimed(report: &Report) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "member_id",
            "email",
            "license",
            "plan_id",
            "reclaimed_at",
            "still_deactivated",
        ],
    );
    for r in &report.reclaimed {
        row(
            &mut out,
            &[
                Text(r.member_id.as_str()),
                Text(r.email.as_str()),
                Text(r.license.as_str()),
                Text(&r.plan_id.to_string()),
                Text(&r.reclaimed_at.to_rfc3339()),
                boolean(r.still_deactivated),
            ],
        );
    }
    out
}

pub fn series(report: &Report) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "date",
            "purchased",
            "assigned_paid",
            "active_30d",
            "active_90d",
            "never_active",
            "deactivated",
            "unused",
        ],
    );
    for p in &report.series {
        row(
            &mut out,
            &[
                Text(&p.date.to_string()),
                Num(p.purchased),
                Num(p.assigned_paid.into()),
                Num(p.active_30d.into()),
                Num(p.active_90d.into()),
                Num(p.never_active.into()),
                Num(p.deactivated.into()),
                // purchased − assigned paid: negative when more seats are assigned than bought.
                Num(p.unused),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use miro_sam_core::domain::OrgId;
    use miro_sam_core::report::{ReclaimTotals, SeriesPoint};

    fn report_with(series: Vec<SeriesPoint>) -> Report {
        Report {
            org_id: OrgId::parse("3074457345821141000").unwrap(),
            org_name: None,
            generated_at: Utc::now(),
            as_of: None,
            seats: None,
            current_plan: None,
            candidates: vec![],
            reclaims: ReclaimTotals::default(),
            reclaimed: vec![],
            savings: None,
            series,
            notices: None,
        }
    }

    #[test]
    fn negative_numbers_stay_numbers() {
        let over_assigned = SeriesPoint {
            date: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            purchased: 3000,
            assigned_paid: 3272,
            active_30d: 1200,
            active_90d: 2000,
            never_active: 300,
            deactivated: 45,
            unused: -272,
        };
        let csv = series(&report_with(vec![over_assigned]));
        assert_eq!(
            csv.lines().nth(1),
            Some("2026-06-01,3000,3272,1200,2000,300,45,-272"),
            "{csv}"
        );
    }

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
    }
}
