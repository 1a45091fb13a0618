//! Members: search by email prefix (a page at a time), a member's page (license, role, activity, hold,
//! timeline, undo), the reclaimed list, and the undo and hold actions.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use chrono::{DateTime, Utc};
use miro_sam_core::domain::{Email, MemberId, PlanId, Subscription};
use miro_sam_core::jobs;
use miro_sam_core::reclaim::{ReclaimOutcome, ReclaimRecord, ReclaimState, RecordCursor};
use miro_sam_core::timeline::{ActivityBucket, MemberEvent};

use super::PageRequest;
use super::member_state::seat_view;
use crate::error::PageError;
use crate::form::FormData;
use crate::format::{opt_day, when};
use crate::paging::Listing;
use crate::views::{Layout, html, message_page};

const ROWS: usize = 50;

pub(crate) struct MemberRow {
    pub id: String,
    pub email: String,
    pub license: String,
    pub role: String,
    pub active: bool,
    pub removed: bool,
    pub last_activity: String,
}

#[derive(Template)]
#[template(path = "members.html")]
pub(crate) struct MembersPage {
    pub layout: Layout,
    pub search: String,
    pub list: Listing<MemberRow>,
}

impl MemberRow {
    fn of(m: &Subscription) -> Self {
        MemberRow {
            id: m.member_id.to_string(),
            email: m.email.to_string(),
            license: m.license.to_string(),
            role: m.role.to_string(),
            active: m.active,
            removed: m.is_removed(),
            last_activity: opt_day(m.last_activity_at),
        }
    }
}

fn parse_member(id: &str) -> Result<MemberId, PageError> {
    MemberId::parse(id).map_err(|e| PageError::NotFound(e.to_string()))
}

pub(crate) async fn members(p: PageRequest) -> Result<Response, PageError> {
    let q = &p.query;
    // Stored emails are folded with ASCII rules only; fold the prefix the same way.
    let search = q.get("q").unwrap_or_default().to_ascii_lowercase();
    let after_email = q.get("after_email").and_then(|e| Email::parse(e).ok());
    let after_id = q.get("after_id").and_then(|m| MemberId::parse(m).ok());
    let after = after_email.as_ref().zip(after_id.as_ref());
    let found =
        p.st.deps
            .store
            .search_members(p.org_id(), &search, after, ROWS + 1)
            .await?;
    let cursor = |m: &Subscription| {
        p.href(
            "/members",
            &[
                ("q", &search),
                ("after_email", m.email.as_str()),
                ("after_id", m.member_id.as_str()),
            ],
        )
    };
    let list = Listing::of(found, ROWS, cursor, MemberRow::of);
    Ok(html(&MembersPage {
        layout: p.layout("Members"),
        search,
        list,
    }))
}

pub(crate) struct EventRow {
    pub at: String,
    pub text: String,
}

