//! miro-sam's admin console: an axum [`Router`] over the core's ports with server-rendered pages, served twice
//! from the same code: by the `console` Lambda (lambda_http) under `/console` of the deployment's HTTP API, and
//! by `miro-sam serve` on 127.0.0.1 over the SQLite store.
//!
//! # Using it
//! ```text
//! let app: axum::Router = miro_sam_console::router(config, deps);
//! axum::serve(listener, app).await?;              // or lambda_http::run(app) on AWS
//! // miro-sam serve: print a single-use login link instead of Sign in with Miro
//! let link = miro_sam_console::one_time_login_link(&config, deps.states.as_ref(), &org, "operator").await?;
//! ```
//! - [`ConsoleConfig`]: where the console lives (`base_path`, `public_url`), the session key (32 bytes,
//!   HMAC-SHA256), whether cookies are `Secure`, an optional allow-list of admin emails, the seat price for
//!   savings, and whether one-time login links are accepted (`local_login`, for `miro-sam serve` only).
//! - [`ConsoleDeps`]: the store, token store, OAuth states, reclaim queue, Miro client, the Miro app (for Sign in
//!   with Miro; `None` turns it off) and the clock.
//! - [`router`]: every route below, nested under `base_path`.
//! - [`one_time_login_link`]: a single-use loopback URL (10 minutes) that signs the operator in to one org.
//!
//! # Sign-in and sessions
//! `GET {base}/login` starts the OAuth code flow of the Miro app (redirect URI
//! `{public_url}{base}/auth/callback`, which must be registered in the app); the callback requires a Company
//! Admin of a connected org (see `auth.rs` for the exact checks and when the sign-in token is kept as the org's
//! token). The session is a signed cookie (HMAC-SHA256; user id, email, org, expiry 8 h; HttpOnly,
//! SameSite=Lax, Secure when configured). A session sees and changes its own org only. Tampered, foreign-key or
//! expired cookies get a clear page and no data. Sessions are stateless: signing out removes the cookie from
//! the browser, but a copy of it stays valid until it expires; rotating the session key ends every session. Every POST but the keep page's needs the session's CSRF token (`csrf` form field),
//! checked before any handler runs; every response carries a strict Content-Security-Policy (no scripts, no
//! inline styles, no framing), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
//!
//! # Routes (under `base_path`)
//! Every page reads a bounded amount: a page of a paged store read, or a fixed number of small reads.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | overview: seats of the latest snapshot, seats over time (120 days of snapshots), activity buckets, potential savings (latest plan's candidates × price), realised savings net of reactivations (counted page by page, capped), last download, alerts (reconnect, SCIM token missing, paused, stale download, plan over cap) |
//! | `GET /plans` | the latest plan: candidates (reason, evidence, status) filtered by `q` (email contains), `license`, `min_days`, sorted by `sort` (`days`, `days_asc`, `email`), 50 a page after `after`; exclusions (50 a page after `exc_after`); what changed since the previous plan |
//! | `POST /plans/{plan}/approve` | approve the whole plan ([`miro_sam_core::jobs::approve_plan`]) |
//! | `POST /plans/{plan}/selection` | `action=approve` or `action=reject` (with `why`) for the ticked `member`s |
//! | `GET /members` | search by email prefix (`q`), 50 a page |
//! | `GET /members/{id}` | license, role, activity, hold, reclaim history, timeline (50 a page, `before`); the state shows what miro-sam did since the last download (approved and queued, being reclaimed, reclaimed, undo queued, reactivated) |
//! | `POST /members/{id}/reactivate` | undo (`why` required): queues a reactivate message for the reclaim worker |
//! | `POST /members/{id}/hold/remove` | remove the member's hold |
//! | `GET /reclaimed` | reclaimed seats, newest first, with undo buttons |
//! | `GET /exemptions`, `POST /exemptions/add`, `POST /exemptions/remove` | exemptions (each change a new policy version, refused if the policy changed since the page was read) and holds |
//! | `GET /keep-requests` | members' open requests to keep their seat (`keep_needs_approval`), a bounded scan of notice records a page at a time (`after`) |
//! | `POST /keep-requests/approve`, `POST /keep-requests/decline` | an admin's decision on one request (`member`, `cycle`; a decline needs `why`), audited by the core with the admin as actor |
//! | `GET /keep/{token}`, `POST /keep/{token}` | the member's keep page from a notice's link: no session, the signed token is the credential, so no CSRF token either; GET shows one button and changes nothing, POST keeps (or asks the admins); 404 when `keep_link_key` is `None` |
//! | `GET /policy`, `POST /policy/preview`, `POST /policy/save` | the policy JSON; an edit is validated (errors shown, nothing stored) and diffed against the current version before it is saved |
//! | `POST /pause`, `POST /resume` | the org's kill switch |
//! | `GET /audit` | the audit log filtered by `member` (id or email), `kind`, `from`, `to` (days, inclusive), 50 a page with a next-page cursor |
//! | `GET /audit.csv`, `GET /audit.json` | the same entries exported, streamed a store page at a time |
//! | `GET /members.csv` | every member with Oomnitza's fields (Id, Username, First name, Family name, User type, Active) plus Role, Last activity, License assigned, Sync time |
//! | `GET /login`, `GET /auth/callback`, `POST /logout`, `GET /local-login` | signing in and out (both audited: `signed_in`, `signed_out`) |
//! | `GET /static/console.css` | the stylesheet |
//!
//! Every console action that changes state is audited with the admin's identity (`email (console, Miro user
//! id)`), by the core job that performs it or by the console itself.

