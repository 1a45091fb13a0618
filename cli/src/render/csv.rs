//! CSV exports for spreadsheets. Fields that a spreadsheet would run as a formula are prefixed with `'`.

use miro_sam_core::domain::Subscription;
use miro_sam_core::report::Report;
use std::fmt::Write;

/// One CSV field, quoted when needed and defused against formula injection.
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

fn row(out: &mut String, fields: &[&str]) {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    let _ = writeln!(out, "{}", line.join(","));
}

fn date(d: Option<chrono::DateTime<chrono::Utc>>) -> String {
    d.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub fn candidates(report: &Report) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &["member_id", "email", "license", "days_inactive", "reason"],
    );
    for c in &report.candidates {
        row(
            &mut out,
            &[
                c.member_id.as_str(),
                c.email.as_str(),
                c.license.as_str(),
                &c.days_inactive.to_string(),
                &c.reason,
            ],
        );
    }
    out
}

pub fn reclaimed(report: &Report) -> String {
    let mut out = String::new();
    row(
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
                r.member_id.as_str(),
                r.email.as_str(),
                r.license.as_str(),
                &r.plan_id.to_string(),
                &r.reclaimed_at.to_rfc3339(),
                if r.still_deactivated { "true" } else { "false" },
            ],
        );
    }
    out
}

pub fn series(report: &Report) -> String {
    let mut out = String::new();
    row(
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
                &p.date.to_string(),
                &p.purchased.to_string(),
                &p.assigned_paid.to_string(),
                &p.active_30d.to_string(),
                &p.active_90d.to_string(),
                &p.never_active.to_string(),
                &p.deactivated.to_string(),
                &p.unused.to_string(),
            ],
        );
    }
    out
}

/// Every stored member: who holds which license and when they last used it.
pub fn members(members: &[Subscription]) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "member_id",
            "email",
            "license",
            "role",
            "admin_roles",
            "active",
            "last_activity_at",
            "license_assigned_at",
            "removed_at",
        ],
    );
    for m in members {
        row(
            &mut out,
            &[
                m.member_id.as_str(),
                m.email.as_str(),
                m.license.as_str(),
                m.role.as_str(),
                &m.admin_roles.join(";"),
                if m.active { "true" } else { "false" },
                &date(m.last_activity_at),
                &date(m.license_assigned_at),
                &date(m.removed_at),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
    }
}
