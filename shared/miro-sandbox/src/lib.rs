//! Miro, played locally: one HTTP server on 127.0.0.1 that serves Miro's OAuth endpoints,
//! the REST v2 organization endpoints and the SCIM 2.0 Users API under one base URL,
//! faithful to docs/miro-api.md, plus a `/_sandbox/` control plane.
//!
//! Where Miro's behaviour is unconfirmed the sandbox picks the stricter plausible option,
//! so a client that works here also works against Miro. In particular: a refresh ends the old access token
//! at once; a members `cursor` naming someone who is not (or no longer) a member is 400 `invalidParameters`;
//! SCIM queries are read the RFC 3986 way (`%20` is a space, `+` a plus); a SCIM `userName` filter matches
//! with full Unicode lowercasing, so it can also answer a near-twin (a Kelvin sign for a `k`) and a client
//! must check which user it got; a second authorization by the same user and team is a re-install that ends
//! that user's earlier tokens (switchable); the org endpoints answer 403 to a token whose user is not a Company
//! Admin of the org (documented by Miro).
//!
//! [`cli::serve`] (the `miro-sandbox` binary and `miro-sam sandbox`) prints `export NAME='value'` lines for
//! exactly the variables `miro-sam` reads ([`cli::EXPORTED_NAMES`]), so `eval "$(miro-sam sandbox)"` works.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use miro_sandbox::{Sandbox, SandboxConfig};
//!
//! let sandbox = Sandbox::start(SandboxConfig::with_members(250)).await?;
//! let control = sandbox.control();
//! let org_id = control.org_ids()[0].clone();
//! let token = control.issue_access_token(&org_id);
//! // GET {base_url}/v2/orgs/{org_id}/members with `Authorization: Bearer {token}`,
//! // SCIM under {scim_base_url} with `control.scim_token(&org_id)`.
//! assert!(control.scim_log().is_empty());
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Control plane (JSON, never faulted, not counted): `GET /_sandbox/counters`,
//! `POST /_sandbox/reset-counters`, `GET /_sandbox/scim-log`, `POST /_sandbox/faults`
//! (FaultConfig fields; durations as `timeout_delay_ms` and `rate_limit_retry_after_secs`),
//! `GET /_sandbox/tokens`, `POST /_sandbox/advance-clock` (`{"seconds": N, "millis": N}`),
//! `POST /_sandbox/sign-in` (a [`SignInAs`] as JSON), `POST /_sandbox/reinstall` (`{"replaces_tokens": bool}`),
//! `POST /_sandbox/live-days` (`{"org_id": "...", "days": N}`, both optional: the first org, one day; answers
//! the [`LivedDay`]s).
//!
//! **Simulated days.** [`SandboxControl::live_day`] moves the clock 24 hours and lets the org's members live
//! that day ([`DayChurn`]: people work, go quiet, come back, join and leave; admins change licenses), the same
//! way for the same seed. Started in the past ([`SandboxConfig::clock_start`]), a sandbox can live a month up to
//! today in a second, so a client's daily downloads build real history.
//!
//! **Who signs in.** [`SandboxControl::set_sign_in`] chooses the user the next authorizations grant for, until
//! changed: [`SignInAs::OrgAdmin`] (default: the Company Admin who installed the app, member #1),
//! [`SignInAs::MemberWithRole`] (e.g. [`ROLE_USER`] for a plain member), [`SignInAs::Member`] (a member the
//! test picked and perhaps gave another role or admin roles), [`SignInAs::AdminOf`] (another org's admin: the
//! grant is for that org and its team). The code's tokens are that user's, the token response's `user_id` and
//! `team_id` and `/v1/oauth-token`'s `user`, `createdBy`, `organization` and `team` name that user and org, and
//! the REST org endpoints answer `403 forbiddenAccess` to a user who is not a Company Admin of the org.
//!
//! ```no_run
//! # async fn demo(sandbox: miro_sandbox::Sandbox) {
//! use miro_sandbox::{ROLE_USER, SignInAs};
//! let control = sandbox.control();
//! control
//!     .set_sign_in(SignInAs::MemberWithRole { role: ROLE_USER.to_string() })
//!     .expect("the org has a plain member");
//! // ... a sign-in through /oauth/authorize is now that member's; back to the admin:
//! control.set_sign_in(SignInAs::OrgAdmin).unwrap();
//! # }
//! ```
//!
//! **Re-installs.** Miro may treat a second authorization by the same user and team as a re-install that
//! replaces the earlier token (UNCONFIRMED, not in any source: docs/miro-api.md, "Code exchange and refresh"). On by default: the code exchange of
//! a second authorization issues new tokens and ends every earlier access and refresh token of that user in that
//! org (including ones from [`SandboxControl::issue_access_token`] for the installing admin); other users' and
//! other orgs' tokens are untouched. So a test can connect an org, sign in as the connecting admin, and see a
//! download still work only if the stored tokens were replaced by the new ones.
//! [`SandboxControl::set_reinstall_replaces_tokens`]`(false)` (or [`OAuthAppConfig::reinstall_replaces_tokens`])
//! keeps earlier tokens working. [`SandboxControl::access_token_is_live`] and
//! [`SandboxControl::refresh_token_is_live`] tell a test whether a token would still be accepted, without a
//! request.
//!
//! SCIM and REST can be made to disagree through [`SandboxControl`] (Rust only): a SCIM id different from the
//! member id (`set_scim_id`), SCIM roles REST does not show (`set_scim_roles`), an empty `lastActivityAt` in a
//! chosen form (`set_last_activity_empty`), users only SCIM lists (`add_scim_only_user`), and an admin's change
//! made in Miro rather than through SCIM (`admin_set_active`). [`FaultConfig`] switches SCIM PATCH to
//! `204 No Content` or to a 200 that changes nothing, turns SCIM off (403), injects SCIM 429s with or
//! without `Retry-After`/`X-RateLimit-*` headers (and REST 429s with a `Retry-After` or a reset in the past),
//! stamps REST credit headers on SCIM answers, ends a listing with an empty page that still names a cursor,
//! and redirects every API call to https.

