//! Parallel paging of an org's members over a partition of the members list.
//!
//! # Why
//! One cursor stream is strictly sequential: the next cursor is in the answer to the previous page, so a single
//! download can never go faster than one page per round trip. At Miro's real latency that is far below the
//! credit ceiling (Level 3: 200 pages per minute per user and app at 100 000 credits). Reaching the ceiling needs
//! several cursor streams at once, over filters that split the list into disjoint parts whose union is the list.
//!
//! # The partition, and what makes it exact
//! Miro's members endpoint filters by `active` (boolean), `license` and `role` (documented enums, each with an
//! `unknown` value). The parts are the cells of `active × license` (or `active × license × role`), every
//! documented filter value included, `unknown` too.
//!
//! - `active`: every member carries the required boolean `active`, so `{active=true} ∪ {active=false}` is the
//!   list and the two are disjoint. Exact with no assumption beyond "the filter filters the field it names".
//! - `license` (and `role`): let K be the documented values (`unknown` among them) and S(f, v) the rule "filter
//!   value f selects member value v". We rely on **S(f, v) ⇔ f = v, or f = `unknown` and v ∉ K**: the `unknown`
//!   filter is the catch-all for values outside the enum. Then every value v is selected by exactly one f ∈ K:
//!   if v ∈ K, f = v does and no other f does (`unknown` selects v ∈ K only when v = `unknown`); if v ∉ K, only
//!   f = `unknown` does. So the cells are disjoint and cover the list. The sandbox implements exactly S. For
//!   Miro itself S is **UNCONFIRMED** (`../shared/miro-api.md` documents the enum, not what `license=unknown`
//!   selects). Without the catch-all, a member whose license Miro adds tomorrow would be in no part at all.
//!
//! Two guards keep a wrong assumption from turning into silent data loss:
//! 1. every member a part returns must satisfy S for that part's filter ([`in_part`]); a member that does not
//!    means the server's filters are not the ones the proof assumes, and the download fails instead of going on;
//! 2. a stored member absent from a partitioned listing is not concluded removed from the listing alone: it is
//!    looked up (`GET /members/{id}`) and only a 404 marks it removed. This also covers a member who moves between
//!    parts while the download runs (deactivated, or given another license, after their new part was read and
//!    before their old part was), which a single id-ordered cursor stream can never miss.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use miro_client::{License, Member, MemberFilter, MembersPage, MiroClient, MiroError, Role};
use miro_sam_core::StoreError;
use miro_sam_core::domain::{DownloadRun, MemberId, OrgId, RunId, Subscription};
use miro_sam_core::jobs::{Deps, JobError, register_org, usable_access_token};
use miro_sam_core::snapshot::OrgSnapshot;
use secrecy::SecretString;
use serde::Serialize;

/// How the members list is split into cursor streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// One unfiltered stream, as `miro_sam_core::jobs::download_org` pages.
    Sequential,
    /// `active=true` and `active=false`: exact with no assumption, but Miro orgs are ~95% active, so the larger
    /// part is almost the whole list and nothing is gained.
    Active,
    /// `active × license` (2 × 9 parts).
    ActiveLicense,
    /// `active × license × role` (2 × 9 × 5 parts).
    ActiveLicenseRole,
}

impl Partitioning {
    pub const ALL: [Partitioning; 4] = [
        Partitioning::Sequential,
        Partitioning::Active,
        Partitioning::ActiveLicense,
        Partitioning::ActiveLicenseRole,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Partitioning::Sequential => "sequential",
            Partitioning::Active => "active",
            Partitioning::ActiveLicense => "active×license",
            Partitioning::ActiveLicenseRole => "active×license×role",
        }
    }

    /// Command-line spelling.
    pub fn arg(self) -> &'static str {
        match self {
            Partitioning::Sequential => "sequential",
            Partitioning::Active => "active",
            Partitioning::ActiveLicense => "active-license",
            Partitioning::ActiveLicenseRole => "active-license-role",
        }
    }

    pub fn from_arg(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.arg() == s)
    }

    /// The filter of every part. `Sequential` is one part without any filter.
    pub fn filters(self) -> Vec<MemberFilter> {
        let actives = [Some(true), Some(false)];
        let licenses: Vec<Option<License>> = match self {
            Partitioning::Sequential | Partitioning::Active => vec![None],
            _ => License::KNOWN.iter().cloned().map(Some).collect(),
        };
        let roles: Vec<Option<Role>> = match self {
            Partitioning::ActiveLicenseRole => Role::KNOWN.iter().cloned().map(Some).collect(),
            _ => vec![None],
        };
        if self == Partitioning::Sequential {
            return vec![MemberFilter::default()];
        }
        let mut out = Vec::new();
        for active in actives {
            for license in &licenses {
                for role in &roles {
                    out.push(MemberFilter {
                        license: license.clone(),
                        role: role.clone(),
                        active,
                    });
                }
            }
        }
        out
    }
}

