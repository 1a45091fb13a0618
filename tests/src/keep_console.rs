//! An org ready for notices (members on SQLite inactive long enough to be candidates, a live policy, today's
//! plan) and the console serving it on a random 127.0.0.1 port with keep links on: what the keep-link tests
//! (`tests/keep_link_smtp.rs`, `tests/browser_keep.rs`) send notices from and follow the links into.
//!
//! The members are written straight into the store (as a download would leave them): the keep page reads notice
//! records, never Miro. The console still gets a real Miro client, pointed at a sandbox, so nothing it holds
//! points nowhere.

use std::sync::Arc;

use chrono::{Duration, Utc};
use miro_client::SecretString;
use miro_sam_console::{ConsoleConfig, ConsoleDeps, router};
use miro_sam_core::domain::{OrgId, PlanId, RegisteredOrg};
use miro_sam_core::jobs::plan_org_streamed;
use miro_sam_core::notices::{
    DigestChannels, NoticeDeps, NoticeSettings, OrgNoticeReport, notices_after_plan,
};
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{
    FixedClock, Mailer, OrgStore, ReclaimQueue, SubscriptionStore, TokenStore,
};
use miro_sam_links::SignedKeepLinks;
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::notice_world;
use miro_sam_testkit::world::client_for;
use miro_sandbox::{Sandbox, SandboxConfig};
use secrecy::SecretBox;

use crate::serve::{Served, serve};

/// The deployment's keep-link key: the notice run signs with it, the console verifies with it.
pub const KEEP_LINK_KEY: &str = "keep-link-key-of-this-test-deployment";
pub const ORG_NAME: &str = "Acme Corp";

pub struct KeepConsole {
    pub store: SqliteStore,
    pub org: OrgId,
    /// `http://127.0.0.1:PORT/console`
    pub url: String,
    /// The console's and the notice run's clock.
    pub clock: Arc<FixedClock>,
    /// Today's plan, the one notices follow.
    pub plan_id: PlanId,
    _served: Served,
    _sandbox: Sandbox,
}

impl KeepConsole {
    /// `candidates` members idle for 150 days under `policy` (live: not a dry run, so notices go out), planned
    /// today, and the console serving the org with [`KEEP_LINK_KEY`].
    pub async fn start(candidates: u64, policy: Policy) -> KeepConsole {
        assert!(!policy.dry_run, "notices are silent on a dry run");
        let now = Utc::now();
        let clock = Arc::new(FixedClock::new(now));
        let org = notice_world::org();
        let store = SqliteStore::in_memory()
            .expect("store")
            .with_clock(clock.clone());
        store
            .put_org(&RegisteredOrg {
                id: org.clone(),
                name: ORG_NAME.into(),
                connected_at: now - Duration::days(200),
            })
            .await
            .expect("org");
        let members: Vec<_> = (1..=candidates)
            .map(|n| notice_world::member(n, now - Duration::days(150)))
            .collect();
        notice_world::seed_org(&store, &org, &members, &policy, now).await;
        let plan = plan_org_streamed(&store, &org, "daily run", now)
            .await
            .expect("plan");
        assert_eq!(
            plan.totals.candidates as u64, candidates,
            "every idle member is a candidate: {:?}",
            plan.totals
        );

        let sandbox = Sandbox::start(SandboxConfig::with_members(1))
            .await
            .expect("sandbox starts");
        let client = client_for(&sandbox);
        let deps = ConsoleDeps {
            store: Arc::new(store.clone()) as Arc<dyn SubscriptionStore>,
            tokens: Arc::new(store.clone()) as Arc<dyn TokenStore>,
            states: Arc::new(store.clone()),
            queue: Arc::new(store.clone()) as Arc<dyn ReclaimQueue>,
            client,
            oauth_app: None,
            clock: clock.clone(),
        };
        let served = serve("/console", |origin| {
            let config = ConsoleConfig {
                base_path: "/console".into(),
                public_url: origin,
                session_key: SecretBox::new(Box::new(rand::random::<[u8; 32]>())),
                secure_cookies: false,
                admin_emails: None,
                price_per_seat_month_minor: None,
                currency: "USD".into(),
                local_login: true,
                keep_link_key: Some(SecretString::from(KEEP_LINK_KEY.to_owned())),
            };
            router(config, deps)
        })
        .await;
        KeepConsole {
            store,
            org,
            url: served.url.clone(),
            clock,
            plan_id: plan.plan_id,
            _served: served,
            _sandbox: sandbox,
        }
    }

    /// The links the notice run puts in messages: signed with the console's key, to this console.
    pub fn keep_links(&self) -> SignedKeepLinks {
        SignedKeepLinks::new(SecretString::from(KEEP_LINK_KEY.to_owned()), &self.url)
    }

    /// The day's notices on today's plan, sent with `mailer`, each with its keep link to this console
    /// ([`KeepConsole::keep_links`]); no digest.
    pub async fn send_notices(&self, mailer: Arc<dyn Mailer>) -> OrgNoticeReport {
        let settings = NoticeSettings {
            contact: "the IT service desk, it@example.com".into(),
            keep_links: Arc::new(self.keep_links()),
            digest: DigestChannels::default(),
        };
        notices_after_plan(
            &self.notice_deps(mailer),
            &self.org,
            self.plan_id,
            &settings,
        )
        .await
        .expect("the notice day runs")
    }

    /// The notice run's ports over the console's store, sending with `mailer`.
    pub fn notice_deps(&self, mailer: Arc<dyn Mailer>) -> NoticeDeps {
        notice_world::notice_deps(Arc::new(self.store.clone()), mailer, self.clock.clone())
    }
}

/// A live policy whose cap lets every candidate through.
pub fn notice_policy() -> Policy {
    notice_world::reclaiming_policy(100)
}
