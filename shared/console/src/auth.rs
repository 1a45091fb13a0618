//! Signing in and out.
//!
//! **Sign in with Miro** is the OAuth code flow of the app orgs connect with. `/login` stores a single-use
//! `state` ([`OAuthStates`]) tied to this browser by a short-lived cookie (so a sign-in started elsewhere cannot
//! be finished here), then sends the admin to Miro. `/auth/callback` takes the state once, exchanges the code,
//! reads the user and org from `/v1/oauth-token`, requires that org to be connected, re-reads the user's role
//! from Miro and requires a Company Admin (`organization_internal_admin`) on the optional allow-list.
//!
//! The sign-in token is then revoked, with one exception: when the admin is the user whose grant the org's
//! stored tokens come from. Miro may treat a second authorization by the same user and team as a re-install
//! that invalidates the earlier token (unconfirmed), so the new tokens become the org's tokens instead; revoking
//! them would leave the org with none that work.
//!
//! **One-time login links** ([`one_time_login_link`]) are for `miro-sam serve` on 127.0.0.1, where there is
//! usually no Miro app: a single-use state the operator opens once.

use axum::extract::{RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use miro_client::{Member, MiroError, OAuthApp, RedirectQuery, Role, SecretString, TokenInfo};
use miro_sam_core::audit::{AuditEntry, AuditEvent};
use miro_sam_core::domain::{AuditEntryId, Email, OrgId};
use miro_sam_core::jobs::{self, JobError};
use miro_sam_core::ports::{OAuthStates, StateTake};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::ConsoleConfig;
use crate::error::PageError;
use crate::security::cookies;
use crate::security::session::{SESSION_COOKIE, SESSION_LENGTH, Session};
use crate::session::Admin;
use crate::state::AppState;
use crate::views::{self, Layout};

/// Ties a started sign-in to the browser that started it.
const LOGIN_COOKIE: &str = "miro_sam_console_login";

/// What a console state carries. Connect-flow states carry other JSON and are refused here.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
enum StateData {
    ConsoleSignIn {
        /// SHA-256 (hex) of the login cookie's value.
        browser: String,
    },
    ConsoleLocalLogin {
        org: OrgId,
        operator: String,
    },
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn refused(title: &str, message: impl Into<String>) -> PageError {
    PageError::Refused {
        title: title.to_owned(),
        message: message.into(),
    }
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A redirect that also sets cookies.
fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// The app as the console's sign-in uses it: Miro must send the admin back to the console's callback.
fn sign_in_app(st: &AppState) -> Result<OAuthApp, PageError> {
    let app = st.deps.oauth_app.as_ref().ok_or_else(|| {
        PageError::NotFound(
            "Sign in with Miro is not set up for this console (it has no Miro app credentials). On one machine, \
             run `miro-sam serve` and open the login link it prints."
                .into(),
        )
    })?;
    Ok(OAuthApp {
        redirect_uri: st.config.callback_url(),
        ..app.clone()
    })
}

/// `GET {base}/login`: off to Miro with a fresh single-use state.
pub(crate) async fn login(State(st): State<AppState>) -> Result<Response, PageError> {
    let app = sign_in_app(&st)?;
    let nonce = cookies::random_token();
    let data = serde_json::to_string(&StateData::ConsoleSignIn {
        browser: sha256_hex(&nonce),
    })
    .map_err(|e| PageError::Internal(e.to_string()))?;
    let state = st.deps.states.issue_state(&data).await?;
    let url = st.deps.client.authorize_url(&app, &state, None);
    let cookie = cookies::set(
        LOGIN_COOKIE,
        &nonce,
        &st.base,
        miro_sam_core::ports::OAUTH_STATE_TTL.num_seconds(),
        st.config.secure_cookies,
    );
    Ok(see_other(url.as_str(), &[cookie]))
}

/// Takes a state once and reads what it carries.
async fn take(st: &AppState, state: &str) -> Result<StateData, PageError> {
    match st.deps.states.take_state(state).await? {
        StateTake::Valid(t) => serde_json::from_str(&t.data).map_err(|_| {
            refused(
                "Sign-in refused",
                "This link was not made for the console's sign-in. Start again from the sign-in page.",
            )
        }),
        StateTake::Expired { .. } => Err(refused(
            "Sign-in took too long",
            "More than 10 minutes passed between starting to sign in and coming back from Miro. Start again.",
        )),
        StateTake::Unknown => Err(refused(
            "Sign-in refused",
            "This sign-in link was already used, or was not issued by this console. Start again from the \
             sign-in page.",
        )),
    }
}

/// `GET {base}/auth/callback`: Miro sends the admin back here.
pub(crate) async fn callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q = RedirectQuery::parse(raw.as_deref());
    if let Some(error) = q.error {
        let why = error.description.unwrap_or(error.error);
        return Err(refused(
            "Miro did not sign you in",
            format!("Miro answered: {why}. Nothing was stored. Sign in again and approve the app."),
        ));
    }
    let state = q.state.as_deref().ok_or_else(|| {
        PageError::BadRequest("the sign-in answer has no state; start again".into())
    })?;
    let StateData::ConsoleSignIn { browser } = take(&st, state).await? else {
        return Err(refused(
            "Sign-in refused",
            "This link was not made for Sign in with Miro. Start again from the sign-in page.",
        ));
    };
    let started_here =
        cookies::read(&headers, LOGIN_COOKIE).is_some_and(|n| sha256_hex(&n) == browser);
    if !started_here {
        return Err(refused(
            "Sign-in refused",
            "This sign-in was started in another browser (or this browser dropped its cookie). Start again \
             here.",
        ));
    }
    let code = q.code.ok_or_else(|| {
        PageError::BadRequest("the sign-in answer has no code; start again".into())
    })?;
    let app = sign_in_app(&st)?;
    let grant = match st.deps.client.exchange_code(&app, &code).await {
        Ok(g) => g,
        Err(MiroError::OAuthRejected { .. }) => {
            return Err(refused(
                "Miro refused the sign-in",
                "Miro did not accept the sign-in code (a code works once, for 10 minutes, and only with this                  console's redirect address). Nothing was stored. Sign in again.",
            ));
        }
        Err(e) => return Err(JobError::from(e).into()),
    };

    let checked = check_admin(&st, &grant.access_token).await;
    // The sign-in token is kept only when it became the org's token; every other outcome revokes it.
    let keep = matches!(&checked, Ok(c) if c.kept_as_org_token)
        || matches!(
            &checked,
            Err(Refusal {
                kept_as_org_token: true,
                ..
            })
        );
    if !keep {
        revoke(&st, &app, &grant.access_token).await;
    }
    let admin = checked.map_err(|r| r.error)?;
    if admin.kept_as_org_token {
        store_as_org_tokens(&st, &admin.org, &admin.info, grant).await?;
    }

    let now = st.now();
    let session = Session::new(
        admin.info.user.id.clone(),
        admin.email.to_string(),
        admin.org.clone(),
        now,
    );
    audit_sign_in(&st, &session).await?;
    tracing::info!(org = %session.org, user = %session.user_id, "console sign-in");
    Ok(see_other(
        &format!("{}/", st.base),
        &[
            cookies::set(
                SESSION_COOKIE,
                &st.keys.seal(&session),
                &st.base,
                SESSION_LENGTH.num_seconds(),
                st.config.secure_cookies,
            ),
            cookies::clear(LOGIN_COOKIE, &st.base, st.config.secure_cookies),
        ],
    ))
}

struct CheckedAdmin {
    org: OrgId,
    info: TokenInfo,
    email: Email,
    kept_as_org_token: bool,
}

struct Refusal {
    error: PageError,
    kept_as_org_token: bool,
}

impl From<PageError> for Refusal {
    fn from(error: PageError) -> Self {
        Refusal {
            error,
            kept_as_org_token: false,
        }
    }
}

/// Who the sign-in token belongs to, and whether they may use the console.
async fn check_admin(st: &AppState, token: &SecretString) -> Result<CheckedAdmin, Refusal> {
    let info = st
        .deps
        .client
        .token_info(token)
        .await
        .map_err(JobError::from)
        .map_err(PageError::from)?;
    let org = OrgId::parse(&info.organization.id)
        .map_err(JobError::from)
        .map_err(PageError::from)?;
    let Some(registered) = st.deps.store.get_org(&org).await.map_err(PageError::from)? else {
        return Err(refused(
            "Organization not connected",
            format!(
                "You signed in with organization {} ({org}), which is not connected to miro-sam. Nothing is \
                 shown for it. A Company Admin of that organization must connect it first; if you manage \
                 another organization, sign in from a team of that one.",
                info.organization.name
            ),
        )
        .into());
    };
    // The user whose grant the org uses: their new token replaces the org's (see the module docs).
    let org_tokens = st.deps.tokens.get_tokens(&org).await.ok();
    let same_user = org_tokens
        .as_ref()
        .and_then(|b| b.user_id.as_deref())
        .is_some_and(|u| u == info.user.id);

    let member = if same_user {
        read_with_sign_in_token(st, token, &org, &info.user.id).await
    } else {
        member_with_org_token(st, token, &org, &info.user.id).await
    };
    let fail = |error: PageError| Refusal {
        error,
        kept_as_org_token: same_user,
    };
    let member = member.map_err(fail)?;
    if member.role != Role::InternalAdmin {
        return Err(fail(refused(
            "Company Admins only",
            format!(
                "Your role in {} is {}; the console is for Company Admins (organization_internal_admin) only. \
                 Ask one of your organization's Company Admins.",
                registered.name, member.role
            ),
        )));
    }
    let email = Email::parse(&member.email).map_err(|e| fail(PageError::Job(JobError::from(e))))?;
    if let Some(allowed) = &st.config.admin_emails
        && !allowed.contains(&email)
    {
        return Err(fail(refused(
            "Not on the console's list",
            format!(
                "{email} is a Company Admin of {}, but this console only lets in the admins its operator \
                 listed. Ask the operator to add you.",
                registered.name
            ),
        )));
    }
    Ok(CheckedAdmin {
        org,
        info,
        email,
        kept_as_org_token: same_user,
    })
}

async fn read_member(
    st: &AppState,
    token: &SecretString,
    org: &OrgId,
    user: &str,
) -> Result<Member, PageError> {
    match st.deps.client.member(token, org.as_str(), user).await {
        Ok(m) => Ok(m),
        Err(e) if e.is_not_found() => Err(refused(
            "Not a member",
            "Miro does not list you as a member of this organization. Sign in from a team of the organization you \
             manage.",
        )),
        Err(e) => Err(JobError::from(e).into()),
    }
}

/// The user's role as the org's own connection reads it (it can always read members). If that connection
/// needs renewing, the sign-in token is asked instead: a Company Admin's token can read it too, anyone else's
/// is refused by Miro.
async fn member_with_org_token(
    st: &AppState,
    sign_in_token: &SecretString,
    org: &OrgId,
    user: &str,
) -> Result<Member, PageError> {
    match jobs::usable_access_token(&st.job_deps(), org).await {
        Ok(org_token) => match read_member(st, &org_token, org, user).await {
            Err(PageError::Job(JobError::Miro(e))) if e.needs_reconnect() => {
                read_with_sign_in_token(st, sign_in_token, org, user).await
            }
            other => other,
        },
        Err(e) if e.needs_reconnect() => {
            read_with_sign_in_token(st, sign_in_token, org, user).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn read_with_sign_in_token(
    st: &AppState,
    token: &SecretString,
    org: &OrgId,
    user: &str,
) -> Result<Member, PageError> {
    match read_member(st, token, org, user).await {
        Err(PageError::Job(JobError::Miro(
            MiroError::OrgForbidden { .. } | MiroError::Unauthorized { .. },
        ))) => Err(refused(
            "Company Admins only",
            "Miro refused to show your role in this organization, which it does for anyone but a Company \
             Admin.",
        )),
        other => other,
    }
}

async fn revoke(st: &AppState, app: &OAuthApp, token: &SecretString) {
    if let Err(e) = st.deps.client.revoke(app, token).await {
        // The sign-in still stands or falls on the checks; a token we failed to revoke expires on its own.
        tracing::warn!(error = %e, "could not revoke the console sign-in token");
    }
}

async fn store_as_org_tokens(
    st: &AppState,
    org: &OrgId,
    info: &TokenInfo,
    grant: miro_client::TokenGrant,
) -> Result<(), PageError> {
    let scopes = if info.scopes.is_empty() {
        grant.scopes.clone()
    } else {
        info.scopes.clone()
    };
    st.deps
        .tokens
        .put_tokens(&miro_sam_core::jobs::bundle_of(org, grant, info, scopes))
        .await?;
    tracing::info!(%org, "the connecting admin signed in: their new tokens are now the org's tokens");
    Ok(())
}

async fn audit_sign_in(st: &AppState, session: &Session) -> Result<(), PageError> {
    st.deps
        .store
        .append_audit(&AuditEntry {
            id: AuditEntryId::unique("signin"),
            org_id: session.org.clone(),
            at: session.issued_at,
            actor: session.actor(),
            event: AuditEvent::SignedIn {
                user_id: session.user_id.clone(),
                email: session.email.clone(),
            },
        })
        .await?;
    Ok(())
}

/// `POST {base}/logout` (CSRF-checked like every POST): audited with the admin's identity, like the sign-in.
/// The cookie is removed even when the audit log cannot be written: signing out is never refused.
pub(crate) async fn logout(State(st): State<AppState>, admin: Admin) -> Response {
    tracing::info!(org = %admin.session.org, user = %admin.session.user_id, "console sign-out");
    let session = &admin.session;
    let audited = st
        .deps
        .store
        .append_audit(&AuditEntry {
            id: AuditEntryId::unique("signout"),
            org_id: session.org.clone(),
            at: st.now(),
            actor: session.actor(),
            event: AuditEvent::SignedOut {
                user_id: session.user_id.clone(),
                email: session.email.clone(),
            },
        })
        .await;
    let message = match audited {
        Ok(()) => "You are signed out of the console.".to_owned(),
        Err(e) => {
            tracing::error!(org = %session.org, error = %e, "could not audit a console sign-out");
            format!(
                "You are signed out of the console, but the audit log could not record it ({e}). Tell the \
                 operator if the audit log must show every sign-out."
            )
        }
    };
    let mut res = views::message_page(
        Layout::anonymous(&st, "Signed out"),
        &message,
        st.deps
            .oauth_app
            .is_some()
            .then(|| (format!("{}/login", st.base), "Sign in again".to_owned())),
    );
    if let Ok(v) = HeaderValue::from_str(&cookies::clear(
        SESSION_COOKIE,
        &st.base,
        st.config.secure_cookies,
    )) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res
}

/// Why a login link could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoginLinkError {
    #[error(
        "one-time login links are for a console on this machine only (127.0.0.1, ::1 or localhost), but its \
         public URL is {0}; sign in with Miro there instead"
    )]
    NotLoopback(String),
    #[error("one-time login links are off in this console's configuration (local_login is false)")]
    Disabled,
    #[error("could not store the login link's single-use value: {0}")]
    Store(#[from] miro_sam_core::StoreError),
}

/// A single-use URL that signs `operator` in to `org`'s console, valid for [`OAUTH_STATE_TTL`]
/// (`miro_sam_core::ports::OAUTH_STATE_TTL`, 10 minutes). For `miro-sam serve`, which prints it: the console
/// must be configured with `local_login: true` and a loopback `public_url`. The link's value is stored through
/// `states` (the same store the console is given as [`crate::ConsoleDeps::states`]) and works exactly once.
///
/// [`OAUTH_STATE_TTL`]: miro_sam_core::ports::OAUTH_STATE_TTL
pub async fn one_time_login_link(
    config: &ConsoleConfig,
    states: &dyn OAuthStates,
    org: &OrgId,
    operator: &str,
) -> Result<Url, LoginLinkError> {
    if !config.local_login {
        return Err(LoginLinkError::Disabled);
    }
    let loopback = match config.public_url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback {
        return Err(LoginLinkError::NotLoopback(config.public_url.to_string()));
    }
    let operator = match operator.trim() {
        "" => "local operator".to_owned(),
        o => o.to_owned(),
    };
    let data = serde_json::to_string(&StateData::ConsoleLocalLogin {
        org: org.clone(),
        operator,
    })
    .expect("state data serializes");
    let token = states.issue_state(&data).await?;
    let mut url = Url::parse(&config.absolute("/local-login"))
        .map_err(|e| LoginLinkError::NotLoopback(format!("{} ({e})", config.public_url)))?;
    url.query_pairs_mut().append_pair("token", &token);
    Ok(url)
}

/// `GET {base}/local-login?token=…`: the link [`one_time_login_link`] made.
pub(crate) async fn local_login(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if !st.config.local_login {
        return Err(PageError::NotFound(
            "One-time login links are off on this console; sign in with Miro.".into(),
        ));
    }
    let q = query_pairs(raw.as_deref());
    let token = param(&q, "token").ok_or_else(|| {
        PageError::BadRequest("the login link has no token; copy the whole link".into())
    })?;
    let data = match take(&st, token).await {
        Ok(d) => d,
        Err(_) => {
            return Err(refused(
                "Login link not valid",
                "This login link was already used, is older than 10 minutes, or was not made by this console. \
                 Run `miro-sam serve` again for a new one.",
            ));
        }
    };
    let StateData::ConsoleLocalLogin { org, operator } = data else {
        return Err(refused(
            "Login link not valid",
            "This is not a login link. Run `miro-sam serve` again.",
        ));
    };
    if st.deps.store.get_org(&org).await?.is_none() {
        return Err(refused(
            "Organization not connected",
            format!(
                "Organization {org} is not connected to miro-sam; connect it first (`miro-sam connect`)."
            ),
        ));
    }
    let session = Session::new("local".into(), operator, org, st.now());
    audit_sign_in(&st, &session).await?;
    Ok(see_other(
        &format!("{}/", st.base),
        &[cookies::set(
            SESSION_COOKIE,
            &st.keys.seal(&session),
            &st.base,
            SESSION_LENGTH.num_seconds(),
            st.config.secure_cookies,
        )],
    ))
}
