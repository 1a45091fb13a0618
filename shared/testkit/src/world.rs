//! A sandboxed Miro wired to a store as the jobs' dependencies: the sandbox, a client tuned for tests, the
//! org's tokens, and (for the SQLite adapter and the console) a `:memory:` SQLite store. One builder, so every
//! crate's tests connect the sandbox the same way.

use std::sync::Arc;

use chrono::{Duration, Utc};
use miro_client::{MiroClient, MiroConfig, OAuthApp, SecretString};
use miro_sam_core::domain::{MemberId, OrgId};
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::{Policy, ReclaimCap};
use miro_sam_core::ports::{AuditStore, SubscriptionStore, SystemClock, TokenBundle, TokenStore};
use miro_sam_sqlite::SqliteStore;
use miro_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxConfig, SandboxControl, SandboxMember,
};

/// A client for the sandbox with limits far above any test, and injected faults surfacing quickly rather than
/// after the production backoff.
pub fn client_for(sandbox: &Sandbox) -> MiroClient {
    let mut cfg = MiroConfig::for_base_url(&sandbox.base_url()).expect("sandbox URL");
    cfg.rest_limits.credits_per_window = 1_000_000_000;
    cfg.scim_limits.list_users = 1_000_000;
    cfg.scim_limits.get_user = 1_000_000;
    cfg.scim_limits.patch_user = 1_000_000;
    cfg.scim_limits.other = 1_000_000;
    cfg.retry.max_attempts = 2;
    cfg.retry.base_delay = std::time::Duration::from_millis(1);
    cfg.retry.max_delay = std::time::Duration::from_millis(5);
    MiroClient::new(cfg).expect("client")
}

/// The sandbox's own OAuth app.
pub fn oauth_app() -> OAuthApp {
    OAuthApp {
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: SecretString::from(DEFAULT_CLIENT_SECRET),
        redirect_uri: "http://127.0.0.1:9/callback".into(),
    }
}

/// A fresh sandbox access token for `org`, as the OAuth callback would store it (no refresh token, 55 minutes).
pub fn access_token(control: &SandboxControl, org: &OrgId) -> TokenBundle {
    TokenBundle {
        org_id: org.clone(),
        access_token: SecretString::from(control.issue_access_token(org.as_str())),
        refresh_token: None,
        expires_at: Some(Utc::now() + Duration::minutes(55)),
        team_id: None,
        user_id: None,
        scopes: vec!["organizations:read".into()],
        version: 0,
    }
}

/// Plays the admin's browser at the sandbox's authorize page (it consents at once) and returns the code.
pub async fn authorization_code(client: &MiroClient, state: &str) -> SecretString {
    let url = client.authorize_url(&oauth_app(), state, None);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let answer = browser
        .get(url.as_str())
        .send()
        .await
        .expect("authorize answers");
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let location = answer.headers()["location"]
        .to_str()
        .expect("a text location");
    let location = url::Url::parse(location).expect("a URL location");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("a code")
        .1
        .into_owned();
    SecretString::from(code)
}

/// Which of the org's tokens the world stores before the test. An org the test connects itself through the OAuth
/// flow wants no access token, so that its stored grant names the admin who approved it.
#[derive(Debug, Clone, Copy)]
pub struct Tokens {
    pub access: bool,
    pub scim: bool,
}

impl Tokens {
    pub const BOTH: Tokens = Tokens {
        access: true,
        scim: true,
    };
}

/// The sandbox, its first org and the jobs' dependencies on whatever adapters the test brings.
pub struct SandboxWorld {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    pub org: OrgId,
    pub deps: Deps,
}

/// Starts a sandbox from `config` and wires it to `store` and `tokens`, storing the first org's `wanted` tokens.
pub async fn sandbox_world(
    config: SandboxConfig,
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
    wanted: Tokens,
) -> SandboxWorld {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let control = sandbox.control();
    let org = OrgId::parse(&control.org_ids()[0]).expect("sandbox org id");
    if wanted.access {
        tokens
            .put_tokens(&access_token(&control, &org))
            .await
            .expect("tokens stored");
    }
    if wanted.scim {
        tokens
            .put_scim_token(&org, &SecretString::from(control.scim_token(org.as_str())))
            .await
            .expect("SCIM token stored");
    }
    let deps = Deps {
        store,
        tokens,
        client: client_for(&sandbox),
        clock: Arc::new(SystemClock),
        oauth_app: Some(oauth_app()),
    };
    SandboxWorld {
        sandbox,
        control,
        org,
        deps,
    }
}

