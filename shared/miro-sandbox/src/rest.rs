//! REST v2 organization endpoints (all Level 3, scope `organizations:read`).

use std::ops::Bound;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::data::id_key;
use crate::faults::{Dialect, gate, too_many_requests};
use crate::http::{
    Bearer, bearer, invalid_parameter, json_response, param, parse_query, rest_error,
    token_not_provided,
};
use crate::limits::{LEVEL3_CREDITS, RateSnapshot};
use crate::model::{LICENSES, ROLES, SandboxMember};
use crate::scim_side::EmptyActivity;
use crate::state::{Org, Shared, State as SandboxState};

const MAX_EMAILS: usize = 10;
const MAX_LIMIT: i64 = 100;

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The member object of `/v2/orgs/{id}/members`. Never-active members rotate among the three
/// documented-or-observed forms of "empty" (absent, null, ""), so clients must accept all; a test can pin
/// one member's form with `SandboxControl::set_last_activity_empty`.
pub(crate) fn member_json(org: &Org, m: &SandboxMember) -> Value {
    let mut obj = Map::new();
    obj.insert("type".into(), json!("organization-member"));
    obj.insert("id".into(), json!(m.id));
    obj.insert("email".into(), json!(m.email));
    obj.insert("active".into(), json!(m.active));
    obj.insert("role".into(), json!(m.role));
    obj.insert("license".into(), json!(m.license));
    if let Some(t) = m.license_assigned_at {
        obj.insert("licenseAssignedAt".into(), json!(timestamp(t)));
    }
    let form = match org.scim_side.empty_activity.get(&m.id) {
        Some(EmptyActivity::Absent) => 0,
        Some(EmptyActivity::Null) => 1,
        Some(EmptyActivity::EmptyString) => 2,
        None => empty_form(&m.id),
    };
    match (m.last_activity_at, form) {
        (Some(t), _) => {
            obj.insert("lastActivityAt".into(), json!(timestamp(t)));
        }
        (None, 0) => {}
        (None, 1) => {
            obj.insert("lastActivityAt".into(), Value::Null);
        }
        (None, _) => {
            obj.insert("lastActivityAt".into(), json!(""));
        }
    }
    if org.scim_side.undecodable.contains(&m.id) {
        obj.remove("email");
        obj.insert("active".into(), json!("yes"));
    }
    // Optional in the spec: omitted when empty so clients cannot rely on it.
    if !m.admin_roles.is_empty() {
        let roles: Vec<Value> = m
            .admin_roles
            .iter()
            .map(|(t, n)| json!({ "type": t, "name": n }))
            .collect();
        obj.insert("adminRoles".into(), Value::Array(roles));
    }
    Value::Object(obj)
}

/// Stable per member, spread over 0..3.
fn empty_form(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }) % 3
}

/// Bearer, budget, scope and org checks shared by the org endpoints, in the order a
/// gateway would apply them: the budget is charged even when the call is then refused.
fn authorize<'s>(
    state: &'s mut SandboxState,
    headers: &HeaderMap,
    org_id: &str,
) -> Result<(&'s Org, RateSnapshot), Response> {
    let unattributed = state.rest_budgets.unattributed();
    let token = match bearer(headers) {
        Bearer::Missing => {
            return Err(unattributed.on(token_not_provided()));
        }
        Bearer::Token(t) => t,
    };
    let Some(access) = state.access_token(&token) else {
        return Err(unattributed.on(rest_error(
            StatusCode::UNAUTHORIZED,
            "tokenNotFound",
            "Access token is invalid, expired or revoked",
            Value::Null,
        )));
    };
    let (user_id, token_org, has_scope) = (
        access.user_id.clone(),
        access.org_id.clone(),
        access.scopes.iter().any(|s| s == "organizations:read"),
    );
    let snapshot = match state.rest_budgets.charge(&user_id, LEVEL3_CREDITS) {
        Ok(s) => s,
        Err(s) => {
            state.counters.rate_limited += 1;
            return Err(s.on(too_many_requests(Dialect::Rest)));
        }
    };
    let refuse = |status, code, message: &str| {
        Err(snapshot.on(rest_error(status, code, message, Value::Null)))
    };
    if !has_scope {
        return refuse(
            StatusCode::FORBIDDEN,
            "insufficientPermissions",
            "The access token does not have the organizations:read scope",
        );
    }
    let Some(org) = state.org(org_id) else {
        return refuse(StatusCode::NOT_FOUND, "notFound", "Organization not found");
    };
    if token_org != org_id {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbiddenAccess",
            "Access to this organization is forbidden",
        );
    }
    // "You can only use this endpoint if you have the role of a Company Admin" ([SPEC], every org endpoint).
    if !org.is_company_admin(&user_id) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbiddenAccess",
            "Only a Company Admin of the organization can use this endpoint",
        );
    }
    if org.developer_team {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbiddenAccess",
            "Access denied: the app is installed in a developer team",
        );
    }
    Ok((org, snapshot))
}

