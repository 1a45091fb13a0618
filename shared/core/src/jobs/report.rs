//! Gathers what the report needs from the store.

use chrono::{DateTime, NaiveDate, Utc};

use super::JobError;
use std::collections::BTreeSet;

use crate::audit::{AuditCursor, AuditEvent, AuditQuery};
use crate::domain::{MemberId, OrgId};
use crate::ports::SubscriptionStore;
use crate::report::{Report, ReportConfig, ReportInput, build_report};

/// The org's report with the snapshot series of `from..=to`. The seat summary comes from the latest snapshot
/// in that range. Reads the latest plan, the reclaim-related audit entries and the reclaimed members, never the
/// whole membership.
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
    // Only the audit entries the report counts, a page at a time by kind, and only the members it reclaimed:
    // what the report reads grows with what miro-sam did, never with the size of the org.
    let mut audit = Vec::new();
    for kind in REPORTED_KINDS {
        let query = AuditQuery {
            kind: Some(kind.to_owned()),
            ..AuditQuery::default()
        };
        let mut before = None;
        loop {
            let page = store
                .list_audit_page(org, &query, before.as_ref(), AUDIT_PAGE)
                .await?;
            before = page.last().map(AuditCursor::of);
            let done = page.len() < AUDIT_PAGE;
            audit.extend(page);
            if done {
                break;
            }
        }
    }
    let reclaimed: BTreeSet<MemberId> = audit
        .iter()
        .filter(|e| matches!(e.event, AuditEvent::Reclaimed { .. }))
        .filter_map(|e| e.event.member_id().cloned())
        .collect();
    let mut members = Vec::with_capacity(reclaimed.len());
    for id in &reclaimed {
        if let Some(m) = store.get_member(org, id).await? {
            members.push(m);
        }
    }
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

/// The audit kinds [`build_report`] counts.
const REPORTED_KINDS: [&str; 4] = [
    "reclaimed",
    "reclaim_skipped",
    "reclaim_failed",
    "reactivated",
];

/// Audit entries per store read.
const AUDIT_PAGE: usize = 500;
