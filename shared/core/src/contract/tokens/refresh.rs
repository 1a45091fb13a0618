//! Token refresh against the Miro sandbox, the same for every [`TokenStore`] adapter: a failed write of rotated
//! tokens, rotated tokens that cannot be stored at all, two workers refreshing at once, and the refresh after a
//! 401. Races are made deterministic with a gate, never with sleeps: the lease holder's write waits until
//! another worker has been told that the lease is held.
//!
//! The adapter's test builds a [`RefreshWorld`] (the jobs wired to the sandbox and to the real adapter, a real
//! connection from the sandbox's authorization-code flow) and runs every scenario on a fresh one through
//! [`refresh_contract_tests!`](crate::refresh_contract_tests).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use crate::domain::OrgId;
use crate::error::StoreError;
use crate::jobs::{self, Deps, JobError};
use crate::ports::{FixedClock, RefreshLease, TokenBundle, TokenStore};

/// Expands to one `#[tokio::test]` per refresh scenario, inside a module named `refresh_contract`. `$world` is
/// an async fn of the adapter's test that answers a fresh `(RefreshWorld, guard)`: the guard (the sandbox, the
/// table) lives until the scenario ends. The racing scenarios run on two worker threads.
#[macro_export]
macro_rules! refresh_contract_tests {
    ($world:path) => {
        mod refresh_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::refresh_contract_tests!(@each $world, ::tokio::test;
                a_failed_write_of_rotated_tokens_is_retried,
                rotated_tokens_that_cannot_be_stored_stay_in_hand,
                a_holder_that_never_finishes_delays_the_others_only_by_its_lease,
                a_refused_refresh_releases_the_lease,
                a_waiter_with_a_deadline_stops_before_it,
            );
            $crate::refresh_contract_tests!(@each $world,
                ::tokio::test(flavor = "multi_thread", worker_threads = 2);
                two_workers_refreshing_at_once_make_one_refresh,
                the_refresh_after_a_401_takes_the_lease,
            );
        }
    };
    (@each $world:path, $test:meta; $($name:ident),+ $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                let (world, _guard) = $world().await;
                $crate::contract::$name(world).await;
            }
        )+
    };
}

/// What the sandbox shows of itself, for the scenarios.
pub trait MiroView: Send + Sync {
    /// Refreshes Miro has carried out so far.
    fn refreshes(&self) -> u64;
    /// Requests to the token endpoint so far, refused ones included.
    fn token_calls(&self) -> u64;
    /// Every access token issued so far stops working (refresh tokens keep working), as when they expire early.
    fn expire_access_tokens(&self);
    /// Every token of the org stops working, refresh tokens included (the app was uninstalled).
    fn revoke_all_tokens(&self);
}

/// One scenario's world. Every call must return a new one.
#[derive(Clone)]
pub struct RefreshWorld {
    /// `tokens` is the adapter under test (empty for this org), `client` and `oauth_app` talk to the sandbox,
    /// `store` is a real store (the download scenario writes the org's members).
    pub deps: Deps,
    pub org: OrgId,
    /// Tokens from the sandbox's authorization-code flow, with a refresh token; not stored yet.
    pub connected: TokenBundle,
    pub miro: Arc<dyn MiroView>,
}

impl RefreshWorld {
    /// Stores the connection expiring in `expires_in` and returns its version.
    async fn connect(&self, expires_in: Duration) -> u64 {
        let mut b = self.connected.clone();
        b.expires_at = Some(Utc::now() + expires_in);
        self.deps
            .tokens
            .put_tokens(&b)
            .await
            .expect("store the tokens")
    }

    fn with_tokens(&self, tokens: Arc<dyn TokenStore>) -> Deps {
        Deps {
            tokens,
            ..self.deps.clone()
        }
    }

    /// The token works at Miro, for this org.
    async fn assert_works(&self, token: &SecretString) {
        let info = self
            .deps
            .client
            .token_info(token)
            .await
            .expect("the token works at Miro");
        assert_eq!(info.organization.id, self.org.as_str());
    }
}

fn same(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

/// Inside the refresh margin, so the next job refreshes first.
fn expiring() -> Duration {
    Duration::seconds(60)
}

/// How the wrapper's writes fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PutFault {
    /// The write is refused before it reaches the store.
    Before,
    /// The write lands, then the caller is told it failed (a lost answer).
    After,
}

/// The adapter under test with faults on its compare-and-set writes, and a record of what the lease answered.
struct Wrapped {
    inner: Arc<dyn TokenStore>,
    fault: PutFault,
    /// Writes still to fail.
    failures_left: AtomicU32,
    puts: AtomicU32,
    leases: Mutex<Vec<RefreshLease>>,
    /// When set, the first write waits until a lease request has been answered `Held`.
    gate: Option<(watch::Sender<bool>, watch::Receiver<bool>)>,
}

