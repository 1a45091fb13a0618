//! Property tests of every decoder that reads Miro's answers: members pages, single members, SCIM user lists, the
//! token endpoint, error bodies of any status, and the date parser. The answers come from a tiny HTTP server on
//! 127.0.0.1 that sends exactly the bytes a case asks for, through the client's public calls (one attempt, no
//! pacing), so the decoders are tested on the path production uses. Nothing panics; every bad answer is a typed
//! `MiroError`; every value Miro may send is kept exactly.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};
use miro_client::{
    License, Member, MemberFilter, MiroClient, MiroConfig, MiroError, OAuthApp, Organization,
    RestLimits, RetryPolicy, Role, ScimLimits, ScimUser, SecretString, TokenInfo, parse_datetime,
};
use miro_sam_testkit::strategies::{self, JsonShape, any_number};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const TOKEN: &str = "tok_SECRET_4b1d6c0e";
const CLIENT_SECRET: &str = "app_SECRET_98e2f7aa";
const ORG: &str = "3074457345821141000";

// ---- the server -------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Server {
    addr: SocketAddr,
    replies: Arc<Mutex<VecDeque<Reply>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let queue = replies.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let queue = queue.clone();
                std::thread::spawn(move || answer(conn, &queue));
            }
        });
        Server { addr, replies }
    }

    fn push(&self, r: Reply) {
        self.replies.lock().unwrap().push_back(r);
    }
}

/// Reads one request and sends the next queued reply, then closes the connection (so no body can leak into a
/// later response, whatever the status).
fn answer(conn: TcpStream, queue: &Mutex<VecDeque<Reply>>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = queue.lock().unwrap().pop_front().unwrap_or(Reply {
        status: 599,
        headers: vec![],
        body: b"no reply queued".to_vec(),
    });
    let bodiless = matches!(reply.status, 204 | 304);
    let mut head = format!("HTTP/1.1 {} Fuzz\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !bodiless {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    if !bodiless {
        let _ = out.write_all(&reply.body);
    }
    let _ = out.flush();
}

struct Fixture {
    server: Server,
    client: MiroClient,
    rt: tokio::runtime::Runtime,
}

/// One server, client and runtime for the whole file.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let server = Server::start();
        let mut c = MiroConfig::for_base_url(&format!("http://{}", server.addr)).expect("config");
        c.retry = RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        c.rest_limits = RestLimits {
            credits_per_window: u64::MAX / 2,
            window: Duration::from_millis(1),
            level3_cost: 500,
            utilization: 1.0,
        };
        c.scim_limits = ScimLimits {
            window: Duration::from_millis(1),
            list_users: u32::MAX,
            get_user: u32::MAX,
            patch_user: u32::MAX,
            other: u32::MAX,
            utilization: 1.0,
        };
        c.request_timeout = Duration::from_secs(10);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = MiroClient::new(c).expect("client");
        Fixture { server, client, rt }
    })
}

/// Serializes the cases of this file: they share one server queue.
fn lock() -> std::sync::MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|p| p.into_inner())
}

fn ok(body: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body,
    }
}

fn token() -> SecretString {
    SecretString::from(TOKEN.to_owned())
}

fn app() -> OAuthApp {
    OAuthApp {
        client_id: "3074457363680401096".into(),
        client_secret: SecretString::from(CLIENT_SECRET.to_owned()),
        redirect_uri: "https://example.com/oauth/callback".into(),
    }
}

/// The errors never carry the tokens that went into the request.
fn no_secrets(e: &MiroError) -> Result<(), TestCaseError> {
    let text = format!("{e} {e:?}");
    prop_assert!(
        !text.contains(TOKEN) && !text.contains(CLIENT_SECRET),
        "{}",
        text
    );
    Ok(())
}

