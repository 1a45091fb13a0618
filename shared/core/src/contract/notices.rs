//! Contract of [`NoticeStore`]: insert once, compare-and-set on the version (one winner under concurrency),
//! strongly consistent reads, pages in numeric member id order per org. Adapters run it with
//! [`notice_store_contract_tests!`](crate::notice_store_contract_tests).

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::StoreError;
use crate::domain::{Email, MemberId, OrgId, PlanId};
use crate::notices::{DropReason, NoticeRecord, NoticeState, Reminder, ReminderState};
use crate::ports::NoticeStore;

type Notices = Arc<dyn NoticeStore>;

/// A first-cycle claim for `member` of `org`, with nanosecond times and a reminder, so a store that loses a
/// field or truncates a time fails the round trip.
pub fn notice_claim(org: &OrgId, member: &MemberId) -> NoticeRecord {
    NoticeRecord {
        org_id: org.clone(),
        member_id: member.clone(),
        email: Email::parse(&format!("user{member}@example.com")).expect("fixture email"),
        cycle: 1,
        version: 1,
        state: NoticeState::Sending { since: t0() },
        plan_id: PlanId::new(),
        days_inactive: 131,
        notified_on: day(1),
        reclaim_on: day(8),
        reminders: vec![Reminder {
            days_before: 2,
            state: ReminderState::Sent {
                at: t0() + Duration::nanoseconds(3),
            },
        }],
        updated_at: t0(),
    }
}

pub async fn notice_is_inserted_once_then_compared_and_set(notices: Notices) {
    let (a, m) = (org(), member_id(1));
    assert_eq!(notices.get_notice(&a, &m).await.unwrap(), None);
    let claim = notice_claim(&a, &m);
    notices.put_notice(&claim, None).await.unwrap();
    assert_eq!(
        notices.get_notice(&a, &m).await.unwrap(),
        Some(claim.clone())
    );
    let again = notices.put_notice(&claim, None).await.unwrap_err();
    assert!(
        again.is_already_exists(),
        "a second insert must be AlreadyExists: {again}"
    );

    let notified = claim.next(NoticeState::Notified, t0() + Duration::seconds(1));
    notices.put_notice(&notified, Some(1)).await.unwrap();
    assert_eq!(
        notices.get_notice(&a, &m).await.unwrap(),
        Some(notified.clone())
    );
    // A writer that read version 1 lost: the stored record is untouched.
    let stale = claim.next(NoticeState::Unconfirmed, t0() + Duration::seconds(2));
    let lost = notices.put_notice(&stale, Some(1)).await.unwrap_err();
    assert!(
        lost.is_conflict(),
        "a stale write must be a Conflict: {lost}"
    );
    assert_eq!(
        notices.get_notice(&a, &m).await.unwrap(),
        Some(notified.clone())
    );

    // A new cycle replaces an ended one through the same compare-and-set.
    let ended = notified.next(
        NoticeState::DroppedOut {
            reason: DropReason::NoLongerCandidate,
        },
        t0() + Duration::seconds(3),
    );
    notices.put_notice(&ended, Some(2)).await.unwrap();
    let next_cycle = NoticeRecord {
        cycle: 2,
        reminders: vec![],
        ..ended.next(
            NoticeState::Sending {
                since: t0() + Duration::days(30),
            },
            t0() + Duration::days(30),
        )
    };
    notices.put_notice(&next_cycle, Some(3)).await.unwrap();
    assert_eq!(notices.get_notice(&a, &m).await.unwrap(), Some(next_cycle));

    let missing = notices
        .put_notice(
            &notice_claim(&a, &member_id(2)).next(NoticeState::Notified, t0()),
            Some(1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound { .. }),
        "an update of a member without a record must be NotFound: {missing}"
    );
    // A write whose version does not follow the expected one is refused before anything is stored.
    let skipped = NoticeRecord {
        version: 7,
        ..notice_claim(&a, &member_id(3))
    };
    assert!(notices.put_notice(&skipped, None).await.is_err());
    assert_eq!(notices.get_notice(&a, &member_id(3)).await.unwrap(), None);
}

