//! One-time login links (`miro-sam serve`) and sign-in states that expire.

mod common;

use chrono::Duration;
use common::*;
use miro_sam_console::{LoginLinkError, one_time_login_link};
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::ports::AuditStore;

/// A console that takes one-time login links, as `miro-sam serve` runs it.
async fn login_link_console() -> Console {
    console(Options {
        local_login: true,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_login_link_signs_in_once() {
    let c = login_link_console().await;
    let link = one_time_login_link(
        &c.config_for_links,
        c.states.as_ref(),
        &c.w.org,
        "ops@example.com",
    )
    .await
    .unwrap();
    assert!(
        link.as_str()
            .starts_with(&format!("{}/local-login?token=", c.url)),
        "{link}"
    );

    let b = browser();
    let r = b.get(link.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<h1>Overview</h1>") && page.contains("ops@example.com"),
        "{page}"
    );
    let audit = c.w.store.list_audit(&c.w.org).await.unwrap();
    let signed_in: Vec<_> = audit
        .iter()
        .filter(|e| matches!(e.event, AuditEvent::SignedIn { .. }))
        .collect();
    assert_eq!(signed_in.len(), 1);
    assert!(
        signed_in[0].actor.contains("local login"),
        "{}",
        signed_in[0].actor
    );

    // Used once: a second browser gets nothing.
    let other = browser();
    let r = other.get(link.as_str()).send().await.unwrap();
    forbidden(r, "already used").await;
    assert_eq!(c.get(&other, "/").await.0, 401);
}

#[tokio::test]
async fn login_links_are_off_unless_configured_and_only_for_loopback() {
    let c = console(Options::default()).await;
    let err = one_time_login_link(&c.config_for_links, c.states.as_ref(), &c.w.org, "ops")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginLinkError::Disabled), "{err}");
    // A link made elsewhere does not work on a console with local login off.
    let (status, page) = c.get(&browser(), "/local-login?token=anything").await;
    assert_eq!(status, 404);
    assert!(page.contains("sign in with Miro"), "{page}");

    let mut config = config(
        &c.origin,
        &Options {
            local_login: true,
            ..Options::default()
        },
    );
    config.public_url = url::Url::parse("https://console.example.com").unwrap();
    let err = one_time_login_link(&config, c.states.as_ref(), &c.w.org, "ops")
        .await
        .unwrap_err();
    assert!(matches!(err, LoginLinkError::NotLoopback(_)), "{err}");
    assert!(err.to_string().contains("this machine only"));
}

#[tokio::test]
async fn a_login_link_older_than_ten_minutes_is_refused() {
    let c = login_link_console().await;
    let link = one_time_login_link(&c.config_for_links, c.states.as_ref(), &c.w.org, "ops")
        .await
        .unwrap();
    c.clock.advance(Duration::minutes(11));
    let r = browser().get(link.as_str()).send().await.unwrap();
    forbidden(r, "older than 10 minutes").await;
}

#[tokio::test]
async fn a_sign_in_that_comes_back_after_ten_minutes_is_refused() {
    let c = console(Options::default()).await;
    let exchanges = c.w.control.counters().get("token");
    let b = manual_browser();
    let callback = c.callback_from_miro(&b, &b).await;
    c.clock.advance(Duration::minutes(11));
    let r = b.get(&callback).send().await.unwrap();
    forbidden(r, "More than 10 minutes passed").await;
    assert_eq!(
        c.w.control.counters().get("token"),
        exchanges,
        "the code was never exchanged"
    );
}
