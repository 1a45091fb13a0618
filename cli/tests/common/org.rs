//! One sandbox org in a store as `miro-sam connect`, a policy change and `sync` leave it: the tokens, the
//! registered org, a versioned policy and a download, from the testkit's pieces. The verb tests start from here.

use std::sync::Arc;

use chrono::Utc;
use miro_client::MiroClient;
use miro_sam_cli::env;
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{ReclaimRequest, SubscriptionStore, SystemClock, TokenStore};
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::world;
use miro_sandbox::{Sandbox, SandboxConfig, SandboxControl};

/// A sandbox of `members` members, its first org, and a fresh data directory with the embedded store opened in it:
/// where the verb tests start.
pub struct LocalOrg {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    pub org: OrgId,
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
}

impl LocalOrg {
    /// Nothing connected yet.
    pub async fn start(members: usize) -> LocalOrg {
        let sandbox = Sandbox::start(SandboxConfig::unlimited(members))
            .await
            .expect("sandbox");
        let control = sandbox.control();
        let org = OrgId::parse(&control.org_ids()[0]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("miro-sam.sqlite3")).unwrap();
        LocalOrg {
            sandbox,
            control,
            org,
            dir,
            store,
        }
    }

    /// [`LocalOrg::start`], then the org connected and downloaded into the data directory under `policy`.
    pub async fn downloaded(members: usize, policy: &Policy) -> LocalOrg {
        let l = LocalOrg::start(members).await;
        connect_and_download(
            &l.control,
            &l.org,
            &world::client_for(&l.sandbox),
            Arc::new(l.store.clone()),
            Arc::new(l.store.clone()),
            policy,
        )
        .await;
        l
    }

    /// The sandbox's base URL, without the trailing slash.
    pub fn base_url(&self) -> String {
        self.sandbox.base_url().trim_end_matches('/').to_owned()
    }

    /// The binary's variables for this sandbox as Miro (its OAuth, REST and SCIM base URLs).
    pub fn miro_env(&self) -> Vec<(&'static str, String)> {
        let base = self.base_url();
        vec![
            (env::MIRO_OAUTH_BASE_URL, base.clone()),
            (env::MIRO_API_BASE_URL, base.clone()),
            (env::MIRO_SCIM_BASE_URL, format!("{base}/api/v1/scim")),
        ]
    }

    /// The reclaim requests queued in the data directory's store.
    pub async fn queued_reclaims(&self) -> Vec<ReclaimRequest> {
        self.store
            .queued_requests(100)
            .await
            .unwrap()
            .iter()
            .filter_map(|q| q.reclaim().cloned())
            .collect()
    }
}

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
