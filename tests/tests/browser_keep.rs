//! The member's keep page in a real browser (headless Debian chromium over WebDriver): the notice run sends the
//! notice (SMTP to the local aiosmtpd server) with its signed link; the member opens the link, sees whose seat
//! and one button, presses it and reads the confirmation. The page needs no script and breaks no CSP rule (the
//! browser's console stays quiet), and the record ends kept.

use std::sync::Arc;

use fantoccini::Locator;
use miro_sam_core::notices::{KeepLinks, NoticeState};
use miro_sam_core::ports::NoticeStore;
use miro_sam_tests::browser::Browser;
use miro_sam_tests::keep_console::{KeepConsole, ORG_NAME, notice_policy};
use miro_sam_tests::smtp_sink::{SmtpSink, html_part};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_opens_the_keep_link_presses_the_one_button_and_keeps_the_seat() {
    let c = KeepConsole::start(1, notice_policy()).await;
    let sink = SmtpSink::start();
    let report = c.send_notices(Arc::new(sink.mailer())).await;
    assert_eq!(report.summary.notified, 1, "{report:?}");
    let record = c
        .store
        .list_notices_page(&c.org, None, 10)
        .await
        .unwrap()
        .pop()
        .expect("the member's notice record");
    // The link the message carries (the SMTP test reads it out of the message itself).
    let link = c.keep_links().keep_url(&record).expect("keep links are on");
    let html = html_part(&sink.messages()[0]).expect("an HTML part");
    assert!(
        html.contains(&format!("href=\"{link}\"")),
        "the sent notice carries this link:\n{html}"
    );

    let b = Browser::start().await;
    b.goto(&link).await;
    b.expect_title("Keep your Miro license").await;
    let text = b.text().await;
    assert!(
        text.contains(record.email.as_str()) && text.contains(ORG_NAME),
        "{text}"
    );
    let buttons = b
        .client
        .find_all(Locator::Css("button"))
        .await
        .expect("find buttons");
    assert_eq!(buttons.len(), 1, "one button: {text}");
    assert_eq!(buttons[0].text().await.unwrap(), "Keep my license");
    assert_eq!(
        c.store
            .get_notice(&c.org, &record.member_id)
            .await
            .unwrap()
            .unwrap(),
        record,
        "opening the page changed the record"
    );
    let problems = b.console_problems().await;
    assert!(problems.is_empty(), "the keep page: {problems:#?}");
    b.screenshot("keep").await;

    b.click("button").await;
    b.find_xpath("//p[starts-with(normalize-space(), 'You keep your license until')]")
        .await;
    assert_eq!(
        b.url().await.as_str(),
        link,
        "the form posts to the link itself"
    );
    let problems = b.console_problems().await;
    assert!(problems.is_empty(), "the confirmation: {problems:#?}");
    b.screenshot("keep_done").await;
    b.close().await;

    let after = c
        .store
        .get_notice(&c.org, &record.member_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(after.state, NoticeState::Kept { .. }),
        "{:?}",
        after.state
    );
}
