//! All mutable sandbox state behind one std Mutex (never held across `.await`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{Consent, FaultConfig, OAuthAppConfig, SandboxConfig};
use crate::data::{self, id_key};
use crate::limits::{RestBudgets, ScimBudgets};
use crate::model::{Counters, SandboxMember, ScimWrite};
use crate::scim_side::ScimSide;
use crate::sign_in::SignInAs;

pub(crate) struct Shared {
    state: Mutex<State>,
    pub base_url: String,
}

impl Shared {
    pub fn new(config: SandboxConfig, base_url: String) -> Shared {
        Shared {
            state: Mutex::new(State::new(config)),
            base_url,
        }
    }

    /// A panic elsewhere must not turn every later request into a panic too.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count(&self, endpoint: &str) {
        *self
            .lock()
            .counters
            .by_endpoint
            .entry(endpoint.to_string())
            .or_insert(0) += 1;
    }

    pub fn scim_base_url(&self) -> String {
        format!("{}/api/v1/scim", self.base_url)
    }
}

pub(crate) struct Org {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub full_licenses_purchased: i64,
    pub developer_team: bool,
    pub team_id: String,
    /// The installing Company Admin: the user behind every OAuth token of this org.
    pub admin: SandboxMember,
    pub members: BTreeMap<(usize, String), SandboxMember>,
    pub scim_token: String,
    /// Where SCIM differs from REST (set by tests; empty by default).
    pub scim_side: ScimSide,
    /// What [`crate::SandboxControl::live_day`] needs to go on: see [`crate::life::OrgLife`].
    pub life: crate::life::OrgLife,
}

impl Org {
    pub fn member(&self, id: &str) -> Option<&SandboxMember> {
        self.members.get(&id_key(id))
    }
}

pub(crate) struct AccessToken {
    pub org_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoking the access token revokes this refresh token too (Miro's documented behaviour).
    pub refresh_token: Option<String>,
}

pub(crate) struct RefreshToken {
    pub org_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) struct AuthCode {
    pub org_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub expires_at: DateTime<Utc>,
}

pub(crate) struct State {
    pub oauth: OAuthAppConfig,
    pub latency: Duration,
    pub faults: FaultConfig,
    pub fault_rng: StdRng,
    /// The config's seed: simulated days draw from it too, so the same seed lives the same days.
    pub seed: u64,
    pub clock_offset: chrono::Duration,
    /// When the latest simulated day began (the start until one was lived): the next begins 24 hours later.
    pub day_mark: DateTime<Utc>,
    pub orgs: Vec<Org>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, AuthCode>,
    /// Who the next authorizations grant for.
    pub sign_in: SignInAs,
    pub counters: Counters,
    pub scim_log: Vec<ScimWrite>,
    pub refresh_count: u64,
    pub rest_budgets: RestBudgets,
    pub scim_budgets: ScimBudgets,
}

impl State {
    fn new(config: SandboxConfig) -> State {
        let clock_offset = config
            .clock_start
            .map_or(chrono::Duration::zero(), |start| start - Utc::now());
        let anchor = data::day_anchor(Utc::now() + clock_offset);
        let orgs = config
            .orgs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let generated = data::generate_org(spec, i, config.seed, anchor);
                Org {
                    id: spec.id.clone(),
                    name: spec.name.clone(),
                    plan: spec.plan.clone(),
                    full_licenses_purchased: generated.full_licenses_purchased,
                    developer_team: spec.developer_team,
                    team_id: generated.team_id,
                    admin: generated.admin,
                    members: generated
                        .members
                        .into_iter()
                        .map(|m| (id_key(&m.id), m))
                        .collect(),
                    scim_token: random_token("sbx_scim_"),
                    scim_side: ScimSide::default(),
                    life: crate::life::OrgLife::new(i, spec.members),
                }
            })
            .collect();
        State {
            fault_rng: StdRng::seed_from_u64(config.faults.fault_seed),
            oauth: config.oauth,
            latency: config.latency,
            faults: config.faults,
            seed: config.seed,
            clock_offset,
            day_mark: Utc::now() + clock_offset,
            orgs,
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            sign_in: SignInAs::default(),
            counters: Counters::default(),
            scim_log: Vec::new(),
            refresh_count: 0,
            rest_budgets: RestBudgets::new(config.rest_limits),
            scim_budgets: ScimBudgets::new(config.scim_limits),
        }
    }

    /// Sandbox clock: real time plus whatever tests advanced it by.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    pub fn org(&self, id: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    pub fn org_mut(&mut self, id: &str) -> Option<&mut Org> {
        self.orgs.iter_mut().find(|o| o.id == id)
    }

    pub fn org_by_scim_token(&self, token: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.scim_token == token)
    }

    /// A live (not expired, not revoked) access token.
    pub fn access_token(&self, token: &str) -> Option<&AccessToken> {
        let now = self.now();
        self.access_tokens
            .get(token)
            .filter(|t| t.expires_at.is_none_or(|e| now < e))
    }

    /// Mints an access token (and, for expiring apps with `with_refresh`, its refresh token).
    pub fn mint_tokens(
        &mut self,
        org_id: &str,
        user_id: &str,
        scopes: Vec<String>,
        with_refresh: bool,
    ) -> (String, Option<String>) {
        let now = self.now();
        let expiring = self.oauth.expiring_tokens;
        let refresh = (expiring && with_refresh).then(|| {
            let token = random_token("sbx_rt_");
            self.refresh_tokens.insert(
                token.clone(),
                RefreshToken {
                    org_id: org_id.to_string(),
                    user_id: user_id.to_string(),
                    scopes: scopes.clone(),
                    expires_at: now + to_chrono(self.oauth.refresh_ttl),
                },
            );
            token
        });
        let access = random_token("sbx_at_");
        self.access_tokens.insert(
            access.clone(),
            AccessToken {
                org_id: org_id.to_string(),
                user_id: user_id.to_string(),
                scopes,
                expires_at: expiring.then(|| now + to_chrono(self.oauth.access_ttl)),
                refresh_token: refresh.clone(),
            },
        );
        (access, refresh)
    }

    /// A re-install: every access and refresh token of this user in this org (one org, one team) stops working.
    pub fn end_user_tokens(&mut self, org_id: &str, user_id: &str) {
        self.access_tokens
            .retain(|_, t| !(t.org_id == org_id && t.user_id == user_id));
        self.refresh_tokens
            .retain(|_, t| !(t.org_id == org_id && t.user_id == user_id));
    }

    pub fn set_faults(&mut self, faults: FaultConfig) {
        self.fault_rng = StdRng::seed_from_u64(faults.fault_seed);
        self.faults = faults;
    }

    pub fn set_consent(&mut self, consent: Consent) {
        self.oauth.consent = consent;
    }
}

pub(crate) fn random_token(prefix: &str) -> String {
    let body: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{prefix}{body}")
}

pub(crate) fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
