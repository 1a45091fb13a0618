//! Shared helpers for the integration tests: plain reqwest over real HTTP.
#![allow(dead_code)]

use std::collections::HashMap;

use miro_sandbox::{DEFAULT_CLIENT_ID, Sandbox, SandboxConfig, SandboxControl};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .parse()
            .expect("numeric header")
    }
}

pub async fn reply(resp: reqwest::Response) -> Reply {
    Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("body"),
    }
}

pub async fn get(c: &reqwest::Client, url: &str, token: Option<&str>) -> Reply {
    let mut req = c.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    reply(req.send().await.expect("request")).await
}

/// Walks every members page (`limit` per page), returning ids in order and the page count.
pub async fn all_member_ids(
    c: &reqwest::Client,
    base: &str,
    org: &str,
    token: &str,
    limit: u32,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let mut url = format!("{base}/v2/orgs/{org}/members?limit={limit}");
        if !cursor.is_empty() {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let r = get(c, &url, Some(token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        pages += 1;
        assert_eq!(page["type"], "cursor-list");
        assert_eq!(page["limit"], limit);
        let data = page["data"].as_array().expect("data");
        assert_eq!(page["size"].as_u64(), Some(data.len() as u64));
        ids.extend(data.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        cursor = page["cursor"]
            .as_str()
            .expect("cursor is a string")
            .to_string();
        if cursor.is_empty() {
            return (ids, pages);
        }
        assert!(pages < 10_000, "cursor loop");
    }
}

/// `filter=<value>` percent-encoded the RFC 3986 way (space as `%20`), as Miro's docs write SCIM filters.
/// reqwest's `.query()` writes spaces as `+`, which the sandbox (strictly) reads as a plus.
pub fn filter_query(filter: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("filter={}", encoded.replace('+', "%20"))
}

/// A started sandbox with its control, its first org and a raw HTTP client: what almost every test begins with.
pub struct Started {
    pub c: reqwest::Client,
    pub sb: Sandbox,
    pub ctl: SandboxControl,
    pub org: String,
}

pub async fn start(config: SandboxConfig) -> Started {
    let sb = Sandbox::start(config).await.expect("sandbox starts");
    let ctl = sb.control();
    let org = ctl.org_ids()[0].clone();
    Started {
        c: client(),
        sb,
        ctl,
        org,
    }
}

/// A SCIM PatchOp of one operation on `active`.
pub fn patch_body(op: &str, value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [ { "op": op, "path": "active", "value": value } ]
    })
}

/// `PATCH /Users/{id}` with `body` as sent, well-formed or not.
pub async fn scim_patch(
    c: &reqwest::Client,
    sb: &Sandbox,
    scim: &str,
    id: &str,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let url = format!("{}/Users/{id}", sb.scim_base_url());
    let request = c
        .patch(url)
        .bearer_auth(scim)
        .header("content-type", "application/scim+json")
        .body(body);
    reply(request.send().await.expect("request")).await
}

/// Deactivates (`false`) or reactivates a user the way Miro's docs write it.
pub async fn set_active(
    c: &reqwest::Client,
    sb: &Sandbox,
    scim: &str,
    id: &str,
    active: bool,
) -> Reply {
    let body = patch_body("Replace", json!(active)).to_string();
    scim_patch(c, sb, scim, id, body).await
}

/// `GET /Users/{id}`.
pub async fn scim_get(c: &reqwest::Client, sb: &Sandbox, scim: &str, id: &str) -> Reply {
    get(c, &format!("{}/Users/{id}", sb.scim_base_url()), Some(scim)).await
}

/// `GET /Users?filter=...` with the filter percent-encoded by [`filter_query`].
pub async fn scim_filter(c: &reqwest::Client, sb: &Sandbox, scim: &str, filter: &str) -> Reply {
    let url = format!("{}/Users?{}", sb.scim_base_url(), filter_query(filter));
    get(c, &url, Some(scim)).await
}

/// A POST to the HTTP control plane (`/_sandbox/{path}`) with a JSON body.
pub async fn control_post(c: &reqwest::Client, sb: &Sandbox, path: &str, body: Value) -> Reply {
    let url = format!("{}/_sandbox/{path}", sb.base_url());
    reply(c.post(url).json(&body).send().await.expect("request")).await
}

/// The browser step of the code flow: `GET /oauth/authorize` for the sandbox's own app, which redirects to
/// `redirect`; returns the callback's query parameters. `team` preselects a team.
pub async fn authorize(
    c: &reqwest::Client,
    sb: &Sandbox,
    redirect: &str,
    state: &str,
    team: Option<&str>,
) -> HashMap<String, String> {
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("redirect_uri", redirect),
        ("state", state),
    ];
    query.extend(team.map(|t| ("team_id", t)));
    let url = format!("{}/oauth/authorize", sb.base_url());
    let r = reply(c.get(url).query(&query).send().await.expect("request")).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = url::Url::parse(&r.header("location").expect("a location")).expect("a URL");
    assert!(location.as_str().starts_with(redirect), "{location}");
    location.query_pairs().into_owned().collect()
}

/// `POST /v1/oauth/token` with `params` as a form body.
pub async fn token_form<T: serde::Serialize + ?Sized>(
    c: &reqwest::Client,
    sb: &Sandbox,
    params: &T,
) -> Reply {
    let url = format!("{}/v1/oauth/token", sb.base_url());
    reply(c.post(url).form(params).send().await.expect("request")).await
}

/// `GET {base_url}{path}` with `token` as the bearer: a REST or OAuth call of the sandbox's own API.
pub async fn rest_get(c: &reqwest::Client, sb: &Sandbox, path: &str, token: &str) -> Reply {
    get(c, &format!("{}{path}", sb.base_url()), Some(token)).await
}