/// A policy that executes (not dry-run) with a cap far above any sandbox org. Notices are off: the tests using it
/// are about the reclaim itself, which with notices on waits a week for the cycle (tests of that set
/// `notice_days`).
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

/// The kinds of `org`'s audit entries (`AuditEvent::kind`), in the store's order.
pub async fn audit_kinds<S: AuditStore + ?Sized>(store: &S, org: &OrgId) -> Vec<&'static str> {
    store
        .list_audit(org)
        .await
        .expect("the store lists the audit log")
        .iter()
        .map(|e| e.event.kind())
        .collect()
}

/// Downloads `org` and plans it now under its stored policy; the sandbox's orgs always yield candidates.
pub async fn download_and_plan(deps: &Deps, org: &OrgId) -> ReclaimPlan {
    jobs::download_org(deps, org).await.expect("download");
    let plan = jobs::plan_org(deps.store.as_ref(), org, "test", Utc::now())
        .await
        .expect("plan");
    assert!(
        plan.candidates.len() >= 5,
        "the sandbox org should yield candidates: {:?}",
        plan.totals
    );
    plan
}

/// The sandbox over a `:memory:` SQLite store.
pub struct World {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    pub org: OrgId,
    pub store: SqliteStore,
    pub deps: Deps,
}

/// A sandbox of `members` members over a `:memory:` SQLite store holding both of the org's tokens.
pub async fn world(members: usize) -> World {
    sqlite_world(SandboxConfig::unlimited(members), Tokens::BOTH).await
}

/// A sandbox from `config` over a `:memory:` SQLite store holding the `wanted` tokens.
pub async fn sqlite_world(config: SandboxConfig, wanted: Tokens) -> World {
    let store = SqliteStore::in_memory().expect("store");
    let SandboxWorld {
        sandbox,
        control,
        org,
        deps,
    } = sandbox_world(
        config,
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        wanted,
    )
    .await;
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

    /// Stores [`live_policy`] for the org.
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
        download_and_plan(&self.deps, &self.org).await
    }

    pub fn ground_truth(&self, member: &MemberId) -> SandboxMember {
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

// A browser's requests to a console served on loopback: what the console's own tests and the cross-crate tests
// both drive it with.

/// A browser at one console: its pages by path.
#[derive(Clone, Copy)]
pub struct Pages<'a> {
    pub browser: &'a reqwest::Client,
    /// The console's URL, its base path included (`http://127.0.0.1:PORT/console`).
    pub url: &'a str,
}

impl Pages<'_> {
    /// `GET url+path`: the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .browser
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("the console answers");
        (r.status().as_u16(), r.text().await.expect("a text body"))
    }

    /// `POST url+path` of the form `form`: the status and the body.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .browser
            .post(format!("{}{path}", self.url))
            .form(form)
            .send()
            .await
            .expect("the console answers");
        (r.status().as_u16(), r.text().await.expect("a text body"))
    }
}

/// The CSRF token a console page's forms carry.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("the page has a form with a CSRF token: {page}"));
    let rest = &page[at + marker.len()..];
    rest[..rest.find('"').expect("the token's closing quote")].to_owned()
}

/// The console's audit CSV export at `url` (`…/audit.csv`, with any query), fetched with `b`: a 200 download
/// whose first columns are at, id, actor and kind. Its text and its rows.
pub async fn audit_csv(b: &reqwest::Client, url: &str) -> (String, Vec<csv::StringRecord>) {
    let r = b.get(url).send().await.expect("the console answers");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .expect("a text header")
            .contains("attachment"),
        "a download"
    );
    let body = r.text().await.expect("a text body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("a header row")
            .iter()
            .take(4)
            .collect::<Vec<_>>(),
        ["at", "id", "actor", "kind"]
    );
    let rows = reader.records().map(|r| r.expect("a CSV row")).collect();
    (body, rows)
}

/// The sandbox as the core's refresh scenarios (`miro_sam_core::contract::MiroView`) see it: the aws and the
/// SQLite token tests run the same scenarios against it.
pub struct SandboxView(pub SandboxControl);

impl miro_sam_core::contract::MiroView for SandboxView {
    fn refreshes(&self) -> u64 {
        self.0.refresh_count()
    }

    fn token_calls(&self) -> u64 {
        self.0.counters().get("token")
    }

    fn expire_access_tokens(&self) {
        // Past the one-hour lifetime of every access token issued so far; refresh tokens last 60 days.
        self.0
            .advance_clock(std::time::Duration::from_secs(61 * 60));
    }

    fn revoke_all_tokens(&self) {
        for org in self.0.org_ids() {
            self.0.revoke_all_tokens(&org);
        }
    }
}
