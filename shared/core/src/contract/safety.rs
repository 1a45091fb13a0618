//! Contract of the kill switch and holds in [`SubscriptionStore`].

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::domain::Email;
use crate::hold::{Hold, HoldSource};
use crate::pause::OrgPause;
use crate::ports::SubscriptionStore;

type Store = Arc<dyn SubscriptionStore>;

fn pause(org: &crate::domain::OrgId, reason: &str) -> OrgPause {
    OrgPause {
        org_id: org.clone(),
        reason: reason.into(),
        paused_by: "ops@example.com".into(),
        paused_at: t0(),
    }
}

pub async fn pause_round_trip(store: Store) {
    let (a, b) = (org(), other_org());
    assert_eq!(store.get_pause(&a).await.unwrap(), None);
    assert_eq!(
        store.clear_pause(&a).await.unwrap(),
        None,
        "clearing nothing is fine"
    );
    let p = pause(&a, "audit in progress");
    store.put_pause(&p).await.unwrap();
    assert_eq!(store.get_pause(&a).await.unwrap(), Some(p.clone()));
    assert_eq!(store.get_pause(&b).await.unwrap(), None, "scoped per org");
    let p2 = pause(&a, "still auditing");
    store.put_pause(&p2).await.unwrap();
    assert_eq!(
        store.get_pause(&a).await.unwrap(),
        Some(p2.clone()),
        "replaced"
    );
    assert_eq!(
        store.clear_pause(&a).await.unwrap(),
        Some(p2),
        "returns what it removed"
    );
    assert_eq!(store.get_pause(&a).await.unwrap(), None);
}

fn hold(org: &crate::domain::OrgId, n: u64, days: i64) -> Hold {
    Hold {
        org_id: org.clone(),
        member_id: member_id(n),
        email: Email::parse(&format!("user{n}@example.com")).unwrap(),
        source: HoldSource::Reactivated,
        reason: "needs Miro for the launch".into(),
        created_by: "ops@example.com".into(),
        created_at: t0(),
        expires_at: t0() + Duration::days(days),
    }
}

pub async fn holds_round_trip(store: Store) {
    let (a, b) = (org(), other_org());
    assert!(store.list_holds(&a).await.unwrap().is_empty());
    assert_eq!(store.get_hold(&a, &member_id(10)).await.unwrap(), None);
    // Ids 10, 9, 100: numeric order is 9, 10, 100 (text order would be 10, 100, 9).
    for h in [
        hold(&a, 10, 90),
        hold(&a, 9, 90),
        hold(&a, 100, 1),
        hold(&b, 10, 5),
    ] {
        store.put_hold(&h).await.unwrap();
    }
    let ids: Vec<_> = store
        .list_holds(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.member_id)
        .collect();
    assert_eq!(ids, vec![member_id(9), member_id(10), member_id(100)]);
    assert_eq!(
        store.get_hold(&b, &member_id(10)).await.unwrap(),
        Some(hold(&b, 10, 5)),
        "scoped per org"
    );
    let newer = Hold {
        source: HoldSource::ReactivatedInMiro,
        created_at: t0() + Duration::days(1),
        expires_at: t0() + Duration::days(91),
        ..hold(&a, 10, 90)
    };
    store.put_hold(&newer).await.unwrap();
    assert_eq!(
        store.get_hold(&a, &member_id(10)).await.unwrap(),
        Some(newer),
        "one hold per member: the newer replaces the older"
    );
    assert!(store.delete_hold(&a, &member_id(10)).await.unwrap());
    assert!(!store.delete_hold(&a, &member_id(10)).await.unwrap());
    assert_eq!(store.list_holds(&a).await.unwrap().len(), 2);
    assert_eq!(store.list_holds(&b).await.unwrap().len(), 1);
}
