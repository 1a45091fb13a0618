//! Contract of [`TokenStore`], its refresh lease included. The refresh scenarios against the Miro sandbox, which
//! need more than the store, are in [`refresh`].

mod refresh;

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use secrecy::{ExposeSecret, SecretString};

pub use refresh::*;

use super::fixtures::*;
use crate::error::StoreError;
use crate::ports::{RefreshLease, TokenBundle, TokenStore};

type Tokens = Arc<dyn TokenStore>;

fn bundle(access: &str, refresh: Option<&str>) -> TokenBundle {
    TokenBundle {
        org_id: org(),
        access_token: SecretString::from(access),
        refresh_token: refresh.map(SecretString::from),
        expires_at: Some(t0() + Duration::hours(1)),
        team_id: Some("3074457362577833142".into()),
        user_id: Some("3458764517517819000".into()),
        scopes: vec![
            "organizations:read".into(),
            "organizations:teams:read".into(),
        ],
        version: 0,
    }
}

fn same(a: &TokenBundle, b: &TokenBundle) -> bool {
    a.org_id == b.org_id
        && a.access_token.expose_secret() == b.access_token.expose_secret()
        && a.refresh_token
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            == b.refresh_token
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
        && a.expires_at == b.expires_at
        && a.team_id == b.team_id
        && a.user_id == b.user_id
        && a.scopes == b.scopes
}

pub async fn token_bundle_round_trip(tokens: Tokens) {
    let b = bundle("at-1", Some("rt-1"));
    let v = tokens.put_tokens(&b).await.unwrap();
    assert_eq!(v, 1);
    let got = tokens.get_tokens(&org()).await.unwrap();
    assert!(same(&got, &b), "read back exactly");
    assert_eq!(got.version, 1);
    let dbg = format!("{got:?}");
    assert!(
        !dbg.contains("at-1") && !dbg.contains("rt-1"),
        "secrets must not show in Debug: {dbg}"
    );

    let no_expiry = TokenBundle {
        refresh_token: None,
        expires_at: None,
        team_id: None,
        user_id: None,
        scopes: vec![],
        ..bundle("at-2", None)
    };
    assert_eq!(
        tokens.put_tokens(&no_expiry).await.unwrap(),
        2,
        "an unconditional put bumps the version"
    );
    let got = tokens.get_tokens(&org()).await.unwrap();
    assert!(same(&got, &no_expiry));
    assert_eq!(got.version, 2);
}

pub async fn token_version_conflict(tokens: Tokens) {
    tokens
        .put_tokens(&bundle("at-1", Some("rt-1")))
        .await
        .unwrap();
    let winner = bundle("at-winner", Some("rt-winner"));
    let loser = bundle("at-loser", Some("rt-loser"));
    assert_eq!(tokens.put_tokens_if_version(&winner, 1).await.unwrap(), 2);
    let lost = tokens.put_tokens_if_version(&loser, 1).await;
    assert!(
        matches!(lost, Err(StoreError::Conflict { .. })),
        "stale version: {lost:?}"
    );
    let got = tokens.get_tokens(&org()).await.unwrap();
    assert_eq!(
        got.access_token.expose_secret(),
        "at-winner",
        "the winner's token stays"
    );
    assert_eq!(got.version, 2);

    let mut nowhere = bundle("x", None);
    nowhere.org_id = other_org();
    let absent = tokens.put_tokens_if_version(&nowhere, 0).await;
    assert!(
        matches!(absent, Err(StoreError::Conflict { .. })),
        "nothing stored: {absent:?}"
    );
}

pub async fn missing_tokens_are_typed_errors(tokens: Tokens) {
    match tokens.get_tokens(&other_org()).await {
        Err(StoreError::NotConnected { org }) => assert_eq!(org, OTHER_ORG),
        other => panic!("expected NotConnected, got {other:?}"),
    }
    let msg = tokens
        .get_tokens(&other_org())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains(OTHER_ORG) && msg.contains("connect"), "{msg}");
    match tokens.get_scim_token(&other_org()).await {
        Err(StoreError::NoScimToken { org }) => assert_eq!(org, OTHER_ORG),
        other => panic!("expected NoScimToken, got {:?}", other.map(|_| "a token")),
    }
}