impl Wrapped {
    fn new(inner: Arc<dyn TokenStore>, fault: PutFault, failures: u32) -> Self {
        Wrapped {
            inner,
            fault,
            failures_left: AtomicU32::new(failures),
            puts: AtomicU32::new(0),
            leases: Mutex::new(Vec::new()),
            gate: None,
        }
    }

    fn gated(inner: Arc<dyn TokenStore>) -> Self {
        Wrapped {
            gate: Some(watch::channel(false)),
            ..Wrapped::new(inner, PutFault::Before, 0)
        }
    }

    fn set_failures(&self, n: u32) {
        self.failures_left.store(n, Ordering::SeqCst);
    }

    /// Resolves once a lease request has been answered `Held` (gated wrappers only).
    async fn held(&self) {
        let mut rx = self.gate.as_ref().expect("a gated wrapper").1.clone();
        tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|h| *h))
            .await
            .expect("a worker was told the lease is held")
            .expect("the gate is open");
    }

    fn leases(&self) -> Vec<RefreshLease> {
        self.leases.lock().unwrap().clone()
    }

    fn injected_error() -> StoreError {
        StoreError::Backend("injected: the write of the token secret failed".into())
    }

    fn take_failure(&self) -> bool {
        self.failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

crate::forward_token_store! {
    Wrapped => inner: [get_tokens, put_tokens, release_refresh, get_scim_token, put_scim_token];

    async fn put_tokens_if_version(
        &self,
        bundle: &TokenBundle,
        expected: u64,
    ) -> Result<u64, StoreError> {
        let first = self.puts.fetch_add(1, Ordering::SeqCst) == 0;
        if let (true, Some((_, rx))) = (first, &self.gate) {
            let mut rx = rx.clone();
            let seen = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                rx.wait_for(|held| *held),
            )
            .await;
            if !matches!(seen, Ok(Ok(_))) {
                return Err(StoreError::Backend(
                    "test gate: no other worker was told the lease is held".into(),
                ));
            }
        }
        if !self.take_failure() {
            return self.inner.put_tokens_if_version(bundle, expected).await;
        }
        if self.fault == PutFault::After {
            self.inner.put_tokens_if_version(bundle, expected).await?;
        }
        Err(Self::injected_error())
    }

    async fn lease_refresh(
        &self,
        org: &OrgId,
        version: u64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<RefreshLease, StoreError> {
        let answer = self.inner.lease_refresh(org, version, now, until).await?;
        self.leases.lock().unwrap().push(answer);
        if let (RefreshLease::Held { .. }, Some((tx, _))) = (answer, &self.gate) {
            tx.send_replace(true);
        }
        Ok(answer)
    }
}

/// A write of the rotated tokens that fails once — refused, or landed with its answer lost — is retried: the
/// refresh ends with the rotated tokens stored and usable, after ONE refresh at Miro.
pub async fn a_failed_write_of_rotated_tokens_is_retried(w: RefreshWorld) {
    let real = w.deps.tokens.clone();
    let mut connected = w.connected.clone();
    for fault in [PutFault::Before, PutFault::After] {
        connected.expires_at = Some(Utc::now() + expiring());
        let version = real.put_tokens(&connected).await.unwrap();
        let refreshes = w.miro.refreshes();

        let wrapped = Arc::new(Wrapped::new(real.clone(), fault, 1));
        let deps = w.with_tokens(wrapped.clone());
        let token = jobs::usable_access_token(&deps, &w.org)
            .await
            .unwrap_or_else(|e| {
                panic!("{fault:?}: the refresh recovers from the failed write: {e}")
            });

        assert_eq!(w.miro.refreshes() - refreshes, 1, "{fault:?}: one refresh");
        assert!(
            wrapped.puts.load(Ordering::SeqCst) >= 2,
            "{fault:?}: retried"
        );
        let stored = real.get_tokens(&w.org).await.unwrap();
        assert!(
            same(&stored.access_token, &token),
            "{fault:?}: the rotated token is stored"
        );
        assert!(
            !same(
                stored.refresh_token.as_ref().unwrap(),
                connected.refresh_token.as_ref().unwrap()
            ),
            "{fault:?}: with its rotated refresh token"
        );
        assert!(stored.version > version, "{fault:?}");
        assert!(stored.expires_at.unwrap() > Utc::now() + Duration::minutes(30));
        w.assert_works(&token).await;
        // The next job uses it from the store, without refreshing.
        let again = jobs::usable_access_token(&w.deps, &w.org).await.unwrap();
        assert!(same(&again, &token), "{fault:?}");
        assert_eq!(w.miro.refreshes() - refreshes, 1);
        connected = stored;
    }
}

/// Rotated tokens that cannot be stored at all are not dropped: the refresh fails saying so, without a secret;
/// later requests in the same process use them without refreshing again, and store them once the store works.
pub async fn rotated_tokens_that_cannot_be_stored_stay_in_hand(w: RefreshWorld) {
    let version = w.connect(expiring()).await;
    let real = w.deps.tokens.clone();
    let wrapped = Arc::new(Wrapped::new(real.clone(), PutFault::Before, u32::MAX));
    let deps = w.with_tokens(wrapped.clone());

    let refreshes = w.miro.refreshes();
    let err = jobs::usable_access_token(&deps, &w.org).await.unwrap_err();
    let msg = err.to_string();
    assert!(err.is_retryable(), "{msg}");
    for needle in [
        w.org.as_str(),
        "rotated",
        "storing",
        "reconnect",
        "injected",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
    assert_eq!(w.miro.refreshes(), 1);
    assert_eq!(
        real.get_tokens(&w.org).await.unwrap().version,
        version,
        "nothing stored"
    );

    let in_hand = jobs::usable_access_token(&deps, &w.org)
        .await
        .expect("the job goes on with the rotated tokens in hand");
    assert_eq!(w.miro.refreshes() - refreshes, 1, "no second refresh");
    w.assert_works(&in_hand).await;
    for secret in [
        in_hand.expose_secret(),
        w.connected.access_token.expose_secret(),
        w.connected.refresh_token.as_ref().unwrap().expose_secret(),
    ] {
        assert!(!msg.contains(secret), "a token in the error: {msg}");
        assert!(!format!("{err:?}").contains(secret));
    }

    wrapped.set_failures(0);
    let settled = jobs::usable_access_token(&deps, &w.org).await.unwrap();
    assert!(same(&settled, &in_hand));
    let stored = real.get_tokens(&w.org).await.unwrap();
    assert!(
        same(&stored.access_token, &in_hand),
        "stored once the store works"
    );
    assert_eq!(stored.version, version + 1);
    let puts = wrapped.puts.load(Ordering::SeqCst);
    let next = jobs::usable_access_token(&deps, &w.org).await.unwrap();
    assert!(same(&next, &in_hand));
    assert_eq!(
        wrapped.puts.load(Ordering::SeqCst),
        puts,
        "nothing left in hand"
    );
    assert_eq!(w.miro.refreshes(), 1);
}

/// Runs `job` in two tasks at once over the gated adapter; returns what each got and what the lease answered.
async fn race<T, F, Fut>(w: &RefreshWorld, job: F) -> (Vec<T>, Vec<RefreshLease>)
where
    T: Send + 'static,
    F: Fn(Deps, OrgId) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let gated = Arc::new(Wrapped::gated(w.deps.tokens.clone()));
    let deps = w.with_tokens(gated.clone());
    let tasks: Vec<_> = (0..2)
        .map(|_| tokio::spawn(job(deps.clone(), w.org.clone())))
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("the worker task"));
    }
    (out, gated.leases())
}