mod auth;
mod charts;
mod config;
mod error;
mod form;
mod format;
mod pages;
mod paging;
mod query;
mod security;
mod session;
mod state;
mod views;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post};

pub use auth::{LoginLinkError, one_time_login_link};
pub use config::{ConsoleConfig, ConsoleDeps};
pub use format::thousands;
pub use pages::keep::loggable_path;
pub use security::headers::CSP;
pub use security::session::{SESSION_COOKIE, SESSION_LENGTH};

use state::AppState;

const CSS: &str = include_str!("../static/console.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn not_found() -> error::PageError {
    error::PageError::NotFound("There is no such page in the console.".into())
}

/// The console: every page and action, under `config.base_path`.
pub fn router(config: ConsoleConfig, deps: ConsoleDeps) -> Router {
    let st = AppState::new(config, deps);
    // Full paths rather than `nest`: a nested router cannot answer both `/console` and `/console/`.
    let base = st.base.clone();
    let at = |path: &str| format!("{base}{path}");
    let mut routes = Router::new().route(&at("/"), get(pages::overview::overview));
    if !base.is_empty() {
        routes = routes.route(&base, get(pages::overview::overview));
    }
    routes
        .route(&at("/plans"), get(pages::plans::plans))
        .route(
            &at("/plans/{plan}/approve"),
            post(pages::plans::approve_all),
        )
        .route(
            &at("/plans/{plan}/selection"),
            post(pages::plans::selection),
        )
        .route(&at("/members"), get(pages::members::members))
        .route(&at("/members/{id}"), get(pages::members::member))
        .route(
            &at("/members/{id}/reactivate"),
            post(pages::members::reactivate),
        )
        .route(
            &at("/members/{id}/hold/remove"),
            post(pages::members::remove_hold),
        )
        .route(&at("/reclaimed"), get(pages::members::reclaimed))
        .route(&at("/exemptions"), get(pages::exemptions::exemptions))
        .route(&at("/exemptions/add"), post(pages::exemptions::add))
        .route(&at("/exemptions/remove"), post(pages::exemptions::remove))
        .route(
            &at("/keep-requests"),
            get(pages::keep_requests::keep_requests),
        )
        .route(
            &at("/keep-requests/approve"),
            post(pages::keep_requests::approve),
        )
        .route(
            &at("/keep-requests/decline"),
            post(pages::keep_requests::decline),
        )
        .route(&at("/policy"), get(pages::policy::policy))
        .route(&at("/policy/preview"), post(pages::policy::preview))
        .route(&at("/policy/save"), post(pages::policy::save_policy))
        .route(&at("/pause"), post(pages::policy::pause))
        .route(&at("/resume"), post(pages::policy::resume))
        .route(&at("/audit"), get(pages::audit::audit))
        .route(&at("/audit.csv"), get(pages::audit::audit_csv))
        .route(&at("/audit.json"), get(pages::audit::audit_json))
        .route(&at("/members.csv"), get(pages::exports::members_csv))
        .route(&at("/login"), get(auth::login))
        .route(&at("/auth/callback"), get(auth::callback))
        .route(&at("/local-login"), get(auth::local_login))
        .route(&at("/logout"), post(auth::logout))
        .route(&at("/static/console.css"), get(stylesheet))
        .fallback(not_found)
        // Innermost first: the CSRF check sees every POST before its handler (and the fallback's); failures
        // become pages; every response, failure pages included, gets the security headers.
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            security::csrf::require_csrf,
        ))
        // The member's keep page has no session to check a CSRF token against: its signed token is the
        // credential (see pages/keep.rs). Merged after the CSRF layer so only these two routes skip it.
        .merge(Router::new().route(
            &at(&format!("{}/{{token}}", miro_sam_links::KEEP_PATH)),
            get(pages::keep::show).post(pages::keep::keep),
        ))
        .layer(axum::middleware::from_fn_with_state(
            st.clone(),
            error::render_failures,
        ))
        .layer(axum::middleware::from_fn(
            security::headers::security_headers,
        ))
        .with_state(st)
}
