//! Gathers what the report needs from the store.

use chrono::{DateTime, NaiveDate, Utc};

use super::JobError;
use crate::domain::OrgId;
use crate::ports::SubscriptionStore;
use crate::report::{Report, ReportConfig, ReportInput, build_report};

/// The org's report with the snapshot series of `from..=to`. The seat summary comes from the latest snapshot
/// in that range.
pub async fn org_report(
    store: &dyn SubscriptionStore,
    org: &OrgId,
    from: NaiveDate,
    to: NaiveDate,
    config: &ReportConfig,
    now: DateTime<Utc>,
) -> Result<Report, JobError> {
    if from > to {
        return Err(JobError::InvalidRequest(format!(
            "report range starts ({from}) after it ends ({to})"
        )));
    }
    let registered = store.get_org(org).await?;
    let snapshots = store.list_snapshots(org, from, to).await?;
    let plan = store.latest_plan(org).await?;
    let members = store.list_members(org).await?;
    let audit = store.list_audit(org).await?;
    let run = store.last_download_run(org).await?;
    Ok(build_report(ReportInput {
        org_id: org,
        org: registered.as_ref(),
        snapshots: &snapshots,
        latest_plan: plan.as_ref(),
        members: &members,
        audit: &audit,
        last_download: run.as_ref(),
        now,
        config,
    }))
}
