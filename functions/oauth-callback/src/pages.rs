//! The small HTML pages the admin sees. Every page says what happened and what to do next; none shows a token
//! or a code.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

pub fn page(status: StatusCode, title: &str, paragraphs: &[String]) -> Response<Body> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", esc(p)))
        .collect();
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>miro-sam: {t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:640px;margin:3em auto;padding:0 1em}}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .body(Body::Text(html))
        .expect("static headers are valid")
}

pub fn text(status: StatusCode, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_owned()))
        .expect("static headers are valid")
}

pub fn redirect(location: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .expect("a URL is a valid header value")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
