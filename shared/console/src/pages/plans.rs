//! The latest plan: candidates (reason, evidence, status) filtered, sorted and searched while its candidates
//! are streamed from the store a page at a time, keeping only the page shown; exclusions with their rules; what
//! changed since the previous plan; approve all, approve a selection, reject.

use std::collections::BinaryHeap;

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::jobs::{self, Selection};
use miro_sam_core::plan::{Candidate, Exclusion, PLAN_PAGE, PlanHeader};
use miro_sam_core::reclaim::ReclaimRecord;

use super::PageRequest;
use super::plan_diff_walk::DiffWalk;
use crate::error::PageError;
use crate::form::FormData;
use crate::format::{thousands, when};
use crate::paging::{Listing, cut_page};
use crate::session::Admin;
use crate::state::AppState;
use crate::views::{Layout, html, message_page};

/// Candidates (and exclusions) shown per page.
pub(crate) const ROWS: usize = 50;
/// Entries of each side of "what changed" shown.
const DIFF_ROWS: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// Most inactive first (the plan's own order).
    DaysDesc,
    DaysAsc,
    Email,
}

impl Sort {
    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("days_asc") => Sort::DaysAsc,
            Some("email") => Sort::Email,
            _ => Sort::DaysDesc,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Sort::DaysDesc => "days",
            Sort::DaysAsc => "days_asc",
            Sort::Email => "email",
        }
    }

    /// The candidate's place in this order (smaller first); the member id breaks ties, so keys are unique.
    /// Borrowed: comparing costs no allocation, which matters when a plan of 10 000 streams past.
    fn key(self, c: &Candidate) -> (i64, &str, &MemberId) {
        match self {
            Sort::DaysDesc => (-c.days_inactive, "", &c.member_id),
            Sort::DaysAsc => (c.days_inactive, "", &c.member_id),
            Sort::Email => (0, c.email.as_str(), &c.member_id),
        }
    }

    fn cmp(self, a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
        self.key(a).cmp(&self.key(b))
    }
}

/// Which candidates the list shows.
struct Filter {
    /// Part of the email (folded like stored emails).
    search: Option<String>,
    license: Option<String>,
    min_days: Option<i64>,
}

impl Filter {
    fn matches(&self, c: &Candidate) -> bool {
        self.search
            .as_deref()
            .is_none_or(|s| c.email.as_str().contains(s))
            && self
                .license
                .as_deref()
                .is_none_or(|l| c.license.as_str() == l)
            && self.min_days.is_none_or(|d| c.days_inactive >= d)
    }
}

/// One page of the plan's candidates in `sort` order, after the candidate `after`, and how many match in all.
/// Streams the whole plan in store pages; memory holds one store page and `ROWS + 1` candidates.
/// Every candidate streamed past also goes to `diff` (the comparison with the previous plan), so the plan is read
/// once per view.
async fn candidate_page(
    st: &AppState,
    plan: PlanId,
    filter: &Filter,
    sort: Sort,
    after: Option<&Candidate>,
    mut diff: Option<&mut DiffWalk>,
) -> Result<(Vec<Candidate>, u64, bool), PageError> {
    struct Item(Sort, Candidate);
    impl PartialEq for Item {
        fn eq(&self, o: &Self) -> bool {
            self.cmp(o).is_eq()
        }
    }
    impl Eq for Item {}
    impl PartialOrd for Item {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Item {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0.cmp(&self.1, &o.1)
        }
    }
    // A max-heap of the smallest ROWS + 1 keys seen: the largest is dropped when a smaller one arrives.
    let mut heap: BinaryHeap<Item> = BinaryHeap::with_capacity(ROWS + 2);
    let mut matching = 0u64;
    let mut cursor: Option<MemberId> = None;
    loop {
        let page = st
            .deps
            .store
            .list_plan_candidates(plan, cursor.as_ref(), PLAN_PAGE)
            .await?;
        let done = page.len() < PLAN_PAGE;
        cursor = page.last().map(|c| c.member_id.clone());
        for c in page {
            if let Some(d) = diff.as_deref_mut() {
                d.current(st.deps.store.as_ref(), &c).await;
            }
            if !filter.matches(&c) {
                continue;
            }
            matching += 1;
            if after.is_some_and(|a| sort.cmp(&c, a).is_le()) {
                continue;
            }
            // Full and this one would come last: not on this page (and nothing was cloned to find out).
            if heap.len() > ROWS && heap.peek().is_some_and(|top| sort.cmp(&c, &top.1).is_gt()) {
                continue;
            }
            heap.push(Item(sort, c));
            if heap.len() > ROWS + 1 {
                heap.pop();
            }
        }
        if done {
            break;
        }
    }
    let mut rows: Vec<Candidate> = heap.into_sorted_vec().into_iter().map(|i| i.1).collect();
    let more = cut_page(&mut rows, ROWS).is_some();
    Ok((rows, matching, more))
}

