//! Sign in with Miro through the sandbox, sessions, CSRF and the headers every page sends.

mod common;

use chrono::Duration;
use common::*;
use miro_client::ExposeSecret;
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::jobs;
use miro_sam_core::ports::{AuditStore, TokenStore};
use miro_sandbox::SignInAs;

/// The signing-in admin is the user whose grant the org uses: Miro may treat the second authorization as a
/// re-install that ends the org's earlier token (the sandbox does, by default), so the console keeps the new
/// tokens as the org's instead of revoking them, and the next download still works.
#[tokio::test]
async fn the_connecting_admin_signs_in_and_the_org_keeps_working() {
    let c = console(Options::default()).await;
    assert!(
        c.w.control.reinstall_replaces_tokens(),
        "the sandbox models re-installs"
    );
    let before = c.w.store.get_tokens(&c.w.org).await.unwrap();
    let b = c.signed_in_browser().await;
    let (status, page) = c.get(&b, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Acme Corp"), "the org's name is in the frame");
    assert!(page.contains("Sign out"));
    assert_eq!(
        c.w.control.counters().get("revoke"),
        0,
        "the org's own new grant is not revoked"
    );
    let after = c.w.store.get_tokens(&c.w.org).await.unwrap();
    assert!(
        after.version > before.version,
        "the sign-in's tokens replaced the org's"
    );
    assert!(
        !c.w.control
            .access_token_is_live(before.access_token.expose_secret()),
        "the re-install ended the earlier token"
    );
    assert!(
        c.w.control
            .access_token_is_live(after.access_token.expose_secret())
    );
    let summary = jobs::download_org(&c.w.deps, &c.w.org)
        .await
        .expect("the download still works");
    assert!(summary.members_seen > 0);

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

/// Another Company Admin of the org: the role is read with the org's token and the sign-in token is revoked,
/// leaving the org's grant as it was.
#[tokio::test]
async fn another_admin_of_the_org_signs_in_and_the_sign_in_token_is_revoked() {
    let c = console(Options::default()).await;
    let org = c.w.org.to_string();
    let admin_id =
        c.w.control
            .members(&org)
            .iter()
            .find(|m| m.role == "organization_internal_user")
            .unwrap()
            .id
            .clone();
    assert!(c.w.control.update_member(&org, &admin_id, |m| m.role =
        "organization_internal_admin".into()));
    c.w.control
        .set_sign_in(SignInAs::Member {
            member_id: admin_id.clone(),
        })
        .unwrap();
    let before = c.w.store.get_tokens(&c.w.org).await.unwrap();

    let b = c.signed_in_browser().await;
    assert_eq!(
        c.w.control.counters().get("revoke"),
        1,
        "the sign-in token is revoked"
    );
    let after = c.w.store.get_tokens(&c.w.org).await.unwrap();
    assert_eq!(
        after.version, before.version,
        "the org's tokens are untouched"
    );
    assert!(
        c.w.control
            .access_token_is_live(after.access_token.expose_secret())
    );
    let (_, page) = c.get(&b, "/").await;
    let email =
        c.w.control
            .members(&org)
            .into_iter()
            .find(|m| m.id == admin_id)
            .unwrap()
            .email;
    assert!(
        page.contains(&email.to_ascii_lowercase()),
        "the session is the signing-in admin's"
    );
}

/// A sign-in in a fresh browser refused with `words`, and nothing to show for it: `whose` token Miro issued is
/// revoked and no session was issued. The refusal and the page the browser gets next (the sign-in page).
async fn refused_sign_in(c: &Console, words: &str, whose: &str) -> (String, String) {
    let b = browser();
    let page = forbidden(c.sign_in(&b).await, words).await;
    assert!(!page.contains("Sign out"), "no signed-in frame");
    assert_eq!(
        c.w.control.counters().get("revoke"),
        1,
        "{whose} token is revoked"
    );
    let (status, after) = c.get(&b, "/").await;
    assert_eq!(status, 401, "no session was issued");
    (page, after)
}

#[tokio::test]
async fn a_plain_member_is_refused_without_data() {
    let c = console(Options::default()).await;
    c.w.control
        .set_sign_in(SignInAs::MemberWithRole {
            role: "organization_internal_user".into(),
        })
        .unwrap();
    refused_sign_in(&c, "Company Admins only", "the member's").await;
    let audit = c.w.store.list_audit(&c.w.org).await.unwrap();
    assert!(
        !audit
            .iter()
            .any(|e| matches!(e.event, AuditEvent::SignedIn { .. }))
    );
}

#[tokio::test]
async fn another_orgs_admin_is_refused_without_data() {
    let c = console(Options::extra_orgs(1)).await;
    let other = c.w.control.org_ids()[1].clone();
    c.w.control
        .set_sign_in(SignInAs::AdminOf {
            org_id: other.clone(),
        })
        .unwrap();
    let (page, _) = refused_sign_in(&c, "not connected to miro-sam", "the other org's").await;
    assert!(page.contains(&other), "{page}");
    assert!(!page.contains("Acme Corp"), "nothing of the connected org");
}

#[tokio::test]
async fn an_admin_of_an_org_that_is_not_connected_is_refused_without_data() {
    let c = console(Options {
        connect: false,
        ..Options::default()
    })
    .await;
    let (_, after) = refused_sign_in(&c, "not connected to miro-sam", "the sign-in").await;
    assert!(after.contains("Sign in with Miro"));
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
    let r = c.sign_in(&browser()).await;
    forbidden(r, "only lets in the admins its operator listed").await;
}

#[tokio::test]
async fn a_tampered_cookie_gets_a_clear_page_and_no_data() {
    let c = console(Options::default()).await;
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
    let cookie = c.session_cookie().await;
    // A second console over the same world but another key: a rotated key signs everyone out.
    let mut c = c;
    let w = std::mem::replace(&mut c.w, world_with(1, 0).await);
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
    let b = c.signed_in_browser().await;
    let (_, csrf) = c.form_page(&b, "/").await;

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

/// Signing out is a console action like any other: it is audited with the admin's identity, as the sign-in
/// is, once per sign-out; a refused sign-out (no CSRF token) records nothing.
#[tokio::test]
async fn signing_out_is_audited_with_the_admins_identity() {
    let c = console(Options::default()).await;
    let b = c.signed_in_browser().await;
    let (_, page) = c.get(&b, "/").await;
    assert_eq!(c.post(&b, "/logout", &[]).await.0, 403);
    let signed_out = |audit: &[miro_sam_core::audit::AuditEntry]| {
        audit
            .iter()
            .filter(|e| matches!(e.event, AuditEvent::SignedOut { .. }))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        signed_out(&c.w.store.list_audit(&c.w.org).await.unwrap()).is_empty(),
        "a refused sign-out is not one"
    );

    let (status, _) = c.post(&b, "/logout", &[("csrf", &csrf_of(&page))]).await;
    assert_eq!(status, 200);
    let audit = c.w.store.list_audit(&c.w.org).await.unwrap();
    let signed_in = audit
        .iter()
        .find(|e| matches!(e.event, AuditEvent::SignedIn { .. }))
        .expect("the sign-in is audited");
    let out = signed_out(&audit);
    assert_eq!(out.len(), 1, "{audit:?}");
    assert_eq!(
        out[0].actor, signed_in.actor,
        "the same admin, named the same way"
    );
    assert!(
        out[0].actor.contains("(console, Miro user "),
        "{}",
        out[0].actor
    );
    match (&out[0].event, &signed_in.event) {
        (
            AuditEvent::SignedOut { user_id, email },
            AuditEvent::SignedIn {
                user_id: in_id,
                email: in_email,
            },
        ) => assert_eq!((user_id, email), (in_id, in_email)),
        other => panic!("{other:?}"),
    }
    assert_eq!(out[0].org_id, c.w.org);
    assert_eq!(out[0].at, c.now(), "timed by the console's clock");

    // The audit page lists it under its own kind.
    let b = c.signed_in_browser().await;
    let (status, page) = c.get(&b, "/audit?kind=signed_out").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches("<td>signed_out</td>").count(), 1, "{page}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let c = console(Options::default()).await;
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
    let (status, page) = c
        .get(&browser(), "/auth/callback?state=never-issued&code=x")
        .await;
    assert_eq!(status, 403);
    assert!(page.contains("already used, or was not issued"), "{page}");

    // A state started in another browser is refused in this one.
    let callback = c
        .callback_from_miro(&manual_browser(), &manual_browser())
        .await;
    let r = manual_browser().get(&callback).send().await.unwrap();
    forbidden(r, "started in another browser").await;
}

#[tokio::test]
async fn a_code_miro_refuses_gets_a_clear_page() {
    let c = console(Options::default()).await;
    let b = manual_browser();
    let callback = url::Url::parse(&c.callback_from_miro(&b, &b).await).unwrap();
    // The same state with a code Miro never issued.
    let mut forged = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "code" {
                "sbx_code_forged".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let r = b.get(forged.as_str()).send().await.unwrap();
    let page = forbidden(r, "Miro refused the sign-in").await;
    assert!(
        !page.contains("sbx_code_forged"),
        "the code is never echoed"
    );
    assert_eq!(c.get(&b, "/").await.0, 401);
}
