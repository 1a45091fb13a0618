//! The member page's state follows what miro-sam did since the last download (approval, reclaim, undo request,
//! undo), instead of repeating the download's "active" or "deactivated" until the next download.

mod common;
mod support;

use common::*;
use miro_sam_core::domain::MemberId;
use miro_sam_core::jobs;

/// The page's "State" fact.
fn state_of(page: &str) -> String {
    between(page, "<dt>State</dt><dd>", "</dd>")["<dt>State</dt><dd>".len()..].to_owned()
}

#[tokio::test]
async fn the_member_state_shows_queued_reclaims_and_undos_before_the_next_download() {
    let (c, plan, b) = seeded(Options::default()).await;
    let (page, open) = c.open_candidates(&b).await;
    let target = open[0].clone();
    let member_page = format!("/members/{target}");
    let (_, before) = c.get(&b, &member_page).await;
    assert_eq!(state_of(&before), "active", "as the download saw them");

    c.approve_member(&b, plan.plan_id, &page, &target).await;
    let (_, page) = c.get(&b, &member_page).await;
    let state = state_of(&page);
    assert!(
        state.starts_with("active — approved for reclaim") && state.contains("queued"),
        "approved, not yet carried out: {state}"
    );
    assert!(
        page.contains(&format!("In the latest plan ({})", plan.plan_id)),
        "{page}"
    );

    c.run_reclaim_worker().await;
    let id = MemberId::parse(&target).unwrap();
    assert!(!c.w.ground_truth(&id).active, "reclaimed in Miro");
    let (_, page) = c.get(&b, &member_page).await;
    let state = state_of(&page);
    assert!(
        state.starts_with("deactivated — seat reclaimed by miro-sam"),
        "the stored row still says active; the page does not: {state}"
    );

    // The console's clock (fixed for the session tests) catches up with the worker's, so the undo request
    // comes after the reclaim as it would in production.
    c.clock.set(chrono::Utc::now());
    let (status, result) = c
        .request_undo(&b, &page, &target, Some("still needs it"))
        .await;
    assert_eq!(status, 200, "{result}");
    let (_, page) = c.get(&b, &member_page).await;
    let state = state_of(&page);
    assert!(
        state.starts_with("deactivated — an undo is queued"),
        "{state}"
    );

    let undos = c.queued_undos().await;
    let undo = undos.first().expect("the undo is queued");
    c.carry_out_undo(undo).await;
    assert!(c.w.ground_truth(&id).active, "active again in Miro");
    let (_, page) = c.get(&b, &member_page).await;
    let state = state_of(&page);
    assert!(
        state.starts_with("active — reactivated by miro-sam"),
        "{state}"
    );

    // The next download agrees: the page says what Miro says again.
    jobs::download_org(&c.w.deps, &c.w.org).await.unwrap();
    let (_, page) = c.get(&b, &member_page).await;
    assert_eq!(state_of(&page), "active");
}
