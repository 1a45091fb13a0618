//! Contract of [`SubscriptionStore::put_plan_items`], [`SubscriptionStore::put_plan_header`] and
//! [`SubscriptionStore::list_plan_headers`]: a plan written while it is computed, and the org's plan history.

use std::sync::Arc;

use chrono::Duration;

use super::super::fixtures::*;
use super::super::plans::sized_plan;
use crate::domain::{OrgId, PlanId};
use crate::plan::{PlanHeader, ReclaimPlan};
use crate::ports::SubscriptionStore;

type Store = Arc<dyn SubscriptionStore>;

fn header_ids(headers: &[PlanHeader]) -> Vec<PlanId> {
    headers.iter().map(|h| h.plan_id).collect()
}

/// What a reader of the plan sees: its header, the org's latest header, the org's plan history and the whole plan.
async fn assert_invisible(store: &Store, plan: &ReclaimPlan, older: &ReclaimPlan, when: &str) {
    assert_eq!(
        store.get_plan_header(plan.plan_id).await.unwrap(),
        None,
        "{when}: a plan without its header does not exist"
    );
    assert_eq!(store.get_plan(plan.plan_id).await.unwrap(), None, "{when}");
    assert_eq!(
        store.latest_plan_header(&plan.org_id).await.unwrap(),
        Some(older.header()),
        "{when}: the latest plan is still the older one"
    );
    assert_eq!(
        header_ids(
            &store
                .list_plan_headers(&plan.org_id, None, 10)
                .await
                .unwrap()
        ),
        vec![older.plan_id],
        "{when}: the plan history does not list it"
    );
}

/// Items go in over several calls (candidates and exclusions apart and together); the plan appears, whole, only
/// when its header is written.
pub async fn streamed_plan_is_invisible_until_its_header(store: Store) {
    let o = org();
    let older = sized_plan(&o, 4, 1);
    store.put_plan(&older).await.unwrap();
    let plan = ReclaimPlan {
        created_at: older.created_at + Duration::hours(1),
        ..sized_plan(&o, 25, 6)
    };
    let (c, e) = (&plan.candidates, &plan.exclusions);

    store
        .put_plan_items(plan.plan_id, &o, &c[..10], &[])
        .await
        .unwrap();
    assert_invisible(&store, &plan, &older, "after the first candidates").await;
    store
        .put_plan_items(plan.plan_id, &o, &[], &e[..2])
        .await
        .unwrap();
    store
        .put_plan_items(plan.plan_id, &o, &c[10..], &e[2..])
        .await
        .unwrap();
    assert_invisible(&store, &plan, &older, "after every item").await;

    store.put_plan_header(&plan.header()).await.unwrap();
    assert_eq!(
        store.get_plan(plan.plan_id).await.unwrap(),
        Some(plan.clone()),
        "the header makes the plan visible, with the items of every call"
    );
    assert_eq!(
        store.latest_plan_header(&o).await.unwrap(),
        Some(plan.header())
    );
    assert_eq!(
        header_ids(&store.list_plan_headers(&o, None, 10).await.unwrap()),
        vec![plan.plan_id, older.plan_id]
    );
    assert_eq!(
        store.get_plan(older.plan_id).await.unwrap(),
        Some(older),
        "writing a new plan leaves the older one as it was"
    );
}

/// A retried batch writes the same items again: each is stored once, the last write wins, and so does a header
/// written twice.
pub async fn streamed_plan_items_rewrite_idempotently(store: Store) {
    let o = org();
    let plan = sized_plan(&o, 12, 3);
    let (c, e) = (&plan.candidates, &plan.exclusions);
    store
        .put_plan_items(plan.plan_id, &o, &c[..8], &e[..2])
        .await
        .unwrap();
    // The retry of the first batch overlaps the next one, and one candidate's reason was reworded meanwhile.
    let mut reworded = c[3].clone();
    reworded.reason = format!("{} (reworded on retry)", reworded.reason);
    let mut retry = c[..8].to_vec();
    retry[3] = reworded.clone();
    store
        .put_plan_items(plan.plan_id, &o, &retry, &e[..2])
        .await
        .unwrap();
    store
        .put_plan_items(plan.plan_id, &o, &c[5..], &e[1..])
        .await
        .unwrap();
    store.put_plan_header(&plan.header()).await.unwrap();
    store.put_plan_header(&plan.header()).await.unwrap();

    let mut want = plan.clone();
    let at = want
        .candidates
        .iter()
        .position(|x| x.member_id == reworded.member_id)
        .expect("the candidate is in the plan");
    want.candidates[at] = reworded.clone();
    assert_eq!(
        store.get_plan(plan.plan_id).await.unwrap(),
        Some(want),
        "every item once, the rewritten one as last written"
    );
    assert_eq!(
        store
            .get_plan_candidate(plan.plan_id, &reworded.member_id)
            .await
            .unwrap(),
        Some(reworded)
    );
    assert_eq!(
        header_ids(&store.list_plan_headers(&o, None, 10).await.unwrap()),
        vec![plan.plan_id],
        "a header written twice is one plan"
    );
}

