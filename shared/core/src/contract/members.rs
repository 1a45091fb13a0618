//! Contract of [`SubscriptionStore::list_members_page`]: ranges of member ids read in numeric order, a page at a
//! time, as the download's page-by-page comparison and the streamed snapshot read them.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use super::pages::read_pages;
use crate::domain::{MemberId, Subscription};
use crate::ports::SubscriptionStore;

type Store = Arc<dyn SubscriptionStore>;

/// A fixture member with an id of our choosing (short ids make the text order differ from the numeric one).
fn with_id(n: u64, id: &str) -> Subscription {
    Subscription {
        member_id: MemberId::parse(id).unwrap(),
        ..subscription(&org(), n, n as i64)
    }
}

fn ids(v: &[Subscription]) -> Vec<&str> {
    v.iter().map(|m| m.member_id.as_str()).collect()
}

/// Every member of the range, read `limit` at a time the way the download reads it.
async fn read_range(
    store: &Store,
    after: Option<&MemberId>,
    upto: Option<&MemberId>,
    limit: usize,
) -> Vec<Subscription> {
    read_pages(
        "members",
        limit,
        after.cloned(),
        |m: &Subscription| m.member_id.clone(),
        |m, after| &m.member_id > after,
        |cursor| async move {
            store
                .list_members_page(&org(), cursor.as_ref(), upto, limit)
                .await
                .unwrap()
        },
    )
    .await
}

pub async fn member_pages_follow_numeric_id_order(store: Store) {
    let o = org();
    // Text order would put "100" before "30" and "9" last, and "1000" between "100" and "101".
    let raw = ["9", "30", "100", "1000", "101", "99", "3458764517517800001"];
    let members: Vec<Subscription> = raw
        .iter()
        .enumerate()
        .map(|(n, id)| with_id(n as u64, id))
        .collect();
    store.upsert_members(&o, &members).await.unwrap();
    store
        .upsert_members(&other_org(), &[subscription(&other_org(), 5, 1)])
        .await
        .unwrap();
    let id = |s: &str| MemberId::parse(s).unwrap();
    let numeric = ["9", "30", "99", "100", "101", "1000", "3458764517517800001"];

    let all = store.list_members_page(&o, None, None, 100).await.unwrap();
    assert_eq!(
        ids(&all),
        numeric,
        "the whole org, numeric order, no other org"
    );
    assert_eq!(all, store.list_members(&o).await.unwrap());
    for limit in [1, 2, 3] {
        assert_eq!(
            ids(&read_range(&store, None, None, limit).await),
            numeric,
            "paged {limit} at a time"
        );
    }
    let range = store
        .list_members_page(&o, Some(&id("30")), Some(&id("101")), 100)
        .await
        .unwrap();
    assert_eq!(ids(&range), ["99", "100", "101"], "(after, upto]");
    let range = store
        .list_members_page(&o, Some(&id("99")), Some(&id("1000")), 2)
        .await
        .unwrap();
    assert_eq!(ids(&range), ["100", "101"], "limited");
    let tail = store
        .list_members_page(&o, Some(&id("101")), None, 100)
        .await
        .unwrap();
    assert_eq!(
        ids(&tail),
        ["1000", "3458764517517800001"],
        "open at the top"
    );
    let head = store
        .list_members_page(&o, None, Some(&id("99")), 100)
        .await
        .unwrap();
    assert_eq!(ids(&head), ["9", "30", "99"], "open at the bottom");
    // Bounds need not be stored ids.
    let between = store
        .list_members_page(&o, Some(&id("31")), Some(&id("999")), 100)
        .await
        .unwrap();
    assert_eq!(ids(&between), ["99", "100", "101"]);
    assert!(
        store
            .list_members_page(&o, Some(&id("101")), Some(&id("101")), 100)
            .await
            .unwrap()
            .is_empty(),
        "an empty range"
    );
    assert!(
        store
            .list_members_page(&o, Some(&id("3458764517517800001")), None, 100)
            .await
            .unwrap()
            .is_empty(),
        "nothing after the last id"
    );
}

pub async fn member_pages_include_removed_and_apply_the_last_seen_rule(store: Store) {
    let o = org();
    let members: Vec<Subscription> = (1..=30).map(|n| subscription(&o, n, 3)).collect();
    store.upsert_members(&o, &members).await.unwrap();
    let t1 = t0() + Duration::hours(5);
    store
        .mark_removed(&o, &[member_id(4)], t0() + Duration::hours(1))
        .await
        .unwrap();
    store
        .put_download_run(&completed_run(&o, t1, 29))
        .await
        .unwrap();
    let paged = read_range(&store, None, None, 7).await;
    assert_eq!(paged.len(), 30, "removed members are listed too");
    assert_eq!(
        paged,
        store.list_members(&o).await.unwrap(),
        "the same members, values and order as list_members"
    );
    let removed = paged.iter().find(|m| m.member_id == member_id(4)).unwrap();
    assert!(removed.is_removed());
    assert!(
        removed.last_seen_at < t1,
        "a removed member was not seen by the later run"
    );
    let present = paged.iter().find(|m| m.member_id == member_id(5)).unwrap();
    assert_eq!(
        present.last_seen_at, t1,
        "a present member was seen by the last complete run"
    );
}
