//! The member's keep page (`/keep/{token}`) and the admins' keep requests, over the real router and SQLite:
//! GET shows one button and changes nothing, POST keeps once, bad links are refused with what to do, and with
//! `keep_needs_approval` the request waits for an admin's CSRF-checked decision.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Console, Options, console, csrf_of, live_policy};
use miro_sam_console::CSP;
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::domain::{Email, MemberId};
use miro_sam_core::hold::{Hold, HoldSource};
use miro_sam_core::jobs;
use miro_sam_core::notices::{NoticeRecord, NoticeState};
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{AuditStore, NoticeStore, OrgStore};
use miro_sam_links::{expiry_for, issue_keep_token};
use secrecy::SecretString;

const LINK_KEY: &str = "keep-link-key-of-the-test-deployment";
const KEEP_DAYS: u32 = 45;

fn key() -> SecretString {
    SecretString::from(LINK_KEY.to_owned())
}

/// A console with the keep page on, a live plan, and the given policy's keep settings.
async fn keep_console(needs_approval: bool) -> (Console, ReclaimPlan) {
    let c = console(Options {
        keep_link_key: Some(LINK_KEY.into()),
        ..Options::default()
    })
    .await;
    let plan = c.seed().await;
    let policy = Policy {
        keep_days: KEEP_DAYS,
        keep_needs_approval: needs_approval,
        ..live_policy()
    };
    jobs::set_policy(c.w.deps.store.as_ref(), &c.w.org, &policy, "test", c.now())
        .await
        .expect("policy with keep settings");
    (c, plan)
}

/// Stores the first notice cycle of `member` (`email`) in `state`, told today of the reclaim in a week.
async fn stored_notice(
    c: &Console,
    plan: &ReclaimPlan,
    (member_id, email): (MemberId, Email),
    days_inactive: i64,
    state: NoticeState,
) -> NoticeRecord {
    let today = c.now().date_naive();
    let r = NoticeRecord {
        org_id: c.w.org.clone(),
        member_id,
        email,
        cycle: 1,
        version: 1,
        state,
        plan_id: plan.plan_id,
        days_inactive,
        notified_on: today,
        reclaim_on: today + Duration::days(7),
        reminders: vec![],
        updated_at: c.now(),
    };
    c.w.store.put_notice(&r, None).await.expect("notice record");
    r
}

/// A notified cycle of the plan's `n`-th candidate, as the notice run leaves it.
async fn notified(c: &Console, plan: &ReclaimPlan, n: usize) -> NoticeRecord {
    let cand = &plan.candidates[n];
    let member = (cand.member_id.clone(), cand.email.clone());
    stored_notice(c, plan, member, cand.days_inactive, NoticeState::Notified).await
}

async fn record(c: &Console, r: &NoticeRecord) -> NoticeRecord {
    c.w.store
        .get_notice(&r.org_id, &r.member_id)
        .await
        .unwrap()
        .expect("the record is still there")
}