// ---- arbitrary input --------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[0-9]{1,25}",
        1 => proptest::sample::select(vec![
            "", " ", "null", "full", "unknown", "organization_internal_user", "2023-09-01T09:30:10.840Z",
            "2023-09-01T09:30:10+0000", "9007199254740993",
        ])
        .prop_map(str::to_owned),
    ]
}

fn arb_json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    // Depth, size, branch; the most array items and object entries; a known key's weight.
    let shape = JsonShape::new(4, 64, 8, 8, 8, 5);
    strategies::json(keys, text(), any_number(), shape)
}

const KEYS: &[&str] = &[
    "data",
    "cursor",
    "id",
    "email",
    "active",
    "role",
    "license",
    "licenseAssignedAt",
    "lastActivityAt",
    "adminRoles",
    "type",
    "name",
    "Resources",
    "totalResults",
    "startIndex",
    "userName",
    "userType",
    "roles",
    "value",
    "primary",
    "access_token",
    "refresh_token",
    "expires_in",
    "scope",
    "team_id",
    "user_id",
    "organization",
    "team",
    "user",
    "scopes",
    "plan",
    "fullLicensesPurchased",
    "code",
    "message",
    "detail",
    "scimType",
    "error",
    "error_description",
    "status",
];

/// A body: JSON (mostly), or any bytes at all.
fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => arb_json(KEYS).prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => arb_json(KEYS).prop_map(|v| {
            // Cut short, like a connection that dropped mid-body.
            let s = v.to_string();
            s.as_bytes()[..s.len() / 2].to_vec()
        }),
    ]
}

/// A date-time field in every form Miro may use, with the instant it must decode to (`None`: "never"), or a
/// value that is not a date-time (`Err`).
#[derive(Debug, Clone)]
enum DateForm {
    Absent,
    Present(Value, Result<Option<DateTime<Utc>>, ()>),
}

fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970 up to 9999-01-01: every form below stays within four-digit years at any offset.
    (0i64..253_370_764_800, 0u32..1_000).prop_map(|(s, ms)| {
        Utc.timestamp_opt(s, ms * 1_000_000)
            .single()
            .expect("in range")
    })
}

fn arb_date_form() -> impl Strategy<Value = DateForm> {
    prop_oneof![
        1 => Just(DateForm::Absent),
        1 => Just(DateForm::Present(Value::Null, Ok(None))),
        1 => Just(DateForm::Present(json!(""), Ok(None))),
        1 => Just(DateForm::Present(json!("   "), Ok(None))),
        3 => (arb_instant(), 0u8..5, -50_400i32..=50_400).prop_map(|(t, form, offset)| {
            let offset = FixedOffset::east_opt(offset / 60 * 60).expect("offset");
            let local = t.with_timezone(&offset);
            let mut want = t;
            let s = match form {
                0 => t.to_rfc3339_opts(SecondsFormat::Millis, true),
                1 => {
                    // Whole seconds: the milliseconds are not on the wire.
                    want = Utc.timestamp_opt(t.timestamp(), 0).single().expect("in range");
                    t.to_rfc3339_opts(SecondsFormat::Secs, true)
                }
                2 => local.to_rfc3339(),
                3 => local.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
                _ => t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
            };
            DateForm::Present(json!(s), Ok(Some(want)))
        }),
        1 => proptest::sample::select(vec![
            "yesterday", "2023-13-01T00:00:00Z", "2023-09-01", "0", "2023-09-01T25:00:00Z", "null",
        ])
        .prop_map(|s| DateForm::Present(json!(s), Err(()))),
        1 => any::<i64>().prop_map(|n| DateForm::Present(json!(n), Err(()))),
    ]
}

/// `licenseAssignedAt` and `lastActivityAt` as they must decode.
type Dates = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A member object as Miro may send it, and what it must decode to.
#[derive(Debug, Clone)]
struct WireMember {
    json: Value,
    id: String,
    license: String,
    role: String,
    active: bool,
    /// `Err`: the member must make the whole page fail (an unreadable date must never read as "never active").
    dates: Result<Dates, ()>,
    admin_roles: usize,
}

