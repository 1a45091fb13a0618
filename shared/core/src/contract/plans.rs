//! Contract of the plan methods of [`SubscriptionStore`]: plans as a header plus one item per candidate and
//! per exclusion, read a member or a page at a time.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use miro_client::Role;

use super::fixtures::*;
use super::pages::read_pages;
use crate::domain::{MemberId, OrgId, PlanId, Subscription};
use crate::plan::{Candidate, Exclusion, ReclaimPlan, build_plan};
use crate::policy::Policy;
use crate::ports::SubscriptionStore;

type Store = Arc<dyn SubscriptionStore>;

/// A plan of `candidates` candidates and `exclusions` exclusions (admins) whose member ids are `1..` and so of
/// every length from one digit up: numeric order and text order differ (`9` < `10`).
pub(super) fn sized_plan(org: &OrgId, candidates: u64, exclusions: u64) -> ReclaimPlan {
    let members: Vec<Subscription> = (1..=candidates + exclusions)
        .map(|n| {
            let mut m = subscription(org, n, 100 + (n % 300) as i64);
            m.member_id = MemberId::parse(&n.to_string()).expect("member id");
            if n > candidates {
                m.role = Role::InternalAdmin;
            }
            m
        })
        .collect();
    let policy = Policy::default();
    let plan = build_plan(
        PlanId::new(),
        org,
        Some(1_000_000),
        &versioned(org, policy, 1),
        &[],
        &members,
        t0(),
    );
    assert_eq!(
        (plan.candidates.len(), plan.exclusions.len()),
        (candidates as usize, exclusions as usize),
        "fixture plan has the sizes asked for"
    );
    plan
}

/// Every page of the plan's candidates or exclusions with `$limit`, asserting each page's size: `$list` names the
/// store method (`list_plan_candidates` or `list_plan_exclusions`), both paged after a member id.
macro_rules! all_items {
    ($store:expr, $plan:expr, $limit:expr, $list:ident) => {{
        let (store, plan, limit): (&Store, PlanId, usize) = (&$store, $plan, $limit);
        read_pages(
            stringify!($list),
            limit,
            None,
            |item| PlanItem::member_id(item).clone(),
            |item, after| PlanItem::member_id(item) > after,
            |after| async move { store.$list(plan, after.as_ref(), limit).await.unwrap() },
        )
        .await
    }};
}

/// What a plan's pages are keyed by.
trait PlanItem {
    fn member_id(&self) -> &MemberId;
}

impl PlanItem for Candidate {
    fn member_id(&self) -> &MemberId {
        &self.member_id
    }
}

impl PlanItem for Exclusion {
    fn member_id(&self) -> &MemberId {
        &self.member_id
    }
}

/// The id of the org's latest plan, by its header.
async fn latest_plan_id(store: &Store, org: &OrgId) -> Option<PlanId> {
    store
        .latest_plan_header(org)
        .await
        .unwrap()
        .map(|h| h.plan_id)
}

fn ids<'a>(v: impl IntoIterator<Item = &'a MemberId>) -> Vec<MemberId> {
    v.into_iter().cloned().collect()
}

