//! A world for the cross-crate tests: a Miro sandbox, a fresh table, queue and secrets in the local AWS API
//! (moto, started by `./scripts/test.sh`), and a function [`Runtime`] wired to both exactly as a cold start
//! would wire it.

pub mod browser;
pub mod fanout;
pub mod keep_console;
pub mod proxy;
pub mod reclaim;
pub mod serve;
pub mod ses;
pub mod smtp_sink;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use miro_client::{MiroConfig, SecretString};
use miro_sam_aws::env::TEST_AWS_ENDPOINT;
use miro_sam_aws::{Adapters, AwsClients, AwsConfig};
use miro_sam_core::domain::OrgId;
use miro_sam_lambda::{Runtime, Settings, env};
use miro_sandbox::{Sandbox, SandboxConfig, SandboxControl, ScimOp};
use std::collections::HashMap;
use std::time::Duration;

pub const REDIRECT_URI: &str = "https://abc123.execute-api.us-east-1.amazonaws.com/oauth/callback";

pub struct World {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    pub clients: AwsClients,
    pub rt: Runtime,
    pub link_key: SecretString,
    pub queue_url: String,
    /// The download fan-out's queue (standard, like the deployed one).
    pub download_queue_url: String,
    /// SQS straight to the local AWS API, never through a proxy: the harness plays the event source mapping.
    pub harness_sqs: aws_sdk_sqs::Client,
    pub org: OrgId,
}

/// Options that differ between tests.
#[derive(Default)]
pub struct WorldOptions {
    pub members: usize,
    pub extra_orgs: usize,
    pub env: Vec<(&'static str, String)>,
    /// Talk to the local AWS API through this URL (e.g. a [`proxy::FlakyProxy`]) instead of directly.
    pub aws_endpoint: Option<String>,
    /// Applied to the function's Miro client (timeouts, retries).
    pub tune_miro: Option<fn(&mut MiroConfig)>,
    /// The sandbox's latency before every API request.
    pub latency: Duration,
}

fn endpoint() -> String {
    match std::env::var(TEST_AWS_ENDPOINT) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{TEST_AWS_ENDPOINT} is not set: these tests need the local AWS API. Run them with `./scripts/test.sh`, \
             which installs and starts moto_server and sets it"
        ),
    }
}

/// The local AWS API's URL (`http://host:port`).
pub fn aws_endpoint() -> String {
    endpoint()
}

pub async fn sdk() -> SdkConfig {
    sdk_at(&endpoint()).await
}

/// The local AWS API's endpoint (host:port), for a proxy in front of it.
pub fn aws_host_port() -> String {
    endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

pub async fn sdk_at(endpoint: &str) -> SdkConfig {
    miro_sam_aws::sdk::load()
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "moto",
        )))
        .build()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Miro's windows scaled down 60x so paced tests take fractions of a second.
pub fn scaled(mut c: MiroConfig) -> MiroConfig {
    c.rest_limits.window /= 60;
    c.scim_limits.window /= 60;
    c.retry.base_delay = Duration::from_millis(5);
    c.retry.max_delay = Duration::from_millis(100);
    c
}

