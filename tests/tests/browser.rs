//! The admin console in a real browser (headless Debian chromium over WebDriver), used as a new admin would:
//! sign in with Miro through the sandbox's authorize page, open the plan, approve two candidates, see them
//! reclaimed, undo one from the member page, and find both actions in the audit log under the admin's name.
//! The sandbox's SCIM log judges what reached Miro. The reclaim worker is the one `miro-sam serve` runs; the test
//! runs its rounds itself between page loads, so what a page shows never races the worker.
//!
//! `MIRO_SAM_SCREENSHOTS=DIR` also saves a screenshot of every console page into DIR (`scripts/screenshots.sh`).

use std::collections::BTreeSet;

use miro_sam_cli::local_worker::run_round;
use miro_sam_core::jobs::{download_org, plan_org, set_policy};
use miro_sam_core::policy::{Approval, Policy};
use miro_sam_tests::browser::{Browser, LocalConsole};
use miro_sam_tests::live_policy;
use miro_sandbox::ScimOp;

const WORKER: &str = "miro-sam serve (worker)";
/// Worker rounds (each followed by a page load) before a step that waits for the worker gives up. One round
/// normally does it; a round leaves a message queued only when Miro or the store asked to retry later.
const ROUNDS: usize = 5;

/// What the browser console said since the last look.
async fn console_problems(b: &Browser) -> Vec<String> {
    b.console_problems().await
}

/// Checks the browser's console had nothing to say about the page it is on.
async fn assert_quiet(b: &Browser, page: &str) {
    let problems = console_problems(b).await;
    assert!(
        problems.is_empty(),
        "the browser console reported problems on the {page} page: {problems:#?}"
    );
}

