//! A usable access token for an org, refreshed when it is about to expire or after Miro refused it.
//!
//! # One refresh at a time
//! A refresh token works once: Miro answers a refresh with a new access token AND a new refresh token, and the
//! old ones stop working. Two workers refreshing the same org would spend the same refresh token twice. So every
//! refresh — the one before a job ([`usable_access_token`]) and the one after a 401 ([`token_after_unauthorized`])
//! — first takes the store's refresh lease on the version it read ([`TokenStore::lease_refresh`]). The lease lasts
//! [`refresh_lease_length`]: the token call's whole retry budget, computed from the client's configuration, plus
//! the time storing the result may take, so it cannot run out while its holder may still be talking to Miro.
//! Other workers wait for the holder's write (polling the store) and use its tokens; if the holder dies, they
//! wait out the lease and one of them takes it over.
//!
//! # Rotated tokens are never dropped
//! Once Miro has answered a refresh, the new tokens are the only ones that work. Storing them is retried with
//! bounded backoff, and a write that landed although the call failed (or left only its version bump behind) is
//! recognised by re-reading. If they still cannot be stored, this process keeps them in hand: the call fails with
//! an error saying exactly that (so the run reports it), every later token request for the org in this process
//! retries the write and meanwhile uses them, and the lease is kept so that no other worker spends the dead
//! refresh token before it ends.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration as StdDuration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Duration, Utc};
use miro_client::{MiroConfig, MiroError, OAuthApp};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::{Deps, JobError};
use crate::domain::OrgId;
use crate::error::StoreError;
use crate::ports::{RefreshLease, TokenBundle, TokenStore};

/// Tokens expiring within this margin are refreshed first, so a job never starts with a token that dies mid-run.
pub const REFRESH_MARGIN: Duration = Duration::minutes(2);

/// Attempts at storing rotated tokens, the first included.
const STORE_ATTEMPTS: u32 = 5;
const STORE_BACKOFF_BASE: StdDuration = StdDuration::from_millis(200);
const STORE_BACKOFF_CAP: StdDuration = StdDuration::from_secs(2);
/// What one store call may take, generously: the Secrets Manager adapter alone may wait 3 s for a lagging write.
const STORE_CALL_ALLOWANCE: StdDuration = StdDuration::from_secs(10);
/// How often a waiting worker looks for the holder's write: quickly at first (a refresh takes well under a
/// second), then twice a second.
const POLL_FIRST: StdDuration = StdDuration::from_millis(25);
const POLL_CAP: StdDuration = StdDuration::from_millis(500);
/// Lease rounds in one call (a take, a re-read or a wait for a holder each) before giving up with a retryable
/// error: only reached when holders keep dying.
const MAX_ROUNDS: u32 = 4;

/// The longest one call to Miro's token endpoint can take, retries included: every attempt may run to the
/// request timeout (which covers connecting), and between attempts the client waits at most
/// [`MiroConfig::longest_retry_wait`].
pub fn token_call_budget(config: &MiroConfig) -> StdDuration {
    let attempts = config.retry.max_attempts.max(1);
    let per_attempt = config.request_timeout.max(config.connect_timeout);
    per_attempt * attempts + config.longest_retry_wait() * (attempts - 1)
}

/// How long a refresh lease lasts: the whole token call ([`token_call_budget`]) and every attempt at storing
/// its result, with the waits between them.
pub fn refresh_lease_length(config: &MiroConfig) -> StdDuration {
    let store_waits: StdDuration = store_backoffs(STORE_ATTEMPTS).sum();
    token_call_budget(config) + STORE_CALL_ALLOWANCE * STORE_ATTEMPTS + store_waits
}

/// The waits between `attempts` attempts at storing rotated tokens: the base, doubling, capped (backon's
/// `ExponentialBuilder`, as the Miro client's and the AWS adapters' retries). No jitter: only the lease holder
/// writes, so there is no crowd to spread apart.
fn store_backoffs(attempts: u32) -> impl Iterator<Item = StdDuration> {
    ExponentialBuilder::new()
        .with_factor(2.0)
        .with_min_delay(STORE_BACKOFF_BASE)
        .with_max_delay(STORE_BACKOFF_CAP)
        .with_max_times(usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX))
        .build()
}

fn poll_delay(round: u32) -> StdDuration {
    (POLL_FIRST * 2u32.saturating_pow(round.min(16))).min(POLL_CAP)
}

