//! Connect an org: trade the OAuth code for tokens, learn which org they belong to, check they can read it, and
//! store them.
//!
//! Tokens of an org this connection may not manage (another org than the connect link names, or one outside the
//! deployment's allow-list) are revoked at once rather than merely dropped: a working token for an org nobody
//! manages is a credential nobody watches. A revoke that fails is reported as failed, never as done.

use serde::{Deserialize, Serialize};

use super::plan::{append_once, set_policy};
use super::{Deps, JobError};
use crate::audit::{AuditEntry, AuditEvent};
use crate::domain::{AuditEntryId, OrgId, RegisteredOrg};
use crate::policy::Policy;
use crate::ports::TokenBundle;
use miro_client::{OAuthApp, SecretString, TokenGrant, TokenInfo};

/// How a deployment connects orgs.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The deployment's allow-list: tokens of any other org are refused and nothing is stored. `None`: any org.
    pub allowed_orgs: Option<Vec<OrgId>>,
    /// The policy a newly connected org starts with (an org that already has one keeps it).
    pub default_policy: Policy,
    /// The only org this connection may connect (from an org-bound connect link): tokens of any other org are
    /// refused and revoked, so a link made for one org can never replace another org's tokens. `None`: any org
    /// the allow-list accepts.
    pub expected_org: Option<OrgId>,
}

/// The scope every org endpoint needs.
pub const REQUIRED_SCOPE: &str = "organizations:read";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedOrg {
    pub org_id: OrgId,
    pub org_name: String,
    pub plan: String,
    pub full_licenses_purchased: i64,
    pub team_id: String,
    /// The Miro user who approved the app.
    pub user_id: String,
    pub user_name: String,
    pub scopes: Vec<String>,
    /// True when the org was already connected (its tokens were replaced).
    pub reconnected: bool,
}