fn assert_one_holder(leases: &[RefreshLease]) {
    let taken = leases.iter().filter(|l| **l == RefreshLease::Taken).count();
    let held = leases
        .iter()
        .filter(|l| matches!(l, RefreshLease::Held { .. }))
        .count();
    assert_eq!(taken, 1, "one worker took the lease: {leases:?}");
    assert!(held >= 1, "the other was told it is held: {leases:?}");
}

/// Two workers find the token expiring at once: exactly one refresh reaches Miro, and both end with the same,
/// working token.
pub async fn two_workers_refreshing_at_once_make_one_refresh(w: RefreshWorld) {
    let version = w.connect(expiring()).await;
    let (calls, refreshes) = (w.miro.token_calls(), w.miro.refreshes());
    let (tokens, leases) = race(&w, |deps, org| async move {
        jobs::usable_access_token(&deps, &org).await
    })
    .await;
    let tokens: Vec<SecretString> = tokens
        .into_iter()
        .map(|t| t.expect("every worker gets a token"))
        .collect();

    assert_eq!(w.miro.refreshes() - refreshes, 1, "one refresh at Miro");
    assert_eq!(
        w.miro.token_calls() - calls,
        1,
        "one call to the token endpoint at all"
    );
    assert_one_holder(&leases);
    assert!(same(&tokens[0], &tokens[1]), "both use the holder's token");
    assert!(!same(&tokens[0], &w.connected.access_token), "a new token");
    for t in &tokens {
        w.assert_works(t).await;
    }
    let stored = w.deps.tokens.get_tokens(&w.org).await.unwrap();
    assert_eq!(stored.version, version + 1);
    assert!(same(&stored.access_token, &tokens[0]));
}

