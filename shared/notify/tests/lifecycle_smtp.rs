//! The notice run end to end through a real SMTP server: plan an org on SQLite, run the day with the SMTP
//! mailer, read the messages the server saved, follow each one's keep link to its cycle and keep the seat; a
//! re-run of the day sends nothing more.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{SmtpSink, unquote};
use miro_sam_core::domain::MemberId;
use miro_sam_core::notices::{
    CycleRef, KeepLinks, KeepOutcome, NoticeRecord, NoticeState, keep_seat,
};
use miro_sam_core::ports::{FixedClock, NoticeStore, OrgStore};
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::notice_world::{
    member, notice_deps, org, plan_the_day, reclaiming_policy, run_day, seed_org, start,
};

/// Links of the shape a keep page would serve: the cycle in the path (the real link is signed; the console
/// serves it).
struct PathLinks;

impl KeepLinks for PathLinks {
    fn keep_url(&self, r: &NoticeRecord) -> Option<String> {
        Some(format!(
            "https://sam.example.com/console/keep/{}",
            r.cycle_key()
        ))
    }
}

#[tokio::test]
async fn notices_go_out_through_smtp_once_and_a_followed_keep_link_keeps_the_seat() {
    let sink = SmtpSink::start();
    let now = start();
    let org = org();
    let store = SqliteStore::in_memory().unwrap();
    let members: Vec<_> = (1..=3)
        .map(|n| member(n, now - Duration::days(150)))
        .collect();
    seed_org(&store, &org, &members, &reclaiming_policy(100), now).await;
    let plan_id = plan_the_day(&store, &org, now).await;
    let deps = notice_deps(
        Arc::new(store.clone()),
        Arc::new(sink.mailer()),
        Arc::new(FixedClock::new(now + Duration::minutes(1))),
    );
    let summary = run_day(&deps, &org, plan_id, &PathLinks).await.unwrap();
    assert_eq!(summary.notified, 3, "{summary:?}");
    let again = run_day(&deps, &org, plan_id, &PathLinks).await.unwrap();
    assert_eq!(again.notified, 0, "{again:?}");
    let messages = sink.messages();
    assert_eq!(
        messages.len(),
        3,
        "one message per member, whatever the re-runs"
    );

    // The member reads the HTML part and follows its link: it names their own cycle.
    let shown = unquote(&messages[0]);
    let href = shown
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a keep link in the HTML part");
    let path = href
        .strip_prefix("https://sam.example.com/console/keep/")
        .expect("the keep link");
    let parts: Vec<&str> = path.split('/').collect();
    let (member_id, cycle) = (
        MemberId::parse(parts[1]).unwrap(),
        parts[2].parse().unwrap(),
    );
    let to = shown
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .expect("a To header");
    assert_eq!(
        store
            .get_notice(&org, &member_id)
            .await
            .unwrap()
            .unwrap()
            .email
            .as_str(),
        to.trim(),
        "the link in a member's message is that member's"
    );
    let kept = keep_seat(
        &store,
        &store,
        CycleRef {
            org: &org,
            member: &member_id,
            cycle,
        },
        now + Duration::hours(2),
    )
    .await
    .unwrap();
    assert!(matches!(kept, KeepOutcome::Kept { .. }), "{kept:?}");
    assert!(matches!(
        store
            .get_notice(&org, &member_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        NoticeState::Kept { .. }
    ));
    assert!(store.get_hold(&org, &member_id).await.unwrap().is_some());
}
