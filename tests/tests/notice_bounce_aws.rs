//! Late bounces on AWS (issue 12): the daily run tells the candidates through SES (the local AWS API), then SES's
//! EventBridge event of a permanent bounce (events/ses-bounce.json, retargeted at one told member's notice) reaches
//! the download function's handler as Lambda would pass it. The member's cycle in DynamoDB becomes bounced and the
//! reclaim gate refuses them; the others stay told. A redelivered event changes nothing twice; a malformed one is an
//! error and changes nothing.

use download_subscriptions::notices::wire;
use download_subscriptions::worker::handle_any;
use miro_sam_aws::SesMailer;
use miro_sam_core::domain::Email;
use miro_sam_core::notices::{NoticeBlock, NoticeRecord, NoticeState, reclaim_gate};
use miro_sam_core::policy::Policy;
use miro_sam_lambda::env;
use miro_sam_testkit::world::audit_kinds;
use miro_sam_tests::ses::create_email_identity;
use miro_sam_tests::*;
use serde_json::Value;

fn notice_policy() -> Policy {
    Policy {
        notice_days: 7,
        ..live_policy()
    }
}

/// The sample event as SES publishes it, for `r`'s notice: its tag value (the reference with `-` for `/`, as the
/// mailer tags it) and its address.
fn bounce_event(r: &NoticeRecord) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/download-subscriptions/events/ses-bounce.json"
    );
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let tag = format!("{}/notice", r.cycle_key()).replace('/', "-");
    event["detail"]["mail"]["tags"]["miro-sam-notice"] = serde_json::json!([tag]);
    event["detail"]["mail"]["destination"] = serde_json::json!([r.email.as_str()]);
    event["detail"]["bounce"]["bouncedRecipients"][0]["emailAddress"] =
        serde_json::json!(r.email.as_str());
    event
}

async fn record(w: &World, r: &NoticeRecord) -> NoticeRecord {
    w.rt.deps
        .store
        .get_notice(&r.org_id, &r.member_id)
        .await
        .unwrap()
        .expect("the record is there")
}

#[tokio::test]
async fn a_late_bounce_from_ses_makes_the_told_member_bounced_and_the_reclaim_waits() {
    let from = Email::parse(&format!("notices@{}.example.com", unique("b"))).unwrap();
    let mut w = world(WorldOptions {
        members: 60,
        env: vec![
            (env::NOTICE_FROM, from.to_string()),
            (env::NOTICE_SEND_RATE, "1000".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    create_email_identity(&aws_endpoint(), from.domain()).await;
    let sdk = sdk().await;
    w.rt.notices = wire(&w.rt, |from| SesMailer::from_sdk(&sdk, from))
        .await
        .expect("notices wired");
    w.connect_directly(&w.org, notice_policy()).await;

    let (run, _) = w.daily_run().await;
    let n = run.orgs[0].notices.as_ref().expect("the notice run ran");
    assert!(n.counts.notified >= 2, "{n:?}");
    assert_eq!(
        (n.counts.not_delivered, n.counts.send_failed),
        (0, 0),
        "{n:?}"
    );
    let told = w.notice_records(&w.org).await;
    assert!(told.iter().all(|r| r.state == NoticeState::Notified));
    let (bounced, other) = (&told[0], &told[1]);

    let event = bounce_event(bounced);
    let answer = handle_any(&w.rt, "req-bounce", event.clone(), None)
        .await
        .expect("the bounce is handled");
    assert_eq!(answer["bounce"], "notice_bounced", "{answer}");

    let after = record(&w, bounced).await;
    let NoticeState::Bounced { detail } = &after.state else {
        panic!("the notice bounced: {after:?}");
    };
    assert!(
        detail.contains(bounced.email.as_str()) && detail.contains("550 5.1.1 user unknown"),
        "{detail}"
    );
    assert!(matches!(
        reclaim_gate(&notice_policy(), Some(&after)),
        Err(NoticeBlock::Bounced { .. })
    ));
    assert_eq!(record(&w, other).await, *other, "the others stay told");
    let world = &w;
    let not_delivered = || async move {
        audit_kinds(world.rt.deps.store.as_ref(), &world.org)
            .await
            .into_iter()
            .filter(|k| *k == "notice_not_delivered")
            .count()
    };
    assert_eq!(not_delivered().await, 1);

    // EventBridge delivers the event again: nothing changes.
    let again = handle_any(&w.rt, "req-again", event, None).await.unwrap();
    assert_eq!(again["bounce"], "already_recorded", "{again}");
    assert_eq!(record(&w, bounced).await, after);
    assert_eq!(not_delivered().await, 1);

    // A malformed bounce of the other member's notice: an error saying what is wrong, and nothing changed.
    let mut malformed = bounce_event(other);
    malformed["detail"]
        .as_object_mut()
        .unwrap()
        .remove("bounce");
    let e = handle_any(&w.rt, "req-bad", malformed, None)
        .await
        .expect_err("a malformed event is refused");
    assert!(e.contains("unreadable SES bounce event"), "{e}");
    assert_eq!(record(&w, other).await, *other);

    // A transient bounce of the other member's notice: SES retries it; nothing changed.
    let mut transient = bounce_event(other);
    transient["detail"]["bounce"]["bounceType"] = "Transient".into();
    let t = handle_any(&w.rt, "req-transient", transient, None)
        .await
        .unwrap();
    assert_eq!(t["bounce"], "ignored", "{t}");
    assert_eq!(record(&w, other).await, *other);
}
