//! The demo end to end on a smaller org, judged by the sandbox's ground truth and its SCIM write log.

use chrono::Duration;
use miro_sam_cli::args::DemoArgs;
use miro_sam_cli::commands::demo::run_demo;
use miro_sandbox::ScimOp;
use std::collections::{BTreeSet, HashMap};

const PAID: [&str; 5] = ["full", "advanced", "standard", "basic", "occasional"];

#[tokio::test]
async fn the_demo_reclaims_exactly_the_safe_candidates_and_reports_the_truth() {
    let out = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        members: 800,
        seed: 7,
        out: out.path().to_owned(),
        seat_price: 10.0,
        dry_run: false,
        serve: false,
        port: 0,
    };
    let o = run_demo(&args).await.expect("the demo runs");
    let org = o.connected.org_id.as_str().to_owned();
    let truth = o.control.members(&org);
    let now = o.control.now();
    let by_id: HashMap<&str, _> = truth.iter().map(|m| (m.id.as_str(), m)).collect();

    // Download: every member, once.
    assert_eq!(o.download.members_seen as usize, truth.len());

    // What SCIM did is exactly the plan's candidates, each once, and never a delete.
    let log = o.control.scim_log();
    assert!(
        log.iter().all(|w| w.op == ScimOp::Deactivate),
        "only deactivations: {log:?}"
    );
    let deactivated: Vec<&str> = log.iter().map(|w| w.user_id.as_str()).collect();
    let unique: BTreeSet<&str> = deactivated.iter().copied().collect();
    assert_eq!(
        unique.len(),
        deactivated.len(),
        "someone was deactivated twice"
    );
    let planned: BTreeSet<&str> = o
        .plan
        .candidates
        .iter()
        .map(|c| c.member_id.as_str())
        .collect();
    assert_eq!(unique, planned, "SCIM acted on exactly the plan");
    assert!(!planned.is_empty(), "a synthetic org of 800 has idle seats");
    let tally = o.tally.as_ref().unwrap();
    assert_eq!(tally.reclaimed as usize, planned.len());

    // Nobody protected was touched: judged on the sandbox's own data.
    for id in &unique {
        let m = by_id[id];
        assert_eq!(m.role, "organization_internal_user", "{id}");
        assert!(m.admin_roles.is_empty(), "{id} has admin roles");
        assert!(
            PAID.contains(&m.license.as_str()),
            "{id} had a free license"
        );
        match m.last_activity_at {
            Some(t) => assert!(t <= now - Duration::days(90), "{id} was active recently"),
            None => assert!(
                m.license_assigned_at
                    .is_some_and(|t| t <= now - Duration::days(90)),
                "{id} never active but licensed recently"
            ),
        }
    }
    for e in &o.plan.candidates {
        assert!(!e.email.as_str().is_empty());
    }

    // The report's numbers are the sandbox's numbers.
    let seats = o.report.seats.as_ref().expect("seats");
    let active_paid = truth
        .iter()
        .filter(|m| m.active && PAID.contains(&m.license.as_str()))
        .count();
    assert_eq!(seats.assigned_paid as usize, active_paid);
    assert_eq!(seats.members as usize, truth.len());
    assert_eq!(
        seats.deactivated as usize,
        truth.iter().filter(|m| !m.active).count()
    );
    let used_90 = truth
        .iter()
        .filter(|m| m.active && PAID.contains(&m.license.as_str()))
        .filter(|m| {
            m.last_activity_at
                .is_some_and(|t| t >= now - Duration::days(90))
        })
        .count();
    assert_eq!(seats.used_90d as usize, used_90);
    assert_eq!(o.report.reclaims.reclaimed_members as usize, unique.len());
    assert_eq!(o.report.reclaims.still_deactivated as usize, unique.len());
    let savings = o.report.savings.as_ref().expect("savings");
    assert_eq!(savings.monthly_minor, unique.len() as u64 * 1000);
    assert_eq!(
        o.before.assigned_paid as usize - unique.len(),
        o.after.assigned_paid as usize
    );

    // The files a person opens.
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Acme Corp"));
    assert!(!html.contains("<script"), "self-contained and script-free");
    let candidates = std::fs::read_to_string(out.path().join("candidates.csv")).unwrap();
    assert_eq!(candidates.lines().count(), planned.len() + 1);
    let members = std::fs::read_to_string(out.path().join("members.csv")).unwrap();
    assert_eq!(members.lines().count(), truth.len() + 1);
    o.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_demo_plans_but_deactivates_nobody() {
    let out = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        members: 300,
        seed: 3,
        out: out.path().to_owned(),
        seat_price: 10.0,
        dry_run: true,
        serve: false,
        port: 0,
    };
    let o = run_demo(&args).await.expect("the demo runs");
    assert!(!o.plan.candidates.is_empty());
    assert!(o.tally.is_none());
    assert!(o.control.scim_log().is_empty());
    assert_eq!(o.report.reclaims.reclaimed_members, 0);
    o.shutdown().await;
}

fn small_demo(out: &std::path::Path) -> DemoArgs {
    DemoArgs {
        members: 150,
        seed: 5,
        out: out.to_owned(),
        seat_price: 10.0,
        dry_run: false,
        serve: false,
        port: 0,
    }
}

#[tokio::test]
async fn the_demo_deletes_nothing_it_did_not_create() {
    let out = tempfile::tempdir().unwrap();
    let notes = out.path().join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let first = run_demo(&small_demo(out.path()))
        .await
        .expect("the demo runs");
    let reclaimed = first.report.reclaims.reclaimed_members;
    assert!(reclaimed > 0);
    first.shutdown().await;

    // Something of the user's in the demo's own store folder, then a second run there.
    let kept = out.path().join("data").join("keep.txt");
    std::fs::write(&kept, "also mine").unwrap();
    let second = run_demo(&small_demo(out.path()))
        .await
        .expect("the demo runs again in the same folder");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "also mine");
    // The store still started afresh: the second run reports its own reclaims, not both runs'.
    assert_eq!(second.report.reclaims.reclaimed_members, reclaimed);
    second.shutdown().await;
}

#[tokio::test]
async fn the_demo_refuses_a_data_folder_it_did_not_make() {
    let out = tempfile::tempdir().unwrap();
    let data = out.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let precious = data.join("miro-sam.sqlite3");
    std::fs::write(&precious, "someone's real store").unwrap();

    let err = match run_demo(&small_demo(out.path())).await {
        Ok(o) => {
            o.shutdown().await;
            panic!("the demo must refuse a folder it did not make");
        }
        Err(e) => e,
    };
    assert_eq!(err.code, miro_sam_cli::exit::USAGE, "{}", err.message);
    assert!(
        err.message.contains(&data.display().to_string()) && err.message.contains("--out"),
        "names the folder and the way out: {}",
        err.message
    );
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "someone's real store"
    );
}

/// What a new user reads: one numbered line per step, 1 to 7, none missing.
#[test]
fn the_demo_numbers_its_steps_one_to_seven() {
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_miro-sam"))
        .args(["demo", "--members", "150", "--out"])
        .arg(out.path())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let steps: Vec<u32> = stdout
        .lines()
        .filter_map(|l| l.split_once(". "))
        .filter_map(|(n, _)| n.parse().ok())
        .collect();
    assert_eq!(steps, (1..=7).collect::<Vec<_>>(), "{stdout}");
    // This org (seed 42) starts with more paid seats assigned than purchased.
    assert!(
        stdout.contains(" over before"),
        "over-assigned seats read as over: {stdout}"
    );
    assert!(
        !stdout.contains(": -"),
        "no bare negative seat counts: {stdout}"
    );
}