/// The selection rule S the exactness proof assumes: equal wire values, and the filter value `unknown` also
/// selects every value outside the documented enum.
pub fn license_selects(filter: &License, value: &License) -> bool {
    match filter {
        License::Unknown => matches!(value, License::Unknown | License::Other(_)),
        f => f == value,
    }
}

/// Same rule for roles.
pub fn role_selects(filter: &Role, value: &Role) -> bool {
    match filter {
        Role::Unknown => matches!(value, Role::Unknown | Role::Other(_)),
        f => f == value,
    }
}

/// Whether `m` belongs to the part `f` selects, under rule S.
pub fn in_part(f: &MemberFilter, m: &Member) -> bool {
    f.active.is_none_or(|a| m.active == a)
        && f.license
            .as_ref()
            .is_none_or(|l| license_selects(l, &m.license))
        && f.role.as_ref().is_none_or(|r| role_selects(r, &m.role))
}

/// One page and the part it came from.
#[derive(Debug)]
pub struct PartPage {
    pub part: usize,
    pub page: MembersPage,
}

/// What went wrong while paging the parts.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error(transparent)]
    Miro(MiroError),
    /// A part returned a member its filter should not select: the server's filter semantics are not the ones
    /// the exactness proof assumes.
    #[error(
        "part {part} ({filter:?}) returned member {member_id}, which its filter does not select"
    )]
    Violation {
        part: usize,
        filter: MemberFilter,
        member_id: String,
    },
}

