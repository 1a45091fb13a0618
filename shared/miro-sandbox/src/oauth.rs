//! OAuth 2.0 authorization-code flow: authorize (browser), token (code and refresh grants),
//! token info and revoke v2.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::config::Consent;
use crate::faults::{Dialect, gate, too_many_requests};
use crate::http::{
    Bearer, bearer, has_json_body, json_response, oauth_error, param, parse_query, rest_error,
    token_not_provided,
};
use crate::limits::LEVEL1_CREDITS;
use crate::sign_in::Grantee;
use crate::state::{AuthCode, Shared, State as SandboxState, random_token, to_chrono};

/// "The code can only be used once and it expires 10 minutes after being issued."
const CODE_TTL_SECS: i64 = 600;

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn bad_request(code: &str, message: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, code, message)
}

pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    shared.count("authorize");
    let params = parse_query(raw.as_deref());
    let mut state = shared.lock();
    if param(&params, "response_type") != Some("code") {
        return bad_request("unsupported_response_type", "response_type must be code");
    }
    if param(&params, "client_id") != Some(state.oauth.client_id.as_str()) {
        return bad_request("invalid_client", "Unknown client_id");
    }
    let Some(redirect_uri) = param(&params, "redirect_uri") else {
        return bad_request("invalid_request", "redirect_uri is required");
    };
    let allowed = &state.oauth.redirect_uris;
    if !allowed.is_empty() && !allowed.iter().any(|u| u == redirect_uri) {
        return bad_request(
            "invalid_request",
            "redirect_uri does not match the app settings",
        );
    }
    let Ok(mut location) = url::Url::parse(redirect_uri) else {
        return bad_request("invalid_request", "redirect_uri is not an absolute URL");
    };
    // team_id only preselects the team; an unknown one falls back to the first org.
    let team = param(&params, "team_id");
    let Some(org) = state
        .orgs
        .iter()
        .find(|o| team.is_some_and(|t| t == o.team_id || t == o.id))
        .or_else(|| state.orgs.first())
    else {
        return bad_request("invalid_request", "No organization to install into");
    };
    let Grantee {
        org_id,
        team_id,
        user_id,
    } = match state.sign_in.grantee(&state, org) {
        Ok(g) => g,
        Err(message) => return bad_request("invalid_request", &message),
    };
    let client_id = state.oauth.client_id.clone();
    let csrf_state = param(&params, "state");
    {
        let mut pairs = location.query_pairs_mut();
        match state.oauth.consent {
            Consent::Approve => {
                let code = random_token("sbx_code_");
                let expires_at = state.now() + chrono::Duration::seconds(CODE_TTL_SECS);
                state.codes.insert(
                    code.clone(),
                    AuthCode {
                        org_id,
                        user_id,
                        redirect_uri: redirect_uri.to_string(),
                        expires_at,
                    },
                );
                pairs.append_pair("code", &code);
                if let Some(s) = csrf_state {
                    pairs.append_pair("state", s);
                }
                pairs.append_pair("client_id", &client_id);
                pairs.append_pair("team_id", &team_id);
            }
            Consent::Deny => {
                pairs.append_pair("error", "access_denied");
                pairs.append_pair(
                    "error_description",
                    "The user denied the authorization request",
                );
                if let Some(s) = csrf_state {
                    pairs.append_pair("state", s);
                }
            }
        }
    }
    redirect(location.as_str())
}

/// Miro's docs print ids as bare numbers above 2^53; built from u64 so no float rounding.
fn id_value(id: &str, numeric: bool) -> Value {
    match (numeric, id.parse::<u64>()) {
        (true, Ok(n)) => Value::Number(n.into()),
        _ => Value::String(id.to_string()),
    }
}