pub async fn world(opts: WorldOptions) -> World {
    let mut cfg = SandboxConfig::with_members(opts.members.max(1));
    for i in 0..opts.extra_orgs {
        let mut extra = cfg.orgs[0].clone();
        extra.id = format!("30744573458211420{i:02}");
        extra.name = format!("Second Org {i}");
        cfg.orgs.push(extra);
    }
    cfg.rest_limits.window /= 60;
    cfg.scim_limits.window /= 60;
    cfg.latency = opts.latency;
    let sandbox = Sandbox::start(cfg.clone()).await.expect("sandbox starts");
    let control = sandbox.control();

    let sdk = sdk().await;
    let clients = match &opts.aws_endpoint {
        Some(e) => AwsClients::at_endpoint(&sdk, e),
        None => AwsClients::new(&sdk),
    };
    let table = unique("miro-sam-fn");
    miro_sam_aws::table::create_table(&clients.dynamodb, &table)
        .await
        .expect("table");
    let queue_url = clients
        .sqs
        .create_queue()
        // FIFO, like the deployed queue (infra/template.yaml): it deduplicates (plan, member) requests.
        .queue_name(format!("{}.fifo", unique("reclaim")))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("queue url")
        .to_owned();
    let download_queue_url = clients
        .sqs
        .create_queue()
        .queue_name(unique("download"))
        .send()
        .await
        .expect("download queue")
        .queue_url()
        .expect("queue url")
        .to_owned();
    let client_secret_name = unique("miro-sam/oauth-client-secret");
    let link_key_name = unique("miro-sam/connect-link-key");
    for (name, value) in [
        (&client_secret_name, cfg.oauth.client_secret.clone()),
        (&link_key_name, unique("k")),
    ] {
        clients
            .secrets
            .create_secret()
            .name(name.as_str())
            .secret_string(value)
            .send()
            .await
            .expect("secret");
    }

    let mut vars: HashMap<&str, String> = HashMap::from([
        (env::MIRO_API_BASE_URL, sandbox.base_url()),
        (env::MIRO_OAUTH_BASE_URL, sandbox.base_url()),
        (env::MIRO_SCIM_BASE_URL, sandbox.scim_base_url()),
        (env::OAUTH_CLIENT_ID, cfg.oauth.client_id.clone()),
        (env::OAUTH_REDIRECT_URI, REDIRECT_URI.to_owned()),
        (env::CONNECT_LINK_KEY_NAME, link_key_name),
        (env::DOWNLOAD_QUEUE_URL, download_queue_url.clone()),
    ]);
    vars.extend(opts.env);
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("settings");
    let aws = AwsConfig {
        table_name: table,
        secret_prefix: unique("miro-sam-test"),
        reclaim_queue_url: Some(queue_url.clone()),
        oauth_client_secret_name: Some(client_secret_name),
    };
    let adapters = Adapters::from_clients(aws, clients.clone());
    let mut miro = scaled(settings.miro.clone());
    if let Some(tune) = opts.tune_miro {
        tune(&mut miro);
    }
    let rt = Runtime::new(settings, adapters, miro)
        .await
        .expect("runtime");
    let link_key = oauth_callback::read_link_key(&rt).await.expect("link key");
    let org = OrgId::parse(&control.org_ids()[0]).expect("org id");
    World {
        sandbox,
        control,
        clients,
        rt,
        link_key,
        queue_url,
        download_queue_url,
        harness_sqs: aws_sdk_sqs::Client::new(&sdk),
        org,
    }
}

