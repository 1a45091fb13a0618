//! The console's pages. Each reads a page of data for the signed-in admin's org, never the whole org.

pub(crate) mod audit;
mod download;
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

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use miro_sam_core::domain::{OrgId, RegisteredOrg};

use crate::error::PageError;
use crate::query::{Query, href};
use crate::session::Admin;
use crate::state::AppState;
use crate::views::Layout;

/// What a signed-in page's handler starts from, as an extractor: the admin (a valid session, refused before
/// anything is read), the session's org (still connected, see [`org_of`]) and the query string.
pub(crate) struct PageRequest {
    pub st: AppState,
    pub admin: Admin,
    pub org: RegisteredOrg,
    pub query: Query,
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PageError> {
        let admin = Admin::from_request_parts(parts, st).await?;
        let org = org_of(st, &admin).await?;
        Ok(PageRequest {
            st: st.clone(),
            admin,
            org,
            query: Query::parse(parts.uri.query()),
        })
    }
}

impl PageRequest {
    /// The session's org id: every read and change is scoped to it.
    pub fn org_id(&self) -> &OrgId {
        &self.admin.session.org
    }

    /// The frame of a signed-in page.
    pub fn layout(&self, title: &str) -> Layout {
        Layout::signed_in(&self.st, &self.admin, &self.org.name, title)
    }

    /// `path` under the console's base, with the non-empty `pairs` as its query.
    pub fn href(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        href(&format!("{}{path}", self.st.base), pairs)
    }
}

/// The session's org, still connected; every page starts here (through [`PageRequest`]).
async fn org_of(st: &AppState, admin: &Admin) -> Result<RegisteredOrg, PageError> {
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