pub(crate) struct CandidateRow {
    pub member_id: String,
    pub email: String,
    pub license: String,
    pub days: i64,
    pub reason: String,
    pub evidence: Vec<String>,
    pub status: String,
    pub status_class: &'static str,
    /// Not yet queued, rejected or done: may still be approved or rejected.
    pub open: bool,
}

pub(crate) struct ExclusionRow {
    pub member_id: String,
    pub email: String,
    pub license: String,
    pub reason: String,
}

pub(crate) struct DiffView {
    pub previous_id: String,
    pub previous_created: String,
    pub added: Vec<(String, String, String)>,
    pub removed: Vec<(String, String, String)>,
    pub added_count: String,
    pub removed_count: String,
}

pub(crate) struct PlanView {
    pub id: String,
    pub created: String,
    pub policy_version: u32,
    pub dry_run: bool,
    pub cap_exceeded: bool,
    pub cap: String,
    pub candidates: String,
    pub excluded: String,
    pub below_threshold: String,
    pub out_of_scope: String,
    pub considered: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
pub(crate) struct PlansPage {
    pub layout: Layout,
    pub plan: Option<PlanView>,
    pub paused: Option<String>,
    pub rows: Vec<CandidateRow>,
    pub matching: String,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub search: String,
    pub license: String,
    pub min_days: String,
    pub sort: &'static str,
    pub licenses: Vec<String>,
    pub exclusions: Listing<ExclusionRow>,
    pub diff: Option<DiffView>,
    pub diff_problem: Option<String>,
    pub csrf: String,
}

/// The facts the candidate was chosen on, one short line each (the license has its own column): a list wraps
/// into a narrow column where one long sentence made every row six lines high.
fn evidence(c: &Candidate) -> Vec<String> {
    let e = &c.evidence;
    let mut lines = vec![e.role.to_string()];
    lines.push(match e.last_activity_at {
        Some(t) => format!("last active {}", t.format("%Y-%m-%d")),
        None => "never active".into(),
    });
    if let Some(t) = e.license_assigned_at {
        lines.push(format!("license since {}", t.format("%Y-%m-%d")));
    }
    if !e.admin_roles.is_empty() {
        lines.push(format!("admin roles: {}", e.admin_roles.join(", ")));
    }
    lines
}

/// The candidate's status from its reclaim record.
pub(crate) fn status(r: Option<&ReclaimRecord>) -> (String, &'static str, bool) {
    match r {
        None => ("not approved".into(), "", true),
        Some(r) => match &r.outcome {
            Some(o) => (o.to_string(), state_class(r.state.as_str()), false),
            None => (format!("{} (approved, queued)", r.state), "", false),
        },
    }
}

pub(crate) fn state_class(state: &str) -> &'static str {
    match state {
        "done" => "state-done",
        "failed" => "state-failed",
        "skipped" => "state-skipped",
        _ => "",
    }
}

/// The session org's plan by id, refusing another org's.
async fn own_plan(st: &AppState, admin: &Admin, plan: &str) -> Result<PlanHeader, PageError> {
    let id = PlanId::parse(plan).map_err(|e| PageError::NotFound(e.to_string()))?;
    match st.deps.store.get_plan_header(id).await? {
        Some(h) if h.org_id == admin.session.org => Ok(h),
        _ => Err(PageError::NotFound(format!(
            "Your organization has no plan {id}."
        ))),
    }
}