/// Exchanges `code` (from the OAuth redirect) for tokens and stores them for the org they belong to, and registers
/// the org with the default policy if it has none. See [`ConnectOptions`]. The org endpoint is called once
/// before storing, so a token that cannot read the org (wrong scope, developer team, not an admin) fails here
/// with Miro's explanation instead of at the first download.
pub async fn connect_org(
    deps: &Deps,
    app: &OAuthApp,
    code: &SecretString,
    opts: &ConnectOptions,
) -> Result<ConnectedOrg, JobError> {
    let grant = deps.client.exchange_code(app, code).await?;
    let info = deps.client.token_info(&grant.access_token).await?;
    let org_id = OrgId::parse(&info.organization.id)?;
    if let Some(expected) = &opts.expected_org
        && expected != &org_id
    {
        // Approved by the admin whose grant org {org_id} already uses: Miro may treat that as a re-install that
        // ends the org's stored token (UNCONFIRMED), so revoking the new one could disconnect the org. The new
        // tokens become that org's tokens instead; nothing else about the org changes.
        if is_connecting_user(deps, &org_id, &info.user.id).await? {
            let scopes = if info.scopes.is_empty() {
                grant.scopes.clone()
            } else {
                info.scopes.clone()
            };
            deps.tokens
                .put_tokens(&bundle_of(&org_id, grant, &info, scopes))
                .await?;
            tracing::info!(org = %org_id, "a refused approval by the org's connecting admin renewed its tokens");
            return Err(JobError::InvalidRequest(format!(
                "this connect link is for org {expected} only, but the app was approved in org {org_id} ({}), \
                 which is already connected by you: its stored tokens were renewed with this approval (Miro may \
                 end the earlier ones) and nothing else was changed. Approve the app from a team of org \
                 {expected} to connect it",
                info.organization.name
            )));
        }
        let revoked = revoke_unwanted(deps, app, &grant.access_token, &org_id).await;
        return Err(JobError::InvalidRequest(format!(
            "this connect link is for org {expected} only, but the app was approved in org {org_id} ({}); \
             nothing was stored and {revoked}. Approve the app from a team of org {expected}, or ask the \
             operator for a link for org {org_id}",
            info.organization.name
        )));
    }
    if let Some(allowed) = &opts.allowed_orgs
        && !allowed.contains(&org_id)
    {
        let revoked = revoke_unwanted(deps, app, &grant.access_token, &org_id).await;
        return Err(JobError::InvalidRequest(format!(
            "org {org_id} ({}) is not one this deployment may manage; nothing was stored and {revoked}. \
             Approve the app from a team of an allowed org, or ask the operator to add {org_id} to the allowed \
             orgs",
            info.organization.name
        )));
    }
    let scopes = if info.scopes.is_empty() {
        grant.scopes.clone()
    } else {
        info.scopes.clone()
    };
    if !scopes.iter().any(|s| s == REQUIRED_SCOPE) {
        return Err(JobError::InvalidRequest(format!(
            "the token lacks the {REQUIRED_SCOPE} scope (it has: {}); add the scope in the Miro app's settings, \
             reinstall the app and connect again",
            scopes.join(", ")
        )));
    }
    let org = deps
        .client
        .organization(&grant.access_token, org_id.as_str())
        .await?;

    let now = deps.clock.now();
    let previous = deps.store.get_org(&org_id).await?;
    deps.tokens
        .put_tokens(&bundle_of(&org_id, grant, &info, scopes.clone()))
        .await?;
    deps.store
        .put_org(&RegisteredOrg {
            id: org_id.clone(),
            name: org.name.clone(),
            connected_at: previous.as_ref().map_or(now, |p| p.connected_at),
        })
        .await?;
    // A new org starts with the deployment's default policy (a dry run unless the operator chose otherwise).
    if deps.store.latest_policy(&org_id).await?.is_none() {
        set_policy(
            deps.store.as_ref(),
            &org_id,
            &opts.default_policy,
            "miro-sam (default policy)",
            now,
        )
        .await?;
    }
    append_once(
        deps.store.as_ref(),
        AuditEntry {
            id: AuditEntryId::unique("connect"),
            org_id: org_id.clone(),
            at: now,
            actor: format!("{} ({})", info.user.name, info.user.id),
            event: AuditEvent::OrgConnected {
                user_id: info.user.id.clone(),
                user_name: info.user.name.clone(),
                scopes: scopes.clone(),
            },
        },
    )
    .await?;
    tracing::info!(org = %org_id, name = %org.name, "org connected");
    Ok(ConnectedOrg {
        org_id,
        org_name: org.name,
        plan: org.plan,
        full_licenses_purchased: org.full_licenses_purchased,
        team_id: info.team.id,
        user_id: info.user.id,
        user_name: info.user.name,
        scopes,
        reconnected: previous.is_some(),
    })
}

/// The org's stored bundle for a grant (the user and team from the grant, else from the token's info).
pub fn bundle_of(
    org: &OrgId,
    grant: TokenGrant,
    info: &TokenInfo,
    scopes: Vec<String>,
) -> TokenBundle {
    TokenBundle {
        org_id: org.clone(),
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_at: grant.expires_at,
        team_id: grant.team_id.or_else(|| Some(info.team.id.clone())),
        user_id: grant.user_id.or_else(|| Some(info.user.id.clone())),
        scopes,
        version: 0,
    }
}

/// Whether `user` is the Miro user whose grant the org's stored tokens come from (the connecting admin).
pub async fn is_connecting_user(deps: &Deps, org: &OrgId, user: &str) -> Result<bool, JobError> {
    match deps.tokens.get_tokens(org).await {
        Ok(b) => Ok(b.user_id.as_deref() == Some(user)),
        Err(crate::error::StoreError::NotConnected { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Revokes a token this connection will not keep, and says in words what happened (for the admin's page).
async fn revoke_unwanted(
    deps: &Deps,
    app: &OAuthApp,
    token: &SecretString,
    org_id: &OrgId,
) -> String {
    match deps.client.revoke(app, token).await {
        Ok(()) => {
            tracing::info!(org = %org_id, "revoked the token of an org this connection may not manage");
            "the token Miro issued was revoked".to_owned()
        }
        Err(e) => {
            tracing::warn!(org = %org_id, error = %e, "could not revoke the token of an org this connection may not manage");
            format!(
                "revoking the token Miro issued failed ({e}); it stays valid until it expires, so uninstall the \
                 app from that team in Miro to end it"
            )
        }
    }
}
