//! The admins' digest on AWS (issue 12): after the notices, the download function posts the digest line to the
//! chat webhook whose URL it read from a Secrets Manager secret (moto), and emails it through SES to the admins of
//! MIRO_SAM_DIGEST_TO. The webhook is a local HTTP server that records what it was sent.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use download_subscriptions::notices::wire;
use miro_sam_aws::SesMailer;
use miro_sam_core::domain::Email;
use miro_sam_core::policy::Policy;
use miro_sam_lambda::env;
use miro_sam_tests::*;

type Posts = Arc<Mutex<Vec<serde_json::Value>>>;

/// A chat webhook on loopback: every POST body to `/services/hook` is kept.
async fn hook_server() -> (String, Posts) {
    let posts: Posts = Arc::default();
    let app = axum::Router::new()
        .route(
            "/services/hook",
            post(
                |State(posts): State<Posts>, Json(body): Json<serde_json::Value>| async move {
                    posts.lock().unwrap().push(body);
                    "ok"
                },
            ),
        )
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/services/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, posts)
}

async fn verify_identity(identity: &str) {
    let endpoint = std::env::var(miro_sam_aws::env::TEST_AWS_ENDPOINT).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/email/identities", endpoint.trim_end_matches('/')))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0",
        )
        .json(&serde_json::json!({ "EmailIdentity": identity }))
        .send()
        .await
        .expect("moto answers");
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// The recipients and subject of each message moto's SES recorded from `from`.
async fn sent_from(from: &Email) -> Vec<(Vec<String>, String)> {
    let endpoint = std::env::var(miro_sam_aws::env::TEST_AWS_ENDPOINT).unwrap();
    let data: serde_json::Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        endpoint.trim_end_matches('/')
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    data["ses"]["Message"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| m["source"].as_str() == Some(from.as_str()))
        .map(|m| {
            let to = m["destinations"]["ToAddresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (to, m["subject"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_digest_goes_to_the_webhook_from_secrets_manager_and_to_the_admins() {
    let (url, posts) = hook_server().await;
    let from = Email::parse(&format!("notices@{}.example.com", unique("d"))).unwrap();
    let admin = format!("it-admin@{}", from.domain());
    let secret = unique("miro-sam/webhook-url");
    let w = {
        let mut w = world(WorldOptions {
            members: 40,
            env: vec![
                (env::NOTICE_FROM, from.to_string()),
                (env::NOTICE_SEND_RATE, "1000".into()),
                (env::WEBHOOK_SECRET_NAME, secret.clone()),
                (env::DIGEST_TO, admin.clone()),
            ],
            ..Default::default()
        })
        .await;
        // After the world, which installs the TLS crypto provider reqwest needs.
        verify_identity(from.domain()).await;
        w.clients
            .secrets
            .create_secret()
            .name(&secret)
            .secret_string(&url)
            .send()
            .await
            .expect("webhook secret");
        let sdk = sdk().await;
        w.rt.notices = wire(&w.rt, |from| SesMailer::from_sdk(&sdk, from))
            .await
            .expect("wired");
        w
    };
    let policy = Policy {
        notice_days: 7,
        reminder_days_before: vec![2],
        ..live_policy()
    };
    w.connect_directly(&w.org, policy).await;

    let (run, _) = w.daily_run().await;
    let o = &run.orgs[0];
    let n = o.notices.as_ref().expect("notices ran");
    assert!(n.notified > 0, "{n:?}");
    assert!(n.digest_failures.is_empty(), "{:?}", n.digest_failures);

    let got = posts.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one digest post: {got:?}");
    let text = got[0]["text"].as_str().expect("a text field");
    assert!(text.contains("Acme Corp"), "names the org: {text}");
    let seats = format!("{} seats will be reclaimed on", n.notified);
    assert!(
        text.contains(&seats),
        "counts the notified seats ({seats}): {text}"
    );

    let digests: Vec<_> = sent_from(&from)
        .await
        .into_iter()
        .filter(|(to, _)| to.as_slice() == std::slice::from_ref(&admin))
        .collect();
    assert_eq!(
        digests.len(),
        1,
        "one digest email to the admin: {digests:?}"
    );
    assert!(
        digests[0].1.starts_with("miro-sam: Acme Corp seats"),
        "{digests:?}"
    );
}
