//! Test-side handle on the sandbox (Rust API) and the same powers over HTTP under `/_sandbox/`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::config::{Consent, FaultConfig};
use crate::data::id_key;
use crate::http::json_response;
use crate::life::{DayChurn, LivedDay};
use crate::model::{Counters, SandboxMember, ScimWrite};
use crate::state::{Shared, to_chrono};

#[derive(Clone)]
pub struct SandboxControl {
    pub(crate) shared: Arc<Shared>,
}

impl SandboxControl {
    pub fn org_ids(&self) -> Vec<String> {
        self.shared
            .lock()
            .orgs
            .iter()
            .map(|o| o.id.clone())
            .collect()
    }

    /// A valid token for the org's installing admin, as if OAuth had run; scopes from config.
    /// Panics on an unknown org id (a bug in the calling test).
    pub fn issue_access_token(&self, org_id: &str) -> String {
        let scopes = self.shared.lock().oauth.scopes.clone();
        self.mint(org_id, scopes)
    }

    pub fn issue_access_token_with_scopes(&self, org_id: &str, scopes: &[&str]) -> String {
        self.mint(org_id, scopes.iter().map(|s| s.to_string()).collect())
    }

    fn mint(&self, org_id: &str, scopes: Vec<String>) -> String {
        let mut state = self.shared.lock();
        let admin_id = match state.org(org_id) {
            Some(org) => org.admin.id.clone(),
            None => panic!("miro-sandbox: unknown org id {org_id:?}"),
        };
        state.mint_tokens(org_id, &admin_id, scopes, false).0
    }

    /// The org's SCIM bearer token (separate from OAuth). Panics on an unknown org id.
    pub fn scim_token(&self, org_id: &str) -> String {
        match self.shared.lock().org(org_id) {
            Some(org) => org.scim_token.clone(),
            None => panic!("miro-sandbox: unknown org id {org_id:?}"),
        }
    }

    /// Access tokens, refresh tokens and pending codes of the org all stop working.
    pub fn revoke_all_tokens(&self, org_id: &str) {
        let mut state = self.shared.lock();
        state.access_tokens.retain(|_, t| t.org_id != org_id);
        state.refresh_tokens.retain(|_, t| t.org_id != org_id);
        state.codes.retain(|_, c| c.org_id != org_id);
    }

    /// Moves the sandbox clock (token/code expiry, "now"); rate windows keep real time.
    pub fn advance_clock(&self, by: Duration) {
        let mut state = self.shared.lock();
        state.clock_offset += to_chrono(by);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.shared.lock().now()
    }

    /// Moves the clock to the next simulated day, 24 hours after the previous one began (after the sandbox's
    /// start for the first; now, if the clock was already moved past that), and lives that day in the org (see
    /// [`DayChurn`]). `None` for an unknown org, whose clock is left alone.
    pub fn live_day(&self, org_id: &str, churn: &DayChurn) -> Option<LivedDay> {
        crate::life::live_day(&mut self.shared.lock(), org_id, churn)
    }

    /// Ground truth, sorted by id. Empty for an unknown org.
    pub fn members(&self, org_id: &str) -> Vec<SandboxMember> {
        self.shared
            .lock()
            .org(org_id)
            .map(|o| o.members.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn update_member(
        &self,
        org_id: &str,
        member_id: &str,
        f: impl FnOnce(&mut SandboxMember),
    ) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.org_mut(org_id) else {
            return false;
        };
        let Some(mut member) = org.members.remove(&id_key(member_id)) else {
            return false;
        };
        f(&mut member);
        // Re-keyed in case the closure changed the id.
        org.members.insert(id_key(&member.id), member);
        true
    }

    /// Inserts, or replaces the member with the same id.
    pub fn add_member(&self, org_id: &str, m: SandboxMember) {
        if let Some(org) = self.shared.lock().org_mut(org_id) {
            org.members.insert(id_key(&m.id), m);
        }
    }

    pub fn remove_member(&self, org_id: &str, member_id: &str) -> bool {
        self.shared
            .lock()
            .org_mut(org_id)
            .is_some_and(|o| o.members.remove(&id_key(member_id)).is_some())
    }

    /// Replaces the fault config and reseeds the fault RNG from `fault_seed`.
    pub fn set_faults(&self, f: FaultConfig) {
        self.shared.lock().set_faults(f);
    }

    pub fn set_latency(&self, d: Duration) {
        self.shared.lock().latency = d;
    }

    pub fn set_consent(&self, c: Consent) {
        self.shared.lock().set_consent(c);
    }

    pub fn counters(&self) -> Counters {
        self.shared.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.shared.lock().counters = Counters::default();
    }

    pub fn scim_log(&self) -> Vec<ScimWrite> {
        self.shared.lock().scim_log.clone()
    }

    pub fn refresh_count(&self) -> u64 {
        self.shared.lock().refresh_count
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/counters", get(counters))
        .route("/reset-counters", post(reset_counters))
        .route("/scim-log", get(scim_log))
        .route("/faults", post(faults))
        .route("/tokens", get(tokens))
        .route("/advance-clock", post(advance_clock))
        .route("/live-days", post(live_days))
        .route("/sign-in", post(crate::control_oauth::sign_in))
        .route("/reinstall", post(crate::control_oauth::reinstall))
}

fn control(shared: Arc<Shared>) -> SandboxControl {
    SandboxControl { shared }
}

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

async fn counters(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).counters()).into_response()
}

