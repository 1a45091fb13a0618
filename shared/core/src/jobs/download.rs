//! Download one org: its seat count and every member, writing only what changed, then the day's snapshot.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use miro_client::MemberFilter;
use serde::{Deserialize, Serialize};

use super::{Deps, JobError, usable_access_token};
use crate::domain::{DownloadRun, MemberId, OrgId, RegisteredOrg, RunId, Subscription};
use crate::snapshot::OrgSnapshot;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadSummary {
    pub org_id: OrgId,
    pub run_id: RunId,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Distinct members in Miro's listing.
    pub members_seen: u64,
    pub new: u64,
    /// Known members whose Miro data changed, or who came back after being marked removed.
    pub changed: u64,
    pub unchanged: u64,
    /// Known members missing from the complete listing, now marked removed.
    pub removed: u64,
    /// Members Miro listed that do not parse (e.g. no valid email); logged, not stored, never marked removed.
    pub rejected: u64,
    pub pages: u64,
    /// Wall-clock time of the run.
    pub duration: Duration,
    pub snapshot: OrgSnapshot,
}

/// Runs a full download of `org`. Safe to re-run the same day: members are keyed by id, the snapshot by day, and
/// an unchanged member is not written again.
///
/// Removal is only concluded from a COMPLETE listing: if paging fails half-way, the error is returned and nobody
/// is marked removed, no snapshot is written.
pub async fn download_org(deps: &Deps, org: &OrgId) -> Result<DownloadSummary, JobError> {
    let timer = Instant::now();
    let started_at = deps.clock.now();
    let run_id = RunId::new();
    let token = usable_access_token(deps, org).await?;

    let organization = deps.client.organization(&token, org.as_str()).await?;
    register_org(deps, org, &organization.name, started_at).await?;

    let mut stored: HashMap<MemberId, Subscription> = deps
        .store
        .list_members(org)
        .await?
        .into_iter()
        .map(|m| (m.member_id.clone(), m))
        .collect();

    let mut s = Counts::default();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut current: Vec<Subscription> = Vec::with_capacity(stored.len());
    let mut pages = deps
        .client
        .members(&token, org.as_str(), MemberFilter::default(), None)
        .boxed();
    while let Some(page) = pages.next().await {
        let page = page?;
        s.pages += 1;
        let now = deps.clock.now();
        let mut to_write = Vec::new();
        for m in &page.members {
            if !seen_ids.insert(m.id.clone()) {
                // Paging can repeat a member when the list shifts underneath it; count them once.
                continue;
            }
            let fresh = match Subscription::from_member(org, m, now) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(%org, member = %m.id, error = %e, "skipping a member Miro listed");
                    s.rejected += 1;
                    continue;
                }
            };
            match stored.remove(&fresh.member_id) {
                None => {
                    s.new += 1;
                    to_write.push(fresh.clone());
                    current.push(fresh);
                }
                Some(old) if old.content_hash == fresh.content_hash && !old.is_removed() => {
                    s.unchanged += 1;
                    current.push(old);
                }
                Some(old) => {
                    s.changed += 1;
                    let updated = Subscription {
                        first_seen_at: old.first_seen_at,
                        ..fresh
                    };
                    to_write.push(updated.clone());
                    current.push(updated);
                }
            }
        }
        if !to_write.is_empty() {
            deps.store.upsert_members(org, &to_write).await?;
        }
    }
    drop(pages);

    let finished_at = deps.clock.now();
    // What is left in `stored` was not in the complete listing.
    let gone: Vec<MemberId> = stored
        .iter()
        .filter(|(id, m)| !m.is_removed() && !seen_ids.contains(id.as_str()))
        .map(|(id, _)| id.clone())
        .collect();
    let removed = if gone.is_empty() {
        0
    } else {
        deps.store.mark_removed(org, &gone, finished_at).await?
    };
    let gone: HashSet<MemberId> = gone.into_iter().collect();
    current.extend(stored.into_values().map(|mut m| {
        if gone.contains(&m.member_id) {
            m.removed_at.get_or_insert(finished_at);
        }
        m
    }));

    let snapshot = OrgSnapshot::compute(org, &organization, &current, finished_at);
    deps.store.put_snapshot(&snapshot).await?;
    deps.store
        .put_download_run(&DownloadRun {
            org_id: org.clone(),
            run_id,
            started_at,
            completed_at: finished_at,
            members_seen: seen_ids.len() as u64,
        })
        .await?;

    let summary = DownloadSummary {
        org_id: org.clone(),
        run_id,
        started_at,
        finished_at,
        members_seen: seen_ids.len() as u64,
        new: s.new,
        changed: s.changed,
        unchanged: s.unchanged,
        removed,
        rejected: s.rejected,
        pages: s.pages,
        duration: timer.elapsed(),
        snapshot,
    };
    tracing::info!(
        %org, run = %run_id, seen = summary.members_seen, new = summary.new, changed = summary.changed,
        unchanged = summary.unchanged, removed = summary.removed, pages = summary.pages,
        "download complete"
    );
    Ok(summary)
}

#[derive(Default)]
struct Counts {
    new: u64,
    changed: u64,
    unchanged: u64,
    rejected: u64,
    pages: u64,
}

/// Keeps the org's name current; the first download of an org that was connected elsewhere registers it.
async fn register_org(
    deps: &Deps,
    org: &OrgId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    match deps.store.get_org(org).await? {
        Some(o) if o.name == name => {}
        Some(o) => {
            deps.store
                .put_org(&RegisteredOrg {
                    name: name.to_owned(),
                    ..o
                })
                .await?
        }
        None => {
            deps.store
                .put_org(&RegisteredOrg {
                    id: org.clone(),
                    name: name.to_owned(),
                    connected_at: now,
                })
                .await?
        }
    }
    Ok(())
}
