//! Keep requests: members who asked to keep their seat while the policy says an admin decides
//! (`keep_needs_approval`). The admin approves (the member keeps the seat for `keep_days`) or declines with a
//! reason (the cycle goes on and the seat may be reclaimed from its reclaim date). Both are audited by the core
//! ([`approve_keep`], [`decline_keep`]) with the signed-in admin as the actor.

use askama::Template;
use axum::response::Response;
use miro_sam_core::domain::MemberId;
use miro_sam_core::notices::{CycleRef, NoticeError, NoticeState, approve_keep, decline_keep};

use super::PageRequest;
use crate::error::PageError;
use crate::form::FormData;
use crate::format::when;
use crate::paging::Listing;
use crate::session::Admin;
use crate::state::AppState;
use crate::views::{Layout, html, message_page};

/// Requests shown on one page.
const ROWS: usize = 50;
/// Notice records read per store page, and how many store pages one view may read (open requests are a few
/// among many records: the bound keeps a view's cost fixed; the next-page link goes on from where it stopped).
const SCAN_PAGE: usize = 200;
const SCAN_PAGES: usize = 5;

pub(crate) struct RequestRow {
    pub member_id: String,
    pub email: String,
    pub cycle: u32,
    pub asked: String,
    pub reclaim_on: String,
    pub days_inactive: i64,
}

#[derive(Template)]
#[template(path = "keep_requests.html")]
pub(crate) struct KeepRequestsPage {
    pub layout: Layout,
    pub list: Listing<RequestRow>,
    pub csrf: String,
}

/// `GET {base}/keep-requests`: the org's open keep requests in member id order, a page at a time (`after`).
pub(crate) async fn keep_requests(p: PageRequest) -> Result<Response, PageError> {
    let mut after = p.query.get("after").and_then(|m| MemberId::parse(m).ok());
    let mut rows = Vec::new();
    let mut more = false;
    'scan: for _ in 0..SCAN_PAGES {
        let page =
            p.st.deps
                .store
                .list_notices_page(p.org_id(), after.as_ref(), SCAN_PAGE)
                .await?;
        let full = page.len() == SCAN_PAGE;
        for r in page {
            after = Some(r.member_id.clone());
            if let NoticeState::KeepRequested { at } = r.state {
                rows.push(RequestRow {
                    member_id: r.member_id.to_string(),
                    email: r.email.to_string(),
                    cycle: r.cycle,
                    asked: when(at),
                    reclaim_on: r.reclaim_on.format("%Y-%m-%d").to_string(),
                    days_inactive: r.days_inactive,
                });
                if rows.len() == ROWS {
                    // There may be none after this one; an empty next page says so.
                    more = true;
                    break 'scan;
                }
            }
        }
        if !full {
            break;
        }
        more = true;
    }
    let next_href = more
        .then_some(after)
        .flatten()
        .map(|m| p.href("/keep-requests", &[("after", m.as_str())]));
    Ok(html(&KeepRequestsPage {
        layout: p.layout("Keep requests"),
        list: Listing { rows, next_href },
        csrf: p.admin.csrf.clone(),
    }))
}

/// The request a form decides: the member and the cycle the page showed (a request of a later cycle is not this
/// one), with the member's address for the result page.
struct Decision {
    member: MemberId,
    cycle: u32,
    who: String,
}

impl Decision {
    async fn of(st: &AppState, admin: &Admin, form: &FormData) -> Result<Decision, PageError> {
        let member = MemberId::parse(form.require("member", "The member")?)
            .map_err(|e| PageError::BadRequest(e.to_string()))?;
        let cycle = form
            .require("cycle", "The notice cycle")?
            .parse::<u32>()
            .map_err(|_| {
                PageError::BadRequest("The notice cycle is not a number; reload the page.".into())
            })?;
        let who = email_of(st, admin, &member).await?;
        Ok(Decision { member, cycle, who })
    }

    fn cycle_ref<'a>(&'a self, admin: &'a Admin) -> CycleRef<'a> {
        CycleRef {
            org: &admin.session.org,
            member: &self.member,
            cycle: self.cycle,
        }
    }
}

fn back(st: &AppState) -> Option<(String, String)> {
    Some((
        format!("{}/keep-requests", st.base),
        "Back to keep requests".into(),
    ))
}

/// `POST {base}/keep-requests/approve`: the member keeps the seat for the policy's `keep_days`.
pub(crate) async fn approve(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let d = Decision::of(st, admin, &form).await?;
    let store = st.deps.store.as_ref();
    let until = approve_keep(
        store,
        store,
        d.cycle_ref(admin),
        &admin.session.actor(),
        st.now(),
    )
    .await
    .map_err(refused)?;
    Ok(message_page(
        p.layout("Keep approved"),
        &format!(
            "Approved: {} keeps their license until {}. A hold keeps them out of plans until then.",
            d.who,
            when(until)
        ),
        back(st),
    ))
}

/// `POST {base}/keep-requests/decline` (`why` required): the cycle goes on as notified.
pub(crate) async fn decline(p: PageRequest, form: FormData) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let d = Decision::of(st, admin, &form).await?;
    let why = form.require("why", "A reason for declining")?;
    let store = st.deps.store.as_ref();
    decline_keep(
        store,
        store,
        d.cycle_ref(admin),
        &admin.session.actor(),
        why,
        st.now(),
    )
    .await
    .map_err(refused)?;
    Ok(message_page(
        p.layout("Keep declined"),
        &format!(
            "Declined: {}'s license may be freed from the reclaim date of their notice. The reason \
             is in the audit log.",
            d.who
        ),
        back(st),
    ))
}

/// How the result names the member: the address their notice went to (the member id if there is no record; the
/// core then refuses the decision anyway).
async fn email_of(st: &AppState, admin: &Admin, member: &MemberId) -> Result<String, PageError> {
    Ok(st
        .deps
        .store
        .get_notice(&admin.session.org, member)
        .await?
        .map_or_else(|| format!("member {member}"), |r| r.email.to_string()))
}

fn refused(e: NoticeError) -> PageError {
    match e {
        NoticeError::KeepRefused(m) => {
            PageError::Conflict(format!("{m}. Reload the keep requests."))
        }
        NoticeError::Contended { .. } => PageError::Conflict(format!("{e}.")),
        NoticeError::Store(s) => PageError::Store(s),
        NoticeError::NoPolicy => PageError::BadRequest(e.to_string()),
        other => PageError::Internal(format!("the decision could not be recorded: {other}")),
    }
}