pub async fn plan_items_page_in_member_id_order(store: Store) {
    let o = org();
    let plan = sized_plan(&o, 1_234, 57);
    store.put_plan(&plan).await.unwrap();
    let mut want = ids(plan.candidates.iter().map(|c| &c.member_id));
    want.sort();

    for limit in [1_000, 100, 7] {
        let got = all_items!(store, plan.plan_id, limit, list_plan_candidates);
        assert_eq!(
            ids(got.iter().map(|c| &c.member_id)),
            want,
            "limit {limit}: every candidate once, in numeric member id order"
        );
        let unique: HashSet<&MemberId> = got.iter().map(|c| &c.member_id).collect();
        assert_eq!(unique.len(), got.len(), "no duplicates");
    }
    let got = all_items!(store, plan.plan_id, 100, list_plan_candidates);
    let mut by_plan_order = got.clone();
    by_plan_order.sort_by(crate::plan::candidate_order);
    assert_eq!(by_plan_order, plan.candidates, "items come back whole");

    // `after` need not be a member of the plan; past the last id there is nothing.
    let between = MemberId::parse("9").unwrap();
    let page = store
        .list_plan_candidates(plan.plan_id, Some(&between), 3)
        .await
        .unwrap();
    assert_eq!(ids(page.iter().map(|c| &c.member_id)), want[9..12].to_vec());
    let past = store
        .list_plan_candidates(plan.plan_id, want.last(), 10)
        .await
        .unwrap();
    assert!(past.is_empty(), "{past:?}");

    let exclusions = all_items!(store, plan.plan_id, 10, list_plan_exclusions);
    assert_eq!(exclusions, plan.exclusions, "exclusions: member id order");

    let c = &plan.candidates[17];
    assert_eq!(
        store
            .get_plan_candidate(plan.plan_id, &c.member_id)
            .await
            .unwrap()
            .as_ref(),
        Some(c)
    );
    let excluded = &plan.exclusions[0].member_id;
    assert!(
        store
            .get_plan_candidate(plan.plan_id, excluded)
            .await
            .unwrap()
            .is_none(),
        "an exclusion is not a candidate"
    );
    assert!(
        store
            .get_plan_candidate(PlanId::new(), &c.member_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .list_plan_candidates(PlanId::new(), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_plan_header(plan.plan_id).await.unwrap(),
        Some(plan.header())
    );
}

pub async fn plan_replacement_leaves_no_stale_items(store: Store) {
    let o = org();
    let first = sized_plan(&o, 120, 5);
    store.put_plan(&first).await.unwrap();
    let newer = ReclaimPlan {
        created_at: first.created_at + Duration::hours(1),
        ..sized_plan(&o, 3, 1)
    };
    store.put_plan(&newer).await.unwrap();
    assert_eq!(latest_plan_id(&store, &o).await, Some(newer.plan_id));

    // The first plan again under its id, smaller and made later than `newer`.
    let mut replaced = first.clone();
    replaced.candidates.truncate(10);
    replaced.exclusions.truncate(2);
    replaced.created_at = newer.created_at + Duration::hours(1);
    store.put_plan(&replaced).await.unwrap();
    assert_eq!(
        store.get_plan(first.plan_id).await.unwrap(),
        Some(replaced.clone())
    );
    let gone = &first.candidates[50].member_id;
    assert!(
        store
            .get_plan_candidate(first.plan_id, gone)
            .await
            .unwrap()
            .is_none(),
        "a candidate the new version dropped is gone"
    );
    assert_eq!(
        all_items!(store, first.plan_id, 100, list_plan_exclusions).len(),
        2
    );
    assert_eq!(
        latest_plan_id(&store, &o).await,
        Some(first.plan_id),
        "the latest plan follows the new created_at"
    );

    // Moved back before `newer`: the stale index entry must not keep it the latest.
    replaced.created_at = first.created_at;
    store.put_plan(&replaced).await.unwrap();
    assert_eq!(latest_plan_id(&store, &o).await, Some(newer.plan_id));
    assert!(
        store
            .latest_plan_header(&other_org())
            .await
            .unwrap()
            .is_none()
    );
}

/// A reader polling while a plan is written sees no header, or the header and every item: never part of a plan.
pub async fn plan_header_is_written_last(store: Store) {
    let o = org();
    let plan = sized_plan(&o, 3_000, 40);
    let writer = {
        let (store, plan) = (store.clone(), plan.clone());
        tokio::spawn(async move { store.put_plan(&plan).await })
    };
    let mut polls_before_header = 0u32;
    loop {
        let finished = writer.is_finished();
        if let Some(header) = store.get_plan_header(plan.plan_id).await.unwrap() {
            assert_eq!(header, plan.header());
            let listed = all_items!(store, plan.plan_id, 1_000, list_plan_candidates);
            assert_eq!(
                listed.len(),
                plan.candidates.len(),
                "the header is visible only once every candidate is (after {polls_before_header} polls)"
            );
            assert_eq!(
                all_items!(store, plan.plan_id, 1_000, list_plan_exclusions).len(),
                40
            );
            break;
        }
        assert!(
            !finished,
            "the write finished but the plan has no header: {:?}",
            writer.await
        );
        polls_before_header += 1;
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer task").expect("plan written");
}

pub async fn ten_thousand_candidate_plan_round_trips(store: Store) {
    let o = org();
    let plan = sized_plan(&o, 10_000, 100);
    store.put_plan(&plan).await.unwrap();
    assert_eq!(
        store.get_plan(plan.plan_id).await.unwrap(),
        Some(plan.clone())
    );
    assert_eq!(
        store.latest_plan(&o).await.unwrap().map(|p| p.plan_id),
        Some(plan.plan_id)
    );
    let last = &plan.candidates[9_999];
    assert_eq!(
        store
            .get_plan_candidate(plan.plan_id, &last.member_id)
            .await
            .unwrap()
            .as_ref(),
        Some(last)
    );
}
