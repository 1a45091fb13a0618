//! Token refresh before a job, the refresh lease and the race between two workers refreshing the same org, and
//! rotated tokens that a failing write must not lose: the core's refresh scenarios on SQLite and the sandbox.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, Utc};
use common::*;
use miro_client::{ExposeSecret, SecretString};
use miro_sam_core::StoreError;
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::contract;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{self, JobError};
use miro_sam_core::ports::{AuditStore, OrgStore, RefreshLease, TokenBundle, TokenStore};
use miro_sam_sqlite::SqliteStore;
use miro_sandbox::SandboxControl;

/// Plays the browser: approves the app and returns the code from the redirect.
async fn authorization_code(w: &World) -> SecretString {
    miro_sam_testkit::world::authorization_code(&w.deps.client, "csrf-state").await
}

/// Runs the real authorization-code flow against the sandbox to get an expiring token with a refresh token.
async fn connect_with_refresh_token(w: &World) -> TokenBundle {
    let code = authorization_code(w).await;
    let grant = w
        .deps
        .client
        .exchange_code(&oauth_app(), &code)
        .await
        .unwrap();
    assert!(
        grant.refresh_token.is_some(),
        "the sandbox issues expiring tokens by default"
    );
    TokenBundle {
        org_id: w.org.clone(),
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        // Inside the two-minute margin: the next job must refresh first.
        expires_at: Some(Utc::now() + Duration::seconds(60)),
        team_id: grant.team_id,
        user_id: grant.user_id,
        scopes: grant.scopes,
        version: 0,
    }
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_the_download() {
    let w = world(50).await;
    let bundle = connect_with_refresh_token(&w).await;
    w.store.put_tokens(&bundle).await.unwrap();
    let before = w.store.get_tokens(&w.org).await.unwrap();

    let summary = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(summary.members_seen, 50);
    assert_eq!(w.control.refresh_count(), 1);
    let after = w.store.get_tokens(&w.org).await.unwrap();
    assert_eq!(after.version, before.version + 1);
    assert_ne!(
        after.access_token.expose_secret(),
        before.access_token.expose_secret()
    );
    assert_ne!(
        after.refresh_token.as_ref().unwrap().expose_secret(),
        before.refresh_token.as_ref().unwrap().expose_secret(),
        "the rotated refresh token is stored; the old one is spent"
    );
    assert!(after.expires_at.unwrap() > Utc::now() + Duration::minutes(30));

    // Fresh now: the next run does not refresh again.
    jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(w.control.refresh_count(), 1);
}

/// A token store where another worker stores its refreshed token just before ours is written, and the tokens
/// our worker got from its own refresh are revoked: only the winner's token works afterwards.
struct RacingTokens {
    inner: SqliteStore,
    control: SandboxControl,
    org: OrgId,
    raced: Mutex<bool>,
    reads: AtomicU32,
}

miro_sam_core::forward_token_store! {
    RacingTokens => inner: [put_tokens, lease_refresh, release_refresh, get_scim_token, put_scim_token];

    async fn get_tokens(&self, org: &OrgId) -> Result<TokenBundle, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_tokens(org).await
    }

    async fn put_tokens_if_version(
        &self,
        bundle: &TokenBundle,
        expected: u64,
    ) -> Result<u64, StoreError> {
        let race = std::mem::replace(&mut *self.raced.lock().unwrap(), true);
        if !race {
            self.control.revoke_all_tokens(self.org.as_str());
            let winner = TokenBundle {
                access_token: SecretString::from(
                    self.control.issue_access_token(self.org.as_str()),
                ),
                refresh_token: None,
                expires_at: Some(Utc::now() + Duration::minutes(50)),
                ..bundle.clone()
            };
            self.inner.put_tokens(&winner).await?;
        }
        self.inner.put_tokens_if_version(bundle, expected).await
    }
}

#[tokio::test]
async fn losing_the_refresh_race_uses_the_winners_token() {
    let mut w = world(50).await;
    let bundle = connect_with_refresh_token(&w).await;
    w.store.put_tokens(&bundle).await.unwrap();
    let racing = std::sync::Arc::new(RacingTokens {
        inner: w.store.clone(),
        control: w.control.clone(),
        org: w.org.clone(),
        raced: Mutex::new(false),
        reads: AtomicU32::new(0),
    });
    w.deps.tokens = racing.clone();

    let summary = jobs::download_org(&w.deps, &w.org)
        .await
        .expect("the winner's token works");
    assert_eq!(summary.members_seen, 50);
    assert_eq!(
        w.control.refresh_count(),
        1,
        "no second refresh after losing"
    );
    assert_eq!(
        racing.reads.load(Ordering::SeqCst),
        2,
        "read, lose, re-read"
    );
    let stored = w.store.get_tokens(&w.org).await.unwrap();
    assert!(
        stored.refresh_token.is_none(),
        "the winner's bundle was kept, ours discarded"
    );
}

