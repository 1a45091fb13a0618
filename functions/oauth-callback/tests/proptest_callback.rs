//! Property tests of what the OAuth callback function reads from the internet: the signed connect link
//! (`connect_link::verify`) and the request routing and query parsing of `handle`, with any method, path and
//! query, both as a plain HTTP request and through lambda_http's decoding of API Gateway v2 events. Nothing
//! panics; every request gets the page its method, path and query call for.
//!
//! `handle` needs a `Runtime`; it is built the way a cold start builds it (`Runtime::from_env`), with storage
//! pointed at a closed local port, so a request that reaches storage gets the "try again" page. Everything runs
//! in one test so the environment is set before anything else in this process starts.
//!
//! chrono is not a dependency of this crate: instants come from `miro_client::parse_datetime` and the
//! function's own clock, and are moved with `std::time::Duration`.

// The workspace denies unsafe code; this binary sets the process environment once, before any thread starts,
// and std::env::set_var (so miro_sam_testkit::strategies::set_offline_cold_start_env) is unsafe since edition
// 2024 (see the SAFETY comment).
#![allow(unsafe_code)]

use std::time::Duration;

use lambda_http::http::{Method, Request, StatusCode};
use lambda_http::{Body, Response};
use miro_sam_lambda::Runtime;
use miro_sam_links::connect_link::{self, LinkError};
use miro_sam_testkit::strategies;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use secrecy::SecretString;

/// Link-shaped text: the right number of dots, hex-ish signatures, numbers of every size.
fn link_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => ("v[0-9]", "-?[0-9]{0,22}", "[0-9a-f]{0,20}", "[0-9a-fA-Fg]{0,70}")
            .prop_map(|(v, e, n, s)| format!("{v}.{e}.{n}.{s}")),
        2 => ("v[0-9]", "-?[0-9]{0,22}", "[0-9a-fA-F]{30,34}", "(any|[0-9]{0,21})", "[0-9a-fA-Fg]{0,70}")
            .prop_map(|(v, e, n, o, s)| format!("{v}.{e}.{n}.{o}.{s}")),
        1 => "[v0-9a-f.]{0,40}",
        1 => Just(String::new()),
        1 => "\\s{0,3}",
    ]
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9]{32}"]
}

/// Paths near the routes and far from them, all valid in a URI.
fn path() -> impl Strategy<Value = String> {
    let route = proptest::sample::select(vec![
        "/health",
        "/oauth/start",
        "/oauth/callback",
        "/",
        "",
        "/oauth",
        "/OAUTH/START",
        "/health/x",
        "/oauth/start.",
        "/%2Foauth%2Fstart",
        "/oauth//start",
    ]);
    prop_oneof![
        4 => (route, "/{0,3}").prop_map(|(r, slashes)| format!("{r}{slashes}")),
        1 => "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,4}",
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        6 => Just(Method::GET),
        1 => Just(Method::POST),
        1 => Just(Method::HEAD),
        1 => Just(Method::DELETE),
        1 => "[A-Z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).expect("a token")),
    ]
}

/// Query pairs: the keys the function reads, repeated, empty, or anything.
fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        4 => proptest::sample::select(vec!["link", "state", "code", "error", "error_description"]).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let value = prop_oneof![Just(String::new()), "[a-z0-9]{1,12}", any::<String>()];
    proptest::collection::vec((key, value), 0..6)
}