pub async fn concurrent_notice_claims_have_one_winner(notices: Notices) {
    let (a, m) = (org(), member_id(1));
    let inserts = (0..8).map(|i| {
        let notices = notices.clone();
        let claim = NoticeRecord {
            days_inactive: i,
            ..notice_claim(&a, &m)
        };
        tokio::spawn(async move { notices.put_notice(&claim, None).await })
    });
    one_wins(
        inserts,
        "exactly one insert wins",
        StoreError::is_already_exists,
    )
    .await;
    let stored = notices.get_notice(&a, &m).await.unwrap().expect("stored");
    let updates = (0..8).map(|i| {
        let notices = notices.clone();
        let next = NoticeRecord {
            days_inactive: 100 + i,
            ..stored.next(NoticeState::Notified, t0())
        };
        tokio::spawn(async move { notices.put_notice(&next, Some(1)).await })
    });
    one_wins(
        updates,
        "exactly one compare-and-set wins",
        StoreError::is_conflict,
    )
    .await;
    let after = notices.get_notice(&a, &m).await.unwrap().expect("stored");
    assert_eq!(after.version, 2);
    assert!(after.days_inactive >= 100, "the winner's write is stored");
}

pub async fn notice_pages_follow_numeric_id_order_per_org(notices: Notices) {
    let (a, b) = (org(), other_org());
    // Lengths differ on purpose: text order would put "100" before "11" and "9" last.
    let ids = ["9", "10", "11", "100", "3458764517517800001", "99"];
    for id in ids {
        let m = MemberId::parse(id).unwrap();
        notices
            .put_notice(&notice_claim(&a, &m), None)
            .await
            .unwrap();
    }
    notices
        .put_notice(&notice_claim(&b, &MemberId::parse("50").unwrap()), None)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after: Option<MemberId> = None;
    loop {
        let page = notices
            .list_notices_page(&a, after.as_ref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2, "a page holds at most the limit");
        assert!(page.iter().all(|r| r.org_id == a), "only the org's records");
        let done = page.len() < 2;
        after = page.last().map(|r| r.member_id.clone());
        seen.extend(page.into_iter().map(|r| r.member_id.to_string()));
        if done {
            break;
        }
    }
    assert_eq!(
        seen,
        ["9", "10", "11", "99", "100", "3458764517517800001"],
        "numeric member id order, every record once"
    );
    let from_99 = notices
        .list_notices_page(&a, Some(&MemberId::parse("99").unwrap()), 10)
        .await
        .unwrap();
    assert_eq!(from_99.len(), 2, "strictly after the cursor");
    assert_eq!(
        notices.list_notices_page(&b, None, 10).await.unwrap().len(),
        1
    );
}

/// Expands to one `#[tokio::test]` per [`NoticeStore`] behaviour, inside a module named `notice_store_contract`.
/// The factory must return an EMPTY store each call.
#[macro_export]
macro_rules! notice_store_contract_tests {
    (notices: $make:expr $(,)?) => {
        mod notice_store_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_contract_tests!(@each $make;
                notice_is_inserted_once_then_compared_and_set,
                concurrent_notice_claims_have_one_winner,
                notice_pages_follow_numeric_id_order_per_org,
            );
        }
    };
}

/// Runs the racing writes; exactly one succeeds and every other fails as `lost` says it must.
async fn one_wins<T: std::fmt::Debug + Send + 'static>(
    racers: impl Iterator<Item = tokio::task::JoinHandle<Result<T, StoreError>>>,
    what: &str,
    lost: fn(&StoreError) -> bool,
) {
    let results: Vec<_> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{what}: {results:?}"
    );
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(lost));
}