/// Opens a console page, checks its title and console, and saves its screenshot.
async fn visit(b: &Browser, c: &LocalConsole, path: &str, title: &str, shot: &str) {
    b.goto(&format!("{}{path}", c.url)).await;
    b.expect_title(title).await;
    assert_quiet(b, shot).await;
    b.screenshot(shot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_admin_signs_in_approves_part_of_a_plan_sees_it_done_and_undoes_one_member() {
    let c = LocalConsole::start(120).await;
    let store = c.ctx.deps.store.as_ref();
    let now = c.ctx.deps.clock.now();
    let policy = Policy {
        approval: Approval::Required,
        ..live_policy()
    };
    assert!(!policy.dry_run);
    set_policy(store, &c.org, &policy, "test", now)
        .await
        .unwrap();
    download_org(&c.ctx.deps, &c.org).await.expect("download");
    c.earlier_days(30).await;
    let plan = plan_org(store, &c.org, "test", now).await.expect("plan");
    assert!(
        plan.candidates.len() >= 3,
        "the synthetic org yields candidates: {:?}",
        plan.totals
    );
    let admin = c.admin_email();

    // Every response carries the strict CSP, the sign-in page to a stranger included. (The Miro client has
    // installed reqwest's TLS provider.)
    let res = reqwest::get(format!("{}/", c.url)).await.unwrap();
    assert_eq!(
        res.headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok()),
        Some(miro_sam_console::CSP),
        "{:?}",
        res.headers()
    );

    let b = Browser::start().await;

    // Signed out: the sign-in page, then Miro's authorize page (the sandbox approves for its Company Admin at
    // once: it has no consent screen), then back to the overview.
    b.goto(&format!("{}/", c.url)).await;
    b.expect_title("Sign in").await;
    // The page itself answers 401 (Unauthorized) to a browser without a session, and chromium logs that one.
    let problems = console_problems(&b).await;
    assert!(
        problems.iter().all(|p| p.contains("status of 401")),
        "{problems:#?}"
    );
    b.screenshot("sign-in").await;
    b.click("a[href$='/console/login']").await;
    b.expect_title("Overview").await;
    assert_eq!(b.url().await.path(), "/console/", "lands on the overview");
    let header = b.find(".who").await.text().await.unwrap();
    assert!(header.contains(&admin), "signed in as {admin}: {header}");
    assert_quiet(&b, "overview").await;

    // The plan: tick the first two candidates and approve the selection.
    b.click("nav a[href$='/console/plans']").await;
    b.expect_title("Reclaim plan").await;
    assert_quiet(&b, "plans").await;
    assert!(b.text().await.contains(&plan.plan_id.to_string()));
    let open = b.values("input[type=checkbox][name=member]").await;
    let chosen: Vec<String> = open.iter().take(2).cloned().collect();
    assert_eq!(chosen.len(), 2, "two candidates to tick: {open:?}");
    for id in &chosen {
        b.click(&format!("input[type=checkbox][name=member][value='{id}']"))
            .await;
    }
    b.click("button[name=action][value=approve]").await;
    b.expect_title("Plan updated").await;
    assert_quiet(&b, "plan updated").await;
    let said = b.text().await;
    assert!(
        said.contains("Approved 2 of the ticked candidates"),
        "{said}"
    );
    assert!(
        c.control.scim_log().is_empty(),
        "approving only queues; the worker acts"
    );

    // The worker carries the two reclaims out; the plan page shows them done.
    let status_of =
        |id: &str| format!("//table//tr[td/a[@href='/console/members/{id}']]/td[last()]");
    let mut done = false;
    for _ in 0..ROUNDS {
        run_round(&c.ctx, WORKER).await.expect("a worker round");
        b.goto(&format!("{}/plans", c.url)).await;
        b.expect_title("Reclaim plan").await;
        let mut all = true;
        for id in &chosen {
            let status = b.find_xpath(&status_of(id)).await.text().await.unwrap();
            all &= status.starts_with("reclaimed");
        }
        if all {
            done = true;
            break;
        }
    }
    assert!(
        done,
        "the two approved reclaims did not show as done within {ROUNDS} worker rounds:\n{}",
        b.text().await
    );
    assert_quiet(&b, "plans").await;
    b.screenshot("plans").await;
    let deactivated: BTreeSet<String> = c
        .control
        .scim_log()
        .into_iter()
        .filter(|w| w.op == ScimOp::Deactivate)
        .map(|w| w.user_id)
        .collect();
    assert_eq!(
        deactivated,
        chosen.iter().cloned().collect::<BTreeSet<_>>(),
        "exactly the two approved members were deactivated"
    );

    // The reclaimed list names both; the undo starts from the member's page.
    b.click("nav a[href$='/console/reclaimed']").await;
    b.expect_title("Reclaimed seats").await;
    assert_quiet(&b, "reclaimed").await;
    let undone = &chosen[0];
    for id in &chosen {
        b.find(&format!("table a[href='/console/members/{id}']"))
            .await;
    }
    b.screenshot("reclaimed").await;
    b.click(&format!("table a[href='/console/members/{undone}']"))
        .await;
    let email = b.find("dl.facts dd").await.text().await.unwrap();
    b.expect_title(&email).await;
    assert_quiet(&b, "member").await;
    b.find(&format!(
        "form[action='/console/members/{undone}/reactivate'] input[name=why]"
    ))
    .await
    .send_keys("still needs the seat")
    .await
    .unwrap();
    b.click(&format!(
        "form[action='/console/members/{undone}/reactivate'] button[type=submit]"
    ))
    .await;
    b.expect_title("Undo requested").await;
    assert_quiet(&b, "undo requested").await;

    let mut reactivated = false;
    for _ in 0..ROUNDS {
        run_round(&c.ctx, WORKER).await.expect("a worker round");
        b.goto(&format!("{}/members/{undone}", c.url)).await;
        b.expect_title(&email).await;
        if b.text().await.contains("since reactivated") {
            reactivated = true;
            break;
        }
    }
    assert!(
        reactivated,
        "the undo was not carried out within {ROUNDS} worker rounds:\n{}",
        b.text().await
    );
    assert_quiet(&b, "member").await;
    let page = b.text().await;
    assert!(!page.contains("No hold"), "an undo leaves a hold: {page}");
    b.screenshot("member").await;
    let log: Vec<(ScimOp, String)> = c
        .control
        .scim_log()
        .into_iter()
        .map(|w| (w.op, w.user_id))
        .collect();
    assert_eq!(
        log.len(),
        3,
        "two deactivations and one reactivation: {log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|(op, _)| *op == ScimOp::Reactivate)
            .collect::<Vec<_>>(),
        vec![&(ScimOp::Reactivate, undone.clone())],
        "{log:?}"
    );

    // The audit log names the admin for the approval and for the undo.
    visit(&b, &c, "/audit", "Audit log", "audit").await;
    let actor = format!("{admin} (console, Miro user {})", c.connected.user_id);
    for kind in ["plan_approved", "reactivate_requested"] {
        let who = b
            .find_xpath(&format!(
                "//table//tr[td[3][normalize-space()='{kind}']]/td[2]"
            ))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(who, actor, "{kind} is audited with the admin's identity");
    }

    // The remaining pages render for the signed-in admin without a word from the browser console.
    let search = &admin[..admin.find('@').unwrap()];
    visit(
        &b,
        &c,
        &format!("/members?q={search}"),
        "Members",
        "members",
    )
    .await;
    b.find(&format!(
        "a[href='/console/members/{}']",
        c.connected.user_id
    ))
    .await;
    visit(&b, &c, "/exemptions", "Exemptions and holds", "exemptions").await;
    visit(&b, &c, "/policy", "Policy", "policy").await;
    // The overview's two charts are inline SVG; the CSP lets them render (a refused inline style would have
    // been a console error above).
    visit(&b, &c, "/", "Overview", "overview").await;
    let charts = b
        .client
        .find_all(fantoccini::Locator::Css("svg"))
        .await
        .unwrap();
    assert_eq!(
        charts.len(),
        2,
        "seats over time and activity: {}",
        b.text().await
    );
    b.close().await;
}