fn bad_path() -> Response {
    rest_error(
        StatusCode::NOT_FOUND,
        "notFound",
        "Resource not found",
        Value::Null,
    )
}

pub(crate) async fn org(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    shared.count("org");
    if let Some(r) = gate(&shared, Dialect::Rest).await {
        return r;
    }
    let Ok(Path(org_id)) = path else {
        return bad_path();
    };
    let mut state = shared.lock();
    let (org, snapshot) = match authorize(&mut state, &headers, &org_id) {
        Ok(ok) => ok,
        Err(r) => return r,
    };
    let body = json!({
        "id": org.id,
        "name": org.name,
        "plan": org.plan,
        "fullLicensesPurchased": org.full_licenses_purchased,
        "type": "organization",
    });
    snapshot.on(json_response(StatusCode::OK, &body))
}

pub(crate) async fn member(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    shared.count("member");
    if let Some(r) = gate(&shared, Dialect::Rest).await {
        return r;
    }
    let Ok(Path((org_id, member_id))) = path else {
        return bad_path();
    };
    let mut state = shared.lock();
    let (org, snapshot) = match authorize(&mut state, &headers, &org_id) {
        Ok(ok) => ok,
        Err(r) => return r,
    };
    let response = match org.member(&member_id) {
        Some(m) => json_response(StatusCode::OK, &member_json(org, m)),
        None => rest_error(
            StatusCode::NOT_FOUND,
            "notFound",
            "Organization member not found",
            Value::Null,
        ),
    };
    snapshot.on(response)
}

/// Query of a members page, validated like Miro's spec describes.
struct MembersQuery {
    limit: usize,
    cursor: Option<String>,
    license: Option<String>,
    role: Option<String>,
    active: Option<bool>,
}

fn parse_members_query(params: &[(String, String)]) -> Result<MembersQuery, Response> {
    let limit = match param(params, "limit") {
        None => MAX_LIMIT,
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(invalid_parameter(
                    "limit",
                    "limit must be an integer between 1 and 100",
                ));
            }
        },
    };
    let cursor = match param(params, "cursor") {
        None | Some("") => None,
        Some(c) if c.bytes().all(|b| b.is_ascii_digit()) => Some(c.to_string()),
        Some(_) => {
            return Err(invalid_parameter(
                "cursor",
                "cursor is not a valid member id",
            ));
        }
    };
    let enum_param = |key: &str, allowed: &[&str]| match param(params, key) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(_) => Err(invalid_parameter(
            key,
            &format!("{key} must be one of: {}", allowed.join(", ")),
        )),
    };
    let license = enum_param("license", LICENSES)?;
    let role = enum_param("role", ROLES)?;
    let active = match param(params, "active") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(invalid_parameter("active", "active must be true or false")),
    };
    Ok(MembersQuery {
        limit: limit as usize,
        cursor,
        license,
        role,
        active,
    })
}