/// Form body and query string both count (Miro's SDK posts everything in the query);
/// the body wins when both carry a key.
fn token_params(
    raw: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<(String, String)>, Response> {
    let mut params = Vec::new();
    if !body.is_empty() {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(bad_request(
                "invalid_request",
                "Send parameters as application/x-www-form-urlencoded",
            ));
        }
        params.extend(
            url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    params.extend(parse_query(raw));
    Ok(params)
}

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count("token");
    if let Some(r) = gate(&shared, Dialect::OAuth).await {
        return r;
    }
    let params = match token_params(raw.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut state = shared.lock();
    if param(&params, "client_id") != Some(state.oauth.client_id.as_str())
        || param(&params, "client_secret") != Some(state.oauth.client_secret.as_str())
    {
        return bad_request("invalid_client", "Client authentication failed");
    }
    match param(&params, "grant_type") {
        Some("authorization_code") => code_grant(&mut state, &params),
        Some("refresh_token") => refresh_grant(&mut state, &params),
        Some(_) => bad_request("unsupported_grant_type", "Unsupported grant_type"),
        None => bad_request("invalid_request", "grant_type is required"),
    }
}

fn code_grant(state: &mut SandboxState, params: &[(String, String)]) -> Response {
    let Some(code) = param(params, "code") else {
        return bad_request("invalid_request", "code is required");
    };
    let Some(redirect_uri) = param(params, "redirect_uri") else {
        return bad_request("invalid_request", "redirect_uri is required");
    };
    // Consumed on any attempt: a code is never good twice.
    let Some(grant) = state.codes.remove(code) else {
        return bad_request(
            "invalid_grant",
            "Authorization code is invalid or already used",
        );
    };
    if state.now() >= grant.expires_at {
        return bad_request("invalid_grant", "Authorization code has expired");
    }
    if grant.redirect_uri != redirect_uri {
        return bad_request(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        );
    }
    // "After the access_token is received, the application is considered installed": a second install by the
    // same user and team replaces what the first one issued (when the sandbox models re-installs).
    if state.oauth.reinstall_replaces_tokens {
        state.end_user_tokens(&grant.org_id, &grant.user_id);
    }
    let scopes = state.oauth.scopes.clone();
    let (access, refresh) = state.mint_tokens(&grant.org_id, &grant.user_id, scopes, true);
    token_response(state, &grant.org_id, Some(&grant.user_id), access, refresh)
}

/// Rotates strictly: the presented refresh token dies at once, a new pair is issued.
fn refresh_grant(state: &mut SandboxState, params: &[(String, String)]) -> Response {
    let Some(presented) = param(params, "refresh_token") else {
        return bad_request("invalid_request", "refresh_token is required");
    };
    let Some(old) = state.refresh_tokens.remove(presented) else {
        return bad_request(
            "invalid_grant",
            "Refresh token is invalid, expired or revoked",
        );
    };
    if state.now() >= old.expires_at {
        return bad_request("invalid_grant", "Refresh token has expired");
    }
    // Miro: "the old access token and refresh token are no longer valid" once a refresh succeeds.
    state
        .access_tokens
        .retain(|_, t| t.refresh_token.as_deref() != Some(presented));
    let (access, refresh) = state.mint_tokens(&old.org_id, &old.user_id, old.scopes, true);
    state.refresh_count += 1;
    // Miro's refresh example carries no user_id.
    token_response(state, &old.org_id, None, access, refresh)
}

fn token_response(
    state: &SandboxState,
    org_id: &str,
    user_id: Option<&str>,
    access: String,
    refresh: Option<String>,
) -> Response {
    let numeric = state.oauth.numeric_ids;
    let team_id = state
        .org(org_id)
        .map(|o| o.team_id.clone())
        .unwrap_or_default();
    let mut body = Map::new();
    if let Some(u) = user_id {
        body.insert("user_id".into(), id_value(u, numeric));
    }
    body.insert("team_id".into(), id_value(&team_id, numeric));
    body.insert("access_token".into(), json!(access));
    if let Some(r) = refresh {
        body.insert("refresh_token".into(), json!(r));
        // One second short of the real lifetime, like Miro's 3599 for one hour.
        let expires_in = to_chrono(state.oauth.access_ttl)
            .num_seconds()
            .saturating_sub(1)
            .max(0);
        body.insert("expires_in".into(), json!(expires_in));
    }
    body.insert("scope".into(), json!(state.oauth.scopes.join(" ")));
    body.insert("token_type".into(), json!("bearer"));
    json_response(StatusCode::OK, &Value::Object(body))
}

pub(crate) async fn token_info(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    shared.count("token_info");
    if let Some(r) = gate(&shared, Dialect::Rest).await {
        return r;
    }
    let params = parse_query(raw.as_deref());
    let token = match bearer(&headers) {
        Bearer::Token(t) => Some(t),
        Bearer::Missing => param(&params, "access_token").map(str::to_string),
    };
    let mut state = shared.lock();
    let unattributed = state.rest_budgets.unattributed();
    // The spec's only documented failure here is 400 "Invalid token provided".
    let invalid = || {
        rest_error(
            StatusCode::BAD_REQUEST,
            "invalidToken",
            "Invalid token provided",
            Value::Null,
        )
    };
    let Some(token) = token else {
        return unattributed.on(token_not_provided());
    };
    let Some(access) = state.access_token(&token) else {
        return unattributed.on(invalid());
    };
    let (org_id, user_id, scopes) = (
        access.org_id.clone(),
        access.user_id.clone(),
        access.scopes.clone(),
    );
    let snapshot = match state.rest_budgets.charge(&user_id, LEVEL1_CREDITS) {
        Ok(s) => s,
        Err(s) => {
            state.counters.rate_limited += 1;
            return s.on(too_many_requests(Dialect::Rest));
        }
    };
    let Some(org) = state.org(&org_id) else {
        return snapshot.on(invalid());
    };
    let user = json!({ "type": "user", "name": org.user_name(&user_id), "id": user_id });
    let body = json!({
        "type": "token",
        "organization": { "type": "organization", "name": org.name, "id": org.id },
        "team": { "type": "team", "name": format!("{} Team", org.name), "id": org.team_id },
        "createdBy": user,
        "user": user,
        "scopes": scopes,
    });
    snapshot.on(json_response(StatusCode::OK, &body))
}

/// Revoke v2: JSON body; 204 on success, 404 on any failure as the spec documents.
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count("revoke");
    if let Some(r) = gate(&shared, Dialect::OAuth).await {
        return r;
    }
    if !has_json_body(&headers) {
        return oauth_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupportedMediaType",
            "Content-Type must be application/json",
        );
    }
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(token), Some(client_id), Some(client_secret)) = (
        field("accessToken"),
        field("clientId"),
        field("clientSecret"),
    ) else {
        return bad_request(
            "invalidParameters",
            "Body must be JSON with accessToken, clientId and clientSecret",
        );
    };
    let mut state = shared.lock();
    let not_found = || oauth_error(StatusCode::NOT_FOUND, "notFound", "Token not found");
    if client_id != state.oauth.client_id || client_secret != state.oauth.client_secret {
        return not_found();
    }
    let Some(revoked) = state.access_tokens.remove(&token) else {
        return not_found();
    };
    if let Some(refresh) = revoked.refresh_token {
        state.refresh_tokens.remove(&refresh);
    }
    StatusCode::NO_CONTENT.into_response()
}
