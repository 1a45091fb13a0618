//! Reading the current policy and saving a changed one as the next version, guarded against lost updates:
//! every edit names the version it started from, and is refused if another admin saved a newer one since.

use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs;
use miro_sam_core::policy::{Policy, VersionedPolicy};

use crate::error::PageError;
use crate::form::FormData;
use crate::session::Admin;
use crate::state::AppState;

/// The org's current policy; `None` before any is stored (the default applies then; version 0).
pub(crate) async fn current(
    st: &AppState,
    org: &OrgId,
) -> Result<Option<VersionedPolicy>, PageError> {
    Ok(st.deps.store.latest_policy(org).await?)
}

pub(crate) fn version_of(p: &Option<VersionedPolicy>) -> u32 {
    p.as_ref().map_or(0, |p| p.version)
}

pub(crate) fn policy_of(p: &Option<VersionedPolicy>) -> Policy {
    p.as_ref()
        .map_or_else(Policy::default, |p| p.policy.clone())
}

/// Refuses when the form's `version` is not the current one.
pub(crate) fn check_version(
    form: &FormData,
    current: &Option<VersionedPolicy>,
) -> Result<(), PageError> {
    let now = version_of(current);
    let started = form
        .get("version")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            PageError::BadRequest(
                "The form does not say which policy version it edits; reload the page.".into(),
            )
        })?;
    if started != now {
        return Err(PageError::Conflict(format!(
            "The policy changed while you were editing: you started from version {started}, the current one is \
             version {now}. Nothing was saved. Reload the page and make your change again."
        )));
    }
    Ok(())
}

/// Saves `policy` as the next version (validated, audited by the core as `policy_changed`).
pub(crate) async fn save(
    st: &AppState,
    admin: &Admin,
    policy: &Policy,
) -> Result<VersionedPolicy, PageError> {
    Ok(jobs::set_policy(
        st.deps.store.as_ref(),
        &admin.session.org,
        policy,
        &admin.session.actor(),
        st.now(),
    )
    .await?)
}
