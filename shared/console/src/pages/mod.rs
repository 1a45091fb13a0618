//! The console's pages. Each reads a page of data for the signed-in admin's org, never the whole org.

pub(crate) mod audit;
pub(crate) mod exemptions;
pub(crate) mod exports;
pub(crate) mod keep;
pub(crate) mod keep_requests;
mod member_state;
pub(crate) mod members;
pub(crate) mod overview;
mod plan_diff_walk;
pub(crate) mod plans;
pub(crate) mod policy;
mod policy_edit;

use miro_sam_core::domain::RegisteredOrg;

use crate::error::PageError;
use crate::session::Admin;
use crate::state::AppState;
use crate::views::Layout;

/// The session's org, still connected; every page starts here.
pub(crate) async fn org_of(st: &AppState, admin: &Admin) -> Result<RegisteredOrg, PageError> {
    st.deps
        .store
        .get_org(&admin.session.org)
        .await?
        .ok_or_else(|| PageError::Refused {
            title: "Organization not connected".into(),
            message: format!(
                "Organization {} is no longer connected to miro-sam, so there is nothing to show. Connect it \
                 again, then sign in again.",
                admin.session.org
            ),
        })
}

/// The layout of a signed-in page.
pub(crate) fn layout(st: &AppState, admin: &Admin, org: &RegisteredOrg, title: &str) -> Layout {
    Layout::signed_in(st, admin, &org.name, title)
}
