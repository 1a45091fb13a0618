//! A sandboxed Miro wired to the AWS adapters as the jobs' dependencies: the test kit's world, with a
//! long-lived access token stored (no SCIM token: the AWS tests never deactivate anyone through the sandbox).
// Each test binary uses some of the kit's re-exports, none all of them.
#![allow(unused_imports)]

use std::sync::Arc;

use miro_client::MiroClient;
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::{SubscriptionStore, TokenBundle, TokenStore};
pub use miro_sam_testkit::world::{SandboxWorld as World, client_for, oauth_app};
use miro_sam_testkit::world::{Tokens, authorization_code, sandbox_world};
use miro_sandbox::SandboxConfig;

/// A sandbox with `members` members, and job dependencies on the given adapters, with a long-lived token stored.
pub async fn world(
    members: usize,
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
) -> World {
    sandbox_world(
        SandboxConfig::unlimited(members),
        store,
        tokens,
        Tokens {
            access: true,
            scim: false,
        },
    )
    .await
}

/// Plays the admin's browser through the consent screen and exchanges the code: a real expiring token with a
/// refresh token, as `/oauth/callback` would store it.
pub async fn connect_with_refresh_token(client: &MiroClient, org: &OrgId) -> TokenBundle {
    let code = authorization_code(client, "csrf-state").await;
    let grant = client
        .exchange_code(&oauth_app(), &code)
        .await
        .expect("code exchange");
    assert!(
        grant.refresh_token.is_some(),
        "the sandbox issues expiring tokens by default"
    );
    TokenBundle {
        org_id: org.clone(),
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_at: grant.expires_at,
        team_id: grant.team_id,
        user_id: grant.user_id,
        scopes: grant.scopes,
        version: 0,
    }
}
