//! The members CSV with the fields SAM tools map (Oomnitza's: Id, Username, First name, Family name, User
//! type, Active) plus role, last activity, license assigned and sync time; streamed a store page at a time.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use miro_sam_core::domain::{MemberId, OrgId, Subscription};

use super::org_of;
use crate::error::PageError;
use crate::session::Admin;
use crate::state::AppState;

const PAGE: usize = 500;

/// Miro's REST members carry no names, so First name and Family name stay empty (SAM tools match on Username).
pub(crate) const MEMBERS_CSV_HEADER: [&str; 10] = [
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

fn rfc3339(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn chunk(page: &[Subscription], header: bool) -> Result<Vec<u8>, std::io::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(MEMBERS_CSV_HEADER)?;
    }
    for m in page {
        w.write_record([
            m.member_id.as_str(),
            m.email.as_str(),
            "",
            "",
            m.license.as_str(),
            if m.active && !m.is_removed() {
                "true"
            } else {
                "false"
            },
            m.role.as_str(),
            &rfc3339(m.last_activity_at),
            &rfc3339(m.license_assigned_at),
            &m.last_seen_at.to_rfc3339(),
        ])?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn stream(
    st: AppState,
    org: OrgId,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct S {
        st: AppState,
        org: OrgId,
        after: Option<MemberId>,
        first: bool,
        done: bool,
    }
    let s = S {
        st,
        org,
        after: None,
        first: true,
        done: false,
    };
    futures::stream::unfold(s, |mut s| async move {
        if s.done {
            return None;
        }
        let page = match s
            .st
            .deps
            .store
            .list_members_page(&s.org, s.after.as_ref(), None, PAGE)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                s.done = true;
                tracing::error!(error = %e, "members export failed part-way");
                return Some((Err(std::io::Error::other(e.to_string())), s));
            }
        };
        s.done = page.len() < PAGE;
        s.after = page.last().map(|m| m.member_id.clone());
        let out = chunk(&page, s.first).map(Bytes::from);
        s.first = false;
        Some((out, s))
    })
}

pub(crate) async fn members_csv(
    State(st): State<AppState>,
    admin: Admin,
) -> Result<Response, PageError> {
    org_of(&st, &admin).await?;
    let name = format!(
        "miro-sam-members-{}-{}.csv",
        admin.session.org,
        st.now().format("%Y%m%d")
    );
    let body = Body::from_stream(stream(st.clone(), admin.session.org.clone()));
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
