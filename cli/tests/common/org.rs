//! One sandbox org in a store as `miro-sam connect`, a policy change and `sync` leave it: the tokens, the
//! registered org, a versioned policy and a download, from the testkit's pieces. The verb tests start from here.

use std::sync::Arc;

use chrono::Utc;
use miro_client::MiroClient;
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenStore};
use miro_sam_testkit::world;
use miro_sandbox::SandboxControl;

/// The testkit's live policy (it acts, under a cap no test reaches) with `notice_days` of notice (0: none, for
/// the tests about the reclaim and approval verbs; with notices on, nobody untold may be reclaimed).
pub fn live_policy(notice_days: u32) -> Policy {
    Policy {
        notice_days,
        ..world::live_policy()
    }
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
        .put_tokens(&world::access_token(control, org))
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
