//! Notices on AWS (issue 12): the download function's daily run sends one notice per candidate through SES (moto's
//! SES v2, read back from what moto recorded), with a keep link signed by the key in Secrets Manager; a re-run
//! and a redelivered job the same day send nothing new; an unverified sender stops the notices with an error that
//! names the identity and what to do, loses nobody (the claimed member is `send_failed`) and, once the identity is
//! verified, the next run tells everyone.

use std::collections::BTreeSet;

use download_subscriptions::Status;
use download_subscriptions::action::Action;
use download_subscriptions::notices::wire;
use miro_sam_aws::SesMailer;
use miro_sam_core::domain::{Email, OrgId, PlanId};
use miro_sam_core::notices::NoticeState;
use miro_sam_core::plan::PLAN_PAGE;
use miro_sam_core::policy::Policy;
use miro_sam_lambda::env;
use miro_sam_tests::*;

const CONSOLE_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com/console";

/// A sender on a domain of its own, so tests sharing one moto never see each other's messages.
fn sender() -> Email {
    Email::parse(&format!("notices@{}.example.com", unique("n"))).unwrap()
}

fn notice_policy() -> Policy {
    Policy {
        notice_days: 7,
        reminder_days_before: vec![2],
        ..live_policy()
    }
}

/// moto's SES v2 over its REST API (the tests crate has no SES SDK): what `aws sesv2 create-email-identity` does.
/// Called after [`world`], which installs the TLS crypto provider reqwest needs.
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
    assert!(
        resp.status().is_success(),
        "create identity: {}",
        resp.status()
    );
}

/// One message moto's SES recorded.
#[derive(Debug)]
struct Sent {
    to: Vec<String>,
    subject: String,
    body: String,
}