fn expiring(b: &TokenBundle, now: DateTime<Utc>) -> bool {
    b.expires_at.is_some_and(|t| t - now <= REFRESH_MARGIN)
}

fn expired(b: &TokenBundle, now: DateTime<Utc>) -> bool {
    b.expires_at.is_some_and(|t| t <= now)
}

fn same(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

/// Why a token is being asked for.
#[derive(Clone, Copy)]
enum Need<'a> {
    /// Before a job: refresh if the stored token expires within the margin.
    Expiring,
    /// Miro answered 401 to this token: refresh unless the stored one is already another.
    Rejected(&'a SecretString),
}

impl Need<'_> {
    fn wants_refresh(self, b: &TokenBundle, now: DateTime<Utc>) -> bool {
        match self {
            Need::Expiring => expiring(b, now),
            Need::Rejected(t) => same(&b.access_token, t),
        }
    }

    /// The bundle's access token certainly no longer works.
    fn dead(self, b: &TokenBundle, now: DateTime<Utc>) -> bool {
        match self {
            Need::Expiring => expired(b, now),
            Need::Rejected(t) => same(&b.access_token, t),
        }
    }
}

/// The org's access token, refreshed first if it expires within [`REFRESH_MARGIN`].
///
/// Several workers may find the same token expiring: the one that takes the refresh lease refreshes, the others
/// wait for its write and use its tokens, so Miro sees one refresh.
pub async fn usable_access_token(deps: &Deps, org: &OrgId) -> Result<SecretString, JobError> {
    obtain(deps, org, Need::Expiring).await
}

/// A token to use after Miro answered 401 to `rejected` (expired early, e.g. a clock difference, or revoked):
/// the stored token if someone refreshed meanwhile, otherwise a refresh under the same lease as
/// [`usable_access_token`]'s. Miro's guidance is one refresh, then fail; callers retry their request once with
/// the result.
pub async fn token_after_unauthorized(
    deps: &Deps,
    org: &OrgId,
    rejected: &SecretString,
) -> Result<SecretString, JobError> {
    obtain(deps, org, Need::Rejected(rejected)).await
}

async fn obtain(deps: &Deps, org: &OrgId, need: Need<'_>) -> Result<SecretString, JobError> {
    if let Some(token) = in_hand::settle(deps, org, need).await? {
        return Ok(token);
    }
    let lease = chrono_len(refresh_lease_length(deps.client.config()));
    let mut bundle = deps.tokens.get_tokens(org).await?;
    for _ in 0..MAX_ROUNDS {
        let now = deps.clock.now();
        if !need.wants_refresh(&bundle, now) {
            return Ok(bundle.access_token);
        }
        let Some((refresh_token, app)) = refresh_means(deps, org, &bundle, need, now)? else {
            return Ok(bundle.access_token);
        };
        let until = now + lease;
        match deps
            .tokens
            .lease_refresh(org, bundle.version, now, until)
            .await?
        {
            RefreshLease::Taken => {
                return refresh_holding(deps, org, bundle, refresh_token, app, until).await;
            }
            RefreshLease::Moved => bundle = deps.tokens.get_tokens(org).await?,
            RefreshLease::Held { until: theirs } => {
                tracing::info!(%org, lease_until = %theirs, "another worker is refreshing the token; waiting for its write");
                bundle = wait_for_holder(deps, org, bundle.version, theirs).await?;
            }
        }
    }
    Err(StoreError::Conflict {
        what: format!(
            "the refresh lease of the OAuth tokens of org {org} (other workers kept taking it and not finishing)"
        ),
    }
    .into())
}