pub(crate) async fn plans(p: PageRequest) -> Result<Response, PageError> {
    let (st, q) = (&p.st, &p.query);
    let store = st.deps.store.as_ref();
    let header = store.latest_plan_header(p.org_id()).await?;
    let filter = Filter {
        search: q.get("q").map(str::to_ascii_lowercase),
        license: q.get("license").map(str::to_owned),
        min_days: q.get("min_days").and_then(|d| d.parse().ok()),
    };
    let sort = Sort::parse(q.get("sort"));
    let mut layout = p.layout("Reclaim plan");
    layout.wide = true;
    let mut page = PlansPage {
        layout,
        plan: None,
        paused: store.get_pause(p.org_id()).await?.map(|p| p.to_string()),
        rows: Vec::new(),
        matching: "0".into(),
        next_href: None,
        first_href: None,
        search: filter.search.clone().unwrap_or_default(),
        license: filter.license.clone().unwrap_or_default(),
        min_days: filter.min_days.map(|d| d.to_string()).unwrap_or_default(),
        sort: sort.as_str(),
        licenses: Vec::new(),
        exclusions: Listing::default(),
        diff: None,
        diff_problem: None,
        csrf: p.admin.csrf.clone(),
    };
    let Some(h) = header else {
        return Ok(html(&page));
    };
    page.licenses = h
        .policy
        .licenses
        .iter()
        .map(|l| l.as_str().to_owned())
        .collect();

    // The cursor is the last member shown; its place in this order is re-read from the plan.
    let after = match q.get("after").and_then(|a| MemberId::parse(a).ok()) {
        Some(m) => store.get_plan_candidate(h.plan_id, &m).await?,
        None => None,
    };
    // The previous plan, compared while the latest one streams past for the list.
    let previous = match store
        .list_plan_headers(p.org_id(), Some(h.created_at), 1)
        .await
    {
        Ok(prev) => prev.into_iter().next(),
        Err(e) => {
            page.diff_problem = Some(e.to_string());
            None
        }
    };
    let mut walk = previous
        .as_ref()
        .map(|p| DiffWalk::new(p.plan_id, DIFF_ROWS));
    let (candidates, matching, more) =
        candidate_page(st, h.plan_id, &filter, sort, after.as_ref(), walk.as_mut()).await?;
    page.matching = thousands(matching);
    let keep = |extra: (&'static str, String)| {
        let mut pairs: Vec<(&str, String)> = vec![
            ("q", page.search.clone()),
            ("license", page.license.clone()),
            ("min_days", page.min_days.clone()),
            (
                "sort",
                if sort == Sort::DaysDesc {
                    String::new()
                } else {
                    sort.as_str().to_owned()
                },
            ),
        ];
        pairs.push(extra);
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        p.href("/plans", &borrowed)
    };
    if more && let Some(last) = candidates.last() {
        page.next_href = Some(keep(("after", last.member_id.to_string())));
    }
    if after.is_some() {
        page.first_href = Some(keep(("after", String::new())));
    }
    for c in &candidates {
        let record = store.get_reclaim_record(h.plan_id, &c.member_id).await?;
        let (status, status_class, open) = status(record.as_ref());
        page.rows.push(CandidateRow {
            member_id: c.member_id.to_string(),
            email: c.email.to_string(),
            license: c.license.to_string(),
            days: c.days_inactive,
            reason: c.reason.clone(),
            evidence: evidence(c),
            status,
            status_class,
            open,
        });
    }

    let exc_after = q.get("exc_after").and_then(|a| MemberId::parse(a).ok());
    let exclusions = store
        .list_plan_exclusions(h.plan_id, exc_after.as_ref(), ROWS + 1)
        .await?;
    let cursor = |e: &Exclusion| p.href("/plans", &[("exc_after", e.member_id.as_str())]);
    page.exclusions = Listing::of(exclusions, ROWS, cursor, |e| ExclusionRow {
        member_id: e.member_id.to_string(),
        email: e.email.to_string(),
        license: e.license.to_string(),
        reason: e.reason.clone(),
    });

    if let (Some(p), Some(walk)) = (&previous, walk) {
        match walk.finish(store).await {
            Ok(d) => {
                let row = |c: &Candidate| {
                    (
                        c.member_id.to_string(),
                        c.email.to_string(),
                        c.reason.clone(),
                    )
                };
                page.diff = Some(DiffView {
                    previous_id: p.plan_id.to_string(),
                    previous_created: when(p.created_at),
                    added: d.added.iter().map(row).collect(),
                    removed: d.removed.iter().map(row).collect(),
                    added_count: thousands(d.added_count.into()),
                    removed_count: thousands(d.removed_count.into()),
                });
            }
            Err(e) => page.diff_problem = Some(e),
        }
    }

    page.plan = Some(PlanView {
        id: h.plan_id.to_string(),
        created: when(h.created_at),
        policy_version: h.policy_version,
        dry_run: h.policy.dry_run,
        cap_exceeded: h.cap.exceeded,
        cap: h.cap.explanation.clone(),
        candidates: thousands(h.totals.candidates.into()),
        excluded: thousands(h.totals.excluded.into()),
        below_threshold: thousands(h.totals.below_threshold.into()),
        out_of_scope: thousands(h.totals.out_of_scope.into()),
        considered: thousands(h.totals.members_considered.into()),
    });
    Ok(html(&page))
}