/// Every message moto's SES recorded from `from` (moto keeps them in its backend; its dashboard's data API lists
/// them with source, subject, body and destinations).
async fn sent_from(from: &Email) -> Vec<Sent> {
    let endpoint = std::env::var(miro_sam_aws::env::TEST_AWS_ENDPOINT).unwrap();
    let data: serde_json::Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        endpoint.trim_end_matches('/')
    ))
    .await
    .expect("moto's data API")
    .json()
    .await
    .expect("JSON");
    data["ses"]["Message"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| m["source"].as_str() == Some(from.as_str()))
        .map(|m| Sent {
            to: m["destinations"]["ToAddresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// A world whose download function sends notices from `from`, keep links signed with a key in Secrets Manager.
async fn notice_world(from: &Email, extra: Vec<(&'static str, String)>) -> World {
    let key_name = unique("miro-sam/keep-link-key");
    let mut vars = vec![
        (env::NOTICE_FROM, from.to_string()),
        (env::NOTICE_SEND_RATE, "1000".to_owned()),
        (env::CONSOLE_URL, CONSOLE_URL.to_owned()),
        (env::KEEP_LINK_KEY_SECRET_NAME, key_name.clone()),
    ];
    vars.extend(extra);
    let mut w = world(WorldOptions {
        members: 60,
        env: vars,
        ..Default::default()
    })
    .await;
    w.clients
        .secrets
        .create_secret()
        .name(&key_name)
        .secret_string(unique("keep-key"))
        .send()
        .await
        .expect("keep-link key");
    let sdk = sdk().await;
    w.rt.notices = wire(&w.rt, |from| SesMailer::from_sdk(&sdk, from))
        .await
        .expect("notices wired");
    assert!(w.rt.notices.is_some(), "a sender is set, so notices are on");
    w.connect_directly(&w.org, notice_policy()).await;
    w
}

async fn candidate_emails(w: &World, plan: PlanId) -> BTreeSet<String> {
    let page =
        w.rt.deps
            .store
            .list_plan_candidates(plan, None, PLAN_PAGE)
            .await
            .unwrap();
    assert!(page.len() < PLAN_PAGE, "one page holds this org's plan");
    page.into_iter().map(|c| c.email.to_string()).collect()
}

async fn records(w: &World, org: &OrgId) -> Vec<miro_sam_core::notices::NoticeRecord> {
    w.rt.deps
        .store
        .list_notices_page(org, None, 1000)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_daily_run_sends_one_notice_per_candidate_through_ses_and_a_rerun_sends_nothing() {
    let from = sender();
    let w = notice_world(&from, vec![]).await;
    verify_identity(from.domain()).await;

    let (run, _) = w.daily_run().await;
    assert_eq!((run.done, run.failed), (1, 0), "{run:?}");
    let o = &run.orgs[0];
    assert!(o.candidates > 0, "{o:?}");
    let n = o.notices.as_ref().expect("the notice run ran");
    assert_eq!(n.notified as u64, o.candidates, "{n:?}");
    assert_eq!((n.send_failed, n.not_delivered), (0, 0), "{n:?}");
    assert_eq!(n.error, None);

    let planned = candidate_emails(&w, o.plan_id.unwrap()).await;
    let sent = sent_from(&from).await;
    assert_eq!(sent.len(), planned.len(), "one message per candidate");
    let told: BTreeSet<String> = sent.iter().flat_map(|s| s.to.clone()).collect();
    assert_eq!(told, planned, "exactly the candidates were told");
    for s in &sent {
        assert_eq!(s.to.len(), 1, "one recipient per notice: {s:?}");
        assert!(
            s.body.contains(&format!("{CONSOLE_URL}/keep/")),
            "the notice carries its keep link: {}",
            s.subject
        );
        assert!(s.body.contains("Acme Corp"), "names the org: {}", s.subject);
    }
    let stored = records(&w, &w.org).await;
    assert_eq!(stored.len(), planned.len());
    assert!(
        stored.iter().all(|r| r.state == NoticeState::Notified),
        "{:?}",
        stored.iter().map(|r| r.state.kind()).collect::<Vec<_>>()
    );

    // The schedule again the same day, and a one-org invocation (a manual re-run): nobody is told twice.
    let (again, _) = w.daily_run().await;
    let n2 = again.orgs[0].notices.as_ref().expect("ran again");
    assert_eq!((n2.notified, n2.send_failed), (0, 0), "{n2:?}");
    let one = download_subscriptions::handle(
        &w.rt,
        "manual",
        serde_json::json!({ "org_id": w.org.as_str() }),
        None,
    )
    .await
    .expect("one-org run");
    assert_eq!(one.orgs[0].status, Status::Done, "{:?}", one.orgs[0]);
    assert_eq!(one.orgs[0].notices.as_ref().unwrap().notified, 0);
    assert_eq!(
        sent_from(&from).await.len(),
        planned.len(),
        "nothing new sent"
    );
}

#[tokio::test]
async fn an_unverified_sender_stops_the_notices_with_what_to_do_and_loses_nobody() {
    let from = sender();
    let w = notice_world(&from, vec![]).await;

    let (run, _) = w.daily_run().await;
    let o = &run.orgs[0];
    assert_eq!(
        o.status,
        Status::Done,
        "the download and the plan stand: {o:?}"
    );
    let n = o.notices.as_ref().expect("the notice run ran");
    let error = n.error.as_deref().expect("the run reports the error");
    assert!(
        error.contains(&format!("the sender {from} is not a verified SES identity")),
        "names the identity: {error}"
    );
    assert!(
        error.contains("create-email-identity"),
        "says what to do: {error}"
    );
    assert!(n.channel_misconfigured);
    assert_eq!(n.notified, 0);
    assert_eq!(
        o.action,
        Some(Action::FixNoticeMail),
        "a person must act: {o:?}"
    );
    assert_eq!(run.needs_action, 1);
    assert!(sent_from(&from).await.is_empty());
    // The run stopped at the first send: that member's claim was released, nobody else was claimed.
    let stored = records(&w, &w.org).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    match &stored[0].state {
        NoticeState::SendFailed { error } => {
            assert!(error.contains("not a verified SES identity"), "{error}")
        }
        other => panic!("expected SendFailed, got {other:?}"),
    }

    // The operator verifies the sender; the next run the same day tells every candidate, the failed one too.
    verify_identity(from.as_str()).await;
    let (fixed, _) = w.daily_run().await;
    let o2 = &fixed.orgs[0];
    let n2 = o2.notices.as_ref().unwrap();
    assert_eq!(n2.error, None, "{n2:?}");
    assert_eq!(n2.notified as u64, o2.candidates, "{n2:?}");
    let planned = candidate_emails(&w, o2.plan_id.unwrap()).await;
    let told: BTreeSet<String> = sent_from(&from)
        .await
        .into_iter()
        .flat_map(|s| s.to)
        .collect();
    assert_eq!(told, planned);
    assert_eq!(fixed.needs_action, 0, "{fixed:?}");
}

#[tokio::test]
async fn a_webhook_secret_that_is_missing_stops_the_cold_start_naming_it() {
    let missing = unique("miro-sam/no-such-webhook");
    let from = sender();
    let w = world(WorldOptions {
        members: 1,
        env: vec![
            (env::NOTICE_FROM, from.to_string()),
            (env::WEBHOOK_SECRET_NAME, missing.clone()),
        ],
        ..Default::default()
    })
    .await;
    let sdk = sdk().await;
    let err = wire(&w.rt, |from| SesMailer::from_sdk(&sdk, from))
        .await
        .err()
        .expect("a named secret that does not exist is an error");
    assert!(err.contains(&missing), "names the secret: {err}");
    assert!(err.contains("put-secret-value"), "says what to do: {err}");
    assert!(err.contains("webhook"), "says what it is for: {err}");
}

#[tokio::test]
async fn notices_cut_short_by_the_deadline_lose_nobody_and_the_continuation_sends_them() {
    let from = sender();
    let mut w = notice_world(&from, vec![]).await;
    verify_identity(from.domain()).await;
    let wired = w.rt.notices.take();

    // A job is queued, then the org is downloaded and planned without notices (a one-org run), so the job finds
    // the download done and only plans and notifies.
    assert_eq!(w.dispatch().await.queued, 1);
    let first = download_subscriptions::handle(
        &w.rt,
        "manual",
        serde_json::json!({ "org_id": w.org.as_str() }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(first.orgs[0].status, Status::Done, "{:?}", first.orgs[0]);
    let candidates = first.orgs[0].candidates;
    assert!(candidates > 0);

    // The worker gets the job with a second left: too little for a send, so the notices stop at once.
    w.rt.notices = wired;
    let job = w.receive_download_job().await.expect("the queued job");
    let r = w
        .work(
            &job,
            Some(std::time::Instant::now() + std::time::Duration::from_secs(1)),
        )
        .await;
    let result = &r.jobs[0];
    assert_eq!(
        result.handling,
        download_subscriptions::Handling::Continued,
        "{result:?}"
    );
    let o = result.outcome.as_ref().unwrap();
    assert_eq!(o.status, Status::Paused, "{o:?}");
    let n = o.notices.as_ref().unwrap();
    assert!(n.stopped_at_deadline && n.error.is_none(), "{n:?}");
    assert!(sent_from(&from).await.is_empty(), "nothing went out");
    let stored = records(&w, &w.org).await;
    assert_eq!(stored.len(), 1, "only the first member was claimed");
    assert!(
        matches!(&stored[0].state, NoticeState::SendFailed { error } if error.contains("deadline")),
        "{:?}",
        stored[0].state
    );

    // The continuation, with time enough: every candidate is told, the one cut short too.
    let jobs = w.work_download_queue(5, || None).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let n = jobs[0].outcome.as_ref().unwrap().notices.clone().unwrap();
    assert_eq!(n.notified as u64, candidates, "{n:?}");
    assert_eq!(sent_from(&from).await.len() as u64, candidates);
}
