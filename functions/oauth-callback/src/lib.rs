//! The OAuth callback function (API Gateway HTTP API, payload v2). Routes exactly:
//! - `GET /oauth/start?link=…`: checks the operator's signed connect link, issues a single-use `state` (ten
//!   minutes) that remembers the org the link is bound to (if any), consumes the link (each link works once: a
//!   second use gets a page saying so) and redirects to Miro's consent page;
//! - `GET /oauth/callback?code&state[&error]`: takes the `state` once, exchanges the code, refuses and revokes
//!   tokens of another org than the link's or one outside the allow-list, checks what the token can do, stores
//!   it, registers the org with the deployment's default policy, and says what to do next;
//! - `GET /health`.
//!
//! Everything else is a 404 (405 for other methods on these paths).

mod pages;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use miro_client::RedirectQuery;
use miro_sam_aws::StateTake;
use miro_sam_aws::dynamo::LinkUse;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{ConnectOptions, ConnectedOrg, JobError, connect_org};
use miro_sam_lambda::Runtime;
use miro_sam_links::connect_link;
use secrecy::SecretString;
use tracing::Instrument;

pub use pages::page;

/// What every page that ends a connection attempt tells the admin: links work once, so starting over needs a new
/// one.
const START_OVER: &str =
    "To start over, ask the operator for a new connect link (each link works once).";

/// The key of the state's data that carries the org a link is bound to.
const EXPECTED_ORG: &str = "expected_org";

/// Reads the connect-link signing key named by the settings (once per cold start).
pub async fn read_link_key(rt: &Runtime) -> Result<SecretString, String> {
    let name = rt
        .settings
        .require_connect_link_key_name()
        .map_err(|e| e.to_string())?;
    miro_sam_lambda::read_plain_secret(
        &rt.adapters.clients.secrets,
        name,
        "the connect-link signing key",
    )
    .await
    .map_err(|e| e.to_string())
}

pub async fn handle(rt: &Runtime, link_key: &SecretString, req: Request) -> Response<Body> {
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("invoke", request_id = %request_id, function = "oauth-callback", org_id = tracing::field::Empty);
    async move {
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let response = match (req.method(), path.as_str()) {
            (&Method::GET, "/health") => pages::text(StatusCode::OK, "ok"),
            (&Method::GET, "/oauth/start") => start(rt, link_key, &req).await,
            (&Method::GET, "/oauth/callback") => callback(rt, &req).await,
            (_, "/health" | "/oauth/start" | "/oauth/callback") => {
                pages::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => pages::text(StatusCode::NOT_FOUND, "not found"),
        };
        tracing::info!(method = %req.method(), path = %path, status = response.status().as_u16(), "request");
        response
    }
    .instrument(span)
    .await
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(key))
        .map(str::to_owned)
        .or_else(|| {
            // Direct invocations (and tests) may carry the query only in the URI.
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        })
}

async fn start(rt: &Runtime, link_key: &SecretString, req: &Request) -> Response<Body> {
    let now = rt.deps.clock.now();
    let link = match connect_link::verify(link_key, query(req, "link").as_deref(), now) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "refused a connect link");
            return page(
                StatusCode::FORBIDDEN,
                "This link does not open the door",
                &[e.to_string()],
            );
        }
    };
    let app = match rt.oauth_app() {
        Ok(a) => a,
        Err(e) => return misconfigured(&e.to_string()),
    };
    let busy = || {
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again in a moment",
            &["The connection could not be started because storage did not answer. Open the link again.".into()],
        )
    };
    // The state is stored before the link is consumed: if storage fails in between, the link still works; a
    // state stored for a refused second use is never handed out and expires in ten minutes.
    let state = miro_sam_aws::OAuthStateStore::generate_state();
    let data =
        serde_json::json!({ EXPECTED_ORG: link.org.as_ref().map(OrgId::as_str) }).to_string();
    if let Err(e) = rt.adapters.oauth_states.put(&state, &data).await {
        tracing::error!(error = %e, "cannot store the OAuth state");
        return busy();
    }
    match rt
        .adapters
        .oauth_states
        .use_link(link.nonce(), link.expires_at)
        .await
    {
        Ok(LinkUse::First) => {}
        Ok(LinkUse::AlreadyUsed { used_at }) => {
            tracing::warn!(used_at = ?used_at, "refused a connect link used before");
            let when = used_at.map_or_else(String::new, |t| format!(" (at {t})"));
            return page(
                StatusCode::FORBIDDEN,
                "This link was already used",
                &[
                    format!("This connect link was already used{when}; each link works once."),
                    "Ask the operator for a new one (`miro-sam aws connect-link`).".into(),
                ],
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record the connect link's use");
            return busy();
        }
    }
    pages::redirect(rt.deps.client.authorize_url(app, &state, None).as_str())
}

