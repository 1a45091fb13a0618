//! Download one org: its seat count and every member, writing only what changed, then the day's snapshot.
//!
//! Memory does not grow with the org: each Miro page is compared with the stored members of the same id range
//! ([`diff`]), the snapshot is counted while paging through the store, and what a run holds besides one page is
//! the list of members missing so far (bounded) and the org's reclaimed members (for holds). Pages are fetched
//! ahead of the comparison ([`feed`]), one or two at a time.

mod diff;
mod feed;
mod partitioned;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use miro_client::{MiroError, Organization};
use serde::{Deserialize, Serialize};

use self::diff::{Differ, STORE_PAGE, StoredCursor, Tally};
use self::feed::{Feed, FeedError};
use super::hold::{HoldRequest, place_hold};
use super::token::token_after_unauthorized;
use super::{Deps, JobError, usable_access_token};
use crate::domain::{
    DownloadCheckpoint, DownloadProgress, DownloadRun, MemberId, OrgId, RegisteredOrg, RunId,
    Subscription,
};
use crate::hold::HoldSource;
use crate::partition::Partitioning;
use crate::reclaim::{ReclaimOutcome, ReclaimState};
use crate::snapshot::{OrgSnapshot, SnapshotBuilder};
use crate::timeline::{MemberChange, MemberEvent};

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
    /// Members Miro listed that do not parse (e.g. no valid email); logged by id, not stored. A run with any
    /// is incomplete: it marks nobody removed.
    pub rejected: u64,
    /// Why this run marked nobody removed although it listed every page (`None`: removals were applied).
    pub incomplete: Option<String>,
    /// Members miro-sam had reclaimed who showed up active again (an admin reactivated them in Miro): each now
    /// has a hold.
    pub holds_placed: u64,
    /// Pages consumed (merged pages when partitioned).
    pub pages: u64,
    /// Entries listed twice (paging repeated them, or a member moved between parts); counted once.
    #[serde(default)]
    pub duplicates: u64,
    /// Partitioned paging: stored members absent from the listing that were looked up at Miro, and how many Miro
    /// still had (they had moved between parts during the run).
    #[serde(default)]
    pub lookups: u64,
    #[serde(default)]
    pub confirmed_present: u64,
    /// Wall-clock time of the run.
    pub duration: Duration,
    pub snapshot: OrgSnapshot,
}

/// A download that stopped before its deadline; the next run resumes from its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadPause {
    pub org_id: OrgId,
    pub run_id: RunId,
    pub pages_done: u64,
    pub members_seen: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DownloadOutcome {
    Complete(Box<DownloadSummary>),
    Paused(DownloadPause),
}

/// When an invocation must stop and checkpoint: at a deadline (a Lambda's remaining time) and/or after a number of
/// pages (bounded work per invocation). Both are checked before each page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopAt {
    pub deadline: Option<Instant>,
    pub max_pages: Option<u64>,
}

impl StopAt {
    pub fn deadline(d: Instant) -> Self {
        StopAt {
            deadline: Some(d),
            max_pages: None,
        }
    }
}

/// How a download pages. The default is what Miro documents: one cursor stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Page filtered parts of the list at once ([`crate::partition`]). Off (sequential) by default: the
    /// partition's exactness at Miro is unconfirmed, and its guards turn a wrong assumption into a failed run.
    pub partitioning: Partitioning,
}

/// A checkpoint older than this is not resumed: the listing it started is too old to finish consistently.
const CHECKPOINT_MAX_AGE: chrono::Duration = chrono::Duration::hours(24);
/// Above this many members missing from the covered range, a paused run stops tracking removals (they would not
/// fit in one checkpoint item) and marks nobody removed; the next complete run does.
const MAX_TRACKED_MISSING: usize = 10_000;

/// Runs a full download of `org`. Safe to re-run the same day: members are keyed by id, the snapshot by day, and
/// an unchanged member is not written again.
///
/// Removal is only concluded from a COMPLETE listing: if paging fails half-way, the error is returned, a
/// checkpoint is kept, nobody is marked removed and no snapshot is written.
pub async fn download_org(deps: &Deps, org: &OrgId) -> Result<DownloadSummary, JobError> {
    match download_org_until(deps, org, StopAt::default()).await? {
        DownloadOutcome::Complete(s) => Ok(*s),
        DownloadOutcome::Paused(p) => Err(JobError::InvalidRequest(format!(
            "the download of org {org} paused after {} pages without a deadline",
            p.pages_done
        ))),
    }
}

