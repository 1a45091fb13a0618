//! The rows of the exports people open in spreadsheets and SAM tools: the audit log as CSV or JSON, and the members
//! CSV. One implementation, so the console's downloads and the CLI's files say the same thing for the same data.
//!
//! Each function turns one page of a store read into bytes, so callers stream an export a page at a time and never
//! hold a whole log or org. CSV is written with the `csv` crate (quoting), and every text cell that a spreadsheet
//! would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed with `'`: audit reasons and
//! actors are typed by people, and a cell such as `=HYPERLINK(…)` must stay text when an admin opens the file.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::Subscription;

/// The audit CSV's columns. `details` is the event's other fields as compact JSON.
pub const AUDIT_CSV_HEADER: [&str; 8] = [
    "at",
    "id",
    "actor",
    "kind",
    "member_id",
    "email",
    "details",
    "org_id",
];

/// The members CSV's columns: the fields SAM tools map (Oomnitza's Id, Username, First name, Family name, User type,
/// Active) plus role, last activity, license assigned and sync time. Miro's REST members carry no names, so First
/// name and Family name stay empty (SAM tools match on Username).
pub const MEMBERS_CSV_HEADER: [&str; 10] = [
    "Id",
    "Username",
    "First name",
    "Family name",
    "User type",
    "Active",
    "Role",
    "Last activity",
    "License assigned",
    "Sync time",
];

/// A text cell as a spreadsheet must show it: prefixed with `'` when it would otherwise start a formula.
pub fn defuse(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The event's fields other than its kind, as compact JSON (`{}` for an event that has none).
pub fn audit_details(e: &AuditEvent) -> String {
    match serde_json::to_value(e) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.remove("event");
            serde_json::Value::Object(m).to_string()
        }
        _ => String::new(),
    }
}

fn rows<I, R>(header: Option<&[&str]>, records: I) -> std::io::Result<Vec<u8>>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<str>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h)?;
    }
    for r in records {
        w.write_record(r.into_iter().map(|c| defuse(c.as_ref()).into_owned()))?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// One page of the audit CSV, with the header line first when `header` (the first page).
pub fn audit_csv(page: &[AuditEntry], header: bool) -> std::io::Result<Vec<u8>> {
    rows(
        header.then_some(&AUDIT_CSV_HEADER[..]),
        page.iter().map(|e| {
            [
                e.at.to_rfc3339(),
                e.id.to_string(),
                e.actor.clone(),
                e.event.kind().to_owned(),
                e.event
                    .member_id()
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                e.event.email().map(|m| m.to_string()).unwrap_or_default(),
                audit_details(&e.event),
                e.org_id.to_string(),
            ]
        }),
    )
}

fn rfc3339(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// One page of the members CSV, with the header line first when `header` (the first page). A removed member is
/// not active, whatever Miro said last.
pub fn members_csv(page: &[Subscription], header: bool) -> std::io::Result<Vec<u8>> {
    rows(
        header.then_some(&MEMBERS_CSV_HEADER[..]),
        page.iter().map(|m| {
            [
                m.member_id.to_string(),
                m.email.to_string(),
                String::new(),
                String::new(),
                m.license.as_str().to_owned(),
                (m.active && !m.is_removed()).to_string(),
                m.role.as_str().to_owned(),
                rfc3339(m.last_activity_at),
                rfc3339(m.license_assigned_at),
                m.last_seen_at.to_rfc3339(),
            ]
        }),
    )
}

/// One page of a JSON array written a page at a time: `[` before the first page's items, `,` between items, one
/// item per line, and `]` after the last page (`first` and `last` may both hold: one page, possibly empty).
pub fn json_array_chunk<T: Serialize>(
    page: &[T],
    first: bool,
    last: bool,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if first {
        out.push(b'[');
    }
    for (i, item) in page.iter().enumerate() {
        if !(first && i == 0) {
            out.push(b',');
        }
        out.push(b'\n');
        serde_json::to_writer(&mut out, item)?;
    }
    if last {
        out.extend_from_slice(b"\n]\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditEntryId, OrgId, Role};
    use crate::{License, Subscription};
    use miro_client::Member;

    fn entry(id: &str, actor: &str, reason: &str) -> AuditEntry {
        AuditEntry {
            id: AuditEntryId::parse(id).unwrap(),
            org_id: OrgId::parse("3074457345821141000").unwrap(),
            at: "2026-11-30T10:00:00Z".parse().unwrap(),
            actor: actor.into(),
            event: AuditEvent::OrgPaused {
                reason: reason.into(),
            },
        }
    }

    fn member(active: bool, removed: bool) -> Subscription {
        let m = Member {
            id: "3458764517517819000".into(),
            email: "jane@example.com".into(),
            active,
            role: Role::InternalUser,
            license: License::Full,
            license_assigned_at: None,
            last_activity_at: Some("2026-10-01T08:00:00Z".parse().unwrap()),
            admin_roles: vec![],
        };
        let mut s = Subscription::from_member(
            &OrgId::parse("3074457345821141000").unwrap(),
            &m,
            "2026-11-30T03:00:00Z".parse().unwrap(),
        )
        .unwrap();
        if removed {
            s.removed_at = Some("2026-11-29T03:00:00Z".parse().unwrap());
        }
        s
    }

    fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn audit_rows_carry_the_actor_and_defuse_formulas() {
        let page = [
            entry("pause/1", "miro-sam pause (by ops)", "audit, \"Q4\""),
            entry("pause/2", "=cmd|' /C calc'!A0", "@SUM(A1)"),
        ];
        let rows = parse(&audit_csv(&page, true).unwrap());
        assert_eq!(rows[0], AUDIT_CSV_HEADER);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1][0], "2026-11-30T10:00:00+00:00");
        assert_eq!(rows[1][2], "miro-sam pause (by ops)");
        assert_eq!(rows[1][3], "org_paused");
        assert_eq!(rows[1][6], r#"{"reason":"audit, \"Q4\""}"#, "quoted");
        assert_eq!(rows[2][2], "'=cmd|' /C calc'!A0", "a formula stays text");
        assert!(
            parse(&audit_csv(&page, false).unwrap())[0][1] == "pause/1",
            "no header on later pages"
        );
    }

    #[test]
    fn members_rows_have_oomnitzas_fields_and_removed_members_are_inactive() {
        let rows = parse(&members_csv(&[member(true, false), member(true, true)], true).unwrap());
        assert_eq!(rows[0], MEMBERS_CSV_HEADER);
        assert_eq!(
            rows[1],
            [
                "3458764517517819000",
                "jane@example.com",
                "",
                "",
                "full",
                "true",
                "organization_internal_user",
                "2026-10-01T08:00:00+00:00",
                "",
                "2026-11-30T03:00:00+00:00"
            ]
        );
        assert_eq!(rows[2][5], "false");
    }

    #[test]
    fn a_json_array_written_in_pages_parses_whole() {
        let page = [entry("a/1", "x", "y"), entry("a/2", "x", "y")];
        let mut out = json_array_chunk(&page, true, false).unwrap();
        out.extend(json_array_chunk(&page[..1], false, false).unwrap());
        out.extend(json_array_chunk::<AuditEntry>(&[], false, true).unwrap());
        let v: Vec<AuditEntry> = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2], page[0]);
        let empty: Vec<AuditEntry> =
            serde_json::from_slice(&json_array_chunk::<AuditEntry>(&[], true, true).unwrap())
                .unwrap();
        assert!(empty.is_empty());
    }
}
