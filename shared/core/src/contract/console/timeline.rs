//! Contract of [`SubscriptionStore::append_member_events`] and [`SubscriptionStore::list_member_events`]: each
//! member's timeline, written once per event key and read newest first.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use miro_client::{License, Role};

use super::super::fixtures::*;
use super::super::pages::read_pages;
use crate::domain::{MemberId, OrgId, PlanId};
use crate::ports::SubscriptionStore;
use crate::timeline::{ActivityBucket, MemberChange, MemberEvent};

type Store = Arc<dyn SubscriptionStore>;

fn ev(org: &OrgId, member: &MemberId, at: DateTime<Utc>, change: MemberChange) -> MemberEvent {
    MemberEvent {
        org_id: org.clone(),
        member_id: member.clone(),
        at,
        change,
    }
}

/// Member 1's timeline in `org`: an old join (inside the retention), changes, and two events at one instant.
fn timeline(org: &OrgId, plan: PlanId) -> Vec<MemberEvent> {
    let m = member_id(1);
    vec![
        ev(
            org,
            &m,
            t0() - Duration::days(399),
            MemberChange::Joined {
                license: License::Full,
                role: Role::InternalUser,
            },
        ),
        ev(
            org,
            &m,
            t0() - Duration::days(10),
            MemberChange::ActivityCrossed {
                from: ActivityBucket::Within(30),
                to: ActivityBucket::Beyond,
            },
        ),
        ev(
            org,
            &m,
            t0(),
            MemberChange::Planned {
                plan_id: plan,
                reason: "no activity for 120 days".into(),
            },
        ),
        ev(
            org,
            &m,
            t0(),
            MemberChange::Reclaimed {
                plan_id: plan,
                by: "miro-sam reclaim".into(),
                approved_by: Some("admin@example.com".into()),
            },
        ),
        ev(
            org,
            &m,
            t0() + Duration::days(1),
            MemberChange::Reactivated {
                by: "admin@example.com".into(),
                why: "back from leave".into(),
            },
        ),
    ]
}

fn newest_first(mut v: Vec<MemberEvent>) -> Vec<MemberEvent> {
    v.sort_by_key(|e| std::cmp::Reverse(e.key()));
    v
}

async fn read_all(store: &Store, org: &OrgId, member: &MemberId, limit: usize) -> Vec<MemberEvent> {
    read_pages(
        "member events",
        limit,
        None,
        MemberEvent::key,
        |e, before| &e.key() < before,
        |before| async move {
            store
                .list_member_events(org, member, before.as_deref(), limit)
                .await
                .unwrap()
        },
    )
    .await
}

/// A re-run appends the same events again (and the same key with other content): one copy, the first.
pub async fn member_events_append_once_per_key(store: Store) {
    let o = org();
    let events = timeline(&o, PlanId::new());
    store.append_member_events(&events[..3]).await.unwrap();
    store.append_member_events(&events).await.unwrap();
    store.append_member_events(&events).await.unwrap();
    let mut reworded = events[2].clone();
    reworded.change = MemberChange::Planned {
        plan_id: PlanId::new(),
        reason: "a later run's wording".into(),
    };
    assert_eq!(reworded.key(), events[2].key(), "fixture: the same key");
    store
        .append_member_events(std::slice::from_ref(&reworded))
        .await
        .unwrap();
    store.append_member_events(&[]).await.unwrap();
    assert_eq!(
        store
            .list_member_events(&o, &member_id(1), None, 100)
            .await
            .unwrap(),
        newest_first(events),
        "each event once, as first written"
    );
}

pub async fn member_events_page_newest_first_per_member_and_org(store: Store) {
    let o = org();
    let ours = timeline(&o, PlanId::new());
    // The same member id in another org, and another member of ours, with events at the same instants.
    let theirs: Vec<MemberEvent> = timeline(&other_org(), PlanId::new())
        .into_iter()
        .take(2)
        .collect();
    let second: Vec<MemberEvent> = ours
        .iter()
        .skip(2)
        .map(|e| MemberEvent {
            member_id: member_id(2),
            ..e.clone()
        })
        .collect();
    let mut all: Vec<MemberEvent> = ours.iter().chain(&theirs).chain(&second).cloned().collect();
    all.reverse();
    store.append_member_events(&all).await.unwrap();

    let want = newest_first(ours.clone());
    assert_eq!(
        want[0].change.kind(),
        "reactivated",
        "fixture: newest first"
    );
    for limit in [1, 2, 100] {
        assert_eq!(
            read_all(&store, &o, &member_id(1), limit).await,
            want,
            "{limit} a page: the member's events of the org, newest first by key"
        );
    }
    assert_eq!(
        read_all(&store, &o, &member_id(2), 2).await,
        newest_first(second)
    );
    assert_eq!(
        read_all(&store, &other_org(), &member_id(1), 2).await,
        newest_first(theirs)
    );
    assert!(
        store
            .list_member_events(&o, &member_id(3), None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Strictly before a stored key, and before a key that is no event's.
    let before = want[2].key();
    assert_eq!(
        store
            .list_member_events(&o, &member_id(1), Some(&before), 100)
            .await
            .unwrap(),
        want[3..].to_vec()
    );
    let between = ev(
        &o,
        &member_id(1),
        t0() - Duration::days(1),
        MemberChange::Left,
    )
    .key();
    assert_eq!(
        store
            .list_member_events(&o, &member_id(1), Some(&between), 1)
            .await
            .unwrap(),
        want[3..4].to_vec()
    );
}
