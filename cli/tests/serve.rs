//! `miro-sam serve`: the console on 127.0.0.1 over the embedded store, and its worker that carries out what the
//! console queues (the role SQS and the reclaim Lambda play on a deployment).
//!
//! They run the demo, so they need the CLI's `sandbox` feature (on by default).
#![cfg(feature = "sandbox")]

mod common;

use miro_sam_cli::local_worker::run_round;
use miro_sam_core::jobs::{Selection, approve_plan, plan_org, request_reactivation, set_policy};
use miro_sam_core::policy::Approval;
use miro_sam_core::timeline::MemberChange;
use miro_sandbox::ScimOp;

/// A browser that keeps its cookies (a session, once signed in).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn serve_prints_a_one_time_login_link_that_opens_the_console_once() {
    let (out, o) = common::demo::ran(150, 11, false).await;
    let data = out.path().join("data");
    let (_serve, link) = common::demo::serve(&data, |line| {
        line.contains("/console/local-login?")
            .then(|| line.trim().to_owned())
    })
    .await;
    assert!(
        link.starts_with("http://127.0.0.1:"),
        "loopback only: {link}"
    );

    let admin = browser();
    let page = admin.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Overview"), "{html}");
    assert!(
        html.contains(o.connected.org_id.as_str()),
        "the org's overview"
    );

    let stranger = browser();
    let again = stranger.get(&link).send().await.unwrap();
    assert_ne!(again.status(), 200, "a used link signs nobody in");
    o.shutdown().await;
}

#[tokio::test]
async fn the_worker_carries_out_approved_reclaims_and_queued_undos() {
    let (_out, o) = common::demo::ran(150, 11, false).await;
    let ctx = &o.ctx;
    let org = o.connected.org_id.clone();
    let store = ctx.deps.store.as_ref();
    let now = ctx.deps.clock.now();
    let deactivated_by_demo = o.control.scim_log().len();

    // An undo queued the way the console queues it, for a member the demo reclaimed and did not give back.
    let undone = o.undo.as_ref().map(|u| u.member_id.clone());
    let reclaimed = o
        .waves
        .iter()
        .flat_map(|w| w.reclaimed.iter())
        .find(|m| Some(*m) != undone.as_ref())
        .expect("the demo reclaimed members")
        .clone();
    request_reactivation(
        store,
        ctx.store.as_ref(),
        &org,
        &reclaimed,
        "admin@acme.example",
        "needed",
        now,
    )
    .await
    .unwrap();
    // And a fresh plan under a policy that needs approval, one candidate approved.
    let mut policy = miro_sam_core::jobs::current_policy(store, &org, now)
        .await
        .unwrap()
        .policy;
    policy.approval = Approval::Required;
    policy.inactivity_days = miro_sam_core::policy::InactivityDays::new(30).unwrap();
    set_policy(store, &org, &policy, "test", now).await.unwrap();
    let plan = plan_org(store, &org, "test", now).await.unwrap();
    let chosen = plan
        .candidates
        .iter()
        .find(|c| c.member_id != reclaimed)
        .expect("a candidate under a 30-day threshold")
        .member_id
        .clone();
    approve_plan(
        store,
        ctx.store.as_ref(),
        plan.plan_id,
        &Selection::Members(vec![chosen.clone()]),
        "admin@acme.example",
        now,
    )
    .await
    .unwrap();

    let round = run_round(ctx, "miro-sam serve (worker)").await.unwrap();
    assert_eq!((round.done, round.retry_later), (2, 0));
    let log = o.control.scim_log();
    let new: Vec<_> = log[deactivated_by_demo..]
        .iter()
        .map(|w| (w.op, w.user_id.clone()))
        .collect();
    assert!(
        new.contains(&(ScimOp::Reactivate, reclaimed.to_string())),
        "{new:?}"
    );
    assert!(
        new.contains(&(ScimOp::Deactivate, chosen.to_string())),
        "{new:?}"
    );
    assert_eq!(new.len(), 2, "nothing else was sent: {new:?}");
    // The member's timeline names the worker that acted and the admin who approved.
    let events = store
        .list_member_events(&org, &chosen, None, 50)
        .await
        .unwrap();
    let reclaimed_event = events
        .iter()
        .find_map(|e| match &e.change {
            MemberChange::Reclaimed {
                plan_id,
                by,
                approved_by,
            } if *plan_id == plan.plan_id => Some((by.clone(), approved_by.clone())),
            _ => None,
        })
        .expect("the reclaim is on the member's timeline");
    assert_eq!(
        reclaimed_event,
        (
            "miro-sam serve (worker)".to_owned(),
            Some("admin@acme.example".to_owned())
        )
    );
    assert!(store.get_hold(&org, &reclaimed).await.unwrap().is_some());

    let idle = run_round(ctx, "miro-sam serve (worker)").await.unwrap();
    assert_eq!(idle.done, 0, "completed messages are not run twice");
    o.shutdown().await;
}
