//! The demo's notices (issue 12), judged by the store, the outbox folder and the sandbox's SCIM write log: the
//! first day's candidates are told, a few keep their seat through the link in their message, the others are
//! reminded, due on the reclaim date and reclaimed after the approval; nobody is reclaimed before their notice
//! ran out, and running a day again tells nobody twice; `serve` on the demo's data directory takes its links.
#![cfg(feature = "sandbox")]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use miro_sam_cli::commands::demo::NOTICE_DAYS;
use miro_sam_cli::commands::demo::notices::{KEEPS, notice_file, records};
use miro_sam_core::hold::HoldSource;
use miro_sam_core::notices::NoticeState;
use miro_sandbox::ScimOp;

fn names(dir: &std::path::Path, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect()
}

#[tokio::test]
async fn the_demo_tells_members_lets_some_keep_and_reclaims_the_rest_after_the_notice() {
    let (_out, o) = common::demo::ran(400, 11, false).await;
    let org = o.connected.org_id.clone();
    let n = &o.notices;
    let store = o.ctx.deps.store.clone();

    // The first day: everyone the first plan names is told, with a week's notice.
    let told = n.cohort.members.len();
    assert!(told > 0, "the synthetic org has idle seats");
    assert_eq!(
        told,
        o.first_plan.candidates.len(),
        "every candidate is told"
    );
    let reclaim_on = n.cohort.reclaim_on.expect("a reclaim date");
    assert_eq!(
        reclaim_on,
        n.cohort.told_on + chrono::Days::new(u64::from(NOTICE_DAYS))
    );
    let example = n.cohort.example.as_ref().expect("an example message");
    assert!(example.starts_with(&n.outbox) && example.is_file());

    // The keeps: through the link, each ends the cycle as kept with a hold, and SCIM never touched them.
    assert_eq!(n.keeps.len(), KEEPS);
    let deactivated: BTreeSet<String> = o
        .control
        .scim_log()
        .iter()
        .filter(|w| w.op == ScimOp::Deactivate)
        .map(|w| w.user_id.clone())
        .collect();
    for k in &n.keeps {
        assert!(n.cohort.members.contains(&k.member));
        let record = store.get_notice(&org, &k.member).await.unwrap().unwrap();
        assert!(
            matches!(record.state, NoticeState::Kept { hold_until, .. } if hold_until == k.hold_until),
            "{:?}",
            record.state
        );
        let hold = store
            .get_hold(&org, &k.member)
            .await
            .unwrap()
            .expect("a hold");
        assert_eq!(hold.source, HoldSource::Kept);
        assert!(
            !deactivated.contains(k.member.as_str()),
            "{} kept the seat",
            k.member
        );
    }

    // On the first approval day: kept, dropped out (came back, changed) or due, nothing else; and the approval
    // reclaimed exactly those due.
    let s = n.at_first_approval.as_ref().expect("the first approval");
    assert_eq!(s.kept, KEEPS);
    assert_eq!(s.other, 0, "{s:?}");
    assert_eq!(s.due + s.kept + s.dropped_out, told, "{s:?}");
    assert!(s.due > 0, "{s:?}");
    assert_eq!(n.reclaimed, told - n.keeps.len() - s.dropped_out, "{s:?}");

    // Nobody was reclaimed before the end of their notice: every reclaimed member's cycle has a reclaim date
    // on or before the day of the plan that reclaimed them.
    for w in &o.waves {
        let day = w.plan.created_at.date_naive();
        for m in &w.reclaimed {
            let r = store
                .get_notice(&org, m)
                .await
                .unwrap()
                .expect("told first");
            assert!(
                r.reclaim_on <= day,
                "{m}: told for {}, reclaimed {day}",
                r.reclaim_on
            );
        }
    }

    // The outbox: one notice per cycle told, a reminder per reminder sent, every record's notice on disk, and
    // no message written twice.
    let notices = names(&n.outbox, "-notice.eml");
    assert_eq!(notices.len(), n.month.notified as usize);
    assert_eq!(
        names(&n.outbox, "-reminder-2.eml").len(),
        n.month.reminded as usize
    );
    assert!(names(&n.outbox, ".2.eml").is_empty(), "nothing twice");
    let all = records(&o.ctx, &org).await.unwrap();
    for r in &all {
        let f: PathBuf = notice_file(&n.outbox, r);
        assert!(f.is_file(), "{}", f.display());
    }
    assert!(
        names(&n.outbox, ".eml")
            .iter()
            .any(|f| f.starts_with("digest-")),
        "the admin's digest"
    );

    // Today's notice day again, as a redelivered daily run: nobody told or reminded twice.
    let before_notices = names(&n.outbox, "-notice.eml");
    let before_reminders = names(&n.outbox, "-reminder-2.eml");
    let again = o.notice_day_again().await.expect("runs again");
    assert_eq!(again.summary.notified, 0, "{:?}", again.summary);
    assert_eq!(again.summary.reminded, 0, "{:?}", again.summary);
    assert_eq!(names(&n.outbox, "-notice.eml"), before_notices);
    assert_eq!(names(&n.outbox, "-reminder-2.eml"), before_reminders);
    o.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_demo_tells_nobody() {
    let (_out, o) = common::demo::ran(200, 4, true).await;
    assert_eq!(o.notices.month.notified, 0);
    assert!(o.notices.month.silenced.is_some());
    assert!(o.notices.cohort.members.is_empty() && o.notices.keeps.is_empty());
    assert!(names(&o.notices.outbox, "-notice.eml").is_empty());
    o.shutdown().await;
}

/// `serve` on the demo's data directory verifies the demo's keep links (the same key file): a member whose
/// notice is still running opens the link, sees the button, presses it and keeps the seat.
#[tokio::test]
async fn serve_takes_the_keep_links_the_demo_sent() {
    let (out, o) = common::demo::ran(200, 9, false).await;
    let org = o.connected.org_id.clone();
    let today = o.control.now().date_naive();
    let all = records(&o.ctx, &org).await.unwrap();
    let open = all
        .iter()
        .find(|r| {
            matches!(r.state, NoticeState::Notified | NoticeState::Reminded)
                && r.reclaim_on >= today
        })
        .expect("a notice still running today");
    let message = std::fs::read_to_string(notice_file(&o.notices.outbox, open)).unwrap();
    let token = miro_sam_cli::commands::demo::notices::keep_token_in(&message).expect("a link");

    let (child, console) = common::demo::serve(&out.path().join("data"), |line| {
        let (_, url) = line
            .strip_prefix("miro-sam console for org ")?
            .split_once(" on ")?;
        Some(url.trim().to_owned())
    })
    .await;
    // The demo's links name the default port; the token is the same wherever the console listens.
    let link = format!("{console}/keep/{token}");
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Keep my license"));
    let done = http.post(&link).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.text().await.unwrap().contains("You keep your license"),
        "kept"
    );
    let record = o
        .ctx
        .deps
        .store
        .get_notice(&org, &open.member_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(record.state, NoticeState::Kept { .. }),
        "{:?}",
        record.state
    );
    drop(child);
    o.shutdown().await;
}