/// The approval result's sentence on candidates held back by their notice: how many, and why (the distinct
/// reasons, a few at most: the whole first day of a plan may be waiting for the same date).
fn waiting_note(waiting: &[jobs::WaitingForNotice]) -> String {
    if waiting.is_empty() {
        return String::new();
    }
    let mut why: Vec<String> = waiting.iter().map(|w| w.wait.short()).collect();
    why.sort();
    why.dedup();
    let more = why.len() > 3;
    why.truncate(3);
    format!(
        " Not queued, waiting for their notice: {} ({}{}); approve again once their reclaim date has come.",
        waiting.len(),
        why.join("; "),
        if more { "; ..." } else { "" }
    )
}

fn back_to_plan(st: &AppState) -> Option<(String, String)> {
    Some((format!("{}/plans", st.base), "Back to the plan".into()))
}

/// `POST {base}/plans/{plan}/approve`: the whole plan.
pub(crate) async fn approve_all(
    p: PageRequest,
    Path(plan): Path<String>,
) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let h = own_plan(st, admin, &plan).await?;
    let report = jobs::approve_plan(
        st.deps.store.as_ref(),
        st.deps.queue.as_ref(),
        h.plan_id,
        &Selection::All,
        &admin.session.actor(),
        st.now(),
    )
    .await?;
    Ok(message_page(
        p.layout("Plan approved"),
        &format!(
            "Approved the whole plan: {} candidates queued for reclaim{}. Each is re-checked against Miro just \
             before its seat is taken.{}",
            report.queued,
            if report.already_queued > 0 {
                format!(", {} were already queued or decided", report.already_queued)
            } else {
                String::new()
            },
            waiting_note(&report.waiting_for_notice)
        ),
        back_to_plan(st),
    ))
}

/// `POST {base}/plans/{plan}/selection`: approve or reject the ticked candidates.
pub(crate) async fn selection(
    p: PageRequest,
    Path(plan): Path<String>,
    form: FormData,
) -> Result<Response, PageError> {
    let PageRequest { st, admin, .. } = &p;
    let h = own_plan(st, admin, &plan).await?;
    let members = form
        .all("member")
        .into_iter()
        .map(MemberId::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    if members.is_empty() {
        return Err(PageError::BadRequest(
            "No candidate was ticked: tick the candidates to approve or reject, then press the button again.".into(),
        ));
    }
    let actor = admin.session.actor();
    let now = st.now();
    let message = match form.get("action") {
        Some("approve") => {
            let r = jobs::approve_plan(
                st.deps.store.as_ref(),
                st.deps.queue.as_ref(),
                h.plan_id,
                &Selection::Members(members),
                &actor,
                now,
            )
            .await?;
            let mut m = format!(
                "Approved {} of the ticked candidates: queued for reclaim.",
                r.queued
            );
            if r.already_queued > 0 {
                m.push_str(&format!(
                    " {} were already queued or decided.",
                    r.already_queued
                ));
            }
            if !r.not_candidates.is_empty() {
                m.push_str(&format!(
                    " {} ticked members are not candidates of this plan and were left alone.",
                    r.not_candidates.len()
                ));
            }
            m.push_str(&waiting_note(&r.waiting_for_notice));
            m
        }
        Some("reject") => {
            let why = form.require("why", "A reason for the rejection")?;
            let n = jobs::reject_candidates(
                st.deps.store.as_ref(),
                h.plan_id,
                &members,
                &actor,
                why,
                now,
            )
            .await?;
            format!("Rejected {n} candidates: this plan will not reclaim them.")
        }
        _ => {
            return Err(PageError::BadRequest(
                "Choose Approve selected or Reject selected.".into(),
            ));
        }
    };
    Ok(message_page(
        p.layout("Plan updated"),
        &message,
        back_to_plan(st),
    ))
}
