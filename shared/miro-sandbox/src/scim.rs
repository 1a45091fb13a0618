//! SCIM 2.0 Users under `/api/v1/scim`, authenticated by the org's SCIM token only.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::faults::{Dialect, gate, too_many_requests};
use crate::http::{
    Bearer, bearer, has_json_body, param, parse_query_rfc3986, scim_error, scim_response,
};
use crate::limits::ScimEndpoint;
use crate::model::{SandboxMember, ScimOp, ScimWrite};
use crate::scim_side::{ScimHome, ScimView};
use crate::state::{Shared, State as SandboxState};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// ServiceProviderConfig's `maxResults`; the stricter of the two documented caps.
const MAX_RESULTS: i64 = 200;
const DEFAULT_COUNT: i64 = 100;

/// Resolves the SCIM token to its org and spends one request of the endpoint's budget.
fn authenticate(
    state: &mut SandboxState,
    headers: &HeaderMap,
    endpoint: ScimEndpoint,
) -> Result<String, Response> {
    let Bearer::Token(token) = bearer(headers) else {
        return Err(scim_error(
            StatusCode::UNAUTHORIZED,
            None,
            "Authorization header with a SCIM bearer token is required",
        ));
    };
    let Some(org_id) = state.org_by_scim_token(&token).map(|o| o.id.clone()) else {
        return Err(scim_error(
            StatusCode::UNAUTHORIZED,
            None,
            "Unable to authorize the organization with the provided token",
        ));
    };
    if !state.scim_budgets.allow(&token, endpoint) {
        state.counters.rate_limited += 1;
        return Err(too_many_requests(Dialect::Scim));
    }
    if state.faults.scim_disabled {
        // Miro's documented 403 for an org whose SCIM provisioning was switched off.
        return Err(scim_error(
            StatusCode::FORBIDDEN,
            None,
            "SCIM integration is disabled.",
        ));
    }
    Ok(org_id)
}

fn user_not_found() -> Response {
    scim_error(StatusCode::NOT_FOUND, None, "User not found")
}

fn user_type(license: &str) -> String {
    match license {
        "full" => "Full".into(),
        "free" => "Free".into(),
        "free_restricted" => "Free Restricted".into(),
        "full_trial" => "Full (Trial)".into(),
        other => other
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

pub(crate) fn user_json(view: &ScimView<'_>, scim_base: &str) -> Value {
    let m = view.member;
    let (given, family) = m
        .display_name
        .split_once(' ')
        .unwrap_or((m.display_name.as_str(), ""));
    let role_display = if view.roles.is_company_admin() {
        "Company Admin"
    } else {
        "Member"
    };
    let mut roles = vec![json!({
        "type": "organization_user_role",
        "value": view.roles.primary,
        "display": role_display,
        "primary": true,
    })];
    roles.extend(
        view.roles.admin_roles.iter().map(
            |name| json!({ "type": "organization_admin_role", "value": name, "primary": false }),
        ),
    );
    json!({
        "schemas": [USER_SCHEMA],
        "id": view.id,
        "meta": { "resourceType": "User", "location": format!("{scim_base}/Users/{}", view.id) },
        "userName": m.email,
        "name": { "formatted": m.display_name, "givenName": given, "familyName": family },
        "displayName": m.display_name,
        "userType": user_type(&m.license),
        "active": m.active,
        "emails": [ { "value": m.email, "type": "work", "primary": true } ],
        "roles": roles,
    })
}

enum Filter {
    UserName(String),
    Active(bool),
}

impl Filter {
    /// userName compares with full Unicode lowercasing, the looser plausible reading of "case-insensitive"
    /// (Miro's is unconfirmed): a Kelvin sign (U+212A) matches `k`, so a filter can answer a near-twin too and
    /// a client must check which user it got.
    fn matches(&self, m: &SandboxMember) -> bool {
        match self {
            Filter::UserName(u) => m.email.to_lowercase() == u.to_lowercase(),
            Filter::Active(a) => m.active == *a,
        }
    }
}

/// The two filters reclaim needs; anything else is refused rather than half-understood.
fn parse_filter(raw: &str) -> Option<Filter> {
    let (attr, rest) = raw.trim().split_once(char::is_whitespace)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = value.trim();
    if attr.eq_ignore_ascii_case("userName") {
        let inner = value.strip_prefix('"')?.strip_suffix('"')?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return None,
                c => out.push(c),
            }
        }
        Some(Filter::UserName(out))
    } else if attr.eq_ignore_ascii_case("active") {
        match value.to_ascii_lowercase().as_str() {
            "true" => Some(Filter::Active(true)),
            "false" => Some(Filter::Active(false)),
            _ => None,
        }
    } else {
        None
    }
}