/// `r`'s record says kept at `now` until `until`, and a hold keeps the seat until then: the record and the hold.
async fn kept_and_held(
    c: &Console,
    r: &NoticeRecord,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (NoticeRecord, Hold) {
    let after = record(c, r).await;
    assert_eq!(
        after.state,
        NoticeState::Kept {
            at: now,
            hold_until: until
        }
    );
    let hold =
        c.w.store
            .get_hold(&c.w.org, &r.member_id)
            .await
            .unwrap()
            .expect("the keep placed a hold");
    assert_eq!(hold.expires_at, until);
    (after, hold)
}

/// A plain client, no cookies: the member's mail client or browser.
fn member() -> reqwest::Client {
    common::manual_browser()
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

/// Posts the keep-requests page's `action` (approve, decline) on cycle 1 of `member`, with the reason `why`.
async fn decide(
    c: &Console,
    admin: &reqwest::Client,
    csrf: &str,
    action: &str,
    member: &str,
    why: Option<&str>,
) -> (u16, String) {
    let mut form = vec![("csrf", csrf), ("member", member), ("cycle", "1")];
    form.extend(why.map(|w| ("why", w)));
    c.post(admin, &format!("/keep-requests/{action}"), &form)
        .await
}

fn keep_url(c: &Console, token: &str) -> String {
    format!("{}/keep/{token}", c.url)
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[tokio::test]
async fn get_shows_one_button_and_changes_nothing_post_keeps_once() {
    let (c, plan) = keep_console(false).await;
    let r = notified(&c, &plan, 0).await;
    let token = issue_keep_token(&key(), &r);
    let org_name = c.w.store.get_org(&c.w.org).await.unwrap().unwrap().name;

    // Opened twice, as a mail scanner and then the member would.
    for _ in 0..2 {
        let a = send(member().get(keep_url(&c, &token))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.body.contains(r.email.as_str()), "{}", a.body);
        assert!(a.body.contains(&org_name), "{}", a.body);
        assert!(
            a.body
                .contains(&r.reclaim_on.format("%Y-%m-%d").to_string()),
            "{}",
            a.body
        );
        assert_eq!(a.body.matches("<button").count(), 1, "{}", a.body);
        assert!(a.body.contains(">Keep my license</button>"), "{}", a.body);
        assert!(
            a.body.contains("<form method=\"post\">"),
            "posts to the same URL: {}",
            a.body
        );
        assert_eq!(a.headers["cache-control"], "no-store");
        assert_eq!(a.headers["referrer-policy"], "no-referrer");
        assert_eq!(a.headers["content-security-policy"], CSP);
        assert_eq!(a.headers["x-frame-options"], "DENY");
    }
    assert_eq!(record(&c, &r).await, r, "GET changed the record");
    assert!(
        c.w.store.list_holds(&c.w.org).await.unwrap().is_empty(),
        "GET placed a hold"
    );

    let now = c.now();
    let until = now + Duration::days(i64::from(KEEP_DAYS));
    let kept = send(member().post(keep_url(&c, &token))).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let promise = format!("You keep your license until {}.", when(until));
    assert!(kept.body.contains(&promise), "{}", kept.body);
    assert_eq!(kept.headers["cache-control"], "no-store");

    let (after, hold) = kept_and_held(&c, &r, now, until).await;
    assert_eq!(
        (hold.source, hold.expires_at, hold.created_by.as_str()),
        (HoldSource::Kept, until, r.email.as_str())
    );
    let kept_entries = |entries: Vec<miro_sam_core::audit::AuditEntry>| {
        entries
            .into_iter()
            .filter(|e| matches!(e.event, AuditEvent::Kept { .. }))
            .count()
    };
    assert_eq!(
        kept_entries(c.w.store.list_audit(&c.w.org).await.unwrap()),
        1
    );

    // The link is single use: a second POST answers the same and changes nothing.
    c.clock.advance(Duration::hours(1));
    let again = send(member().post(keep_url(&c, &token))).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains(&promise), "{}", again.body);
    assert_eq!(record(&c, &r).await, after);
    assert_eq!(c.w.store.list_holds(&c.w.org).await.unwrap().len(), 1);
    assert_eq!(
        kept_entries(c.w.store.list_audit(&c.w.org).await.unwrap()),
        1
    );

    // And the page now says so, without a button.
    let page = send(member().get(keep_url(&c, &token))).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("You already kept your license"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<button"), "{}", page.body);
}

#[tokio::test]
async fn forged_expired_and_other_cycle_links_are_refused_with_the_message() {
    let (c, plan) = keep_console(false).await;
    let r = notified(&c, &plan, 0).await;
    let good = issue_keep_token(&key(), &r);

    let forged = issue_keep_token(&SecretString::from("another key".to_owned()), &r);
    // Another member's id under this member's signature.
    let other_member = plan.candidates[1].member_id.to_string();
    let parts: Vec<&str> = good.split('.').collect();
    let retargeted = [
        parts[0],
        parts[1],
        &other_member,
        parts[3],
        parts[4],
        parts[5],
    ]
    .join(".");
    for (token, status, words) in [
        (
            forged.as_str(),
            403,
            "This link was not issued by this organisation",
        ),
        (
            retargeted.as_str(),
            403,
            "This link was not issued by this organisation",
        ),
        ("k1.not-a-token", 400, "This link is damaged"),
    ] {
        for req in [
            member().get(keep_url(&c, token)),
            member().post(keep_url(&c, token)),
        ] {
            let a = send(req).await;
            assert_eq!(a.status, status, "{token}: {}", a.body);
            assert!(a.body.contains(words), "{token}: {}", a.body);
            assert!(!a.body.contains("<button"), "{}", a.body);
            assert!(!a.body.contains(token), "the page echoes the token");
            assert_eq!(a.headers["cache-control"], "no-store");
        }
    }

    // A link of another cycle than the record's: signed right, keeps nothing.
    let other_cycle = issue_keep_token(
        &key(),
        &NoticeRecord {
            cycle: 2,
            ..r.clone()
        },
    );
    let a = send(member().get(keep_url(&c, &other_cycle))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains("belongs to an earlier notice"),
        "{}",
        a.body
    );
    assert!(!a.body.contains("<button"), "{}", a.body);
    let a = send(member().post(keep_url(&c, &other_cycle))).await;
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(
        a.body.contains("This link belongs to an earlier notice"),
        "{}",
        a.body
    );

    // Past midnight after the reclaim date the good link has expired.
    c.clock.set(expiry_for(r.reclaim_on));
    for req in [
        member().get(keep_url(&c, &good)),
        member().post(keep_url(&c, &good)),
    ] {
        let a = send(req).await;
        assert_eq!(a.status, 410, "{}", a.body);
        assert!(a.body.contains("This link expired at"), "{}", a.body);
    }

    assert_eq!(record(&c, &r).await, r, "a refused link changed the record");
    assert!(c.w.store.list_holds(&c.w.org).await.unwrap().is_empty());
}

#[tokio::test]
async fn with_approval_a_keep_waits_for_an_admin_who_approves_or_declines() {
    let (c, plan) = keep_console(true).await;
    let ann = notified(&c, &plan, 0).await;
    let bob = notified(&c, &plan, 1).await;
    for r in [&ann, &bob] {
        let a = send(member().post(keep_url(&c, &issue_keep_token(&key(), r)))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            a.body
                .contains("Your request was sent to your administrators."),
            "{}",
            a.body
        );
        assert!(matches!(
            record(&c, r).await.state,
            NoticeState::KeepRequested { .. }
        ));
    }
    assert!(
        c.w.store.list_holds(&c.w.org).await.unwrap().is_empty(),
        "a request is not a keep"
    );

    let admin = c.signed_in_browser().await;
    let (status, page) = c.get(&admin, "/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("/console/keep-requests\">Keep requests</a>"),
        "nav: {page}"
    );
    let (status, page) = c.get(&admin, "/keep-requests").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(ann.email.as_str()) && page.contains(bob.email.as_str()),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let ann_id = ann.member_id.to_string();
    let bob_id = bob.member_id.to_string();

    // Without the CSRF token, or with another one, nothing is decided.
    for bad in [None, Some("d3Jvbmc")] {
        let mut form = vec![("member", ann_id.as_str()), ("cycle", "1"), ("why", "no")];
        if let Some(t) = bad {
            form.push(("csrf", t));
        }
        for action in ["/keep-requests/approve", "/keep-requests/decline"] {
            let (status, body) = c.post(&admin, action, &form).await;
            assert_eq!(status, 403, "{action}: {body}");
            assert!(body.contains("Form refused"), "{body}");
        }
    }
    assert!(matches!(
        record(&c, &ann).await.state,
        NoticeState::KeepRequested { .. }
    ));

    // Approve Ann.
    let now = c.now();
    let until = now + Duration::days(i64::from(KEEP_DAYS));
    let (status, body) = decide(&c, &admin, &csrf, "approve", &ann_id, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!(
            "Approved: {} keeps their license until {}",
            ann.email,
            when(until)
        )),
        "{body}"
    );
    let (_, hold) = kept_and_held(&c, &ann, now, until).await;
    assert!(
        hold.created_by.contains("(console, Miro user "),
        "{}",
        hold.created_by
    );

    // Decline Bob: a reason is required.
    let (status, body) = decide(&c, &admin, &csrf, "decline", &bob_id, Some(" ")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("A reason for declining is missing"), "{body}");
    let (status, body) = decide(
        &c,
        &admin,
        &csrf,
        "decline",
        &bob_id,
        Some("contractor left the project"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("Declined: {}", bob.email)), "{body}");
    assert_eq!(record(&c, &bob).await.state, NoticeState::Notified);
    assert!(
        c.w.store
            .get_hold(&c.w.org, &bob.member_id)
            .await
            .unwrap()
            .is_none()
    );

    // Deciding again is refused: nothing is waiting any more.
    let (status, body) = decide(&c, &admin, &csrf, "decline", &ann_id, Some("late")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("has no keep request waiting"), "{body}");

    // Both decisions are in the audit log with the admin as actor.
    let audit = c.w.store.list_audit(&c.w.org).await.unwrap();
    let approved = audit
        .iter()
        .find(|e| matches!(&e.event, AuditEvent::Kept { member_id, .. } if *member_id == ann.member_id))
        .expect("the approval is audited");
    assert!(
        approved.actor.contains("(console, Miro user "),
        "{}",
        approved.actor
    );
    assert!(
        matches!(&approved.event, AuditEvent::Kept { approved_by: Some(a), .. } if *a == approved.actor)
    );
    let declined = audit
        .iter()
        .find(|e| matches!(&e.event, AuditEvent::KeepDeclined { why, .. } if why == "contractor left the project"))
        .expect("the decline is audited");
    assert_eq!(declined.actor, approved.actor);

    let (_, page) = c.get(&admin, "/keep-requests").await;
    assert!(page.contains("No keep requests are waiting."), "{page}");
    assert!(!page.contains(ann.email.as_str()) && !page.contains(bob.email.as_str()));
}

#[tokio::test]
async fn without_a_key_the_keep_page_is_off() {
    let c = console(Options::default()).await;
    let plan = c.seed().await;
    let r = notified(&c, &plan, 0).await;
    let token = issue_keep_token(&key(), &r);
    for req in [
        member().get(keep_url(&c, &token)),
        member().post(keep_url(&c, &token)),
    ] {
        let a = send(req).await;
        assert_eq!(a.status, 404, "{}", a.body);
        assert!(
            a.body.contains("Keep links are not set up on this console"),
            "{}",
            a.body
        );
        assert_eq!(a.headers["content-security-policy"], CSP);
    }
    assert_eq!(record(&c, &r).await, r);
    // The other POSTs still need a session first (the keep routes were the only ones taken out of the check).
    let a = send(member().post(format!("{}/no-such-page", c.url))).await;
    assert_eq!(a.status, 401, "{}", a.body);
}

#[tokio::test]
async fn keep_requests_page_through_every_open_request_once() {
    let (c, plan) = keep_console(true).await;
    // 130 records of which every other one waits for a decision: more than one page of requests (50).
    let base = 3_458_764_517_517_900_000u64;
    let mut waiting = Vec::new();
    for i in 0..130u64 {
        let email = format!("member{i}@example.com");
        let state = if i % 2 == 0 {
            waiting.push(email.clone());
            NoticeState::KeepRequested { at: c.now() }
        } else {
            NoticeState::Notified
        };
        let member = (
            MemberId::parse(&(base + i).to_string()).unwrap(),
            Email::parse(&email).unwrap(),
        );
        stored_notice(&c, &plan, member, 120, state).await;
    }
    let admin = c.signed_in_browser().await;
    let mut seen = Vec::new();
    let mut path = "/keep-requests".to_owned();
    for _ in 0..5 {
        let (status, page) = c.get(&admin, &path).await;
        assert_eq!(status, 200, "{page}");
        let rows = page.matches("/keep-requests/approve").count();
        assert!(rows <= 50, "{rows} requests on one page");
        seen.extend(
            page.match_indices("\">member")
                .map(|(i, _)| page[i + 2..].split('<').next().unwrap().to_owned()),
        );
        match common::link_labelled(&page, "Next page") {
            Some(next) => path = next,
            None => break,
        }
    }
    let mut expected = waiting.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every open request exactly once");
    assert_eq!(seen.len(), 65);
}
