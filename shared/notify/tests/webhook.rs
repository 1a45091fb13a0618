//! The chat webhook against a local HTTP server: the digest line arrives as `{"text": ...}` in a POST; a refusal
//! is reported with its status, and no error repeats the secret URL.

use std::time::Duration;

use miro_sam_core::ports::{Webhook, WebhookError};
use miro_sam_notify::ChatWebhook;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one request with `status`, and hands back the request it read (head and body).
async fn one_request(status: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read the head, then as many body bytes as Content-Length says.
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let len = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= head_end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let reply =
            format!("HTTP/1.1 {status}\r\ncontent-length: 9\r\nconnection: close\r\n\r\nno_hook_x");
        sock.write_all(reply.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&buf).to_string()
    });
    (port, task)
}

/// A webhook whose secret URL points at a local server answering one request with `status`, and that request.
async fn hook_answering(status: &'static str) -> (ChatWebhook, tokio::task::JoinHandle<String>) {
    let (port, request) = one_request(status).await;
    let hook = ChatWebhook::new(
        SecretString::from(format!(
            "http://127.0.0.1:{port}/services/T0/B0/secret-token"
        )),
        Duration::from_secs(10),
    )
    .unwrap();
    (hook, request)
}

#[tokio::test]
async fn the_digest_line_is_posted_as_text() {
    let (hook, request) = hook_answering("200 OK").await;
    hook.post("Acme: 12 seats will be reclaimed on 2026-03-09; 4 kept.")
        .await
        .expect("posted");
    let req = request.await.unwrap();
    assert!(
        req.starts_with("POST /services/T0/B0/secret-token HTTP/1.1"),
        "{req}"
    );
    assert!(
        req.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{req}"
    );
    let body = &req[req.find("\r\n\r\n").unwrap() + 4..];
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"text": "Acme: 12 seats will be reclaimed on 2026-03-09; 4 kept."})
    );
}

#[tokio::test]
async fn a_refusal_names_the_status_and_never_the_url() {
    let (hook, request) = hook_answering("404 Not Found").await;
    let err = hook.post("hello").await.unwrap_err();
    request.await.unwrap();
    assert!(
        matches!(err, WebhookError::Refused { status: 404, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("no_hook_x"),
        "the service's answer: {err}"
    );
    assert!(!err.to_string().contains("secret-token"), "{err}");

    // Nobody listens on the port any more: unreachable, and still no URL in the message.
    let err = hook.post("hello").await.unwrap_err();
    assert!(matches!(err, WebhookError::Unreachable(_)), "{err}");
    assert!(!err.to_string().contains("secret-token"), "{err}");
}

#[test]
fn only_https_or_loopback_http_is_accepted() {
    let e = ChatWebhook::new(
        SecretString::from("http://hooks.example.com/services/secret-token"),
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(e.to_string().contains("only https"), "{e}");
    assert!(!e.to_string().contains("secret-token"), "{e}");
    ChatWebhook::new(
        SecretString::from("https://hooks.slack.com/services/T0/B0/x"),
        Duration::from_secs(1),
    )
    .expect("https is fine");
}
