//! Notices on AWS (issue 12): the download function's daily run sends one notice per candidate through SES (moto's
//! SES v2, read back from what moto recorded), with a keep link signed by the key in Secrets Manager that the
//! console reads too; a re-run and a redelivered job the same day send nothing new; an unverified sender stops the
//! notices with an error that names the identity and what to do, loses nobody (the claimed member is
//! `send_failed`) and, once the identity is verified, the next run tells everyone; a run cut short by the deadline
//! continues; the digest reaches a chat webhook whose URL is in Secrets Manager, and the admins by email.
//!
//! SES runs in a moto of each test's own (`SesMoto`), everything else in the shared one: moto's data API, which lists
//! the messages SES recorded, fails on some other services' models, and the shared server holds whatever the other
//! tests left there.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use download_subscriptions::Status;
use download_subscriptions::action::Action;
use download_subscriptions::notices::wire;
use miro_sam_aws::SesMailer;
use miro_sam_core::domain::{Email, PlanId};
use miro_sam_core::notices::NoticeState;
use miro_sam_core::plan::PLAN_PAGE;
use miro_sam_core::policy::Policy;
use miro_sam_lambda::env;
use miro_sam_tests::ses::create_email_identity;
use miro_sam_tests::*;

const CONSOLE_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com/console";

/// A sender on a domain of its own.
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

/// A moto server of the test's own, for SES only (`moto_server` from the test Python environment); stopped when
/// dropped.
struct SesMoto {
    child: Child,
    endpoint: String,
}

