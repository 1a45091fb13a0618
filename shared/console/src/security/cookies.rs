//! Reading and writing the console's cookies, and the random values they carry.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// The value of cookie `name` in the request, if sent (the first one when sent twice).
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always (Lax, not Strict, so the cookie comes along on the
/// top-level redirect back from Miro), Secure when configured, scoped to the console's path.
pub fn set(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        max_age_secs.max(0),
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, path: &str, secure: bool) -> String {
    set(name, "", path, 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; miro_sam_console=v1.x.y ; b=2"),
        );
        assert_eq!(read(&h, "miro_sam_console").as_deref(), Some("v1.x.y"));
        assert_eq!(read(&h, "b").as_deref(), Some("2"));
        assert_eq!(read(&h, "c"), None);
    }

    #[test]
    fn cookies_are_http_only_and_lax() {
        let c = set("n", "v", "/console", 60, true);
        assert_eq!(
            c,
            "n=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set("n", "v", "", 60, false).contains("Secure"));
        assert!(clear("n", "/c", false).contains("Max-Age=0"));
    }
}
