//! The audit log: filtered by member, kind and date, newest first, a page at a time with a "next page" link;
//! exported as CSV or JSON, streamed page by page through the store (never held whole), in the core's rows
//! (`miro_sam_core::export`), the same as `miro-sam audit` writes.

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miro_sam_core::audit::{AuditCursor, AuditEvent, AuditQuery};
use miro_sam_core::domain::{AuditEntryId, Email, MemberId, OrgId};
use miro_sam_core::export::{self, audit_details as details, json_array_chunk};

use super::{layout, org_of};
use crate::error::PageError;
use crate::format::when;
use crate::query::{Query, href};
use crate::session::Admin;
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

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    pub layout: Layout,
    pub member: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub kinds: &'static [&'static str],
    pub rows: Vec<Row>,
    pub next_href: Option<String>,
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

pub(crate) async fn audit(
    State(st): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let org = org_of(&st, &admin).await?;
    let q = Query::parse(raw.as_deref());
    let f = filters(&st, &admin.session.org, &q).await?;
    let mut entries = st
        .deps
        .store
        .list_audit_page(&admin.session.org, &f.query, cursor(&q).as_ref(), ROWS + 1)
        .await?;
    let more = entries.len() > ROWS;
    entries.truncate(ROWS);
    let path = format!("{}/audit", st.base);
    let next_href = more.then(|| entries.last()).flatten().map(|e| {
        let c = AuditCursor::of(e);
        let at = c.at.to_rfc3339();
        let mut pairs = f.pairs();
        pairs.push(("before_at", &at));
        pairs.push(("before_id", c.id.as_str()));
        href(&path, &pairs)
    });
    let page = AuditPage {
        layout: layout(&st, &admin, &org, "Audit log"),
        kinds: &AuditEvent::KINDS,
        rows: entries
            .iter()
            .map(|e| Row {
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
            })
            .collect(),
        next_href,
        csv_href: href(&format!("{}/audit.csv", st.base), &f.pairs()),
        json_href: href(&format!("{}/audit.json", st.base), &f.pairs()),
        member: f.member,
        kind: f.kind,
        from: f.from,
        to: f.to,
    };
    Ok(html(&page))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Json,
}

/// Every matching entry, newest first, a store page at a time.
fn export_stream(
    st: AppState,
    org: OrgId,
    query: AuditQuery,
    format: Format,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct S {
        st: AppState,
        org: OrgId,
        query: AuditQuery,
        before: Option<AuditCursor>,
        first: bool,
        done: bool,
    }
    let s = S {
        st,
        org,
        query,
        before: None,
        first: true,
        done: false,
    };
    futures::stream::unfold(s, move |mut s| async move {
        if s.done {
            return None;
        }
        let page = match s
            .st
            .deps
            .store
            .list_audit_page(&s.org, &s.query, s.before.as_ref(), EXPORT_PAGE)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                // Cut the download: a file that ends abruptly must not look complete.
                s.done = true;
                tracing::error!(error = %e, "audit export failed part-way");
                return Some((Err(std::io::Error::other(e.to_string())), s));
            }
        };
        let last = page.len() < EXPORT_PAGE;
        s.before = page.last().map(AuditCursor::of);
        let chunk = match format {
            Format::Csv => export::audit_csv(&page, s.first),
            Format::Json => json_array_chunk(&page, s.first, last),
        };
        s.first = false;
        s.done = last;
        Some((chunk.map(Bytes::from), s))
    })
}

async fn export(
    st: AppState,
    admin: Admin,
    raw: Option<String>,
    format: Format,
) -> Result<Response, PageError> {
    org_of(&st, &admin).await?;
    let q = Query::parse(raw.as_deref());
    let f = filters(&st, &admin.session.org, &q).await?;
    let (ctype, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    let name = format!(
        "miro-sam-audit-{}-{}.{ext}",
        admin.session.org,
        st.now().format("%Y%m%d")
    );
    let body = Body::from_stream(export_stream(
        st.clone(),
        admin.session.org.clone(),
        f.query,
        format,
    ));
    Ok((
        [
            (CONTENT_TYPE, ctype.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

pub(crate) async fn audit_csv(
    State(st): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    export(st, admin, raw, Format::Csv).await
}

pub(crate) async fn audit_json(
    State(st): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    export(st, admin, raw, Format::Json).await
}
