//! The headers every console response carries, whatever produced it (pages, errors, the stylesheet, exports).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

/// Nothing may load but our own stylesheet and images (inline SVG and `data:` images); no script at all, no
/// framing, forms only back to us. Why so strict: the pages show who loses their seat and take the actions that
/// make it happen, so an injected script or a framing page must find nothing to work with.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().contains("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages hold an org's people and a CSRF token: never keep them in a shared or back/forward cache.
    if !is_static && !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