/// Every part's pages, all parts paged at once, each part in a task of its own (so decoding spreads over the
/// cores). Pages arrive in whatever order they complete; each part is one cursor stream, so its own pages stay
/// in order. The client's pacer (shared by all streams of one org) keeps the total under the credit budget, and
/// the bounded channel holds the producers back when the consumer (the store) is slower than Miro. Dropping the
/// stream stops every part.
pub fn partitioned_pages(
    parts: Vec<(MiroClient, MemberFilter)>,
    token: &SecretString,
    org: &str,
) -> BoxStream<'static, Result<PartPage, PartitionError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(parts.len().max(1) * 2);
    let mut tasks = tokio::task::JoinSet::new();
    for (part, (client, filter)) in parts.into_iter().enumerate() {
        let (tx, token, org) = (tx.clone(), token.clone(), org.to_owned());
        tasks.spawn(async move {
            let mut pages = client.members(&token, &org, filter.clone(), None).boxed();
            while let Some(r) = pages.next().await {
                let item = match r {
                    Err(e) => Err(PartitionError::Miro(e)),
                    Ok(page) => match page.members.iter().find(|m| !in_part(&filter, m)) {
                        Some(m) => Err(PartitionError::Violation {
                            part,
                            filter: filter.clone(),
                            member_id: m.id.clone(),
                        }),
                        None => Ok(PartPage { part, page }),
                    },
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
    }
    drop(tx);
    stream::unfold((rx, tasks), |(mut rx, tasks)| async move {
        rx.recv().await.map(|item| (item, (rx, tasks)))
    })
    .boxed()
}

/// Every member of every part, with the part it came from (for tests and the union proof).
pub async fn fetch_parts(
    client: &MiroClient,
    token: &SecretString,
    org: &str,
    partitioning: Partitioning,
) -> Result<Vec<(usize, Member)>, PartitionError> {
    let parts = partitioning
        .filters()
        .into_iter()
        .map(|f| (client.clone(), f))
        .collect();
    let mut pages = partitioned_pages(parts, token, org);
    let mut out = Vec::new();
    while let Some(p) = pages.next().await {
        let p = p?;
        out.extend(p.page.members.into_iter().map(|m| (p.part, m)));
    }
    Ok(out)
}

/// What [`parallel_download_org`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ParallelSummary {
    pub members_seen: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub rejected: u64,
    /// Members-list requests (pages), over all parts.
    pub pages: u64,
    pub parts: u64,
    /// Members that came in two parts (moved while the download ran); counted once.
    pub duplicates: u64,
    /// Stored members absent from the listing whom `GET /members/{id}` found: moved between parts mid-run.
    pub confirmed_present: u64,
    /// `GET /members/{id}` lookups made for absent members.
    pub lookups: u64,
    /// The budget share of the lane that pages the largest part alone.
    pub largest_part_share: f64,
    #[serde(with = "millis")]
    pub duration: Duration,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// `download_org` with the listing split over `partitioning`'s parts, paged in parallel. Writes exactly what
/// `download_org` writes (new and changed members, removals, the day's snapshot, the download run); the only
/// difference is guard 2 above: removal needs a 404 from `GET /members/{id}`.
///
/// This is the change proposed for `miro_sam_core::jobs::download_org` (see `bench/RESULTS.md`); it lives here
/// because the bench may not edit the core.
pub async fn parallel_download_org(
    deps: &Deps,
    org: &OrgId,
    partitioning: Partitioning,
) -> Result<ParallelSummary, JobError> {
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

    let filters = partitioning.filters();
    let mut s = ParallelSummary {
        parts: filters.len() as u64,
        ..Default::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut current: Vec<Subscription> = Vec::with_capacity(stored.len());
    let mut diff = Differ {
        org,
        stored: &mut stored,
        current: &mut current,
        s: &mut s,
    };
    // Writes run beside the paging (at most WRITERS at once), so a slow store does not stall every part.
    let writers = Arc::new(tokio::sync::Semaphore::new(WRITERS));
    let mut writes: tokio::task::JoinSet<Result<(), StoreError>> = tokio::task::JoinSet::new();
    let lanes = lanes(&deps.client, &filters, diff.stored.values())?;
    diff.s.largest_part_share = lanes.share;
    let mut pages = partitioned_pages(lanes.parts, &token, org.as_str());
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e {
            PartitionError::Miro(e) => JobError::Miro(e),
            PartitionError::Violation {
                part,
                filter,
                member_id,
            } => JobError::InvalidRequest(format!(
                "part {part} ({filter:?}) returned member {member_id}, which its filter should not select: \
                 Miro's filters are not the partition this download relies on; use the sequential download"
            )),
        })?;
        diff.s.pages += 1;
        let now = deps.clock.now();
        let mut to_write = Vec::new();
        for m in &page.page.members {
            if !seen.insert(m.id.clone()) {
                diff.s.duplicates += 1;
                continue;
            }
            diff.take(m, now, &mut to_write);
        }
        if !to_write.is_empty() {
            let permit = writers
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| JobError::InvalidRequest(e.to_string()))?;
            let (store, org) = (deps.store.clone(), org.clone());
            writes.spawn(async move {
                let _permit = permit;
                store.upsert_members(&org, &to_write).await
            });
        }
        while let Some(done) = writes.try_join_next() {
            joined(done)?;
        }
    }
    drop(pages);
    // Nothing is concluded (removals, snapshot, run) before every write has landed.
    while let Some(done) = writes.join_next().await {
        joined(done)?;
    }

    // Guard 2: a partitioned listing proves presence, not absence.
    let absent: Vec<MemberId> = diff
        .stored
        .iter()
        .filter(|(id, m)| !m.is_removed() && !seen.contains(id.as_str()))
        .map(|(id, _)| id.clone())
        .collect();
    let mut gone = Vec::new();
    let mut to_write = Vec::new();
    for id in absent {
        diff.s.lookups += 1;
        match deps.client.member(&token, org.as_str(), id.as_str()).await {
            Ok(m) => {
                diff.s.confirmed_present += 1;
                seen.insert(m.id.clone());
                diff.take(&m, deps.clock.now(), &mut to_write);
            }
            Err(e) if e.is_not_found() => gone.push(id),
            Err(e) => return Err(e.into()),
        }
    }
    if !to_write.is_empty() {
        deps.store.upsert_members(org, &to_write).await?;
    }

    let finished_at = deps.clock.now();
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
    s.removed = removed;
    s.members_seen = seen.len() as u64;

    let snapshot = OrgSnapshot::compute(org, &organization, &current, finished_at);
    deps.store.put_snapshot(&snapshot).await?;
    deps.store
        .put_download_run(&DownloadRun {
            org_id: org.clone(),
            run_id,
            started_at,
            completed_at: finished_at,
            members_seen: seen.len() as u64,
        })
        .await?;
    s.duration = timer.elapsed();
    Ok(s)
}

/// The clients the parts page with: two lanes that split the credit budget between them.
///
/// Why: all parts behind one pacer queue up first come, first served. While many parts are open, the largest
/// part gets only its turn among them, although it alone decides when the download ends (it is one cursor
/// stream: at best one page per round trip). So the largest part (by the previous download's members, or a
/// prior: active, full, internal user) pages in a lane of its own with its expected share of the budget, the
/// other parts share the rest. The two shares add up to the client's budget, so there is still no way to
/// exceed it (the same static-partition argument as the reclaim workers'); a wrong estimate only costs time.
pub struct Lanes {
    pub parts: Vec<(MiroClient, MemberFilter)>,
    pub share: f64,
}

pub fn lanes<'a>(
    client: &MiroClient,
    filters: &[MemberFilter],
    stored: impl Iterator<Item = &'a Subscription>,
) -> Result<Lanes, JobError> {
    if filters.len() < 2 {
        return Ok(Lanes {
            parts: filters
                .iter()
                .map(|f| (client.clone(), f.clone()))
                .collect(),
            share: 1.0,
        });
    }
    let mut sizes = vec![0u64; filters.len()];
    for m in stored.filter(|m| !m.is_removed()) {
        if let Some(i) = filters.iter().position(|f| {
            f.active.is_none_or(|a| m.active == a)
                && f.license
                    .as_ref()
                    .is_none_or(|l| license_selects(l, &m.license))
                && f.role.as_ref().is_none_or(|r| role_selects(r, &m.role))
        }) {
            sizes[i] += 1;
        }
    }
    let total: u64 = sizes.iter().sum();
    let (largest, share) = if total > 0 {
        let (i, n) = sizes
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .expect("two parts or more");
        (i, *n as f64 / total as f64)
    } else {
        // No previous download: Miro orgs are mostly active internal users with full licenses.
        let prior = filters
            .iter()
            .position(|f| {
                f.active == Some(true)
                    && f.license.as_ref().is_none_or(|l| *l == License::Full)
                    && f.role.as_ref().is_none_or(|r| *r == Role::InternalUser)
            })
            .unwrap_or(0);
        (prior, 0.5)
    };
    let share = share.clamp(0.1, 0.9);
    let scaled = |share: f64| {
        let mut c = client.config().clone();
        c.rest_limits.utilization *= share;
        MiroClient::new(c).map_err(JobError::Miro)
    };
    let (own, rest) = (scaled(share)?, scaled(1.0 - share)?);
    Ok(Lanes {
        parts: filters
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let c = if i == largest {
                    own.clone()
                } else {
                    rest.clone()
                };
                (c, f.clone())
            })
            .collect(),
        share,
    })
}