pub async fn scim_token_round_trip(tokens: Tokens) {
    tokens
        .put_scim_token(&org(), &SecretString::from("scim-1"))
        .await
        .unwrap();
    assert_eq!(
        tokens.get_scim_token(&org()).await.unwrap().expose_secret(),
        "scim-1"
    );
    tokens
        .put_scim_token(&org(), &SecretString::from("scim-2"))
        .await
        .unwrap();
    assert_eq!(
        tokens.get_scim_token(&org()).await.unwrap().expose_secret(),
        "scim-2"
    );
    assert!(tokens.get_scim_token(&other_org()).await.is_err());
}

/// Leases are kept to the millisecond.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::milliseconds(1)).expect("a time")
}

pub async fn refresh_lease_has_one_holder_per_version(tokens: Tokens) {
    let v = tokens
        .put_tokens(&bundle("at-1", Some("rt-1")))
        .await
        .unwrap();
    let lease = Duration::minutes(15);
    let (now, until) = (t0(), t0() + lease);
    let lease_of = |version: u64, at: DateTime<Utc>| {
        let tokens = tokens.clone();
        async move {
            tokens
                .lease_refresh(&org(), version, at, at + lease)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        tokens.lease_refresh(&org(), v, now, until).await.unwrap(),
        RefreshLease::Taken
    );
    let later = now + Duration::seconds(1);
    assert_eq!(
        lease_of(v, later).await,
        RefreshLease::Held { until: ms(until) },
        "a second worker is told who holds it until when"
    );
    assert_eq!(
        lease_of(v + 1, later).await,
        RefreshLease::Moved,
        "a version that is not stored"
    );

    tokens
        .release_refresh(&org(), v, later + lease)
        .await
        .unwrap();
    assert!(
        matches!(lease_of(v, later).await, RefreshLease::Held { .. }),
        "releasing with another end time (someone else's lease) leaves the holder's lease alone"
    );
    tokens.release_refresh(&org(), v, until).await.unwrap();
    assert_eq!(
        lease_of(v, later).await,
        RefreshLease::Taken,
        "the holder's own release frees it"
    );

    let v2 = tokens
        .put_tokens_if_version(&bundle("at-2", Some("rt-2")), v)
        .await
        .unwrap();
    assert_eq!(lease_of(v, later).await, RefreshLease::Moved);
    assert_eq!(
        lease_of(v2, later).await,
        RefreshLease::Taken,
        "storing the refreshed tokens ends the lease"
    );
    assert_eq!(
        lease_of(v2, later + lease).await,
        RefreshLease::Taken,
        "a lease that has ended is taken over"
    );
    let v3 = tokens
        .put_tokens(&bundle("at-3", Some("rt-3")))
        .await
        .unwrap();
    assert_eq!(
        lease_of(v3, later + lease).await,
        RefreshLease::Taken,
        "a reconnect ends it too"
    );

    match tokens.lease_refresh(&other_org(), 1, now, until).await {
        Err(StoreError::NotConnected { org }) => assert_eq!(org, OTHER_ORG),
        other => panic!("expected NotConnected, got {other:?}"),
    }
    let mut theirs = bundle("at-other", Some("rt-other"));
    theirs.org_id = other_org();
    let w = tokens.put_tokens(&theirs).await.unwrap();
    assert_eq!(
        tokens
            .lease_refresh(&other_org(), w, later, later + lease)
            .await
            .unwrap(),
        RefreshLease::Taken,
        "leases are per org"
    );
}

pub async fn concurrent_refresh_leases_have_one_winner(tokens: Tokens) {
    let v = tokens
        .put_tokens(&bundle("at-1", Some("rt-1")))
        .await
        .unwrap();
    let now = t0();
    let answers = futures::future::join_all((0..8).map(|i| {
        let tokens = tokens.clone();
        async move {
            let until = now + Duration::minutes(15) + Duration::milliseconds(i);
            tokens.lease_refresh(&org(), v, now, until).await.unwrap()
        }
    }))
    .await;
    let taken = answers
        .iter()
        .filter(|a| **a == RefreshLease::Taken)
        .count();
    assert_eq!(taken, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, RefreshLease::Taken | RefreshLease::Held { .. })),
        "{answers:?}"
    );
}