fn wire_enum(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn arb_member() -> impl Strategy<Value = WireMember> {
    // Miro's documented enums, as the sandbox serves them.
    use miro_sandbox::{LICENSES, ROLES};
    (
        // Ids above 2^53 as bare numbers (a float would change the last digits) or as strings.
        prop_oneof![(1u64 << 53)..=u64::MAX, 0u64..(1 << 53)],
        any::<bool>(),
        "[a-z]{1,8}@[a-z]{1,8}\\.example",
        any::<bool>(),
        wire_enum(LICENSES),
        wire_enum(ROLES),
        arb_date_form(),
        arb_date_form(),
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            (0usize..3).prop_map(|n| Some(json!(
                (0..n)
                    .map(|i| json!({"type": "prebuilt", "name": format!("Admin {i}")}))
                    .collect::<Vec<_>>()
            )))
        ],
    )
        .prop_map(
            |(id, id_as_number, email, active, license, role, assigned, activity, admin)| {
                let mut o = Map::new();
                o.insert("type".into(), json!("organization-member"));
                o.insert(
                    "id".into(),
                    if id_as_number {
                        json!(id)
                    } else {
                        json!(id.to_string())
                    },
                );
                o.insert("email".into(), json!(email));
                o.insert("active".into(), json!(active));
                o.insert("role".into(), json!(role));
                o.insert("license".into(), json!(license));
                let mut read = |key: &str, form: &DateForm| match form {
                    DateForm::Absent => Ok(None),
                    DateForm::Present(v, want) => {
                        o.insert(key.into(), v.clone());
                        *want
                    }
                };
                let a = read("licenseAssignedAt", &assigned);
                let b = read("lastActivityAt", &activity);
                let admin_roles = match &admin {
                    Some(Value::Array(a)) => a.len(),
                    _ => 0,
                };
                if let Some(v) = admin {
                    o.insert("adminRoles".into(), v);
                }
                WireMember {
                    json: Value::Object(o),
                    id: id.to_string(),
                    license,
                    role,
                    active,
                    dates: a.and_then(|a| b.map(|b| (a, b))),
                    admin_roles,
                }
            },
        )
}

fn check_member(m: &Member, w: &WireMember) -> Result<(), TestCaseError> {
    prop_assert_eq!(&m.id, &w.id, "every digit of the id is kept");
    prop_assert_eq!(
        m.license.as_str(),
        w.license.as_str(),
        "unknown licenses are kept verbatim"
    );
    prop_assert_eq!(m.role.as_str(), w.role.as_str());
    prop_assert_eq!(m.license == License::parse(&w.license), true);
    prop_assert_eq!(m.role == Role::parse(&w.role), true);
    prop_assert_eq!(m.active, w.active);
    let (assigned, activity) = w.dates.expect("only readable members get here");
    prop_assert_eq!(m.license_assigned_at, assigned);
    prop_assert_eq!(m.last_activity_at, activity);
    prop_assert_eq!(m.admin_roles.len(), w.admin_roles);
    Ok(())
}

