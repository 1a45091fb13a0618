//! The org's download lease around a download: never two downloads of one org at once, whichever way they were
//! started (a queued job, a one-org run, a re-run of the schedule). The lease lasts until the invocation's end
//! (its deadline plus the margin), so a worker that dies holds the org no longer than Lambda would have let it run.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::DownloadLease;
use miro_sam_lambda::Runtime;

use crate::{OrgOutcome, Status, run_org};

/// How long a lease lasts when the invocation has no deadline (a local run): Lambda's longest invocation.
const LEASE_WITHOUT_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Until when a worker stopping at `deadline` may hold the lease: the deadline plus the margin kept after it.
pub(crate) fn lease_until(rt: &Runtime, deadline: Option<Instant>) -> DateTime<Utc> {
    let left = match deadline {
        Some(d) => d.saturating_duration_since(Instant::now()) + rt.settings.deadline_margin,
        None => LEASE_WITHOUT_DEADLINE,
    };
    rt.deps.clock.now() + chrono::Duration::from_std(left).unwrap_or(chrono::Duration::MAX)
}

/// Takes the lease for `holder`; a store failure is reported as the answer's error.
pub(crate) async fn take(
    rt: &Runtime,
    org: &OrgId,
    holder: &str,
    deadline: Option<Instant>,
) -> Result<DownloadLease, String> {
    rt.deps
        .store
        .take_download_lease(org, holder, rt.deps.clock.now(), lease_until(rt, deadline))
        .await
        .map_err(|e| format!("cannot take the download lease of org {org}: {e}"))
}

/// Releases `holder`'s lease. A failure is only logged: the lease ends by itself at its `until`.
pub(crate) async fn release(rt: &Runtime, org: &OrgId, holder: &str) {
    if let Err(e) = rt.deps.store.release_download_lease(org, holder).await {
        tracing::warn!(%org, error = %e, "cannot release the download lease; it ends by itself at its deadline");
    }
}

/// [`run_org`] under the org's lease; an org another worker is downloading is [`Status::Busy`].
pub(crate) async fn run_leased(
    rt: &Runtime,
    org: OrgId,
    holder: &str,
    deadline: Option<Instant>,
) -> OrgOutcome {
    match take(rt, &org, holder, deadline).await {
        Ok(DownloadLease::Taken) => {
            let out = run_org(rt, org.clone(), deadline).await;
            release(rt, &org, holder).await;
            out
        }
        Ok(DownloadLease::Held {
            holder: other,
            until,
        }) => {
            tracing::info!(%org, holder = %other, %until, "another worker is downloading the org; not started");
            let mut out = OrgOutcome::new(org, Status::Busy);
            out.error = Some(format!(
                "another download of this org is running (lease held by {other} until {until}); it finishes the org"
            ));
            out
        }
        Err(e) => {
            tracing::warn!(%org, error = %e, "org not started");
            let mut out = OrgOutcome::new(org, Status::Failed);
            out.error = Some(e);
            out
        }
    }
}
