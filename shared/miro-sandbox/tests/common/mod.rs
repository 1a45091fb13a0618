//! Shared helpers for the integration tests: plain reqwest over real HTTP.
#![allow(dead_code)]

use reqwest::header::HeaderMap;
use serde_json::Value;

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