/// The filter value `unknown` matches both the literal and any value outside the enum.
fn enum_matches(filter: &Option<String>, value: &str, known: &[&str]) -> bool {
    match filter.as_deref() {
        None => true,
        Some("unknown") => value == "unknown" || !known.contains(&value),
        Some(f) => f == value,
    }
}

pub(crate) async fn members(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    shared.count("members");
    if let Some(r) = gate(&shared, Dialect::Rest).await {
        return r;
    }
    let Ok(Path(org_id)) = path else {
        return bad_path();
    };
    let params = parse_query(raw.as_deref());
    let mut guard = shared.lock();
    let state = &mut *guard;
    let (org, snapshot) = match authorize(state, &headers, &org_id) {
        Ok(ok) => ok,
        Err(r) => return r,
    };
    if let Some(emails) = param(&params, "emails") {
        return snapshot.on(by_emails(org, emails));
    }
    let query = match parse_members_query(&params) {
        Ok(q) => q,
        Err(r) => return snapshot.on(r),
    };
    // The cursor is "the ID of the organization member": one who is not (or no longer) in the org is refused
    // like any invalid parameter, so a stale checkpoint cannot silently skip or repeat members.
    if let Some(c) = &query.cursor
        && org.member(c).is_none()
    {
        return snapshot.on(invalid_parameter(
            "cursor",
            "cursor does not name a member of this organization",
        ));
    }
    let lower = match &query.cursor {
        Some(c) => Bound::Excluded(id_key(c)),
        None => Bound::Unbounded,
    };
    let mut matching = org
        .members
        .range((lower, Bound::Unbounded))
        .map(|(_, m)| m)
        .filter(|m| enum_matches(&query.license, &m.license, LICENSES))
        .filter(|m| enum_matches(&query.role, &m.role, ROLES))
        .filter(|m| query.active.is_none_or(|a| m.active == a));
    let page: Vec<&SandboxMember> = matching.by_ref().take(query.limit).collect();
    let more = matching.next().is_some();
    let mut cursor = match (more, page.last()) {
        (true, Some(last)) => last.id.clone(),
        _ => String::new(),
    };
    let data: Vec<Value> = page.iter().map(|m| member_json(org, m)).collect();
    let last_id = page.last().map(|m| m.id.clone());
    let faults = &mut state.faults;
    let mut injected = 0;
    if let (true, Some(c)) = (faults.repeat_cursor, &query.cursor) {
        cursor = c.clone();
        injected += 1;
    }
    if faults.cursor_past_the_end && cursor.is_empty() {
        // The last page still names a cursor, and the page after it is empty but names one again.
        if let Some(last) = last_id {
            cursor = last;
        } else if let Some(c) = &query.cursor {
            cursor = c.clone();
        }
        injected += 1;
    }
    let body = json!({
        "type": "cursor-list",
        "limit": query.limit,
        "size": data.len(),
        "cursor": cursor,
        "data": data,
    });
    let malformed = std::mem::take(&mut faults.malformed_members_page_once);
    if malformed {
        injected += 1;
    }
    state.counters.faults_injected += injected;
    if malformed {
        return snapshot.on(truncated_json(&body));
    }
    snapshot.on(json_response(StatusCode::OK, &body))
}

/// `emails=` answers a bare array and ignores every other parameter, as documented.
fn by_emails(org: &Org, emails: &str) -> Response {
    let wanted: Vec<String> = emails
        .split(',')
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    if wanted.is_empty() {
        return invalid_parameter("emails", "emails must list at least one email");
    }
    if wanted.len() > MAX_EMAILS {
        return invalid_parameter("emails", "Maximum emails size is 10");
    }
    let found: Vec<Value> = org
        .members
        .values()
        .filter(|m| wanted.contains(&m.email.to_lowercase()))
        .map(|m| member_json(org, m))
        .collect();
    json_response(StatusCode::OK, &Value::Array(found))
}

/// A 200 whose body stops halfway, like a connection cut mid-page.
fn truncated_json(body: &Value) -> Response {
    let text = body.to_string();
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut response = (StatusCode::OK, text[..cut].to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
