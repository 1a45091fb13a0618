//! The members CSV with the fields SAM tools map (Oomnitza's: Id, Username, First name, Family name, User
//! type, Active) plus role, last activity, license assigned and sync time; streamed a store page at a time. The
//! rows are the core's (`miro_sam_core::export`), the same as `miro-sam report --format csv` writes.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::export;

use super::org_of;
use crate::error::PageError;
use crate::session::Admin;
use crate::state::AppState;

const PAGE: usize = 500;

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
        let out = export::members_csv(&page, s.first).map(Bytes::from);
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
