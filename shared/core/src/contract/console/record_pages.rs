//! Contract of [`SubscriptionStore::list_reclaim_records_page`]: the console's reclaim history, newest first.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::super::fixtures::*;
use super::super::pages::read_pages;
use crate::domain::{Email, MemberId, OrgId, PlanId};
use crate::ports::SubscriptionStore;
use crate::reclaim::{ReclaimRecord, ReclaimState, ReclaimTransition, RecordCursor};

type Store = Arc<dyn SubscriptionStore>;

/// The page order's key: (created_at, plan id, member id in numeric order).
fn key(r: &ReclaimRecord) -> (DateTime<Utc>, PlanId, MemberId) {
    (r.created_at, r.plan_id, r.member_id.clone())
}

fn cursor_key(c: &RecordCursor) -> (DateTime<Utc>, PlanId, MemberId) {
    (c.created_at, c.plan_id, c.member_id.clone())
}

fn record(org: &OrgId, plan: PlanId, member: &str, at: DateTime<Utc>) -> ReclaimRecord {
    ReclaimRecord::pending(
        plan,
        org.clone(),
        MemberId::parse(member).expect("member id"),
        Email::parse(&format!("m{member}@example.com")).expect("email"),
        at,
    )
}

async fn read_all(
    store: &Store,
    state: Option<ReclaimState>,
    from: Option<RecordCursor>,
    limit: usize,
) -> Vec<ReclaimRecord> {
    read_pages(
        &format!("{state:?}"),
        limit,
        from,
        RecordCursor::of,
        |r, c| key(r) < cursor_key(c),
        |cursor| async move {
            store
                .list_reclaim_records_page(&org(), state, cursor.as_ref(), limit)
                .await
                .unwrap()
        },
    )
    .await
}

pub async fn reclaim_record_pages_newest_first_with_state_filter(store: Store) {
    let o = org();
    let t = |h: i64| t0() + Duration::hours(h);
    // An enqueue creates a plan's records at one instant; two plans share another instant.
    let (first, twin_a, twin_b, last) =
        (PlanId::new(), PlanId::new(), PlanId::new(), PlanId::new());
    let mut ours = Vec::new();
    for m in ["9", "10", "11", "99", "100", "1000", "2", "25"] {
        ours.push(record(&o, first, m, t(0)));
    }
    for m in ["5", "50", "500"] {
        ours.push(record(&o, twin_a, m, t(1)));
    }
    for m in ["7", "70"] {
        ours.push(record(&o, twin_b, m, t(1)));
    }
    ours.push(record(&o, last, "3", t(2)));
    for r in &ours {
        store.create_reclaim_record(r).await.unwrap();
    }
    for r in [
        record(&other_org(), PlanId::new(), "9", t(3)),
        record(&other_org(), twin_a, "6", t(1)),
    ] {
        store.create_reclaim_record(&r).await.unwrap();
    }
    // Some records move on: the state filter must see the stored state.
    let moves = [
        (first, "10", ReclaimState::Applying),
        (first, "100", ReclaimState::Skipped),
        (first, "2", ReclaimState::Done),
        (twin_a, "50", ReclaimState::Done),
        (twin_b, "7", ReclaimState::Failed),
        (last, "3", ReclaimState::Done),
    ];
    for (plan, m, to) in moves {
        let member = MemberId::parse(m).unwrap();
        let moved = store
            .transition_reclaim(
                plan,
                &member,
                ReclaimState::Pending,
                &ReclaimTransition {
                    to,
                    scim_user_id: Some(format!("scim-{m}")),
                    outcome: None,
                    at: t(4),
                },
            )
            .await
            .unwrap();
        let slot = ours
            .iter_mut()
            .find(|r| r.plan_id == plan && r.member_id == member)
            .unwrap();
        *slot = moved;
    }
    ours.sort_by_key(|r| std::cmp::Reverse(key(r)));

    let states = [
        None,
        Some(ReclaimState::Pending),
        Some(ReclaimState::Applying),
        Some(ReclaimState::Done),
        Some(ReclaimState::Skipped),
        Some(ReclaimState::Failed),
    ];
    for state in states {
        let want: Vec<ReclaimRecord> = ours
            .iter()
            .filter(|r| state.is_none_or(|s| r.state == s))
            .cloned()
            .collect();
        assert!(!want.is_empty(), "fixture: {state:?}");
        for limit in [1, 3, 100] {
            assert_eq!(
                read_all(&store, state, None, limit).await,
                want,
                "{state:?}, {limit} a page: newest first by (created_at, plan, numeric member id), each once"
            );
        }
    }

    // Strictly before a cursor, whether or not it is a stored record.
    let cursors = [
        RecordCursor::of(&ours[4]),
        RecordCursor::of(&ours[ours.len() - 4]),
        RecordCursor {
            created_at: t(0),
            plan_id: first,
            member_id: MemberId::parse("12").unwrap(),
        },
        RecordCursor {
            created_at: t(1),
            plan_id: twin_a.max(twin_b),
            member_id: MemberId::parse("60").unwrap(),
        },
        RecordCursor {
            created_at: t(1) + Duration::minutes(1),
            plan_id: first,
            member_id: MemberId::parse("1").unwrap(),
        },
    ];
    for c in cursors {
        for state in [None, Some(ReclaimState::Done)] {
            let want: Vec<ReclaimRecord> = ours
                .iter()
                .filter(|r| key(r) < cursor_key(&c))
                .filter(|r| state.is_none_or(|s| r.state == s))
                .cloned()
                .collect();
            assert_eq!(
                read_all(&store, state, Some(c.clone()), 2).await,
                want,
                "{state:?} before {c:?}"
            );
        }
    }
    assert!(
        store
            .list_reclaim_records_page(&OrgId::parse("1").unwrap(), None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
