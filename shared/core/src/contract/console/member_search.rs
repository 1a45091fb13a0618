//! Contract of [`SubscriptionStore::search_members`]: the console's member list, by email prefix, a page at a time.

use std::sync::Arc;

use chrono::Duration;

use super::super::fixtures::*;
use super::super::pages::read_pages;
use crate::domain::{Email, MemberId, OrgId, Subscription};
use crate::ports::SubscriptionStore;

type Store = Arc<dyn SubscriptionStore>;

fn member(org: &OrgId, id: &str, email: &str) -> Subscription {
    Subscription {
        member_id: MemberId::parse(id).expect("member id"),
        email: Email::parse(email).expect("email"),
        ..subscription(org, id.len() as u64, 10 * id.len() as i64)
    }
}

/// Chosen so that (email, numeric id) order differs from id order, from text order of the ids ("10" < "9" as
/// text), from "contains" and from a prefix bound that is off by one character ('.' < '@' < 'a').
const MEMBERS: [(&str, &str); 10] = [
    ("9", "ann@example.com"),
    ("100", "ann@example.com"),
    ("10", "ann@example.com"),
    ("5", "ann.b@example.com"),
    ("77", "anna@example.com"),
    ("3", "bob@example.com"),
    ("1234", "ñu@example.com"),
    ("42", "zed@example.com"),
    ("8", "an@example.org"),
    ("61", "joann@example.com"),
];

fn ids(v: &[Subscription]) -> Vec<&str> {
    v.iter().map(|m| m.member_id.as_str()).collect()
}

/// Every page of the search with `limit`, each asserted no larger than `limit`.
async fn search_all(store: &Store, org: &OrgId, prefix: &str, limit: usize) -> Vec<Subscription> {
    read_pages(
        &format!("{prefix:?}"),
        limit,
        None,
        |m: &Subscription| (m.email.clone(), m.member_id.clone()),
        |x, (e, m)| (&x.email, &x.member_id) > (e, m),
        |cursor| async move {
            store
                .search_members(org, prefix, cursor.as_ref().map(|(e, m)| (e, m)), limit)
                .await
                .unwrap()
        },
    )
    .await
}

pub async fn member_search_pages_by_email_then_numeric_id(store: Store) {
    let o = org();
    let members: Vec<Subscription> = MEMBERS.iter().map(|(id, e)| member(&o, id, e)).collect();
    store.upsert_members(&o, &members).await.unwrap();
    // The same address and a matching one in another org must never show.
    let theirs = [
        member(&other_org(), "11", "ann@example.com"),
        member(&other_org(), "12", "anz@example.com"),
    ];
    store.upsert_members(&other_org(), &theirs).await.unwrap();
    let removed_id = MemberId::parse("42").unwrap();
    store
        .mark_removed(
            &o,
            std::slice::from_ref(&removed_id),
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    let t1 = t0() + Duration::hours(5);
    store
        .put_download_run(&completed_run(&o, t1, 9))
        .await
        .unwrap();

    let everyone = search_all(&store, &o, "", 50).await;
    assert_eq!(
        ids(&everyone),
        ["8", "5", "9", "10", "100", "77", "3", "61", "42", "1234"],
        "\"\" is everyone (the removed member too), by (email, numeric id)"
    );
    for m in &everyone {
        assert_eq!(
            Some(m),
            store.get_member(&o, &m.member_id).await.unwrap().as_ref(),
            "a found member is the stored member, with get_member's last_seen_at"
        );
    }
    let seen = |id: &str| {
        everyone
            .iter()
            .find(|m| m.member_id.as_str() == id)
            .unwrap()
            .last_seen_at
    };
    assert_eq!(
        seen("3"),
        t1,
        "a member not removed was seen by the last complete download"
    );
    assert!(seen("42") < t1, "a removed member was not");

    for prefix in [
        "",
        "a",
        "an",
        "ann",
        "ann@",
        "ann@example.com",
        "anna",
        "b",
        "ñ",
        "n",
        "joann",
        "ann@example.com.",
        "zzz",
    ] {
        let mut want: Vec<&Subscription> = everyone
            .iter()
            .filter(|m| m.email.as_str().starts_with(prefix))
            .collect();
        want.sort_by(|a, b| (&a.email, &a.member_id).cmp(&(&b.email, &b.member_id)));
        let want: Vec<&str> = want.iter().map(|m| m.member_id.as_str()).collect();
        for limit in [1, 2, 3, 50] {
            let got = search_all(&store, &o, prefix, limit).await;
            assert_eq!(ids(&got), want, "prefix {prefix:?}, {limit} a page");
            assert!(got.iter().all(|m| m.org_id == o), "only the org's members");
        }
    }

    let email = |s: &str| Email::parse(s).unwrap();
    let id = |s: &str| MemberId::parse(s).unwrap();
    let after = |e: &str, m: &str| (email(e), id(m));
    let page = |prefix: &'static str, cursor: (Email, MemberId), limit: usize| {
        let store = store.clone();
        let o = o.clone();
        async move {
            store
                .search_members(&o, prefix, Some((&cursor.0, &cursor.1)), limit)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        ids(&page("ann", after("ann@example.com", "9"), 50).await),
        ["10", "100", "77"],
        "strictly after the cursor, inside a run of one address"
    );
    assert_eq!(
        ids(&page("", after("ann@example.com", "11"), 2).await),
        ["100", "77"],
        "a cursor that is no member: numeric id order (11 < 100)"
    );
    assert_eq!(
        ids(&page("b", after("aaa@example.com", "1"), 50).await),
        ["3"],
        "a cursor before the prefix"
    );
    assert!(
        page("b", after("bob@example.com", "3"), 50)
            .await
            .is_empty(),
        "nothing after the last match"
    );
    assert!(
        store
            .search_members(&OrgId::parse("1").unwrap(), "", None, 50)
            .await
            .unwrap()
            .is_empty()
    );
}
