//! The members CSV with the fields SAM tools map (Oomnitza's: Id, Username, First name, Family name, User
//! type, Active) plus role, last activity, license assigned and sync time; streamed a store page at a time. The
//! rows are the core's (`miro_sam_core::export`), the same as `miro-sam report --format csv` writes.

use axum::response::Response;
use miro_sam_core::domain::{MemberId, Subscription};
use miro_sam_core::export;

use super::PageRequest;
use super::download::{attachment, paged};
use crate::error::PageError;

const PAGE: usize = 500;

pub(crate) async fn members_csv(p: PageRequest) -> Result<Response, PageError> {
    let (st, org) = (p.st.clone(), p.org_id().clone());
    let read = move |after: Option<MemberId>| {
        let (st, org) = (st.clone(), org.clone());
        async move {
            st.deps
                .store
                .list_members_page(&org, after.as_ref(), None, PAGE)
                .await
        }
    };
    let cursor = |m: &Subscription| m.member_id.clone();
    let body = paged("members", PAGE, read, cursor, |page, first, _| {
        export::members_csv(page, first)
    });
    Ok(attachment(
        &p,
        "members",
        "csv",
        "text/csv; charset=utf-8",
        body,
    ))
}