/// Store writes in flight at once.
const WRITERS: usize = 4;

fn joined(r: Result<Result<(), StoreError>, tokio::task::JoinError>) -> Result<(), JobError> {
    match r {
        Ok(w) => Ok(w?),
        Err(e) => Err(JobError::Store(StoreError::Backend(format!(
            "a store write failed: {e}"
        )))),
    }
}

/// The per-member comparison of `download_org`: new, changed (written) or unchanged (not written).
struct Differ<'a> {
    org: &'a OrgId,
    stored: &'a mut HashMap<MemberId, Subscription>,
    current: &'a mut Vec<Subscription>,
    s: &'a mut ParallelSummary,
}

impl Differ<'_> {
    fn take(&mut self, m: &Member, now: DateTime<Utc>, to_write: &mut Vec<Subscription>) {
        let fresh = match Subscription::from_member(self.org, m, now) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(org = %self.org, member = %m.id, error = %e, "skipping a member Miro listed");
                self.s.rejected += 1;
                return;
            }
        };
        match self.stored.remove(&fresh.member_id) {
            None => {
                self.s.new += 1;
                to_write.push(fresh.clone());
                self.current.push(fresh);
            }
            Some(old) if old.content_hash == fresh.content_hash && !old.is_removed() => {
                self.s.unchanged += 1;
                self.current.push(old);
            }
            Some(old) => {
                self.s.changed += 1;
                let updated = Subscription {
                    first_seen_at: old.first_seen_at,
                    ..fresh
                };
                to_write.push(updated.clone());
                self.current.push(updated);
            }
        }
    }
}
