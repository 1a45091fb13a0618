//! Sign in with Miro through the sandbox, sessions, CSRF and the headers every page sends.

mod common;

use chrono::Duration;
use common::*;
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::ports::SubscriptionStore;

#[tokio::test]
async fn the_orgs_admin_signs_in_and_the_sign_in_token_is_revoked() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let revokes_before = c.w.control.counters().get("revoke");
    let b = c.signed_in_browser().await;
    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Acme Corp"), "the org's name is in the frame");
    assert!(page.contains("Sign out"));
    assert_eq!(
        c.w.control.counters().get("revoke"),
        revokes_before + 1,
        "the sign-in token is revoked (the org's stored grant is not the signing-in user's)"
    );
    let audit = c.w.store.list_audit(&c.w.org).await.unwrap();
    let signed_in: Vec<_> = audit
        .iter()
        .filter(|e| matches!(e.event, AuditEvent::SignedIn { .. }))
        .collect();
    assert_eq!(signed_in.len(), 1, "{audit:?}");
    assert!(
        signed_in[0].actor.contains("(console, Miro user "),
        "{}",
        signed_in[0].actor
    );
}

#[tokio::test]
async fn an_admin_of_an_org_that_is_not_connected_is_refused_without_data() {
    let c = console(Options::default()).await;
    // Tokens are stored but the org was never registered: not connected.
    let b = browser();
    let r = c.sign_in(&b).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("not connected to miro-sam"), "{page}");
    assert!(!page.contains("Sign out"), "no signed-in frame");
    assert_eq!(
        c.w.control.counters().get("revoke"),
        1,
        "the sign-in token is revoked"
    );
    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 401, "no session was issued");
    assert!(page.contains("Sign in with Miro"));
}

#[tokio::test]
async fn an_admin_outside_the_allow_list_is_refused() {
    let c = console(Options {
        admin_emails: Some(vec![
            miro_sam_core::domain::Email::parse("someone-else@example.com").unwrap(),
        ]),
        ..Options::default()
    })
    .await;
    c.connect_org().await;
    let r = c.sign_in(&browser()).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("only lets in the admins its operator listed")
    );
}

#[tokio::test]
async fn a_tampered_cookie_gets_a_clear_page_and_no_data() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let cookie = c.session_cookie().await;
    let (status, page) = c.get_with_cookie("/", &cookie).await;
    assert_eq!(status, 200, "the untouched cookie works");
    assert!(page.contains("Acme Corp"));

    // Flip one character of the payload.
    let mut bytes = cookie.into_bytes();
    let i = 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let (status, page) = c.get_with_cookie("/", &tampered).await;
    assert_eq!(status, 401);
    assert!(page.contains("Session not valid"), "{page}");
    assert!(!page.contains("Acme Corp"), "no org data on the refusal");
    let (status, _) = c.get_with_cookie("/", "v1.garbage").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_cookie_signed_with_another_key_is_refused() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let cookie = c.session_cookie().await;
    let w = {
        // A second console over the same world but another key: a rotated key signs everyone out.
        let mut c = c;
        let w = std::mem::replace(&mut c.w, world(1).await);
        w
    };
    let other = serve(
        w,
        Options {
            key: [9u8; 32],
            ..Options::default()
        },
    )
    .await;
    let (status, page) = other.get_with_cookie("/", &cookie).await;
    assert_eq!(status, 401);
    assert!(page.contains("Session not valid"));
    assert!(!page.contains("Acme Corp"));
}

#[tokio::test]
async fn an_expired_session_gets_a_clear_page() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let b = c.signed_in_browser().await;
    c.clock.advance(Duration::hours(7) + Duration::minutes(59));
    assert_eq!(c.get(&b, "/").await.0, 200, "still inside 8 hours");
    c.clock.advance(Duration::minutes(2));
    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 401);
    assert!(page.contains("Session ended"), "{page}");
    assert!(!page.contains("Acme Corp"));
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let b = c.signed_in_browser().await;
    let (_, page) = c.get(&b, "/").await;
    let csrf = csrf_of(&page);

    let (status, page) = c.post(&b, "/logout", &[]).await;
    assert_eq!(status, 403);
    assert!(page.contains("Form refused"), "{page}");
    let (status, _) = c
        .post(&b, "/logout", &[("csrf", "bm90IHRoZSB0b2tlbg")])
        .await;
    assert_eq!(status, 403, "a wrong token");
    assert_eq!(
        c.get(&b, "/").await.0,
        200,
        "still signed in: nothing happened"
    );

    // Another session's token does not work in this one.
    let other = c.signed_in_browser().await;
    let (_, other_page) = c.get(&other, "/").await;
    assert_ne!(csrf_of(&other_page), csrf);
    assert_eq!(
        c.post(&b, "/logout", &[("csrf", &csrf_of(&other_page))])
            .await
            .0,
        403
    );

    let (status, page) = c.post(&b, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("signed out"));
    assert_eq!(c.get(&b, "/").await.0, 401, "the cookie is gone");

    // A POST without any session is refused too, before any handler runs.
    assert_eq!(
        c.post(&browser(), "/logout", &[("csrf", &csrf)]).await.0,
        401
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let b = c.signed_in_browser().await;
    let anonymous = manual_browser();
    let cases: Vec<(&reqwest::Client, &str)> = vec![
        (&b, "/"),
        (&b, "/static/console.css"),
        (&b, "/no-such-page"),
        (&anonymous, "/"),
        (&anonymous, "/login"),
        (&anonymous, "/auth/callback?state=nope&code=x"),
    ];
    for (client, path) in cases {
        let r = client.get(format!("{}{path}", c.url)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(
            h.get("content-security-policy")
                .and_then(|v| v.to_str().ok()),
            Some(miro_sam_console::CSP),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let set_cookie = manual_browser()
        .get(format!("{}/login", c.url))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_replayed_or_foreign_callback_is_refused() {
    let c = console(Options::default()).await;
    c.connect_org().await;
    let (status, page) = c
        .get(&browser(), "/auth/callback?state=never-issued&code=x")
        .await;
    assert_eq!(status, 403);
    assert!(page.contains("already used, or was not issued"), "{page}");

    // A state started in another browser is refused in this one.
    let starter = manual_browser();
    let r = starter
        .get(format!("{}/login", c.url))
        .send()
        .await
        .unwrap();
    let to_miro = r.headers()["location"].to_str().unwrap().to_owned();
    let back = manual_browser().get(&to_miro).send().await.unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let r = manual_browser().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("started in another browser")
    );
}
