//! The audit log: filtered by member, kind and date, newest first, a page at a time with a "next page" link;
//! exported as CSV or JSON, streamed page by page through the store (never held whole), in the core's rows
//! (`miro_sam_core::export`), the same as `miro-sam audit` writes.

use askama::Template;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miro_sam_core::audit::{AuditCursor, AuditEntry, AuditEvent, AuditQuery};
use miro_sam_core::domain::{AuditEntryId, Email, MemberId, OrgId};
use miro_sam_core::export::{self, audit_details as details, json_array_chunk};

use super::PageRequest;
use super::download::{attachment, paged};
use crate::error::PageError;
use crate::format::when;
use crate::paging::Listing;
use crate::query::Query;
use crate::state::AppState;
use crate::views::{Layout, html};

const ROWS: usize = 50;
/// Entries per store read while exporting.
const EXPORT_PAGE: usize = 500;

/// The filters as the form shows them, and the query they make.
struct Filters {
    member: String,
    kind: String,
    from: String,
    to: String,
    query: AuditQuery,
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

async fn filters(st: &AppState, org: &OrgId, q: &Query) -> Result<Filters, PageError> {
    let member_text = q.get("member").unwrap_or_default().to_owned();
    let member = if member_text.is_empty() {
        None
    } else if let Ok(id) = MemberId::parse(&member_text) {
        Some(id)
    } else {
        // An email: the member it names now (the log is keyed by member id, which survives an email change).
        let email = Email::parse(&member_text)
            .map_err(|e| PageError::BadRequest(format!("Member: {e}")))?;
        match st.deps.store.find_member_by_email(org, &email).await? {
            Some(m) => Some(m.member_id),
            None => {
                return Err(PageError::NotFound(format!(
                    "No member of your organization has the email {email}."
                )));
            }
        }
    };
    let kind = q.get("kind").unwrap_or_default().to_owned();
    if !kind.is_empty() && !AuditEvent::KINDS.contains(&kind.as_str()) {
        return Err(PageError::BadRequest(format!(
            "{kind:?} is not an action the log records; choose one of: {}",
            AuditEvent::KINDS.join(", ")
        )));
    }
    let date = |name: &str| -> Result<Option<NaiveDate>, PageError> {
        q.get(name)
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    PageError::BadRequest(format!("{d:?} is not a date such as 2026-11-30."))
                })
            })
            .transpose()
    };
    let (from, to) = (date("from")?, date("to")?);
    Ok(Filters {
        query: AuditQuery {
            member,
            kind: (!kind.is_empty()).then(|| kind.clone()),
            from: from.map(day_start),
            // "to" is inclusive: up to the end of that day.
            to: to.map(|d| day_start(d) + Duration::days(1)),
        },
        member: member_text,
        kind,
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
    })
}

impl Filters {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("member", &self.member),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }
}

pub(crate) struct Row {
    pub at: String,
    pub id: String,
    pub actor: String,
    pub kind: &'static str,
    pub member: Option<(String, String)>,
    pub details: String,
}

impl Row {
    fn of(e: &AuditEntry) -> Self {
        Row {
            at: when(e.at),
            id: e.id.to_string(),
            actor: e.actor.clone(),
            kind: e.event.kind(),
            member: e.event.member_id().map(|m| {
                (
                    m.to_string(),
                    e.event
                        .email()
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| m.to_string()),
                )
            }),
            details: details(&e.event),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    pub layout: Layout,
    pub member: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub kinds: &'static [&'static str],
    pub list: Listing<Row>,
    pub csv_href: String,
    pub json_href: String,
}

fn cursor(q: &Query) -> Option<AuditCursor> {
    let at = q
        .get("before_at")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?;
    let id = q
        .get("before_id")
        .and_then(|i| AuditEntryId::parse(i).ok())?;
    Some(AuditCursor {
        at: at.with_timezone(&Utc),
        id,
    })
}

pub(crate) async fn audit(p: PageRequest) -> Result<Response, PageError> {
    let f = filters(&p.st, p.org_id(), &p.query).await?;
    let entries =
        p.st.deps
            .store
            .list_audit_page(p.org_id(), &f.query, cursor(&p.query).as_ref(), ROWS + 1)
            .await?;
    let next = |e: &AuditEntry| {
        let c = AuditCursor::of(e);
        let at = c.at.to_rfc3339();
        let mut pairs = f.pairs();
        pairs.push(("before_at", &at));
        pairs.push(("before_id", c.id.as_str()));
        p.href("/audit", &pairs)
    };
    let list = Listing::of(entries, ROWS, next, Row::of);
    Ok(html(&AuditPage {
        layout: p.layout("Audit log"),
        kinds: &AuditEvent::KINDS,
        list,
        csv_href: p.href("/audit.csv", &f.pairs()),
        json_href: p.href("/audit.json", &f.pairs()),
        member: f.member,
        kind: f.kind,
        from: f.from,
        to: f.to,
    }))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
}

/// Every matching entry, newest first, a store page at a time, in the core's rows.
async fn export(p: PageRequest, format: Format) -> Result<Response, PageError> {
    let f = filters(&p.st, p.org_id(), &p.query).await?;
    let (st, org, query) = (p.st.clone(), p.org_id().clone(), f.query);
    let read = move |before: Option<AuditCursor>| {
        let (st, org, query) = (st.clone(), org.clone(), query.clone());
        async move {
            st.deps
                .store
                .list_audit_page(&org, &query, before.as_ref(), EXPORT_PAGE)
                .await
        }
    };
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    let chunk = move |page: &[AuditEntry], first, last| match format {
        Format::Csv => export::audit_csv(page, first),
        Format::Json => json_array_chunk(page, first, last),
    };
    let body = paged("audit", EXPORT_PAGE, read, AuditCursor::of, chunk);
    Ok(attachment(&p, "audit", ext, content_type, body))
}

pub(crate) async fn audit_csv(p: PageRequest) -> Result<Response, PageError> {
    export(p, Format::Csv).await
}

pub(crate) async fn audit_json(p: PageRequest) -> Result<Response, PageError> {
    export(p, Format::Json).await
}