// Handlers return `Result<_, Response>` to short-circuit with a ready error body; the
// responses are built once per request, so boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod cli;
mod config;
mod control;
mod control_oauth;
mod control_scim;
mod data;
mod faults;
mod http;
mod life;
mod limits;
mod model;
mod oauth;
mod rest;
mod scim;
mod scim_side;
mod sign_in;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    Consent, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID, FaultConfig, OAuthAppConfig,
    OrgSpec, RestLimits, SandboxConfig, ScimLimits,
};
pub use control::SandboxControl;
pub use life::{DayChurn, LicenseChange, LivedDay};
pub use model::{
    Counters, ENDPOINT_KEYS, LICENSES, ROLE_ADMIN, ROLE_EXTERNAL, ROLE_GUEST, ROLE_USER, ROLES,
    SandboxMember, ScimOp, ScimWrite,
};
pub use scim_side::{EmptyActivity, SCIM_ROLE_ADMIN, SCIM_ROLE_USER, ScimRoles};
pub use sign_in::SignInAs;

use state::Shared;

/// A running sandbox. Dropping it stops the server too; `shutdown` waits for that.
pub struct Sandbox {
    base_url: String,
    control: SandboxControl,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds 127.0.0.1 on a free port.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{local}");
        let shared = Arc::new(Shared::new(config, base_url.clone()));
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = server.await {
                eprintln!("miro-sandbox: server error: {e}");
            }
        });
        Ok(Sandbox {
            base_url,
            control: SandboxControl { shared },
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: OAuth authorize, token and REST all live here.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn scim_base_url(&self) -> String {
        self.control.shared.scim_base_url()
    }

    pub fn control(&self) -> SandboxControl {
        self.control.clone()
    }

    /// Stops accepting requests. In-flight requests get a short grace period; a request held
    /// by an injected timeout is cut off rather than waited for.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/v1/oauth/token", post(oauth::token))
        .route("/v1/oauth-token", get(oauth::token_info))
        .route("/v2/oauth/revoke", post(oauth::revoke))
        .route("/v2/orgs/{org_id}", get(rest::org))
        .route("/v2/orgs/{org_id}/members", get(rest::members))
        .route("/v2/orgs/{org_id}/members/{member_id}", get(rest::member))
        .merge(scim_router(shared.clone()))
        .nest("/_sandbox", control::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

fn scim_router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/scim/Users", get(scim::list_users))
        .route(
            "/api/v1/scim/Users/{id}",
            get(scim::get_user)
                .patch(scim::patch_user)
                .delete(scim::delete_user),
        )
        .route(
            "/api/v1/scim/ServiceProviderConfig",
            get(scim::service_provider_config),
        )
        .route_layer(axum::middleware::map_response_with_state(
            shared,
            faults::scim_credit_headers,
        ))
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/v1/scim") {
        http::scim_error(StatusCode::NOT_FOUND, None, "Resource not found")
    } else {
        http::rest_error(
            StatusCode::NOT_FOUND,
            "notFound",
            "Resource not found",
            Value::Null,
        )
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    if uri.path().starts_with("/api/v1/scim") {
        http::scim_error(status, None, "Method not allowed")
    } else {
        http::rest_error(
            status,
            "methodNotAllowed",
            "Method not allowed",
            Value::Null,
        )
    }
}
