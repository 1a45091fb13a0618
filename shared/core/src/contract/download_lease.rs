//! The per-org download lease: one holder per org at a time, the same holder may extend it, an expired lease can
//! be taken over, releasing touches only the caller's own lease, and of many workers racing for an org exactly
//! one wins.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::fixtures::{org, other_org, t0};
use crate::ports::{DownloadLease, SubscriptionStore};

type Store = Arc<dyn SubscriptionStore>;

/// Leases keep milliseconds.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).expect("a time")
}

pub async fn download_lease_has_one_holder_per_org(store: Store) {
    let now = t0();
    let until = now + Duration::minutes(15);
    assert_eq!(
        store
            .take_download_lease(&org(), "worker-a", now, until)
            .await
            .unwrap(),
        DownloadLease::Taken
    );
    assert_eq!(
        store
            .take_download_lease(&org(), "worker-b", now + Duration::minutes(1), until)
            .await
            .unwrap(),
        DownloadLease::Held {
            holder: "worker-a".into(),
            until: ms(until)
        },
        "a second worker is told who holds it and until when"
    );
    assert_eq!(
        store
            .take_download_lease(&other_org(), "worker-b", now, until)
            .await
            .unwrap(),
        DownloadLease::Taken,
        "leases are per org"
    );
    // The holder extends its own lease.
    let later = until + Duration::minutes(15);
    assert_eq!(
        store
            .take_download_lease(&org(), "worker-a", now, later)
            .await
            .unwrap(),
        DownloadLease::Taken
    );
    assert_eq!(
        store
            .take_download_lease(&org(), "worker-b", until, later)
            .await
            .unwrap(),
        DownloadLease::Held {
            holder: "worker-a".into(),
            until: ms(later)
        },
        "the extension holds past the first until"
    );
}

pub async fn an_expired_download_lease_is_taken_over_and_release_is_the_holders_own(store: Store) {
    let now = t0();
    let until = now + Duration::minutes(15);
    store
        .take_download_lease(&org(), "dead-worker", now, until)
        .await
        .unwrap();
    // At `until` exactly the lease has ended.
    assert_eq!(
        store
            .take_download_lease(&org(), "worker-b", until, until + Duration::minutes(15))
            .await
            .unwrap(),
        DownloadLease::Taken
    );
    assert!(
        !store
            .release_download_lease(&org(), "dead-worker")
            .await
            .unwrap(),
        "the old holder cannot release the new holder's lease"
    );
    assert!(matches!(
        store.take_download_lease(&org(), "worker-c", until, until + Duration::minutes(1)).await.unwrap(),
        DownloadLease::Held { holder, .. } if holder == "worker-b"
    ));
    assert!(
        store
            .release_download_lease(&org(), "worker-b")
            .await
            .unwrap()
    );
    assert!(
        !store
            .release_download_lease(&org(), "worker-b")
            .await
            .unwrap(),
        "releasing twice is not an error, and says nothing was held"
    );
    assert_eq!(
        store
            .take_download_lease(&org(), "worker-c", until, until + Duration::minutes(1))
            .await
            .unwrap(),
        DownloadLease::Taken,
        "a released lease is free at once"
    );
}

pub async fn concurrent_download_leases_have_one_winner(store: Store) {
    let now = t0();
    let answers = futures::future::join_all((0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .take_download_lease(
                    &org(),
                    &format!("worker-{i}"),
                    now,
                    now + Duration::minutes(15),
                )
                .await
                .unwrap()
        }
    }))
    .await;
    let taken = answers
        .iter()
        .filter(|a| **a == DownloadLease::Taken)
        .count();
    assert_eq!(taken, 1, "{answers:?}");
}