/// Miro refuses the stored token (it died early) while two downloads run: the refresh after the 401 takes the
/// same lease, so only one of them refreshes, and both downloads finish.
pub async fn the_refresh_after_a_401_takes_the_lease(w: RefreshWorld) {
    // Not expiring by our clock: no refresh before the job, only after Miro's 401.
    let version = w.connect(Duration::minutes(50)).await;
    w.miro.expire_access_tokens();
    let (calls, refreshes) = (w.miro.token_calls(), w.miro.refreshes());
    let (downloads, leases) = race(&w, |deps, org| async move {
        jobs::download_org(&deps, &org).await
    })
    .await;
    for d in downloads {
        let summary = d.expect("both downloads finish");
        assert!(summary.members_seen > 0);
    }
    assert_eq!(
        w.miro.refreshes() - refreshes,
        1,
        "one refresh after the 401s"
    );
    assert_eq!(
        w.miro.token_calls() - calls,
        1,
        "the other worker did not even try to refresh"
    );
    assert_one_holder(&leases);
    let stored = w.deps.tokens.get_tokens(&w.org).await.unwrap();
    assert_eq!(stored.version, version + 1);
    w.assert_works(&stored.access_token).await;
}

/// A lease holder that never finishes (it died) delays the others only until its lease ends by their clock;
/// then one of them takes the lease over and refreshes.
pub async fn a_holder_that_never_finishes_delays_the_others_only_by_its_lease(w: RefreshWorld) {
    let version = w.connect(expiring()).await;
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let until = clock_now(&clock) + Duration::minutes(20);
    assert_eq!(
        w.deps
            .tokens
            .lease_refresh(&w.org, version, clock_now(&clock), until)
            .await
            .unwrap(),
        RefreshLease::Taken,
        "the holder that will die"
    );
    let refreshes = w.miro.refreshes();
    let gated = Arc::new(Wrapped::gated(w.deps.tokens.clone()));
    let deps = Deps {
        clock: clock.clone(),
        ..w.with_tokens(gated.clone())
    };
    let org = w.org.clone();
    let worker = tokio::spawn(async move { jobs::usable_access_token(&deps, &org).await });

    gated.held().await;
    assert_eq!(
        w.miro.refreshes(),
        refreshes,
        "it waits instead of refreshing"
    );
    clock.set(until);
    let token = worker
        .await
        .unwrap()
        .expect("the worker takes the lease over once it has ended");
    assert_eq!(w.miro.refreshes() - refreshes, 1);
    assert_eq!(
        gated.leases().last(),
        Some(&RefreshLease::Taken),
        "{:?}",
        gated.leases()
    );
    w.assert_works(&token).await;
    let stored = w.deps.tokens.get_tokens(&w.org).await.unwrap();
    assert_eq!(stored.version, version + 1);
    assert!(same(&stored.access_token, &token));
}

fn clock_now(clock: &FixedClock) -> DateTime<Utc> {
    crate::ports::Clock::now(clock)
}

/// A holder whose refresh Miro refuses releases its lease: the next worker is not made to wait for it, and the
/// error says to reconnect.
pub async fn a_refused_refresh_releases_the_lease(w: RefreshWorld) {
    let version = w.connect(expiring()).await;
    w.miro.revoke_all_tokens();
    let err = jobs::usable_access_token(&w.deps, &w.org)
        .await
        .unwrap_err();
    assert!(err.needs_reconnect(), "{err}");
    let now = Utc::now();
    assert_eq!(
        w.deps
            .tokens
            .lease_refresh(&w.org, version, now, now + Duration::minutes(15))
            .await
            .unwrap(),
        RefreshLease::Taken,
        "the refused holder gave its lease back"
    );
}

/// A worker with a deadline (a Lambda invocation) that finds another worker's lease waits only until shortly
/// before its deadline, then stops with the transient `DeadlineReached`, having refreshed nothing: it must not
/// be cut off by Lambda mid-wait (the lease can last many minutes).
pub async fn a_waiter_with_a_deadline_stops_before_it(w: RefreshWorld) {
    let version = w.connect(expiring()).await;
    let now = Utc::now();
    assert_eq!(
        w.deps
            .tokens
            .lease_refresh(&w.org, version, now, now + Duration::minutes(20))
            .await
            .unwrap(),
        RefreshLease::Taken,
        "another worker holds the lease"
    );
    let refreshes = w.miro.refreshes();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    let deps = Deps {
        client: w.deps.client.with_deadline(deadline),
        ..w.deps.clone()
    };
    let err = jobs::usable_access_token(&deps, &w.org).await.unwrap_err();
    assert!(
        matches!(
            err,
            JobError::Miro(miro_client::MiroError::DeadlineReached { .. })
        ),
        "{err}"
    );
    assert!(err.is_retryable(), "the message comes back later: {err}");
    assert!(
        std::time::Instant::now() < deadline + std::time::Duration::from_secs(1),
        "it stopped at its deadline, not at the end of the lease"
    );
    assert_eq!(w.miro.refreshes(), refreshes, "nothing was refreshed");
}