/// Like [`download_org`], but stops cleanly as `stop` says, keeping a checkpoint from which the next call resumes
/// instead of starting over. A failure half-way also keeps the checkpoint, so the next run finishes the job.
pub async fn download_org_until(
    deps: &Deps,
    org: &OrgId,
    stop: StopAt,
) -> Result<DownloadOutcome, JobError> {
    download_org_with(deps, org, stop, DownloadOptions::default()).await
}

/// [`download_org_until`] with [`DownloadOptions`].
pub async fn download_org_with(
    deps: &Deps,
    org: &OrgId,
    stop: StopAt,
    options: DownloadOptions,
) -> Result<DownloadOutcome, JobError> {
    let timer = Instant::now();
    let mut token = usable_access_token(deps, org).await?;
    let mut refreshed_after_401 = false;
    let organization = match deps.client.organization(&token, org.as_str()).await {
        Err(MiroError::Unauthorized { .. }) => {
            refreshed_after_401 = true;
            token = token_after_unauthorized(deps, org, &token).await?;
            deps.client.organization(&token, org.as_str()).await?
        }
        other => other?,
    };
    let now = deps.clock.now();
    register_org(deps, org, &organization.name, now).await?;

    let stored_checkpoint = deps.store.get_checkpoint(org).await?;
    // A checkpoint exists (fresh or stale): the completed run clears it.
    let resumed = stored_checkpoint.is_some();
    let resume = stored_checkpoint.filter(|cp| now - cp.updated_at <= CHECKPOINT_MAX_AGE);
    let mut run = match resume {
        Some(cp) => {
            tracing::info!(%org, run = %cp.run_id, pages_done = cp.pages_done, "resuming a paused download");
            cp
        }
        None => fresh_run(org, now),
    };

    let reclaimed = reclaimed_by_us(deps, org).await?;
    let partitioned = options.partitioning != Partitioning::Sequential;
    let mut differ = Differ {
        deps,
        org,
        reclaimed: &reclaimed,
        verify_absent: None,
        previous: HashSet::new(),
        stored: StoredCursor::default(),
        tally: Tally::default(),
        has_history: deps.store.last_download_run(org).await?.is_some(),
    };
    let start_feed = |token: secrecy::SecretString, cursor: Option<String>, stop: StopAt| async move {
        if partitioned {
            let parts = partitioned::lanes(deps, org, options.partitioning).await?;
            Ok::<_, JobError>(Feed::partitioned(
                parts,
                token,
                org.to_string(),
                cursor,
                stop,
            ))
        } else {
            Ok(Feed::sequential(
                deps.client.clone(),
                token,
                org.to_string(),
                cursor,
                stop,
            ))
        }
    };
    // Miro refuses a cursor naming a member who has since left; the listing then starts over, once.
    let mut restarted = false;
    let mut pages_this_call = 0u64;
    let remaining = |done: u64| StopAt {
        deadline: stop.deadline,
        max_pages: stop.max_pages.map(|m| m.saturating_sub(done)),
    };
    let mut feed = start_feed(token.clone(), run.cursor.clone(), remaining(0)).await?;
    let mut listing_done = false;
    while !listing_done {
        let out_of_time = stop.deadline.is_some_and(|d| Instant::now() >= d);
        if out_of_time || stop.max_pages.is_some_and(|m| pages_this_call >= m) {
            drop(feed);
            let pause = pause(deps, &mut run, false).await?;
            return Ok(DownloadOutcome::Paused(pause));
        }
        let page = match feed.next().await {
            // The feed stopped at the deadline or the page budget before the listing ended.
            None => {
                drop(feed);
                let pause = pause(deps, &mut run, false).await?;
                return Ok(DownloadOutcome::Paused(pause));
            }
            Some(Ok(p)) => p,
            Some(Err(FeedError::Miro(MiroError::Unauthorized { .. }))) if !refreshed_after_401 => {
                // The token died mid-run (it expired early or was rotated): refresh once and continue from the
                // last page written.
                refreshed_after_401 = true;
                drop(feed);
                token = match token_after_unauthorized(deps, org, &token).await {
                    Ok(t) => t,
                    Err(e) => {
                        if run.pages_done > 0 {
                            pause(deps, &mut run, true).await?;
                        }
                        return Err(e);
                    }
                };
                tracing::info!(%org, "access token refreshed mid-download; continuing");
                feed = start_feed(
                    token.clone(),
                    run.cursor.clone(),
                    remaining(pages_this_call),
                )
                .await?;
                continue;
            }
            Some(Err(FeedError::Miro(MiroError::BadRequest { status: 400, .. })))
                if run.cursor.is_some() && !restarted =>
            {
                // The cursor is the id of the last member received; if that member left the org, Miro refuses it
                // as a bad parameter. Resuming from it would fail every day: list the org again from the start.
                tracing::warn!(%org, run = %run.run_id, pages_done = run.pages_done,
                    "Miro refused the listing cursor (its member has probably left); restarting from the first page");
                restarted = true;
                drop(feed);
                run = fresh_run(org, deps.clock.now());
                differ.previous.clear();
                differ.stored = StoredCursor::default();
                feed = start_feed(token.clone(), None, remaining(pages_this_call)).await?;
                continue;
            }
            Some(Err(e)) => {
                drop(feed);
                if run.pages_done > 0 {
                    pause(deps, &mut run, true).await?;
                }
                return Err(match e {
                    FeedError::Miro(e) => e.into(),
                    FeedError::NotInPart {
                        part,
                        filter,
                        member_id,
                    } => JobError::InvalidRequest(format!(
                        "part {part} of the partitioned listing ({filter:?}) returned member {member_id}, which its \
                         filter does not select: Miro's filters are not the partition this download relies on; \
                         turn partitioned paging off (sequential)"
                    )),
                });
            }
        };
        listing_done = page.next_cursor.is_none();
        differ.verify_absent = partitioned.then(|| token.clone());
        differ.apply(&mut run.progress, &page, listing_done).await?;
        run.pages_done += 1;
        pages_this_call += 1;
        // Only now is the page written: the checkpoint may name its cursor.
        run.cursor = page.next_cursor;
    }
    drop(feed);
    let tally = std::mem::take(&mut differ.tally);

    let finished_at = deps.clock.now();
    let incomplete = if !run.progress.ordered {
        Some("Miro's pages were not in id order".to_owned())
    } else if run.progress.rejected > 0 {
        Some(format!(
            "{} member(s) Miro listed could not be read",
            run.progress.rejected
        ))
    } else {
        None
    };
    let gone = match &incomplete {
        None => std::mem::take(&mut run.progress.missing),
        Some(why) => {
            tracing::warn!(%org, reason = %why, "the listing is incomplete; nobody is marked removed by this run");
            Vec::new()
        }
    };
    let mut removed = 0;
    for chunk in gone.chunks(STORE_PAGE) {
        let left: Vec<MemberEvent> = chunk
            .iter()
            .map(|m| MemberEvent {
                org_id: org.clone(),
                member_id: m.clone(),
                at: finished_at,
                change: MemberChange::Left,
            })
            .collect();
        deps.store.append_member_events(&left).await?;
        removed += deps.store.mark_removed(org, chunk, finished_at).await?;
    }

    let snapshot = snapshot_from_store(deps, org, &organization, finished_at).await?;
    deps.store.put_snapshot(&snapshot).await?;
    let p = &run.progress;
    let started_at = p.started_at.unwrap_or(finished_at);
    deps.store
        .put_download_run(&DownloadRun {
            org_id: org.clone(),
            run_id: run.run_id,
            started_at,
            completed_at: finished_at,
            members_seen: p.members_seen,
        })
        .await?;
    if resumed {
        deps.store.clear_checkpoint(org).await?;
    }

    let summary = DownloadSummary {
        org_id: org.clone(),
        run_id: run.run_id,
        started_at,
        finished_at,
        members_seen: p.members_seen,
        new: p.new,
        changed: p.changed,
        unchanged: p.unchanged,
        removed,
        rejected: p.rejected,
        incomplete,
        holds_placed: tally.holds_placed,
        pages: run.pages_done,
        duplicates: tally.duplicates,
        lookups: tally.lookups,
        confirmed_present: tally.confirmed_present,
        duration: timer.elapsed(),
        snapshot,
    };
    tracing::info!(
        %org, run = %run.run_id, seen = summary.members_seen, new = summary.new, changed = summary.changed,
        unchanged = summary.unchanged, removed = summary.removed, pages = summary.pages,
        "download complete"
    );
    Ok(DownloadOutcome::Complete(Box::new(summary)))
}