impl EventRow {
    fn of(e: &MemberEvent) -> Self {
        EventRow {
            at: when(e.at),
            text: e.change.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "member.html")]
pub(crate) struct MemberPage {
    pub layout: Layout,
    pub id: String,
    pub facts: Vec<(&'static str, String)>,
    pub hold: Option<String>,
    pub reclaimed: Option<String>,
    pub undo_requested: Option<String>,
    pub latest_plan: Option<String>,
    pub can_undo: bool,
    pub timeline: Listing<EventRow>,
    pub timeline_problem: Option<String>,
    pub csrf: String,
}

pub(crate) async fn member(p: PageRequest, Path(id): Path<String>) -> Result<Response, PageError> {
    let st = &p.st;
    let org_id = p.org_id();
    let id = parse_member(&id)?;
    let store = st.deps.store.as_ref();
    let m = store.get_member(org_id, &id).await?.ok_or_else(|| {
        PageError::NotFound(format!(
            "Your organization has no member {id} in miro-sam's data."
        ))
    })?;
    let now = st.now();
    let hold = store.get_hold(org_id, &id).await?;
    let seat = seat_view(st, org_id, &m).await?;
    let facts = vec![
        ("Email", m.email.to_string()),
        ("Member id", m.member_id.to_string()),
        ("License", m.license.to_string()),
        ("Role", m.role.to_string()),
        (
            "Admin roles",
            if m.admin_roles.is_empty() {
                "none".into()
            } else {
                m.admin_roles.join(", ")
            },
        ),
        ("State", seat.state.clone()),
        ("Last activity", opt_day(m.last_activity_at)),
        (
            "Activity",
            ActivityBucket::of(m.last_activity_at, now).to_string(),
        ),
        ("License assigned", opt_day(m.license_assigned_at)),
        ("First seen", when(m.first_seen_at)),
        ("Last seen", when(m.last_seen_at)),
    ];

    let before = p.query.get("before");
    let (timeline, timeline_problem) = match store
        .list_member_events(org_id, &id, before, ROWS + 1)
        .await
    {
        Ok(events) => {
            let path = format!("/members/{id}");
            let cursor = |e: &MemberEvent| p.href(&path, &[("before", &e.key())]);
            (Listing::of(events, ROWS, cursor, EventRow::of), None)
        }
        Err(e) => (Listing::default(), Some(e.to_string())),
    };

    let page = MemberPage {
        layout: p.layout(m.email.as_str()),
        id: id.to_string(),
        facts,
        hold: hold.map(|h| {
            if h.applies_at(now) {
                h.to_string()
            } else {
                format!("{h} (expired)")
            }
        }),
        reclaimed: seat.reclaimed,
        undo_requested: seat.undo_requested,
        latest_plan: seat.latest_plan,
        can_undo: seat.can_undo,
        timeline,
        timeline_problem,
        csrf: p.admin.csrf.clone(),
    };
    Ok(html(&page))
}

/// `POST {base}/members/{id}/reactivate`: undo a reclaim (queued for the reclaim worker, which holds the SCIM
/// token and places the hold first).
pub(crate) async fn reactivate(
    p: PageRequest,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let id = parse_member(&id)?;
    let why = form.require("why", "A reason for the undo")?;
    let request = jobs::request_reactivation(
        st.deps.store.as_ref(),
        st.deps.queue.as_ref(),
        &admin.session.org,
        &id,
        &admin.session.actor(),
        why,
        st.now(),
    )
    .await?;
    Ok(message_page(
        p.layout("Undo requested"),
        &format!(
            "The reactivation of {} is queued. The reclaim worker places a hold (so the next plan leaves them \
             alone) and then reactivates them in Miro.",
            request.email
        ),
        Some((
            format!("{}/members/{id}", st.base),
            "Back to the member".into(),
        )),
    ))
}

/// `POST {base}/members/{id}/hold/remove`.
pub(crate) async fn remove_hold(
    p: PageRequest,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let id = parse_member(&id)?;
    let removed = jobs::remove_hold(
        st.deps.store.as_ref(),
        &admin.session.org,
        &id,
        &admin.session.actor(),
        st.now(),
    )
    .await?;
    Ok(message_page(
        p.layout("Hold"),
        if removed {
            "The hold is removed: the next plan reviews this member like anyone else."
        } else {
            "This member had no hold; nothing changed."
        },
        Some((
            format!("{}/exemptions", st.base),
            "Back to exemptions and holds".into(),
        )),
    ))
}

pub(crate) struct ReclaimedRow {
    pub member_id: String,
    pub email: String,
    pub plan_id: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "reclaimed.html")]
pub(crate) struct ReclaimedPage {
    pub layout: Layout,
    pub list: Listing<ReclaimedRow>,
    pub csrf: String,
}

impl ReclaimedRow {
    fn of(r: &ReclaimRecord) -> Self {
        ReclaimedRow {
            member_id: r.member_id.to_string(),
            email: r.email.to_string(),
            plan_id: r.plan_id.to_string(),
            at: match &r.outcome {
                Some(ReclaimOutcome::Reclaimed { at, .. }) => when(*at),
                _ => when(r.updated_at),
            },
        }
    }
}

/// `GET {base}/reclaimed`: seats reclaimed, newest first, with an undo button each.
pub(crate) async fn reclaimed(p: PageRequest) -> Result<Response, PageError> {
    let q = &p.query;
    let before = match (
        q.get("before_at")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
        q.get("before_plan").and_then(|p| PlanId::parse(p).ok()),
        q.get("before_member").and_then(|m| MemberId::parse(m).ok()),
    ) {
        (Some(t), Some(p), Some(m)) => Some(RecordCursor {
            created_at: t.with_timezone(&Utc),
            plan_id: p,
            member_id: m,
        }),
        _ => None,
    };
    let records =
        p.st.deps
            .store
            .list_reclaim_records_page(
                p.org_id(),
                Some(ReclaimState::Done),
                before.as_ref(),
                ROWS + 1,
            )
            .await?;
    let cursor = |r: &ReclaimRecord| {
        let c = RecordCursor::of(r);
        p.href(
            "/reclaimed",
            &[
                ("before_at", &c.created_at.to_rfc3339()),
                ("before_plan", &c.plan_id.to_string()),
                ("before_member", c.member_id.as_str()),
            ],
        )
    };
    Ok(html(&ReclaimedPage {
        layout: p.layout("Reclaimed seats"),
        list: Listing::of(records, ROWS, cursor, ReclaimedRow::of),
        csrf: p.admin.csrf.clone(),
    }))
}
