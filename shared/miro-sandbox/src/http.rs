//! Wire helpers shared by the handlers: error bodies in Miro's three dialects, query parsing,
//! bearer extraction. Handlers parse input by hand so bad input gets Miro's error body,
//! never axum's plain-text rejection.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) const SCIM_CONTENT_TYPE: &str = "application/scim+json";
pub(crate) const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub(crate) fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut response = json_response(status, body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    response
}

/// REST v2 error: `status` is a JSON number.
pub(crate) fn rest_error(
    status: StatusCode,
    code: &str,
    message: &str,
    context: Value,
) -> Response {
    json_response(
        status,
        &json!({
            "status": status.as_u16(),
            "code": code,
            "message": message,
            "context": context,
            "type": "error",
        }),
    )
}

pub(crate) fn token_not_provided() -> Response {
    rest_error(
        StatusCode::UNAUTHORIZED,
        "tokenNotProvided",
        "No access token was provided",
        Value::Null,
    )
}

/// 400 `invalidParameters` naming the offending query parameter.
pub(crate) fn invalid_parameter(field: &str, message: &str) -> Response {
    rest_error(
        StatusCode::BAD_REQUEST,
        "invalidParameters",
        "Method parameters are not valid",
        json!({ "fields": [ { "field": field, "reason": "invalidValue", "message": message } ] }),
    )
}

/// OAuth endpoint error (token, revoke): like REST but without `context`.
pub(crate) fn oauth_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({ "status": status.as_u16(), "code": code, "message": message, "type": "error" }),
    )
}

/// SCIM error: `status` is a JSON string; `scimType` only when there is one.
pub(crate) fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": [SCIM_ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    scim_response(status, &body)
}

/// Decoded query pairs in order; malformed escapes decode lossily rather than failing.
pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// Query pairs read the RFC 3986 way, as SCIM filters are written in Miro's docs: `%20` is a space and `+` is
/// a literal plus (only HTML forms use `+` for a space). A client that writes spaces as `+` gets a filter it
/// did not mean, and Miro's answer to that is not something to rely on.
pub(crate) fn parse_query_rfc3986(raw: Option<&str>) -> Vec<(String, String)> {
    parse_query(raw.map(|q| q.replace('+', "%2B")).as_deref())
}

pub(crate) fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `application/json` or `application/scim+json` (any parameters). Miro documents JSON
/// bodies and a 415 for other media types, so a missing Content-Type is refused too.
pub(crate) fn has_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|ct| ct == "application/json" || ct == SCIM_CONTENT_TYPE)
}

pub(crate) enum Bearer {
    Missing,
    Token(String),
}

/// `Authorization: Bearer <token>`; the scheme is case-insensitive per RFC 6750.
pub(crate) fn bearer(headers: &HeaderMap) -> Bearer {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Bearer::Missing;
    };
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Bearer::Token(token.trim().to_string())
        }
        _ => Bearer::Missing,
    }
}