// ---- the properties ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::default())]

    /// Any body on a 200 to the members list: a page, or `Decode`.
    #[test]
    fn members_page_from_any_body(body in arb_body(), cursor in proptest::option::of("[0-9]{1,19}")) {
        let _l = lock();
        let f = fixture();
        f.server.push(ok(body));
        let r = f.rt.block_on(f.client.members_page(&token(), ORG, &MemberFilter::default(), cursor.as_deref()));
        match r {
            Ok(page) => prop_assert!(page.next_cursor.as_deref() != Some("")),
            Err(e) => {
                no_secrets(&e)?;
                prop_assert!(matches!(e, MiroError::Decode { .. }), "{:?}", e);
            }
        }
    }

    /// Pages of members in every form Miro may send: ids above 2^53 as numbers, dates absent, null, "" or in
    /// any of the documented formats, values outside the enums. Every field of a readable member is kept exactly;
    /// a member whose date is not a date is reported in `undecodable` by its id, and the rest of the page is kept.
    #[test]
    fn members_pages_keep_every_value(
        members in proptest::collection::vec(arb_member(), 0..12),
        cursor in prop_oneof![Just(None), Just(Some(Value::Null)), Just(Some(json!(""))), "[0-9]{19}".prop_map(|c| Some(json!(c)))],
    ) {
        let _l = lock();
        let f = fixture();
        let mut body = json!({
            "type": "cursor-list", "limit": 100, "size": members.len(),
            "data": members.iter().map(|m| m.json.clone()).collect::<Vec<_>>(),
        });
        if let Some(c) = &cursor {
            body["cursor"] = c.clone();
        }
        f.server.push(ok(body.to_string().into_bytes()));
        let page = f
            .rt
            .block_on(f.client.members_page(&token(), ORG, &MemberFilter::default(), None))
            .map_err(|e| TestCaseError::fail(format!("one member must not fail the page: {e:?}")))?;
        let readable: Vec<&WireMember> = members.iter().filter(|m| m.dates.is_ok()).collect();
        prop_assert_eq!(page.members.len(), readable.len());
        for (m, w) in page.members.iter().zip(&readable) {
            check_member(m, w)?;
        }
        prop_assert_eq!(page.undecodable.len(), members.len() - readable.len());
        for (u, w) in page.undecodable.iter().zip(members.iter().filter(|m| m.dates.is_err())) {
            let id = w.json["id"].as_str().map(str::to_owned).or_else(|| w.json["id"].as_u64().map(|n| n.to_string()));
            prop_assert_eq!(&u.id, &id);
        }
        // An empty page ends the listing whatever cursor it names.
        let want = cursor
            .and_then(|c| c.as_str().map(str::to_owned))
            .filter(|c| !c.is_empty() && !members.is_empty());
        prop_assert_eq!(page.next_cursor, want);
    }

    /// One member (`GET /members/{id}`), from any body and from every wire form.
    #[test]
    fn one_member(body in arb_body(), w in arb_member(), member_id in any::<String>()) {
        let _l = lock();
        let f = fixture();
        f.server.push(ok(body));
        if let Err(e) = f.rt.block_on(f.client.member(&token(), ORG, &member_id)) {
            prop_assert!(matches!(e, MiroError::Decode { .. }), "{:?}", e);
        }
        f.server.push(ok(w.json.to_string().into_bytes()));
        match f.rt.block_on(f.client.member(&token(), ORG, "3074457345000007919")) {
            Ok(m) => check_member(&m, &w)?,
            Err(e) => {
                prop_assert!(w.dates.is_err(), "{:?}", e);
                prop_assert!(matches!(e, MiroError::Decode { .. }), "{:?}", e);
            }
        }
    }

    /// SCIM `GET /Users?filter=userName eq …` from any body: the user whose userName is the address (compared
    /// case-insensitively), none, or `Decode`.
    #[test]
    fn scim_find_from_any_body(body in arb_body(), email in "[A-Za-z\"\\\\]{1,6}@[a-z]{1,6}\\.example") {
        let _l = lock();
        let f = fixture();
        f.server.push(ok(body));
        match f.rt.block_on(f.client.scim_find_user_by_email(&token(), &email)) {
            Ok(Some(u)) => prop_assert!(u.user_name.eq_ignore_ascii_case(&email)),
            Ok(None) => {}
            Err(e) => {
                no_secrets(&e)?;
                prop_assert!(matches!(e, MiroError::Decode { .. }), "{:?}", e);
            }
        }
    }

    /// SCIM lists in Miro's shapes: the first user whose userName matches in any letter case; `active` defaults
    /// to true; ids may be numbers above 2^53; role values of any JSON type.
    #[test]
    fn scim_find_picks_the_right_user(
        users in proptest::collection::vec((
            prop_oneof!["[a-z]{1,3}", Just("ann".to_owned())],
            any::<bool>(),
            proptest::option::of(any::<bool>()),
            any::<u64>(),
            proptest::collection::vec(prop_oneof![
                Just(json!("ORGANIZATION_INTERNAL_ADMIN")), Just(json!("ORGANIZATION_INTERNAL_USER")),
                any::<i64>().prop_map(|n| json!(n)), any::<bool>().prop_map(|b| json!(b)), Just(Value::Null),
            ], 0..3),
        ), 0..6),
    ) {
        let _l = lock();
        let f = fixture();
        let email = "ann@acme.example";
        let resources: Vec<Value> = users.iter().map(|(local, upper, active, id, roles)| {
            let name = format!("{local}@acme.example");
            let mut u = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": id,
                "userName": if *upper { name.to_uppercase() } else { name },
                "roles": roles.iter().map(|v| json!({"type": "organization_user_role", "value": v})).collect::<Vec<_>>(),
            });
            if let Some(a) = active {
                u["active"] = json!(a);
            }
            u
        }).collect();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(),
            "Resources": resources,
        });
        f.server.push(ok(body.to_string().into_bytes()));
        let found = f.rt.block_on(f.client.scim_find_user_by_email(&token(), email)).expect("a valid list");
        let want = users.iter().find(|(local, ..)| local == "ann");
        match (found, want) {
            (Some(u), Some((_, _, active, id, roles))) => {
                prop_assert_eq!(&u.id, &id.to_string());
                prop_assert_eq!(u.active, active.unwrap_or(true));
                prop_assert_eq!(
                    u.user_role_values().iter().any(|v| v == "ORGANIZATION_INTERNAL_ADMIN"),
                    roles.iter().any(|v| v == &json!("ORGANIZATION_INTERNAL_ADMIN"))
                );
            }
            (None, None) => {}
            (got, want) => prop_assert!(false, "found {:?}, wanted {:?}", got, want),
        }
    }

    /// Any status with any body and any rate-limit headers: each call gets the error its status means (or a
    /// decoded value / `Decode` on success), and no error quotes a token.
    #[test]
    fn any_status_is_a_typed_error(
        status in prop_oneof![200u16..=599, Just(401u16), Just(403), Just(404), Just(409), Just(429), Just(500)],
        body in prop_oneof![
            arb_body(),
            (text(), text()).prop_map(|(c, m)| json!({"status": 400, "code": c, "message": m, "type": "error"}).to_string().into_bytes()),
            (text(), text()).prop_map(|(t, d)| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "scimType": t, "detail": d}).to_string().into_bytes()),
            text().prop_map(|t| json!({"error": "invalid_grant", "error_description": t, "access_token": "at_in_body"}).to_string().into_bytes()),
        ],
        retry_after in proptest::option::of(prop_oneof!["[0-9]{1,20}".boxed(), "[ -~]{0,12}".boxed()]),
        remaining in proptest::option::of(any::<u64>()),
        reset in proptest::option::of(any::<u64>()),
        call in 0u8..6,
    ) {
        let _l = lock();
        let f = fixture();
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(v) = retry_after { headers.push(("Retry-After".into(), v.trim().to_owned())); }
        if let Some(v) = remaining { headers.push(("X-RateLimit-Remaining".into(), v.to_string())); }
        if let Some(v) = reset { headers.push(("X-RateLimit-Reset".into(), v.to_string())); }
        f.server.push(Reply { status, headers, body });
        let t = token();
        let err = f.rt.block_on(async {
            match call {
                0 => f.client.members_page(&t, ORG, &MemberFilter::default(), None).await.err(),
                1 => f.client.organization(&t, ORG).await.err(),
                2 => f.client.scim_set_active(&t, "3074457345000007919", false).await.err(),
                3 => f.client.scim_get_user(&t, "3074457345000007919").await.err(),
                4 => f.client.token_info(&t).await.err(),
                _ => f.client.scim_service_provider_config(&t).await.err(),
            }
        });
        let scim = matches!(call, 2 | 3 | 5);
        let Some(e) = err else {
            prop_assert!((200..300).contains(&status), "HTTP {} was a success", status);
            return Ok(());
        };
        no_secrets(&e)?;
        let fits = match status {
            // The PATCH answer is never trusted: the read-back meets the fixture's empty queue (HTTP 599).
            200..=299 if call == 2 => matches!(e, MiroError::Server { status: 599, .. }),
            200..=299 => matches!(e, MiroError::Decode { .. }),
            300..=399 => matches!(e, MiroError::Redirected { status: s, .. } if s == status),
            401 if scim => matches!(e, MiroError::ScimUnauthorized { .. }),
            401 => matches!(e, MiroError::Unauthorized { .. }),
            403 if scim => matches!(e, MiroError::ScimDisabled { .. }),
            // Token info: Miro documents 400 for a bad token, so every refusal reads as "reconnect".
            400..=499 if call == 4 && !matches!(status, 404 | 409 | 429) => {
                matches!(e, MiroError::Unauthorized { .. })
            }
            403 => matches!(e, MiroError::OrgForbidden { .. }),
            404 => matches!(e, MiroError::NotFound { .. }),
            409 => matches!(e, MiroError::Conflict { .. }),
            429 => matches!(e, MiroError::RateLimited { .. }),
            400..=499 => matches!(e, MiroError::BadRequest { status: s, .. } if s == status),
            _ => matches!(e, MiroError::Server { status: s, .. } if s == status),
        };
        prop_assert!(fits, "HTTP {} on call {} gave {:?}", status, call, e);
    }

    /// The token endpoint, from any answer (`expires_in` up to u64::MAX): a grant, `OAuthRejected`, or another
    /// typed error, never quoting the body (it may hold tokens) nor the client secret.
    #[test]
    fn token_endpoint_from_any_answer(
        status in prop_oneof![Just(200u16), Just(400), Just(401), 200u16..=599],
        body in prop_oneof![
            arb_body(),
            (text(), proptest::option::of(text()), proptest::option::of(prop_oneof![0u64..1_000_000_000_000, any::<u64>()]), proptest::option::of(text()), any::<u64>(), any::<bool>())
                .prop_map(|(at, rt, exp, scope, id, numeric)| {
                    let mut b = json!({"access_token": at, "token_type": "bearer", "user_id": if numeric { json!(id) } else { json!(id.to_string()) }, "team_id": id});
                    if let Some(r) = rt { b["refresh_token"] = json!(r); }
                    if let Some(e) = exp { b["expires_in"] = json!(e); }
                    if let Some(s) = scope { b["scope"] = json!(s); }
                    b.to_string().into_bytes()
                }),
        ],
        refresh in any::<bool>(),
    ) {
        let _l = lock();
        let f = fixture();
        let quoted = String::from_utf8_lossy(&body).into_owned();
        f.server.push(Reply { status, headers: vec![], body });
        let secret = SecretString::from(TOKEN.to_owned());
        let r = f.rt.block_on(async {
            if refresh {
                f.client.refresh(&app(), &secret).await
            } else {
                f.client.exchange_code(&app(), &secret).await
            }
        });
        match r {
            Ok(grant) => {
                prop_assert!((200..300).contains(&status), "HTTP {} gave a grant", status);
                if let (Some(d), Some(at)) = (grant.expires_in, grant.expires_at)
                    && d.as_secs() < 1_000_000_000_000
                {
                    prop_assert!(at > Utc::now() + chrono::Duration::seconds(d.as_secs() as i64 - 60));
                }
            }
            Err(e) => {
                no_secrets(&e)?;
                let text = e.to_string();
                if quoted.len() > 12 {
                    prop_assert!(!text.contains(&quoted), "the token endpoint's body was quoted: {}", text);
                }
                if matches!(status, 400..=499) && !matches!(status, 404 | 409 | 429) {
                    prop_assert!(matches!(e, MiroError::OAuthRejected { .. }), "{:?}", e);
                }
            }
        }
    }

    /// The public decode path of Miro's payload types, from any JSON value.
    #[test]
    fn payload_types_from_any_value(v in arb_json(KEYS)) {
        let _ = serde_json::from_value::<Member>(v.clone());
        let _ = serde_json::from_value::<Organization>(v.clone());
        let _ = serde_json::from_value::<ScimUser>(v.clone());
        let _ = serde_json::from_value::<TokenInfo>(v.clone());
        if let Ok(m) = serde_json::from_value::<Member>(v) {
            // A decoded member serializes and decodes to itself.
            let again: Member = serde_json::from_value(serde_json::to_value(&m).expect("serializes")).expect("decodes");
            prop_assert_eq!(again, m);
        }
    }

    /// The date parser: never panics on any text; every documented form of an instant reads as that instant.
    #[test]
    fn dates(s in any::<String>(), t in arb_instant(), offset in -50_400i32..=50_400) {
        let _ = parse_datetime(&s);
        let off = FixedOffset::east_opt(offset / 60 * 60).expect("offset");
        let local = t.with_timezone(&off);
        for form in [
            t.to_rfc3339_opts(SecondsFormat::Millis, true),
            t.to_rfc3339_opts(SecondsFormat::Nanos, true),
            local.to_rfc3339(),
            local.format("%Y-%m-%dT%H:%M:%S%.f%z").to_string(),
            local.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        ] {
            let got = parse_datetime(&form);
            if form.contains('.') || t.timestamp_subsec_nanos() == 0 {
                prop_assert_eq!(got, Some(t), "{}", form);
            } else {
                // The seconds-only form drops the milliseconds.
                prop_assert_eq!(got.map(|g| g.timestamp()), Some(t.timestamp()), "{}", form);
            }
        }
    }
}