fn int_param(params: &[(String, String)], key: &str, default: i64) -> Result<i64, Response> {
    match param(params, key) {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                &format!("{key} must be an integer"),
            )
        }),
    }
}

pub(crate) async fn list_users(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    shared.count("scim_list_users");
    if let Some(r) = gate(&shared, Dialect::Scim).await {
        return r;
    }
    let params = parse_query_rfc3986(raw.as_deref());
    let mut state = shared.lock();
    let org_id = match authenticate(&mut state, &headers, ScimEndpoint::ListUsers) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let filter = match param(&params, "filter") {
        None => None,
        Some(f) => match parse_filter(f) {
            Some(parsed) => Some(parsed),
            None => {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "Supported filters: userName eq \"<email>\", active eq true|false",
                );
            }
        },
    };
    // RFC 7644 §3.4.2.4: startIndex < 1 means 1, count < 0 means 0.
    let (start, count) = match (
        int_param(&params, "startIndex", 1),
        int_param(&params, "count", DEFAULT_COUNT),
    ) {
        (Ok(s), Ok(c)) => (s.max(1), c.clamp(0, MAX_RESULTS)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let Some(org) = state.org(&org_id) else {
        return user_not_found();
    };
    let scim_base = shared.scim_base_url();
    let matching: Vec<ScimView<'_>> = org
        .scim_views()
        .into_iter()
        .filter(|v| filter.as_ref().is_none_or(|f| f.matches(v.member)))
        .collect();
    let resources: Vec<Value> = matching
        .iter()
        .skip(start as usize - 1)
        .take(count as usize)
        .map(|v| user_json(v, &scim_base))
        .collect();
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": matching.len(),
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    scim_response(StatusCode::OK, &body)
}

pub(crate) async fn get_user(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    shared.count("scim_get_user");
    if let Some(r) = gate(&shared, Dialect::Scim).await {
        return r;
    }
    let mut state = shared.lock();
    let org_id = match authenticate(&mut state, &headers, ScimEndpoint::GetUser) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Ok(Path(id)) = path else {
        return user_not_found();
    };
    let Some(org) = state.org(&org_id) else {
        return user_not_found();
    };
    match org.scim_home(&id).and_then(|h| {
        org.scim_view(&h)
            .map(|v| user_json(&v, &shared.scim_base_url()))
    }) {
        Some(body) => scim_response(StatusCode::OK, &body),
        None => user_not_found(),
    }
}

/// The `active` value a PatchOp asks for, or the SCIM error explaining why it is refused.
fn desired_active(body: &[u8]) -> Result<bool, Response> {
    let syntax = |detail: &str| {
        Err(scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            detail,
        ))
    };
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return syntax("Request body is not valid JSON");
    };
    let has_schema = doc["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)));
    if !has_schema {
        return syntax("schemas must contain urn:ietf:params:scim:api:messages:2.0:PatchOp");
    }
    let Some(ops) = doc["Operations"].as_array().filter(|o| !o.is_empty()) else {
        return syntax("Operations must be a non-empty array");
    };
    let mut desired = None;
    for op in ops {
        let is_replace = op["op"]
            .as_str()
            .is_some_and(|o| o.eq_ignore_ascii_case("replace"));
        let on_active = op["path"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("active"));
        if !is_replace || !on_active {
            return syntax(
                "Only {\"op\":\"Replace\",\"path\":\"active\"} operations are supported",
            );
        }
        desired = Some(match &op["value"] {
            Value::Bool(b) => *b,
            Value::String(s) if s == "true" => true,
            Value::String(s) if s == "false" => false,
            _ => {
                return Err(scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    "value of active must be true or false",
                ));
            }
        });
    }
    desired.map_or_else(|| syntax("Operations must be a non-empty array"), Ok)
}