#[tokio::test]
async fn missing_or_dead_credentials_say_what_to_do() {
    let w = world(10).await;
    // Expired, no refresh token: the job refuses before calling Miro.
    let mut b = w.store.get_tokens(&w.org).await.unwrap();
    b.expires_at = Some(Utc::now() - Duration::minutes(1));
    w.store.put_tokens(&b).await.unwrap();
    let err = jobs::download_org(&w.deps, &w.org).await.unwrap_err();
    assert!(matches!(err, JobError::TokenExpired { .. }), "{err}");
    assert!(err.needs_reconnect() && !err.is_retryable());
    assert!(err.to_string().contains("reconnect"), "{err}");

    // No tokens at all for an org.
    let stranger = OrgId::parse("1234567890").unwrap();
    let err = jobs::download_org(&w.deps, &stranger).await.unwrap_err();
    assert!(
        matches!(err, JobError::Store(StoreError::NotConnected { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("1234567890"), "{err}");

    // A revoked token: Miro's 401 comes back as needing a reconnect, not as retryable.
    b.expires_at = None;
    w.store.put_tokens(&b).await.unwrap();
    w.control.revoke_all_tokens(&w.org_str());
    let err = jobs::download_org(&w.deps, &w.org).await.unwrap_err();
    assert!(err.needs_reconnect() && !err.is_retryable(), "{err}");
}

#[tokio::test]
async fn connecting_an_org_stores_its_tokens_and_registers_it() {
    // No tokens stored: the org is connected through the OAuth flow below.
    let w = sqlite_world(
        miro_sandbox::SandboxConfig::unlimited(20),
        Tokens {
            access: false,
            scim: false,
        },
    )
    .await;
    let (org, store) = (w.org.clone(), w.store.clone());

    // Tokens for another org than expected: refused, nothing stored.
    let other = OrgId::parse("42").unwrap();
    let code = authorization_code(&w).await;
    let err = jobs::connect_org(
        &w.deps,
        &oauth_app(),
        &code,
        &jobs::ConnectOptions {
            allowed_orgs: Some(vec![other.clone()]),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("not one this deployment may manage"),
        "{err}"
    );
    assert!(store.get_tokens(&org).await.is_err());
    assert!(store.get_org(&org).await.unwrap().is_none());

    let code = authorization_code(&w).await;
    let c = jobs::connect_org(
        &w.deps,
        &oauth_app(),
        &code,
        &jobs::ConnectOptions {
            allowed_orgs: Some(vec![org.clone()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(c.org_id, org);
    assert_eq!(c.org_name, "Acme Corp");
    assert!(c.scopes.iter().any(|s| s == "organizations:read"));
    assert!(!c.reconnected);
    let tokens = store.get_tokens(&org).await.unwrap();
    assert!(tokens.refresh_token.is_some() && tokens.expires_at.is_some());
    let registered = store.get_org(&org).await.unwrap().unwrap();
    let audit = store.list_audit(&org).await.unwrap();
    assert!(
        matches!(&audit[0].event, AuditEvent::OrgConnected { user_name, .. } if user_name == &c.user_name),
        "{audit:?}"
    );

    // The stored tokens work for a download straight away.
    let summary = jobs::download_org(&w.deps, &org).await.unwrap();
    assert_eq!(summary.members_seen, 20);

    let code = authorization_code(&w).await;
    let again = jobs::connect_org(
        &w.deps,
        &oauth_app(),
        &code,
        &jobs::ConnectOptions::default(),
    )
    .await
    .unwrap();
    assert!(again.reconnected);
    let kept = store.get_org(&org).await.unwrap().unwrap();
    assert_eq!(
        kept.connected_at, registered.connected_at,
        "the first connection time is kept"
    );
    assert_eq!(
        store.get_tokens(&org).await.unwrap().version,
        tokens.version + 1
    );
}

/// A world for one refresh scenario: the sandbox keeps running as long as the returned guard lives.
async fn refresh_world() -> (contract::RefreshWorld, World) {
    let w = world(20).await;
    let connected = connect_with_refresh_token(&w).await;
    let rw = contract::RefreshWorld {
        deps: w.deps.clone(),
        org: w.org.clone(),
        connected,
        miro: std::sync::Arc::new(miro_sam_testkit::world::SandboxView(w.control.clone())),
    };
    (rw, w)
}

miro_sam_core::refresh_contract_tests!(refresh_world);

/// Two handles on the same file (two `miro-sam` processes) see one lease.
#[tokio::test]
async fn the_lease_holds_across_handles_on_one_file() {
    let dir = std::env::temp_dir().join(format!("miro-sam-lease-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.db");
    let (a, b) = (
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    let org = OrgId::parse("3074457345821141000").unwrap();
    let v = a
        .put_tokens(&TokenBundle {
            org_id: org.clone(),
            access_token: SecretString::from("at-1"),
            refresh_token: Some(SecretString::from("rt-1")),
            expires_at: None,
            team_id: None,
            user_id: None,
            scopes: vec![],
            version: 0,
        })
        .await
        .unwrap();
    let now = Utc::now();
    let until = now + Duration::minutes(15);
    assert_eq!(
        a.lease_refresh(&org, v, now, until).await.unwrap(),
        RefreshLease::Taken
    );
    assert!(matches!(
        b.lease_refresh(&org, v, now, until).await.unwrap(),
        RefreshLease::Held { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