/// The day's snapshot, counted while paging through the stored members (after this run's writes and removals).
async fn snapshot_from_store(
    deps: &Deps,
    org: &OrgId,
    organization: &Organization,
    at: DateTime<Utc>,
) -> Result<OrgSnapshot, JobError> {
    let mut b = SnapshotBuilder::new(org, organization.full_licenses_purchased, at);
    let mut after: Option<MemberId> = None;
    loop {
        let page = deps
            .store
            .list_members_page(org, after.as_ref(), None, STORE_PAGE)
            .await?;
        page.iter().for_each(|m| b.add(m));
        if page.len() < STORE_PAGE {
            return Ok(b.finish());
        }
        after = page.last().map(|m| m.member_id.clone());
    }
}

fn fresh_run(org: &OrgId, now: DateTime<Utc>) -> DownloadCheckpoint {
    DownloadCheckpoint {
        org_id: org.clone(),
        run_id: RunId::new(),
        cursor: None,
        pages_done: 0,
        updated_at: now,
        progress: DownloadProgress {
            started_at: Some(now),
            ..DownloadProgress::default()
        },
    }
}

/// When miro-sam last reclaimed each member it ever reclaimed.
async fn reclaimed_by_us(
    deps: &Deps,
    org: &OrgId,
) -> Result<HashMap<MemberId, DateTime<Utc>>, JobError> {
    let mut out: HashMap<MemberId, DateTime<Utc>> = HashMap::new();
    for r in deps.store.list_reclaim_records(org).await? {
        if r.state != ReclaimState::Done {
            continue;
        }
        let at = match &r.outcome {
            Some(ReclaimOutcome::Reclaimed { at, .. }) => *at,
            _ => r.updated_at,
        };
        let e = out.entry(r.member_id).or_insert(at);
        *e = (*e).max(at);
    }
    Ok(out)
}