/// A plan of `org` created `hours` after the fixture time.
fn plan_at(org: &OrgId, hours: i64) -> ReclaimPlan {
    ReclaimPlan {
        created_at: t0() + Duration::hours(hours),
        ..sized_plan(org, 2, 1)
    }
}

pub async fn plan_headers_page_newest_first_per_org(store: Store) {
    let o = org();
    let mut plans: Vec<ReclaimPlan> = [3, 0, 4, 1, 2].iter().map(|h| plan_at(&o, *h)).collect();
    // Two plans made at the same instant: the later plan id comes first.
    let twin = ReclaimPlan {
        plan_id: PlanId::new(),
        ..plans[4].clone()
    };
    plans.push(twin);
    for p in &plans {
        store.put_plan(p).await.unwrap();
    }
    // Another org's plan, newer than all of them, and a plan of ours whose header is not written yet.
    store.put_plan(&plan_at(&other_org(), 9)).await.unwrap();
    let unfinished = plan_at(&o, 8);
    store
        .put_plan_items(
            unfinished.plan_id,
            &o,
            &unfinished.candidates,
            &unfinished.exclusions,
        )
        .await
        .unwrap();

    let mut want: Vec<PlanHeader> = plans.iter().map(ReclaimPlan::header).collect();
    want.sort_by_key(|h| std::cmp::Reverse((h.created_at, h.plan_id)));
    assert_eq!(
        store.list_plan_headers(&o, None, 100).await.unwrap(),
        want,
        "every written header of the org, newest first (created_at, then plan id)"
    );
    assert_eq!(
        store.list_plan_headers(&o, None, 2).await.unwrap(),
        want[..2].to_vec(),
        "limited"
    );
    for (i, h) in want.iter().enumerate() {
        let older: Vec<PlanHeader> = want[i..]
            .iter()
            .filter(|x| x.created_at < h.created_at)
            .cloned()
            .collect();
        assert_eq!(
            store
                .list_plan_headers(&o, Some(h.created_at), 100)
                .await
                .unwrap(),
            older,
            "strictly before {}",
            h.created_at
        );
        assert_eq!(
            store
                .list_plan_headers(&o, Some(h.created_at), 1)
                .await
                .unwrap(),
            older.into_iter().take(1).collect::<Vec<_>>(),
            "the previous plan of {}",
            h.plan_id
        );
    }
    let between = t0() + Duration::minutes(150);
    assert_eq!(
        header_ids(
            &store
                .list_plan_headers(&o, Some(between), 100)
                .await
                .unwrap()
        ),
        header_ids(&want[want.len() - 4..]),
        "`before` need not be a plan's time"
    );
    assert_eq!(
        header_ids(
            &store
                .list_plan_headers(&other_org(), None, 100)
                .await
                .unwrap()
        )
        .len(),
        1
    );
    assert!(
        store
            .list_plan_headers(&OrgId::parse("1").unwrap(), None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Once its header is written a plan's items are fixed: more items are refused and the plan stays as it was.
pub async fn streamed_plan_refuses_items_once_its_header_is_written(store: Store) {
    let o = org();
    let plan = sized_plan(&o, 6, 2);
    let late = sized_plan(&o, 9, 3);
    store
        .put_plan_items(plan.plan_id, &o, &plan.candidates, &plan.exclusions)
        .await
        .unwrap();
    store.put_plan_header(&plan.header()).await.unwrap();
    // `late` excludes member 12, whom `plan` does not list at all.
    let refused = store
        .put_plan_items(
            plan.plan_id,
            &o,
            &late.candidates[6..],
            &late.exclusions[2..],
        )
        .await;
    assert!(
        matches!(refused, Err(crate::error::StoreError::AlreadyExists { .. })),
        "items for a plan whose header is written: {refused:?}"
    );
    assert_eq!(
        store.get_plan(plan.plan_id).await.unwrap(),
        Some(plan),
        "the written plan is unchanged"
    );
}
