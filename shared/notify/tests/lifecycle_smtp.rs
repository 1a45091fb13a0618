//! The notice run end to end through a real SMTP server: plan an org on SQLite, run the day with the SMTP
//! mailer, read the messages the server saved, follow each one's keep link to its cycle and keep the seat; a
//! re-run of the day sends nothing more.

mod common;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use common::{SmtpSink, unquote};
use miro_client::{License, Member, Role};
use miro_sam_core::domain::{MemberId, OrgId, Subscription};
use miro_sam_core::jobs::{plan_org_streamed, set_policy};
use miro_sam_core::notices::{
    CycleRef, KeepLinks, KeepOutcome, NoticeContext, NoticeDay, NoticeDeps, NoticeRecord,
    NoticeState, keep_seat, run_notice_day,
};
use miro_sam_core::policy::{Policy, ReclaimCap};
use miro_sam_core::ports::{FixedClock, MemberStore, NoticeStore, OrgStore};
use miro_sam_sqlite::SqliteStore;

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

fn member(n: u64, last_active: chrono::DateTime<Utc>) -> Member {
    Member {
        id: (3_458_764_517_517_800_000u64 + n).to_string(),
        email: format!("user{n}@example.com"),
        active: true,
        role: Role::InternalUser,
        license: License::Full,
        license_assigned_at: Some(last_active - Duration::days(400)),
        last_activity_at: Some(last_active),
        admin_roles: vec![],
    }
}

#[tokio::test]
async fn notices_go_out_through_smtp_once_and_a_followed_keep_link_keeps_the_seat() {
    let sink = SmtpSink::start();
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap();
    let org = OrgId::parse("3074457345821141000").unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let members: Vec<_> = (1..=3)
        .map(|n| {
            Subscription::from_member(&org, &member(n, now - Duration::days(150)), now).unwrap()
        })
        .collect();
    store.upsert_members(&org, &members).await.unwrap();
    let policy = Policy {
        dry_run: false,
        cap: ReclaimCap {
            max_count: Some(100),
            max_percent: None,
        },
        ..Policy::default()
    };
    set_policy(&store, &org, &policy, "admin@example.com", now)
        .await
        .unwrap();
    let header = plan_org_streamed(&store, &org, "daily run", now)
        .await
        .unwrap();
    let deps = NoticeDeps {
        store: Arc::new(store.clone()),
        notices: Arc::new(store.clone()),
        mailer: Arc::new(sink.mailer()),
        clock: Arc::new(FixedClock::new(now + Duration::minutes(1))),
    };
    let ctx = NoticeContext::new("Acme", "it@example.com");
    let day = NoticeDay {
        org: &org,
        plan_id: header.plan_id,
        context: &ctx,
        keep_links: &PathLinks,
    };
    let summary = run_notice_day(&deps, &day).await.unwrap();
    assert_eq!(summary.notified, 3, "{summary:?}");
    let again = run_notice_day(&deps, &day).await.unwrap();
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