/// The first value of `key` in the query, as a browser's form encoding reads it.
fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The page a request must get: the route decides, then the query. `valid_link`: whether the `link` value is
/// one this deployment issued and has not expired. This deployment has no OAuth app configured and storage
/// does not answer, which decides the rest.
fn expected(method: &Method, path: &str, q: &[(String, String)], valid_link: bool) -> StatusCode {
    let route = path.trim_end_matches('/');
    let known = matches!(route, "/health" | "/oauth/start" | "/oauth/callback");
    if !known {
        return StatusCode::NOT_FOUND;
    }
    if method != Method::GET {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    match route {
        "/health" => StatusCode::OK,
        "/oauth/start" if valid_link => StatusCode::INTERNAL_SERVER_ERROR,
        "/oauth/start" => StatusCode::FORBIDDEN,
        _ => match first(q, "state") {
            None | Some("") => StatusCode::BAD_REQUEST,
            Some(_) => StatusCode::SERVICE_UNAVAILABLE,
        },
    }
}

fn body_text(resp: &Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[test]
fn links_routes_and_queries() {
    let storage = strategies::closed_port_url();
    let no_redirect_or_link_key = [
        "MIRO_SAM_OAUTH_REDIRECT_URI",
        "MIRO_SAM_CONNECT_LINK_KEY_NAME",
    ];
    // SAFETY: the only test of this binary that touches the environment, run before it starts any thread of
    // its own; nothing reads or writes the environment concurrently.
    unsafe { strategies::set_offline_cold_start_env(&storage, &[], &no_redirect_or_link_key) };
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rt = tokio
        .block_on(Runtime::from_env(|s| s.miro.clone()))
        .expect("a cold start without AWS calls");
    let epoch = miro_client::parse_datetime("1970-01-01T00:00:00Z").expect("the epoch");

    // 1. Any text as a link, under any key, at any time: one of the refusals, never a panic; forged links
    //    are never accepted.
    let mut runner = strategies::runner(256);
    runner
        .run(
            &(
                key_text(),
                proptest::option::of(link_text()),
                0u64..7_258_118_400,
            ),
            |(key, link, secs)| {
                let now = epoch + Duration::from_secs(secs);
                let r = connect_link::verify(&SecretString::from(key), link.as_deref(), now);
                match (&link, r) {
                    (_, Ok(_)) => prop_assert!(false, "accepted {:?}", link),
                    (None, e) => prop_assert_eq!(e, Err(LinkError::Missing)),
                    (Some(l), Err(LinkError::Missing)) => prop_assert!(l.trim().is_empty()),
                    (Some(_), Err(_)) => {}
                }
                Ok(())
            },
        )
        .expect("any link");

    // 2. Issued links: valid exactly until their expiry second, only under their own key; any one-character
    //    change is refused, except changes the format cannot see (surrounding whitespace, the letter case of
    //    the signature's hex digits).
    let mut runner = strategies::runner(256);
    runner
        .run(
            &(
                key_text(),
                key_text(),
                0u64..4_102_444_800,
                1u64..400 * 86_400,
                0u64..800 * 86_400,
                any::<usize>(),
                any::<char>(),
            ),
            |(key, other_key, issued, valid, later, pos, c)| {
                let now = epoch + Duration::from_secs(issued);
                let valid_for = (epoch + Duration::from_secs(valid)) - epoch;
                let k = SecretString::from(key.clone());
                let link = connect_link::issue(&k, now, valid_for);
                let t = now + Duration::from_secs(later);
                let r = connect_link::verify(&k, Some(&link), t);
                if later < valid {
                    prop_assert!(r.is_ok(), "{:?}", r);
                } else {
                    prop_assert!(matches!(r, Err(LinkError::Expired { .. })), "{:?}", r);
                }
                if other_key != key {
                    let r = connect_link::verify(&SecretString::from(other_key), Some(&link), now);
                    prop_assert_eq!(r, Err(LinkError::Forged));
                }
                let mut chars: Vec<char> = link.chars().collect();
                let i = pos % chars.len();
                chars[i] = c;
                let changed: String = chars.into_iter().collect();
                if changed != link && connect_link::verify(&k, Some(&changed), now).is_ok() {
                    let (body, sig) = link.rsplit_once('.').expect("five parts");
                    let same = changed
                        .trim()
                        .rsplit_once('.')
                        .is_some_and(|(b, s)| b == body && s.eq_ignore_ascii_case(sig));
                    prop_assert!(same, "{:?} was accepted in place of {:?}", changed, link);
                }
                Ok(())
            },
        )
        .expect("issued links");

    // 3. Routing and query parsing, as a plain request (the query only in the URI).
    let link_key = SecretString::from("proptest-link-key".to_owned());
    let good_link = connect_link::issue(
        &link_key,
        rt.deps.clock.now(),
        (epoch + Duration::from_secs(3600)) - epoch,
    );
    let mut runner = strategies::runner(256);
    runner
        .run(
            &(method(), path(), query(), any::<bool>()),
            |(method, path, mut q, with_link)| {
                if with_link {
                    q.insert(0, ("link".into(), good_link.clone()));
                }
                let qs = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&q)
                    .finish();
                let uri = if qs.is_empty() {
                    format!("https://api.example.com{path}")
                } else {
                    format!("https://api.example.com{path}?{qs}")
                };
                let req = Request::builder()
                    .method(method.clone())
                    .uri(&uri)
                    .body(Body::Empty)
                    .map_err(|e| TestCaseError::reject(e.to_string()))?;
                let valid = first(&q, "link") == Some(good_link.as_str());
                let want = expected(&method, req.uri().path(), &q, valid);
                let resp = tokio.block_on(oauth_callback::handle(&rt, &link_key, req));
                prop_assert_eq!(resp.status(), want, "{} {}", method, uri);
                prop_assert!(!body_text(&resp).contains("proptest-link-key"));
                Ok(())
            },
        )
        .expect("plain requests");

    // 4. The same through lambda_http's decoding of API Gateway HTTP API (v2) events, with raw paths and
    //    queries as API Gateway passes them (percent-encoded).
    let fixture = include_str!("../events/health.json");
    let mut runner = strategies::runner(256);
    runner
        .run(
            &(path(), query(), any::<bool>()),
            |(path, mut q, with_link)| {
                if with_link {
                    q.push(("link".into(), good_link.clone()));
                }
                let qs = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&q)
                    .finish();
                let mut event: serde_json::Value = serde_json::from_str(fixture).expect("fixture");
                event["rawPath"] = path.clone().into();
                event["rawQueryString"] = qs.clone().into();
                event["routeKey"] = "$default".into();
                event["requestContext"]["http"]["path"] = path.clone().into();
                event
                    .as_object_mut()
                    .expect("object")
                    .remove("queryStringParameters");
                let req = match lambda_http::request::from_str(&event.to_string()) {
                    Ok(r) => r,
                    Err(e) => return Err(TestCaseError::reject(e.to_string())),
                };
                let valid = first(&q, "link") == Some(good_link.as_str());
                let want = expected(&Method::GET, req.uri().path(), &q, valid);
                let resp = tokio.block_on(oauth_callback::handle(&rt, &link_key, req));
                prop_assert_eq!(resp.status(), want, "GET {}?{}", path, qs);
                Ok(())
            },
        )
        .expect("API Gateway events");
}

/// FOUND while fuzzing the routing (third-party, not miro-sam code): lambda_http 1.3 builds the request URI from
/// the event's `rawPath`/`rawQueryString` and `expect`s the result, so a raw query or path with a character
/// that is not valid in a URI (a space, `"`, `{`, `|`, non-ASCII) panics in `lambda_http::request::from_str`
/// (upstream: aws/aws-lambda-rust-runtime#461, #515). API Gateway passes `rawQueryString` percent-encoded as the
/// client sent it, so a client that sends such bytes unencoded gets a 502 (lambda_runtime catches the panic);
/// miro-sam's handler is never reached and nothing else is affected.
#[test]
fn known_upstream_panic_on_unencoded_query() {
    let fixture = include_str!("../events/health.json");
    let mut event: serde_json::Value = serde_json::from_str(fixture).expect("fixture");
    event["rawPath"] = "/oauth/start".into();
    event["rawQueryString"] = "link=a b".into();
    let panicked = std::panic::catch_unwind(|| lambda_http::request::from_str(&event.to_string()));
    assert!(
        panicked.is_err(),
        "fixed upstream: from_str no longer panics"
    );
}
