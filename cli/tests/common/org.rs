//! One sandbox org in a store as `miro-sam connect`, a policy change and `sync` leave it: the tokens, the
//! registered org, a versioned policy and a download. The verb tests start from here.

use std::sync::Arc;

use chrono::Utc;
use miro_client::{MiroClient, MiroConfig, SecretString};
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::policy::{Policy, ReclaimCap};
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenBundle, TokenStore};
use miro_sandbox::{Sandbox, SandboxControl};

/// A policy that acts (no dry run) under a cap no test reaches, with `notice_days` of notice (0: none, for the
/// tests about the reclaim and approval verbs; with notices on, nobody untold may be reclaimed).
pub fn live_policy(notice_days: u32) -> Policy {
    Policy {
        dry_run: false,
        cap: ReclaimCap {
            max_count: Some(10_000),
            max_percent: None,
        },
        notice_days,
        ..Policy::default()
    }
}

/// A client of the sandbox's REST and SCIM APIs.
pub fn sandbox_client(sandbox: &Sandbox) -> MiroClient {
    let base = sandbox.base_url();
    MiroClient::new(MiroConfig::with_urls(&base, &base, &sandbox.scim_base_url()).unwrap()).unwrap()
}

/// Stores an access token the sandbox issued for `org` and registers the org (as "Acme") under `policy`.
pub async fn connect(
    control: &SandboxControl,
    org: &OrgId,
    store: &dyn SubscriptionStore,
    tokens: &dyn TokenStore,
    policy: &Policy,
) {
    tokens
        .put_tokens(&TokenBundle {
            org_id: org.clone(),
            access_token: SecretString::from(control.issue_access_token(org.as_str())),
            refresh_token: None,
            expires_at: None,
            team_id: None,
            user_id: None,
            scopes: vec!["organizations:read".into()],
            version: 0,
        })
        .await
        .unwrap();
    store
        .put_org(&RegisteredOrg {
            id: org.clone(),
            name: "Acme".into(),
            connected_at: Utc::now(),
        })
        .await
        .unwrap();
    jobs::set_policy(store, org, policy, "test", Utc::now())
        .await
        .unwrap();
}

/// [`connect`], then one download of the org's members through `client`.
pub async fn connect_and_download(
    control: &SandboxControl,
    org: &OrgId,
    client: &MiroClient,
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
    policy: &Policy,
) {
    connect(control, org, store.as_ref(), tokens.as_ref(), policy).await;
    let deps = Deps {
        store,
        tokens,
        client: client.clone(),
        clock: Arc::new(SystemClock),
        oauth_app: None,
    };
    jobs::download_org(&deps, org).await.unwrap();
}
