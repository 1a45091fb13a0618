//! A usable access token for an org, refreshed when it is about to expire.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{Deps, JobError};
use crate::domain::OrgId;
use crate::error::StoreError;
use crate::ports::TokenBundle;

/// Tokens expiring within this margin are refreshed first, so a job never starts with a token that dies mid-run.
pub const REFRESH_MARGIN: Duration = Duration::minutes(2);

fn expiring(b: &TokenBundle, now: DateTime<Utc>) -> bool {
    b.expires_at.is_some_and(|t| t - now <= REFRESH_MARGIN)
}

fn expired(b: &TokenBundle, now: DateTime<Utc>) -> bool {
    b.expires_at.is_some_and(|t| t <= now)
}

/// The org's access token, refreshed first if it expires within [`REFRESH_MARGIN`].
///
/// Several workers may find the same token expiring. Each refreshes, but only the first to write wins
/// (`put_tokens_if_version`); the others re-read and use the winner's token. A refresh token works once, so a
/// worker whose refresh Miro refuses also checks whether someone else has already stored a fresh token.
pub async fn usable_access_token(deps: &Deps, org: &OrgId) -> Result<SecretString, JobError> {
    let bundle = deps.tokens.get_tokens(org).await?;
    let now = deps.clock.now();
    if !expiring(&bundle, now) {
        return Ok(bundle.access_token);
    }
    refresh(deps, org, bundle, now).await
}

/// A token to use after Miro answered 401 to `rejected` (expired early, e.g. a clock difference, or revoked):
/// the stored token if someone refreshed meanwhile, otherwise a refresh. Miro's guidance is one refresh, then
/// fail; callers retry their request once with the result.
pub async fn token_after_unauthorized(
    deps: &Deps,
    org: &OrgId,
    rejected: &SecretString,
) -> Result<SecretString, JobError> {
    let bundle = deps.tokens.get_tokens(org).await?;
    if bundle.access_token.expose_secret() != rejected.expose_secret() {
        return Ok(bundle.access_token);
    }
    // Treat the rejected token as expired whatever its stored expiry says.
    let now = bundle
        .expires_at
        .map_or_else(|| deps.clock.now(), |t| t.max(deps.clock.now()));
    refresh(deps, org, bundle, now).await
}

async fn refresh(
    deps: &Deps,
    org: &OrgId,
    bundle: TokenBundle,
    now: DateTime<Utc>,
) -> Result<SecretString, JobError> {
    let (refresh_token, app) = match (&bundle.refresh_token, &deps.oauth_app) {
        (Some(r), Some(a)) => (r.clone(), a),
        (None, _) if !expired(&bundle, now) => return Ok(bundle.access_token),
        (_, None) if !expired(&bundle, now) => return Ok(bundle.access_token),
        (None, _) => {
            return Err(JobError::TokenExpired {
                org: org.clone(),
                why: "there is no refresh token",
            });
        }
        (_, None) => {
            return Err(JobError::TokenExpired {
                org: org.clone(),
                why: "no OAuth app is configured to refresh it",
            });
        }
    };
    match deps.client.refresh(app, &refresh_token).await {
        Ok(grant) => {
            let fresh = TokenBundle {
                org_id: org.clone(),
                access_token: grant.access_token,
                // Miro rotates refresh tokens; keep the old one only if it sent none.
                refresh_token: grant.refresh_token.or(Some(refresh_token)),
                expires_at: grant.expires_at,
                team_id: grant.team_id.or(bundle.team_id),
                user_id: grant.user_id.or(bundle.user_id),
                scopes: if grant.scopes.is_empty() {
                    bundle.scopes
                } else {
                    grant.scopes
                },
                version: 0,
            };
            match deps
                .tokens
                .put_tokens_if_version(&fresh, bundle.version)
                .await
            {
                Ok(_) => Ok(fresh.access_token),
                Err(StoreError::Conflict { .. }) => {
                    tracing::info!(%org, "another worker refreshed the token first; using theirs");
                    Ok(deps.tokens.get_tokens(org).await?.access_token)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => {
            let current = deps.tokens.get_tokens(org).await?;
            if current.version != bundle.version && !expired(&current, now) {
                tracing::info!(%org, "refresh refused but another worker had already refreshed; using theirs");
                return Ok(current.access_token);
            }
            Err(e.into())
        }
    }
}
