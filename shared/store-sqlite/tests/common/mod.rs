//! A sandboxed Miro, a `:memory:` store and the job dependencies wired together.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::Utc;
use miro_client::{MiroClient, MiroConfig, OAuthApp, SecretString};
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::{Policy, ReclaimCap};
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenBundle, TokenStore};
use miro_sam_sqlite::SqliteStore;
use miro_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxConfig, SandboxControl,
};

/// A policy that executes (not dry-run) with a cap far above any sandbox org. Notices are off: these tests are
/// about the reclaim itself, which with notices on waits a week for the cycle (tests of that set `notice_days`).
pub fn live_policy() -> Policy {
    Policy {
        dry_run: false,
        cap: ReclaimCap {
            max_count: Some(100_000),
            max_percent: None,
        },
        notice_days: 0,
        ..Policy::default()
    }
}

pub struct World {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    pub org: OrgId,
    pub store: SqliteStore,
    pub deps: Deps,
}

pub fn client_for(sandbox: &Sandbox) -> MiroClient {
    let mut cfg = MiroConfig::for_base_url(&sandbox.base_url()).expect("sandbox URL");
    cfg.rest_limits.credits_per_window = 1_000_000_000;
    cfg.scim_limits.list_users = 1_000_000;
    cfg.scim_limits.get_user = 1_000_000;
    cfg.scim_limits.patch_user = 1_000_000;
    cfg.scim_limits.other = 1_000_000;
    // Injected faults should surface quickly, not after the production backoff.
    cfg.retry.max_attempts = 2;
    cfg.retry.base_delay = std::time::Duration::from_millis(1);
    cfg.retry.max_delay = std::time::Duration::from_millis(5);
    MiroClient::new(cfg).expect("client")
}

pub fn oauth_app() -> OAuthApp {
    OAuthApp {
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: SecretString::from(DEFAULT_CLIENT_SECRET),
        redirect_uri: "http://127.0.0.1:9/callback".into(),
    }
}

pub async fn world(members: usize) -> World {
    let sandbox = Sandbox::start(SandboxConfig::unlimited(members))
        .await
        .expect("sandbox starts");
    let control = sandbox.control();
    let org_s = control.org_ids()[0].clone();
    let org = OrgId::parse(&org_s).expect("sandbox org id");
    let store = SqliteStore::in_memory().expect("store");
    store
        .put_tokens(&TokenBundle {
            org_id: org.clone(),
            access_token: SecretString::from(control.issue_access_token(&org_s)),
            refresh_token: None,
            expires_at: Some(Utc::now() + chrono::Duration::minutes(55)),
            team_id: None,
            user_id: None,
            scopes: vec!["organizations:read".into()],
            version: 0,
        })
        .await
        .expect("tokens stored");
    store
        .put_scim_token(&org, &SecretString::from(control.scim_token(&org_s)))
        .await
        .expect("SCIM token stored");
    let deps = Deps {
        store: Arc::new(store.clone()) as Arc<dyn SubscriptionStore>,
        tokens: Arc::new(store.clone()) as Arc<dyn TokenStore>,
        client: client_for(&sandbox),
        clock: Arc::new(SystemClock),
        oauth_app: Some(oauth_app()),
    };
    World {
        sandbox,
        control,
        org,
        store,
        deps,
    }
}

impl World {
    pub fn org_str(&self) -> String {
        self.org.to_string()
    }

    /// A policy that executes (not dry-run) with a cap far above any sandbox org.
    pub async fn set_live_policy(&self) {
        jobs::set_policy(
            self.deps.store.as_ref(),
            &self.org,
            &live_policy(),
            "test",
            Utc::now(),
        )
        .await
        .expect("policy stored");
    }

    pub async fn download_and_plan(&self) -> ReclaimPlan {
        jobs::download_org(&self.deps, &self.org)
            .await
            .expect("download");
        let plan = jobs::plan_org(self.deps.store.as_ref(), &self.org, "test", Utc::now())
            .await
            .expect("plan");
        assert!(
            plan.candidates.len() >= 5,
            "the sandbox org should yield candidates: {:?}",
            plan.totals
        );
        plan
    }

    pub fn ground_truth(&self, member: &MemberId) -> miro_sandbox::SandboxMember {
        self.control
            .members(&self.org_str())
            .into_iter()
            .find(|m| m.id == member.as_str())
            .expect("member exists in the sandbox")
    }

    /// Every API request the sandbox has served so far.
    pub fn api_calls(&self) -> u64 {
        self.control.counters().by_endpoint.values().sum()
    }
}