/// An API Gateway HTTP API (payload v2) request for `GET path?query`, built from the fixture the function keeps
/// for `cargo lambda invoke`.
pub fn http_request(method: &str, path: &str, query: &[(&str, &str)]) -> lambda_http::Request {
    let fixture = include_str!("../../functions/oauth-callback/events/health.json");
    let mut event: serde_json::Value = serde_json::from_str(fixture).expect("fixture parses");
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    event["rawPath"] = path.into();
    event["rawQueryString"] = qs.into();
    event["routeKey"] = format!("{method} {path}").into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    if !query.is_empty() {
        let params: serde_json::Map<String, serde_json::Value> = query
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        event["queryStringParameters"] = params.into();
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// The response body as text.
pub fn body_text(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// Plays the admin's browser at Miro: opens the consent URL and returns where Miro sends the browser back.
pub async fn consent(authorize_url: &str) -> url::Url {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = browser
        .get(authorize_url)
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(resp.status().as_u16(), 302, "Miro redirects back");
    url::Url::parse(resp.headers()["location"].to_str().expect("ascii")).expect("a URL")
}

pub fn pairs(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl World {
    /// Connects the org without the browser dance (the OAuth flow has its own tests): tokens, org, a policy and the
    /// SCIM token, as an operator would leave them.
    pub async fn connect_directly(&self, org: &OrgId, policy: miro_sam_core::policy::Policy) {
        let deps = &self.rt.deps;
        let now = deps.clock.now();
        deps.tokens
            .put_tokens(&miro_sam_testkit::world::access_token(&self.control, org))
            .await
            .expect("tokens");
        deps.store
            .put_org(&miro_sam_core::domain::RegisteredOrg {
                id: org.clone(),
                name: "Acme Corp".into(),
                connected_at: now,
            })
            .await
            .expect("org");
        miro_sam_core::jobs::set_policy(deps.store.as_ref(), org, &policy, "test", now)
            .await
            .expect("policy");
        self.store_scim_token(org).await;
    }

    /// Stores the sandbox's SCIM token of `org`, as the operator does after connecting it.
    pub async fn store_scim_token(&self, org: &OrgId) {
        self.rt
            .deps
            .tokens
            .put_scim_token(
                org,
                &SecretString::from(self.control.scim_token(org.as_str())),
            )
            .await
            .expect("scim token");
    }

    /// Connects the first org through the real code flow (the admin consents at the sandbox, then `connect_org`
    /// with `policy` as the default): the stored grant has a refresh token and names the admin who approved it.
    /// No SCIM token is stored.
    pub async fn connect_through_consent(
        &self,
        policy: miro_sam_core::policy::Policy,
    ) -> miro_sam_core::jobs::ConnectedOrg {
        let app = self
            .rt
            .oauth_app()
            .expect("the runtime's OAuth app")
            .clone();
        let back = consent(self.rt.deps.client.authorize_url(&app, "s", None).as_str()).await;
        let code = pairs(&back)
            .into_iter()
            .find(|(k, _)| k == "code")
            .unwrap_or_else(|| panic!("Miro sent no code back: {back}"))
            .1;
        let opts = miro_sam_core::jobs::ConnectOptions {
            default_policy: policy,
            ..Default::default()
        };
        miro_sam_core::jobs::connect_org(&self.rt.deps, &app, &SecretString::from(code), &opts)
            .await
            .expect("the org connects")
    }

    /// Connects every org of the sandbox directly ([`World::connect_directly`]) under `policy`; their ids.
    pub async fn connect_every_org(&self, policy: miro_sam_core::policy::Policy) -> Vec<OrgId> {
        let orgs: Vec<OrgId> = (0..self.control.org_ids().len())
            .map(|i| self.org_at(i))
            .collect();
        for org in &orgs {
            self.connect_directly(org, policy.clone()).await;
        }
        orgs
    }

    /// The sandbox's `i`-th org (0 is [`World::org`]; the others are the options' `extra_orgs`).
    pub fn org_at(&self, i: usize) -> OrgId {
        OrgId::parse(&self.control.org_ids()[i]).expect("org id")
    }

    /// The SCIM users the sandbox logged `op` for, in the log's order.
    pub fn scim_ops(&self, op: ScimOp) -> Vec<String> {
        self.control
            .scim_log()
            .into_iter()
            .filter(|l| l.op == op)
            .map(|l| l.user_id)
            .collect()
    }

    /// The ids of the members the store holds for `org` and has not marked removed, in the store's order.
    pub async fn stored_member_ids(&self, org: &OrgId) -> Vec<String> {
        self.rt
            .deps
            .store
            .list_members(org)
            .await
            .expect("the store lists members")
            .into_iter()
            .filter(|m| !m.is_removed())
            .map(|m| m.member_id.to_string())
            .collect()
    }

    /// The ids of `org`'s members in the sandbox: the truth a download must end with.
    pub fn sandbox_member_ids(&self, org: &OrgId) -> Vec<String> {
        self.control
            .members(org.as_str())
            .into_iter()
            .map(|m| m.id)
            .collect()
    }

    /// `org`'s notice records (the first thousand: every one a test org has), in the store's order.
    pub async fn notice_records(&self, org: &OrgId) -> Vec<miro_sam_core::notices::NoticeRecord> {
        self.rt
            .deps
            .store
            .list_notices_page(org, None, 1000)
            .await
            .expect("the store lists notice records")
    }

    /// Whether a download checkpoint of the first org is stored (none once a download finished).
    pub async fn has_checkpoint(&self) -> bool {
        self.rt
            .deps
            .store
            .get_checkpoint(&self.org)
            .await
            .expect("the store reads checkpoints")
            .is_some()
    }
}

/// A world of `members` members in one org, nothing connected.
pub async fn world_of(members: usize) -> World {
    world(WorldOptions {
        members,
        ..Default::default()
    })
    .await
}

/// A world of `members` members in one org, connected directly ([`World::connect_directly`]) under `policy`.
pub async fn connected_world(members: usize, policy: miro_sam_core::policy::Policy) -> World {
    let w = world_of(members).await;
    w.connect_directly(&w.org, policy).await;
    w
}
/// A policy that executes on its own (no approval step), with a cap wide enough for a synthetic org. Notices are
/// off: with them on the reclaim waits a week for the cycle (the notice tests set `notice_days`).
pub fn live_policy() -> miro_sam_core::policy::Policy {
    miro_sam_core::policy::Policy {
        dry_run: false,
        approval: miro_sam_core::policy::Approval::Automatic,
        cap: miro_sam_core::policy::ReclaimCap {
            max_count: None,
            max_percent: Some(miro_sam_core::policy::Percent::new(60.0).expect("a percentage")),
        },
        notice_days: 0,
        ..Default::default()
    }
}