async fn reset_counters(State(shared): State<Arc<Shared>>) -> Response {
    control(shared).reset_counters();
    StatusCode::NO_CONTENT.into_response()
}

async fn scim_log(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).scim_log()).into_response()
}

/// `POST /_sandbox/faults`: every field optional; durations in milliseconds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    #[serde(default)]
    error_rate: f64,
    #[serde(default)]
    timeout_rate: f64,
    timeout_delay_ms: Option<u64>,
    #[serde(default)]
    rate_limit_burst: u32,
    #[serde(default)]
    malformed_members_page_once: bool,
    #[serde(default)]
    repeat_cursor: bool,
    #[serde(default)]
    cursor_past_the_end: bool,
    #[serde(default)]
    expire_tokens_after_requests: Option<u32>,
    #[serde(default)]
    fault_seed: u64,
    #[serde(default)]
    scim_rate_limit_burst: u32,
    /// Whole seconds.
    rate_limit_retry_after_secs: Option<u64>,
    rate_limit_reset_in_secs: Option<i64>,
    #[serde(default)]
    scim_credit_headers: bool,
    #[serde(default)]
    scim_patch_no_content: bool,
    #[serde(default)]
    scim_patch_not_applied: bool,
    #[serde(default)]
    scim_disabled: bool,
    #[serde(default)]
    redirect_to_https: bool,
}

async fn faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: FaultsBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("invalid faults body: {e}")),
    };
    let defaults = FaultConfig::default();
    control(shared).set_faults(FaultConfig {
        error_rate: parsed.error_rate,
        timeout_rate: parsed.timeout_rate,
        timeout_delay: parsed
            .timeout_delay_ms
            .map_or(defaults.timeout_delay, Duration::from_millis),
        rate_limit_burst: parsed.rate_limit_burst,
        malformed_members_page_once: parsed.malformed_members_page_once,
        repeat_cursor: parsed.repeat_cursor,
        cursor_past_the_end: parsed.cursor_past_the_end,
        expire_tokens_after_requests: parsed.expire_tokens_after_requests,
        fault_seed: parsed.fault_seed,
        scim_rate_limit_burst: parsed.scim_rate_limit_burst,
        rate_limit_retry_after: parsed.rate_limit_retry_after_secs.map(Duration::from_secs),
        rate_limit_reset_in_secs: parsed.rate_limit_reset_in_secs,
        scim_credit_headers: parsed.scim_credit_headers,
        scim_patch_no_content: parsed.scim_patch_no_content,
        scim_patch_not_applied: parsed.scim_patch_not_applied,
        scim_disabled: parsed.scim_disabled,
        redirect_to_https: parsed.redirect_to_https,
    });
    StatusCode::NO_CONTENT.into_response()
}

/// Fresh credentials per org, for people driving the binary by hand.
async fn tokens(State(shared): State<Arc<Shared>>) -> Response {
    let control = control(shared);
    let (client_id, client_secret) = {
        let state = control.shared.lock();
        (
            state.oauth.client_id.clone(),
            state.oauth.client_secret.clone(),
        )
    };
    let orgs: Vec<_> = control
        .org_ids()
        .into_iter()
        .map(|id| {
            json!({
                "org_id": id,
                "access_token": control.issue_access_token(&id),
                "scim_token": control.scim_token(&id),
            })
        })
        .collect();
    axum::Json(json!({
        "client_id": client_id,
        "client_secret": client_secret,
        "orgs": orgs,
    }))
    .into_response()
}

/// `POST /_sandbox/advance-clock` with `{"seconds": N}` and/or `{"millis": N}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    millis: u64,
}

async fn advance_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: AdvanceBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("invalid advance-clock body: {e}")),
    };
    let control = control(shared);
    control
        .advance_clock(Duration::from_secs(parsed.seconds) + Duration::from_millis(parsed.millis));
    axum::Json(json!({ "now": control.now() })).into_response()
}

/// `POST /_sandbox/live-days` with `{"org_id": "...", "days": N}` (the first org and one day when left out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveDaysBody {
    org_id: Option<String>,
    days: Option<u32>,
}

/// A year at most per call: enough for any history, and a typo cannot hold the lock for minutes.
const MAX_DAYS_PER_CALL: u32 = 366;

async fn live_days(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: LiveDaysBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("invalid live-days body: {e}")),
    };
    let days = parsed.days.unwrap_or(1);
    if days == 0 || days > MAX_DAYS_PER_CALL {
        return bad_request(&format!(
            "days must be 1 to {MAX_DAYS_PER_CALL}, got {days}"
        ));
    }
    let control = control(shared);
    let Some(org_id) = parsed
        .org_id
        .or_else(|| control.org_ids().into_iter().next())
    else {
        return bad_request("the sandbox has no org");
    };
    let churn = DayChurn::default();
    let mut lived = Vec::new();
    for _ in 0..days {
        match control.live_day(&org_id, &churn) {
            Some(day) => lived.push(day),
            None => {
                return json_response(
                    StatusCode::NOT_FOUND,
                    &json!({ "error": format!("no org {org_id:?} in this sandbox") }),
                );
            }
        }
    }
    axum::Json(lived).into_response()
}