/// The org the connect link that started this flow was bound to, from the state's data. States written before
/// links could name an org carry `{}`: unbound.
fn expected_org(data: &str) -> Result<Option<OrgId>, String> {
    let v: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| format!("the stored connection state is not JSON: {e}"))?;
    match v.get(EXPECTED_ORG) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(id)) => OrgId::parse(id)
            .map(Some)
            .map_err(|e| format!("the stored connection state names no valid org: {e}")),
        Some(_) => Err("the stored connection state names no valid org".into()),
    }
}

async fn callback(rt: &Runtime, req: &Request) -> Response<Body> {
    let again = START_OVER.to_owned();
    let redirect = RedirectQuery::from_lookup(|key| query(req, key));
    let Some(state) = redirect.state else {
        return page(
            StatusCode::BAD_REQUEST,
            "Missing state",
            &["Miro's answer carried no state.".into(), again],
        );
    };
    // The state is taken (consumed) before anything else, so a replayed redirect can never be used twice.
    let expected = match rt.adapters.oauth_states.take(&state).await {
        Ok(StateTake::Valid(taken)) => match expected_org(&taken.data) {
            Ok(org) => org,
            Err(what) => {
                tracing::error!(error = %what, "unreadable OAuth state");
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "This connection cannot continue",
                    &[what, again],
                );
            }
        },
        Ok(StateTake::Expired { expired_at }) => {
            return page(
                StatusCode::BAD_REQUEST,
                "This sign-in took too long",
                &[
                    format!(
                        "The connection attempt expired at {expired_at}; each attempt lasts ten minutes."
                    ),
                    again,
                ],
            );
        }
        Ok(StateTake::Unknown) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Unknown or already used",
                &["This answer from Miro does not belong to a connection in progress, or it was already used.".into(), again],
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the OAuth state");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                &["Storage did not answer.".into(), again],
            );
        }
    };
    if let Some(error) = redirect.error {
        return page(
            StatusCode::BAD_REQUEST,
            "The app was not approved",
            &[
                format!("Miro answered: {error}"),
                "To connect, approve the app as a Company Admin and pick a team of your Enterprise org.".into(),
                again,
            ],
        );
    }
    let Some(code) = redirect.code else {
        return page(
            StatusCode::BAD_REQUEST,
            "Missing code",
            &["Miro's answer carried no authorization code.".into(), again],
        );
    };
    let app = match rt.oauth_app() {
        Ok(a) => a,
        Err(e) => return misconfigured(&e.to_string()),
    };
    let opts = ConnectOptions {
        allowed_orgs: rt.settings.allowed_orgs.clone(),
        default_policy: rt.settings.default_policy.clone(),
        expected_org: expected,
    };
    match connect_org(&rt.deps, app, &code, &opts).await {
        Ok(c) => {
            tracing::Span::current().record("org_id", tracing::field::display(&c.org_id));
            connected(rt, &c)
        }
        Err(e) => failed(&e),
    }
}

fn connected(rt: &Runtime, c: &ConnectedOrg) -> Response<Body> {
    let scim_secret = format!(
        "{}/orgs/{}/scim",
        rt.adapters.config.secret_prefix, c.org_id
    );
    page(
        StatusCode::OK,
        "Miro org connected",
        &[
            format!(
                "{} (org {}, plan {}, {} full licenses purchased) is connected, approved by {}.",
                c.org_name, c.org_id, c.plan, c.full_licenses_purchased, c.user_name
            ),
            "The daily download will read its members. Its reclaim policy starts as the deployment's default; a \
             dry run plans without deactivating anyone."
                .into(),
            format!(
                "Next: reclaiming needs the org's SCIM token. Generate it in Miro's Admin Console > Enterprise \
                 integrations > SCIM provisioning, and store it in the Secrets Manager secret {scim_secret} \
                 (aws secretsmanager create-secret --name {scim_secret} --secret-string <token>)."
            ),
        ],
    )
}

fn failed(e: &JobError) -> Response<Body> {
    let (status, title) = if e.needs_reconnect() {
        (
            StatusCode::FORBIDDEN,
            "Miro did not let the app read this org",
        )
    } else if e.is_retryable() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Miro or storage is busy; try again",
        )
    } else if matches!(e, JobError::InvalidRequest(_) | JobError::Domain(_)) {
        (
            StatusCode::FORBIDDEN,
            "This org cannot be connected as it is",
        )
    } else {
        (StatusCode::BAD_GATEWAY, "The connection failed")
    };
    tracing::warn!(error = %e, status = status.as_u16(), "connection failed");
    page(
        status,
        title,
        &[
            e.to_string(),
            format!("Fix what the message says. {START_OVER}"),
        ],
    )
}

fn misconfigured(what: &str) -> Response<Body> {
    tracing::error!(error = %what, "the deployment is misconfigured");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "This deployment is not fully configured",
        &[format!("The operator must fix: {what}")],
    )
}