/// Regression, FOUND BY `token_endpoint_from_any_answer` (see FUZZING.md, finding 1): an `expires_in` beyond
/// what `DateTime<Utc>` can add (≈ 8·10^12 s) used to panic in `Utc::now() + d`; it now means "no expiry known".
#[test]
fn a_huge_expires_in_is_no_known_expiry() {
    let _l = lock();
    let f = fixture();
    for secs in [10_000_000_000_000u64, 9_000_000_000_000_000, u64::MAX] {
        f.server
            .push(ok(json!({"access_token": "a", "expires_in": secs})
                .to_string()
                .into_bytes()));
        let g =
            f.rt.block_on(
                f.client
                    .exchange_code(&app(), &SecretString::from("code".to_owned())),
            )
            .expect("a grant");
        assert_eq!(g.expires_at, None, "expires_in {secs}");
    }
}

/// Regression, FOUND BY `token_endpoint_from_any_answer` (see FUZZING.md, finding 2): serde's message quotes a
/// mistyped value, so a token endpoint answering a bare JSON string (or a string `expires_in`) used to put that
/// text into `Decode::detail`, and so into logs.
#[test]
fn token_endpoint_decode_errors_quote_no_value() {
    let _l = lock();
    let f = fixture();
    for body in [
        json!("at_SECRET_bare_string"),
        json!({"access_token": "a", "expires_in": "at_SECRET_in_expires_in"}),
    ] {
        f.server.push(ok(body.to_string().into_bytes()));
        let e =
            f.rt.block_on(
                f.client
                    .exchange_code(&app(), &SecretString::from("code".to_owned())),
            )
            .expect_err("not a token response");
        assert!(matches!(e, MiroError::Decode { .. }), "{e:?}");
        assert!(!format!("{e} {e:?}").contains("at_SECRET"), "{e:?}");
    }
}
