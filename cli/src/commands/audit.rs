//! `miro-sam audit`: the org's audit log, newest first, filtered by member, action and date, as a table or in the
//! core's CSV and JSON rows (the console's exports are the same). Read a store page at a time through
//! `list_audit_page` and written as it comes, so a long log is never held.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditEvent, AuditQuery};
use miro_sam_core::domain::{Email, MemberId, OrgId};
use miro_sam_core::export::{audit_csv, audit_details, json_array_chunk};
use std::io::Write;

use crate::args::{AuditArgs, AuditFormat, Global};
use crate::backend::Backend;
use crate::failure::{CmdResult, Failure};
use crate::render::printable;

/// Entries per store read.
const PAGE: usize = 500;

pub async fn run(b: &Backend, g: &Global, args: AuditArgs) -> CmdResult {
    let org = b.org(g).await?;
    let query = query(b, &org, &args).await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let written = write(b, &org, &query, args.format, &mut out).await?;
    out.flush()?;
    drop(out);
    if let Some(path) = &args.output {
        eprintln!("wrote {written} audit entries to {}", path.display());
    }
    Ok(())
}

/// The filters as the core's query. A member given by email is the member who has that address now (the log is
/// keyed by member id, which survives an email change); dates are UTC days, `until` inclusive.
pub async fn query(b: &Backend, org: &OrgId, args: &AuditArgs) -> CmdResult<AuditQuery> {
    let member = match args.member.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => match MemberId::parse(m) {
            Ok(id) => Some(id),
            Err(_) => {
                let email = Email::parse(m)?;
                let found = b.deps.store.find_member_by_email(org, &email).await?;
                Some(
                    found
                        .ok_or_else(|| {
                            Failure::usage(format!(
                                "org {org} has no member with the email {email}; give the member id instead \
                                 for someone who left"
                            ))
                        })?
                        .member_id,
                )
            }
        },
    };
    if let Some(a) = &args.action
        && !AuditEvent::KINDS.contains(&a.as_str())
    {
        return Err(Failure::usage(format!(
            "--action {a:?} is not an action the log records; choose one of: {}",
            AuditEvent::KINDS.join(", ")
        )));
    }
    let day = |flag: &str, d: &Option<String>| -> CmdResult<Option<DateTime<Utc>>> {
        d.as_deref()
            .map(|d| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
                    .map_err(|_| {
                        Failure::usage(format!("{flag} {d:?} is not a date such as 2026-11-30"))
                    })
            })
            .transpose()
    };
    let from = day("--since", &args.since)?;
    let to = day("--until", &args.until)?.map(|d| d + Duration::days(1));
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err(Failure::usage(
            "--until is before --since: no entry can match",
        ));
    }
    Ok(AuditQuery {
        member,
        kind: args.action.clone(),
        from,
        to,
    })
}

/// Writes every matching entry, newest first; returns how many.
pub async fn write(
    b: &Backend,
    org: &OrgId,
    query: &AuditQuery,
    format: AuditFormat,
    out: &mut dyn Write,
) -> CmdResult<usize> {
    let mut before: Option<AuditCursor> = None;
    let mut first = true;
    let mut written = 0;
    loop {
        let page = b
            .deps
            .store
            .list_audit_page(org, query, before.as_ref(), PAGE)
            .await?;
        let last = page.len() < PAGE;
        before = page.last().map(AuditCursor::of);
        written += page.len();
        match format {
            AuditFormat::Csv => out.write_all(&audit_csv(&page, first)?)?,
            AuditFormat::Json => out.write_all(&json_array_chunk(&page, first, last)?)?,
            AuditFormat::Table => out.write_all(table_rows(&page, first).as_bytes())?,
        }
        first = false;
        if last {
            break;
        }
    }
    if format == AuditFormat::Table && written == 0 {
        writeln!(out, "(no entries match)")?;
    }
    Ok(written)
}

fn table_rows(page: &[AuditEntry], header: bool) -> String {
    let mut s = String::new();
    if header {
        s.push_str(&format!(
            "{:<25} {:<22} {:<40} {:<30} details\n",
            "at", "action", "actor", "member"
        ));
    }
    for e in page {
        let member = match (e.event.email(), e.event.member_id()) {
            (Some(email), _) => email.to_string(),
            (None, Some(id)) => id.to_string(),
            (None, None) => String::new(),
        };
        s.push_str(&format!(
            "{:<25} {:<22} {:<40} {:<30} {}\n",
            e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            e.event.kind(),
            printable(&e.actor),
            member,
            printable(&audit_details(&e.event))
        ));
    }
    s
}