fn chrono_len(d: StdDuration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// The refresh token and app to refresh with; `None` when no refresh is possible but the token still works.
fn refresh_means<'d>(
    deps: &'d Deps,
    org: &OrgId,
    bundle: &TokenBundle,
    need: Need<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(SecretString, &'d OAuthApp)>, JobError> {
    let dead = need.dead(bundle, now);
    match (&bundle.refresh_token, &deps.oauth_app) {
        (Some(r), Some(a)) => Ok(Some((r.clone(), a))),
        _ if !dead => Ok(None),
        (None, _) => Err(JobError::TokenExpired {
            org: org.clone(),
            why: "there is no refresh token",
        }),
        (_, None) => Err(JobError::TokenExpired {
            org: org.clone(),
            why: "no OAuth app is configured to refresh it",
        }),
    }
}

/// Polls the store until the holder of the lease on `version` has written, or its lease has ended (by our clock,
/// or by the time a lease of our own would have taken, whichever comes first). Returns what is stored then.
async fn wait_for_holder(
    deps: &Deps,
    org: &OrgId,
    version: u64,
    until: DateTime<Utc>,
) -> Result<TokenBundle, JobError> {
    let left = (until - deps.clock.now()).to_std().unwrap_or_default();
    let give_up = Instant::now() + left.min(refresh_lease_length(deps.client.config()));
    let mut round = 0;
    loop {
        // A worker with a deadline (a Lambda invocation) stops waiting before it, so it can checkpoint or hand
        // its message back instead of being cut off mid-wait; the holder's write will be there next time.
        if let Some(deadline) = deps.client.deadline()
            && std::time::Instant::now() + poll_delay(round) >= deadline
        {
            return Err(MiroError::DeadlineReached {
                endpoint: "waiting for another worker's token refresh".to_owned(),
                attempts: 0,
                last: String::new(),
            }
            .into());
        }
        tokio::time::sleep(poll_delay(round)).await;
        round += 1;
        let current = deps.tokens.get_tokens(org).await?;
        if current.version != version || deps.clock.now() >= until || Instant::now() >= give_up {
            return Ok(current);
        }
    }
}

/// Refreshes while holding the lease that ends at `until`, and stores the result.
async fn refresh_holding(
    deps: &Deps,
    org: &OrgId,
    spent: TokenBundle,
    refresh_token: SecretString,
    app: &OAuthApp,
    until: DateTime<Utc>,
) -> Result<SecretString, JobError> {
    let grant = match deps.client.refresh(app, &refresh_token).await {
        Ok(g) => g,
        Err(e) => {
            // Nothing to store: let the others try now rather than wait the lease out.
            if let Err(release) = deps.tokens.release_refresh(org, spent.version, until).await {
                tracing::warn!(%org, error = %release, "could not release the refresh lease; other workers wait for it to end");
            }
            let current = deps.tokens.get_tokens(org).await?;
            if current.version != spent.version && !expired(&current, deps.clock.now()) {
                tracing::info!(%org, "refresh failed but newer tokens were stored meanwhile; using them");
                return Ok(current.access_token);
            }
            return Err(e.into());
        }
    };
    let mut rotation = Rotation {
        fresh: TokenBundle {
            org_id: org.clone(),
            access_token: grant.access_token,
            // Miro rotates refresh tokens; keep the old one only if it sent none.
            refresh_token: grant.refresh_token.or(Some(refresh_token)),
            expires_at: grant.expires_at,
            team_id: grant.team_id.or(spent.team_id),
            user_id: grant.user_id.or(spent.user_id),
            scopes: if grant.scopes.is_empty() {
                spent.scopes
            } else {
                grant.scopes
            },
            version: 0,
        },
        expected_version: spent.version,
        spent_access: spent.access_token,
    };
    match store_rotation(deps.tokens.as_ref(), &mut rotation, STORE_ATTEMPTS).await {
        Ok(Stored::Ours) => Ok(rotation.fresh.access_token),
        Ok(Stored::Theirs(token)) => Ok(token),
        Err(e) => Err(in_hand::keep(deps, rotation, e)),
    }
}

/// Tokens Miro issued that must reach the store: the new bundle, the version it replaces, and the (spent) access
/// token stored under that version.
#[derive(Clone)]
struct Rotation {
    fresh: TokenBundle,
    expected_version: u64,
    spent_access: SecretString,
}

enum Stored {
    Ours,
    /// Other tokens were stored while we refreshed (a reconnect): they are newer than ours, use them.
    Theirs(SecretString),
}

/// Writes the rotation, retrying failures with bounded backoff. A conflict is resolved by re-reading: our own
/// write landed (the call only failed afterwards), or the stored tokens are still the spent ones under a newer
/// version (a version bump whose write never landed, ours or a dead writer's) and we write over them, or someone
/// stored other tokens.
async fn store_rotation(
    tokens: &dyn TokenStore,
    r: &mut Rotation,
    attempts: u32,
) -> Result<Stored, StoreError> {
    let org = r.fresh.org_id.clone();
    let mut last = None;
    let mut waits = store_backoffs(attempts);
    for attempt in 0..attempts {
        if attempt > 0
            && let Some(wait) = waits.next()
        {
            tokio::time::sleep(wait).await;
        }
        let err = match tokens
            .put_tokens_if_version(&r.fresh, r.expected_version)
            .await
        {
            Ok(_) => return Ok(Stored::Ours),
            Err(StoreError::Conflict { what }) => match tokens.get_tokens(&org).await {
                Ok(cur) if same(&cur.access_token, &r.fresh.access_token) => {
                    return Ok(Stored::Ours);
                }
                Ok(cur) if same(&cur.access_token, &r.spent_access) => {
                    r.expected_version = cur.version;
                    StoreError::Conflict { what }
                }
                Ok(cur) => {
                    tracing::info!(%org, "other tokens were stored while we refreshed (a reconnect); using them");
                    return Ok(Stored::Theirs(cur.access_token));
                }
                Err(e) => e,
            },
            Err(e) => e,
        };
        tracing::warn!(%org, attempt = attempt + 1, of = attempts, error = %err, "storing the rotated OAuth tokens failed");
        last = Some(err);
    }
    Err(last.unwrap_or_else(|| StoreError::Backend("no attempt to store was made".into())))
}

/// Rotated tokens this process could not store yet, per token store and org.
mod in_hand {
    use super::*;

    struct Pending {
        /// Weak, so a dropped store's entry is recognisable (and its address cannot be reused meanwhile).
        store: Weak<dyn TokenStore>,
        rotation: Rotation,
    }

    static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

    fn pending() -> std::sync::MutexGuard<'static, Vec<Pending>> {
        // Entries are replaced whole, so a panic elsewhere cannot leave one half-written.
        PENDING.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_for(p: &Pending, tokens: &Arc<dyn TokenStore>, org: &OrgId) -> bool {
        std::ptr::addr_eq(p.store.as_ptr(), Arc::as_ptr(tokens)) && &p.rotation.fresh.org_id == org
    }

    fn put(tokens: &Arc<dyn TokenStore>, rotation: Rotation) {
        let mut all = pending();
        all.retain(|p| p.store.strong_count() > 0 && !is_for(p, tokens, &rotation.fresh.org_id));
        all.push(Pending {
            store: Arc::downgrade(tokens),
            rotation,
        });
    }

    fn get(tokens: &Arc<dyn TokenStore>, org: &OrgId) -> Option<Rotation> {
        pending()
            .iter()
            .find(|p| is_for(p, tokens, org))
            .map(|p| p.rotation.clone())
    }

    fn remove(tokens: &Arc<dyn TokenStore>, org: &OrgId) {
        pending().retain(|p| !is_for(p, tokens, org));
    }

    fn not_stored(org: &OrgId, cause: &StoreError) -> JobError {
        JobError::Store(StoreError::Backend(format!(
            "Miro rotated the OAuth tokens of org {org}, but storing the new ones failed ({cause}). The old \
             refresh token no longer works. This process keeps the new tokens, uses them and stores them at its \
             next use of this org's token; if storage is still failing when this process ends, reconnect the org \
             once it works again (`miro-sam connect`, or your deployment's connect link)"
        )))
    }

    /// Keeps a rotation that could not be stored and returns the error that says so.
    pub(super) fn keep(deps: &Deps, rotation: Rotation, cause: StoreError) -> JobError {
        let org = rotation.fresh.org_id.clone();
        tracing::error!(%org, attempts = STORE_ATTEMPTS, error = %cause,
            "Miro rotated this org's OAuth tokens but they could not be stored; keeping them in this process and \
             retrying at its next use of them. If the process ends first, the org must be reconnected");
        put(&deps.tokens, rotation);
        not_stored(&org, &cause)
    }

    /// Tries again to store the org's rotation in hand, if there is one. `Some(token)` when it still cannot be
    /// stored but its token serves `need`: the job goes on with it. `None` when nothing is in hand (any more):
    /// read the store as usual.
    pub(super) async fn settle(
        deps: &Deps,
        org: &OrgId,
        need: Need<'_>,
    ) -> Result<Option<SecretString>, JobError> {
        let Some(mut rotation) = get(&deps.tokens, org) else {
            return Ok(None);
        };
        match store_rotation(deps.tokens.as_ref(), &mut rotation, 1).await {
            Ok(_) => {
                tracing::info!(%org, "stored the rotated OAuth tokens kept in hand");
                remove(&deps.tokens, org);
                Ok(None)
            }
            Err(e) => {
                let usable = !need.wants_refresh(&rotation.fresh, deps.clock.now());
                let token = rotation.fresh.access_token.clone();
                // Keep what re-reading learned (a newer version to write over).
                put(&deps.tokens, rotation);
                if usable {
                    tracing::warn!(%org, error = %e, "the rotated OAuth tokens are still not stored; using them from this process");
                    Ok(Some(token))
                } else {
                    Err(not_stored(org, &e))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MiroConfig {
        MiroConfig::for_base_url("http://127.0.0.1:9").unwrap()
    }

    #[test]
    fn the_token_call_budget_covers_every_attempt_and_every_wait() {
        let c = config();
        // 6 attempts of up to 30 s, and 5 waits of up to 4 × 30 s after a 429.
        assert_eq!(
            token_call_budget(&c),
            StdDuration::from_secs(6 * 30 + 5 * 120)
        );
        assert!(
            token_call_budget(&c) >= (c.request_timeout + c.retry.max_delay) * c.retry.max_attempts,
            "at least attempts × (timeout + longest backoff)"
        );

        let mut fast = config();
        fast.retry.max_attempts = 2;
        fast.retry.max_delay = StdDuration::from_millis(5);
        fast.request_timeout = StdDuration::from_secs(2);
        fast.connect_timeout = StdDuration::from_secs(1);
        fast.scim_limits.window = StdDuration::from_secs(1);
        // A sub-second cap still leaves a 429 wait of up to 4 s.
        assert_eq!(token_call_budget(&fast), StdDuration::from_secs(2 * 2 + 4));
        fast.connect_timeout = StdDuration::from_secs(3);
        assert_eq!(
            token_call_budget(&fast),
            StdDuration::from_secs(2 * 3 + 4),
            "a connect timeout longer than the request timeout counts"
        );
        fast.scim_limits.window = StdDuration::from_secs(30);
        assert_eq!(
            token_call_budget(&fast),
            StdDuration::from_secs(2 * 3 + 30),
            "a 429 wait is never cut below SCIM's window"
        );

        let mut one = config();
        one.retry.max_attempts = 0;
        assert_eq!(
            token_call_budget(&one),
            one.request_timeout,
            "at least one attempt"
        );
    }

    #[test]
    fn the_lease_outlasts_the_token_call_and_storing_its_result() {
        for c in [config(), MiroConfig::production()] {
            let lease = refresh_lease_length(&c);
            let store = STORE_CALL_ALLOWANCE * STORE_ATTEMPTS;
            assert!(lease >= token_call_budget(&c) + store, "{lease:?}");
        }
        let mut longer = config();
        longer.request_timeout *= 2;
        assert!(refresh_lease_length(&longer) > refresh_lease_length(&config()));
        let mut more = config();
        more.retry.max_attempts += 1;
        assert!(refresh_lease_length(&more) > refresh_lease_length(&config()));
    }

    #[test]
    fn waits_grow_and_stay_capped() {
        // backon doubles in `f32`: a step may be off by a few nanoseconds.
        let near =
            |got: StdDuration, want: StdDuration| got.abs_diff(want) < StdDuration::from_micros(1);
        let waits: Vec<StdDuration> = store_backoffs(STORE_ATTEMPTS).collect();
        assert_eq!(waits.len(), STORE_ATTEMPTS as usize - 1, "{waits:?}");
        assert_eq!(waits[0], STORE_BACKOFF_BASE);
        for (got, want_ms) in waits.iter().zip([200, 400, 800, 1600]) {
            assert!(near(*got, StdDuration::from_millis(want_ms)), "{waits:?}");
        }
        let long: Vec<StdDuration> = store_backoffs(30).collect();
        assert_eq!(long.len(), 29);
        assert!(long.iter().all(|w| *w <= STORE_BACKOFF_CAP), "{long:?}");
        assert_eq!(long.last(), Some(&STORE_BACKOFF_CAP));
        assert_eq!(store_backoffs(1).count(), 0, "one attempt, no wait");
        assert_eq!(poll_delay(0), POLL_FIRST);
        assert_eq!(poll_delay(u32::MAX), POLL_CAP);
    }
}