impl SesMoto {
    fn start() -> SesMoto {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let moto = root.join(".venv/bin/moto_server");
        assert!(
            moto.exists(),
            "{} is missing: run the tests with ./scripts/test.sh, which installs requirements-test.txt into .venv",
            moto.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        // Werkzeug says when it listens; then its request log is drained so the pipe never fills.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Running on") => break,
                Some(Ok(_)) => {}
                other => panic!("moto_server did not start on port {port}: {other:?}"),
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        SesMoto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Verifies `identity` on this server. Called after [`world`], which installs the TLS crypto provider reqwest
    /// needs.
    async fn verify_identity(&self, identity: &str) {
        create_email_identity(&self.endpoint, identity).await;
    }

    /// Every message SES recorded from `from` (moto's data API lists them with source, subject, body and
    /// destinations).
    async fn sent_from(&self, from: &Email) -> Vec<Sent> {
        let resp = reqwest::get(format!("{}/moto-api/data.json", self.endpoint))
            .await
            .expect("moto's data API");
        assert!(
            resp.status().is_success(),
            "moto's data API: {}",
            resp.status()
        );
        let data: serde_json::Value = resp.json().await.expect("JSON");
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
}

impl Drop for SesMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One message moto's SES recorded.
#[derive(Debug)]
struct Sent {
    to: Vec<String>,
    subject: String,
    body: String,
}

/// A world whose download function is set to send notices from `from`, keep links signed with a key in Secrets
/// Manager.
async fn notice_world(from: &Email, extra: Vec<(&'static str, String)>) -> World {
    let key_name = unique("miro-sam/keep-link-key");
    let mut vars = vec![
        (env::NOTICE_FROM, from.to_string()),
        (env::NOTICE_SEND_RATE, "1000".to_owned()),
        (env::CONSOLE_URL, CONSOLE_URL.to_owned()),
        (env::KEEP_LINK_KEY_SECRET_NAME, key_name.clone()),
    ];
    vars.extend(extra);
    let w = world(WorldOptions {
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
    w
}

/// Wires the notices as the function's cold start does, then connects the org with a notice policy.
async fn start_notices(w: &mut World, ses: &SesMoto) {
    let sdk = sdk().await;
    w.rt.notices = wire(&w.rt, |from| {
        SesMailer::at_endpoint(&sdk, &ses.endpoint, from)
    })
    .await
    .expect("notices wired");
    assert!(w.rt.notices.is_some(), "a sender is set, so notices are on");
    w.connect_directly(&w.org, notice_policy()).await;
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

/// A [`notice_world`] sending from a fresh sender whose domain is verified, the notices wired.
async fn verified_notices() -> (Email, SesMoto, World) {
    let from = sender();
    let ses = SesMoto::start();
    let mut w = notice_world(&from, vec![]).await;
    start_notices(&mut w, &ses).await;
    ses.verify_identity(from.domain()).await;
    (from, ses, w)
}

#[tokio::test]
async fn the_daily_run_sends_one_notice_per_candidate_through_ses_and_a_rerun_sends_nothing() {
    let (from, ses, w) = verified_notices().await;

    let (run, _) = w.daily_run().await;
    assert_eq!((run.done, run.failed), (1, 0), "{run:?}");
    let o = &run.orgs[0];
    assert!(o.candidates > 0, "{o:?}");
    let n = o.notices.as_ref().expect("the notice run ran");
    assert_eq!(n.counts.notified as u64, o.candidates, "{n:?}");
    assert_eq!(
        (n.counts.send_failed, n.counts.not_delivered),
        (0, 0),
        "{n:?}"
    );
    assert_eq!(n.error, None);

    let planned = candidate_emails(&w, o.plan_id.unwrap()).await;
    let sent = ses.sent_from(&from).await;
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
    let stored = w.notice_records(&w.org).await;
    assert_eq!(stored.len(), planned.len());
    // Each link verifies with the key the console function reads (the same secret), for that member's cycle.
    let console_key = console_function::keep_link_key(&w.rt)
        .await
        .expect("the console reads the keep-link key")
        .expect("the key's secret is named");
    for s in &sent {
        let at = s.body.find(&format!("{CONSOLE_URL}/keep/")).unwrap() + CONSOLE_URL.len() + 6;
        let token: String = s.body[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let target = miro_sam_links::verify_keep_token(&console_key, &token, chrono::Utc::now())
            .unwrap_or_else(|e| panic!("{token}: {e}"));
        assert_eq!(target.org, w.org);
        let record = stored
            .iter()
            .find(|r| r.member_id == target.member)
            .expect("a told member");
        assert_eq!(
            (record.email.to_string(), record.cycle),
            (s.to[0].clone(), target.cycle)
        );
    }
    assert!(
        stored.iter().all(|r| r.state == NoticeState::Notified),
        "{:?}",
        stored.iter().map(|r| r.state.kind()).collect::<Vec<_>>()
    );

    // The schedule again the same day, and a one-org invocation (a manual re-run): nobody is told twice.
    let (again, _) = w.daily_run().await;
    let n2 = again.orgs[0].notices.as_ref().expect("ran again");
    assert_eq!(
        (n2.counts.notified, n2.counts.send_failed),
        (0, 0),
        "{n2:?}"
    );
    let one = w.run_one_org(&w.org).await;
    assert_eq!(one.orgs[0].status, Status::Done, "{:?}", one.orgs[0]);
    assert_eq!(one.orgs[0].notices.as_ref().unwrap().counts.notified, 0);
    assert_eq!(
        ses.sent_from(&from).await.len(),
        planned.len(),
        "nothing new sent"
    );
}

#[tokio::test]
async fn an_unverified_sender_stops_the_notices_with_what_to_do_and_loses_nobody() {
    let from = sender();
    let ses = SesMoto::start();
    let mut w = notice_world(&from, vec![]).await;
    start_notices(&mut w, &ses).await;

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
    assert_eq!(n.counts.notified, 0);
    assert_eq!(
        o.action,
        Some(Action::FixNoticeMail),
        "a person must act: {o:?}"
    );
    assert_eq!(run.needs_action, 1);
    assert!(ses.sent_from(&from).await.is_empty());
    // The run stopped at the first send: that member's claim was released, nobody else was claimed.
    let stored = w.notice_records(&w.org).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    match &stored[0].state {
        NoticeState::SendFailed { error } => {
            assert!(error.contains("not a verified SES identity"), "{error}")
        }
        other => panic!("expected SendFailed, got {other:?}"),
    }

    // The operator verifies the sender; the next run the same day tells every candidate, the failed one too.
    ses.verify_identity(from.as_str()).await;
    let (fixed, _) = w.daily_run().await;
    let o2 = &fixed.orgs[0];
    let n2 = o2.notices.as_ref().unwrap();
    assert_eq!(n2.error, None, "{n2:?}");
    assert_eq!(n2.counts.notified as u64, o2.candidates, "{n2:?}");
    let planned = candidate_emails(&w, o2.plan_id.unwrap()).await;
    let told: BTreeSet<String> = ses
        .sent_from(&from)
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
    let (from, ses, mut w) = verified_notices().await;
    let wired = w.rt.notices.take();

    // A job is queued, then the org is downloaded and planned without notices (a one-org run), so the job finds
    // the download done and only plans and notifies.
    assert_eq!(w.dispatch().await.queued, 1);
    let first = w.run_one_org(&w.org).await;
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
    assert!(ses.sent_from(&from).await.is_empty(), "nothing went out");
    let stored = w.notice_records(&w.org).await;
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
    assert_eq!(n.counts.notified as u64, candidates, "{n:?}");
    assert_eq!(ses.sent_from(&from).await.len() as u64, candidates);
}

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

#[tokio::test]
async fn the_digest_goes_to_the_webhook_from_secrets_manager_and_to_the_admins() {
    let (url, posts) = hook_server().await;
    let from = sender();
    let admin = format!("it-admin@{}", from.domain());
    let secret = unique("miro-sam/webhook-url");
    let ses = SesMoto::start();
    let mut w = notice_world(
        &from,
        vec![
            (env::WEBHOOK_SECRET_NAME, secret.clone()),
            (env::DIGEST_TO, admin.clone()),
        ],
    )
    .await;
    w.clients
        .secrets
        .create_secret()
        .name(&secret)
        .secret_string(&url)
        .send()
        .await
        .expect("webhook secret");
    start_notices(&mut w, &ses).await;
    ses.verify_identity(from.domain()).await;

    let (run, _) = w.daily_run().await;
    let n = run.orgs[0].notices.as_ref().expect("notices ran");
    assert!(n.counts.notified > 1, "{n:?}");
    assert!(n.digest_failures.is_empty(), "{:?}", n.digest_failures);

    let got = posts.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one digest post: {got:?}");
    let text = got[0]["text"].as_str().expect("a text field");
    assert!(text.contains("Acme Corp"), "names the org: {text}");
    let seats = format!("{} seats will be reclaimed on", n.counts.notified);
    assert!(
        text.contains(&seats),
        "counts the notified seats ({seats}): {text}"
    );

    let digests: Vec<Sent> = ses
        .sent_from(&from)
        .await
        .into_iter()
        .filter(|s| s.to.as_slice() == std::slice::from_ref(&admin))
        .collect();
    assert_eq!(
        digests.len(),
        1,
        "one digest email to the admin: {digests:?}"
    );
    assert!(
        digests[0].subject.starts_with("miro-sam: Acme Corp seats"),
        "{digests:?}"
    );
}
