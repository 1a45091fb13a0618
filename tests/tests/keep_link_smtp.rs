//! A keep link end to end through real SMTP: the daily notices (`notices_after_plan`) go out through miro-sam's
//! SMTP mailer to a local aiosmtpd server, each with a signed keep link to the console; the member opens the link
//! from the message's HTML part (a GET, as a mail scanner would: nothing changes) and presses the button (the
//! POST: the seat is kept, with a hold of the policy's keep days).

use std::sync::Arc;

use chrono::Duration;
use miro_sam_core::domain::MemberId;
use miro_sam_core::hold::HoldSource;
use miro_sam_core::notices::NoticeState;
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{Clock, NoticeStore, OrgStore};
use miro_sam_tests::keep_console::{KeepConsole, ORG_NAME, notice_policy};
use miro_sam_tests::smtp_sink::{SmtpSink, html_part};

const KEEP_DAYS: u32 = 60;

#[tokio::test]
async fn a_keep_link_received_by_smtp_shows_on_get_and_keeps_on_post() {
    let c = KeepConsole::start(
        2,
        Policy {
            keep_days: KEEP_DAYS,
            ..notice_policy()
        },
    )
    .await;
    let sink = SmtpSink::start();
    let report = c.send_notices(Arc::new(sink.mailer())).await;
    assert_eq!(report.summary.notified, 2, "{report:?}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "one notice per candidate");

    // The member's message: its HTML part carries their keep link, to this console.
    let message = &messages[0];
    let to = message
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .expect("a To header")
        .trim()
        .to_owned();
    let html = html_part(message).expect("the notice has an HTML part");
    let prefix = format!("{}/keep/", c.url);
    let link = html
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no keep link to {prefix} in the HTML part:\n{html}"))
        .replace("&amp;", "&");
    let member_id = MemberId::parse(link.trim_start_matches(&prefix).split('.').nth(2).unwrap())
        .expect("the token names the member");
    let before = c
        .store
        .get_notice(&c.org, &member_id)
        .await
        .unwrap()
        .expect("the notice run wrote the member's record");
    assert_eq!(
        before.email.as_str(),
        to,
        "the link in a member's message is theirs"
    );
    assert_eq!(before.state, NoticeState::Notified);

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Opened (a scanner, then the member): the page names the seat and offers one button; nothing changes.
    for _ in 0..2 {
        let r = http.get(&link).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let page = r.text().await.unwrap();
        assert!(page.contains(&to) && page.contains(ORG_NAME), "{page}");
        assert!(
            page.contains(&before.reclaim_on.format("%Y-%m-%d").to_string()),
            "{page}"
        );
        assert_eq!(page.matches("<button").count(), 1, "{page}");
        assert!(page.contains(">Keep my license</button>"), "{page}");
    }
    assert_eq!(
        c.store
            .get_notice(&c.org, &member_id)
            .await
            .unwrap()
            .unwrap(),
        before,
        "opening the link changed the record"
    );
    assert!(
        c.store
            .get_hold(&c.org, &member_id)
            .await
            .unwrap()
            .is_none()
    );

    // Pressed: kept until now + keep days.
    let now = c.clock.now();
    let until = now + Duration::days(i64::from(KEEP_DAYS));
    let r = http.post(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "You keep your license until {}.",
            until.format("%Y-%m-%d %H:%M UTC")
        )),
        "{page}"
    );
    let after = c
        .store
        .get_notice(&c.org, &member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.state,
        NoticeState::Kept {
            at: now,
            hold_until: until
        }
    );
    let hold = c
        .store
        .get_hold(&c.org, &member_id)
        .await
        .unwrap()
        .expect("a hold");
    assert_eq!((hold.source, hold.expires_at), (HoldSource::Kept, until));

    // The other member's notice is untouched.
    let other = c
        .store
        .list_notices_page(&c.org, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.member_id != member_id)
        .expect("the other member's record");
    assert_eq!(other.state, NoticeState::Notified);
}