/// A member miro-sam reclaimed at `reclaimed_at` is active again: someone reactivated them in Miro. Without a
/// hold the next plan would take the seat straight back, so place one, unless a hold was already placed after
/// that reclaim (by `reactivate`, or by an earlier download). Returns whether a hold was placed.
pub(super) async fn hold_if_reactivated_in_miro(
    deps: &Deps,
    member: &Subscription,
    reclaimed_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, JobError> {
    let store = deps.store.as_ref();
    if let Some(h) = store.get_hold(&member.org_id, &member.member_id).await?
        && h.created_at >= reclaimed_at
    {
        return Ok(false);
    }
    let reason = format!(
        "reactivated in Miro after miro-sam reclaimed the seat on {}",
        reclaimed_at.date_naive()
    );
    place_hold(
        store,
        HoldRequest {
            org: &member.org_id,
            member_id: &member.member_id,
            email: &member.email,
            source: HoldSource::ReactivatedInMiro,
            reason: &reason,
            created_by: "miro-sam download (saw the member active again)",
        },
        now,
    )
    .await?;
    Ok(true)
}

/// Saves where the run stands so the next invocation resumes it.
async fn pause(
    deps: &Deps,
    run: &mut DownloadCheckpoint,
    failed: bool,
) -> Result<DownloadPause, JobError> {
    let p = &mut run.progress;
    if p.ordered && p.missing.len() > MAX_TRACKED_MISSING {
        p.ordered = false;
        p.missing.clear();
    }
    run.updated_at = deps.clock.now();
    deps.store.put_checkpoint(run).await?;
    tracing::info!(
        org = %run.org_id, run = %run.run_id, pages_done = run.pages_done, failed,
        "download checkpointed; the next run resumes here"
    );
    Ok(DownloadPause {
        org_id: run.org_id.clone(),
        run_id: run.run_id,
        pages_done: run.pages_done,
        members_seen: run.progress.members_seen,
    })
}

/// Keeps the org's name current; the first download of an org that was connected elsewhere registers it.
pub async fn register_org(
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