pub(crate) async fn patch_user(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count("scim_patch_user");
    if let Some(r) = gate(&shared, Dialect::Scim).await {
        return r;
    }
    let mut guard = shared.lock();
    let state = &mut *guard;
    let org_id = match authenticate(state, &headers, ScimEndpoint::PatchUser) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if !has_json_body(&headers) {
        return scim_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "Content-Type must be application/scim+json or application/json",
        );
    }
    let desired = match desired_active(&body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Ok(Path(id)) = path else {
        return user_not_found();
    };
    let now = state.now();
    let (no_content, not_applied) = (
        state.faults.scim_patch_no_content,
        state.faults.scim_patch_not_applied,
    );
    let scim_base = shared.scim_base_url();
    let Some(org) = state.org_mut(&org_id) else {
        return user_not_found();
    };
    let Some((home, is_admin, was_active)) = org.scim_home(&id).and_then(|h| {
        let v = org.scim_view(&h)?;
        let (admin, active) = (v.roles.is_company_admin(), v.member.active);
        Some((h, admin, active))
    }) else {
        return user_not_found();
    };
    if was_active != desired && !desired && is_admin {
        return scim_error(
            StatusCode::CONFLICT,
            None,
            "A Company Admin cannot be deactivated: revoke the admin role first",
        );
    }
    let mut body = match org.scim_view(&home) {
        Some(v) => user_json(&v, &scim_base),
        None => return user_not_found(),
    };
    if not_applied {
        // The lie this fault exists for: the answer claims the change, the user keeps its old state.
        body["active"] = json!(desired);
    } else if was_active != desired {
        let Some(member) = org.scim_home_mut(&home) else {
            return user_not_found();
        };
        member.active = desired;
        let (user_id, email) = (id.clone(), member.email.clone());
        if let Some(v) = org.scim_view(&home) {
            body = user_json(&v, &scim_base);
        }
        state.scim_log.push(ScimWrite {
            at: now,
            org_id: org_id.clone(),
            user_id,
            email,
            op: if desired {
                ScimOp::Reactivate
            } else {
                ScimOp::Deactivate
            },
        });
    }
    if no_content {
        return StatusCode::NO_CONTENT.into_response();
    }
    scim_response(StatusCode::OK, &body)
}

pub(crate) async fn delete_user(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    shared.count("scim_delete_user");
    if let Some(r) = gate(&shared, Dialect::Scim).await {
        return r;
    }
    let mut guard = shared.lock();
    let state = &mut *guard;
    let org_id = match authenticate(state, &headers, ScimEndpoint::DeleteUser) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Ok(Path(id)) = path else {
        return user_not_found();
    };
    let now = state.now();
    let Some(org) = state.org_mut(&org_id) else {
        return user_not_found();
    };
    let Some((home, is_admin, email)) = org.scim_home(&id).and_then(|h| {
        let v = org.scim_view(&h)?;
        let facts = (v.roles.is_company_admin(), v.member.email.clone());
        Some((h, facts.0, facts.1))
    }) else {
        return user_not_found();
    };
    let other_admins = org
        .scim_views()
        .iter()
        .filter(|v| v.roles.is_company_admin() && v.member.active && v.id != id)
        .count();
    if is_admin && other_admins == 0 {
        return scim_error(
            StatusCode::CONFLICT,
            None,
            "The last admin of the organization cannot be deleted",
        );
    }
    match &home {
        ScimHome::Member(k) => {
            org.members.remove(k);
        }
        ScimHome::Only(k) => {
            org.scim_side.only.remove(k);
        }
    }
    state.scim_log.push(ScimWrite {
        at: now,
        org_id,
        user_id: id,
        email,
        op: ScimOp::Delete,
    });
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn service_provider_config(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    shared.count("scim_service_provider_config");
    if let Some(r) = gate(&shared, Dialect::Scim).await {
        return r;
    }
    if let Err(r) = authenticate(&mut shared.lock(), &headers, ScimEndpoint::Other) {
        return r;
    }
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": false },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": false },
        "authenticationSchemes": [ { "type": "oauthbearertoken", "name": "OAuth Bearer Token" } ],
    });
    scim_response(StatusCode::OK, &body)
}
