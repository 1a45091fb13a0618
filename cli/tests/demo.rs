//! The demo end to end on a smaller org, judged by the sandbox's ground truth (each simulated day's, and
//! today's) and its SCIM write log.
//!
//! They run the demo, so they need the CLI's `sandbox` feature (on by default).
#![cfg(feature = "sandbox")]

mod common;

use chrono::Duration;
use miro_sam_cli::args::DemoArgs;
use miro_sam_cli::commands::demo::{DemoDay, HISTORY_DAYS, run_demo};
use miro_sam_core::domain::MemberId;
use miro_sam_core::timeline::MemberChange;
use miro_sandbox::ScimOp;
use std::collections::{BTreeSet, HashMap};

const PAID: [&str; 5] = ["full", "advanced", "standard", "basic", "occasional"];

#[tokio::test]
async fn the_demo_lives_a_month_and_reclaims_only_safe_approved_candidates() {
    let out = tempfile::tempdir().unwrap();
    let args = common::demo::demo_args(out.path(), 800, 7, false);
    let o = run_demo(&args).await.expect("the demo runs");
    let org_id = o.connected.org_id.clone();
    let org = org_id.as_str().to_owned();
    let truth = o.control.members(&org);
    let now = o.control.now();
    let by_id: HashMap<&str, _> = truth.iter().map(|m| (m.id.as_str(), m)).collect();
    let store = o.ctx.deps.store.clone();

    // The first download saw every generated member; then the sandbox lived the month, a day at a time.
    assert_eq!(o.download.members_seen as usize, args.members);
    assert_eq!(o.days.len() as u64, HISTORY_DAYS);
    assert!(
        o.days
            .windows(2)
            .all(|w| w[1].date == w[0].date.succ_opt().unwrap()),
        "one day after the other"
    );
    assert_eq!(
        o.days.last().unwrap().date,
        now.date_naive(),
        "the month ends today"
    );

    // Two approvals, the first of a whole plan, the second of part of a later one; the undo after both.
    assert_eq!(o.waves.len(), 2);
    let (first, second) = (&o.waves[0], &o.waves[1]);
    assert!(first.day < second.day);
    let all_of_first: Vec<MemberId> = first
        .plan
        .candidates
        .iter()
        .map(|c| c.member_id.clone())
        .collect();
    assert_eq!(first.approved, all_of_first);
    assert!(
        !second.approved.is_empty() && second.approved.len() < second.plan.candidates.len(),
        "a part: {} of {}",
        second.approved.len(),
        second.plan.candidates.len()
    );
    for w in &o.waves {
        // The approval gate holds back whoever's notice has not run out; the rest is queued.
        assert_eq!(
            w.approval.queued as usize + w.waiting,
            w.approved.len(),
            "day {}",
            w.day
        );
        let approved: BTreeSet<&MemberId> = w.approved.iter().collect();
        assert!(
            w.reclaimed.iter().all(|m| approved.contains(m)),
            "only approved members"
        );
        assert_eq!(
            w.reclaimed.len() + w.skipped + w.failed,
            w.approval.queued as usize
        );
    }
    assert!(
        first.reclaimed.len() > 100,
        "a synthetic org of 800 has idle seats"
    );
    let undo = o.undo.as_ref().expect("one undo");
    assert!(undo.day > second.day);
    assert!(first.reclaimed.contains(&undo.member_id));
    assert!(
        undo.held_until.is_some_and(|t| t > now),
        "the undo leaves a hold"
    );

    // What SCIM did is exactly the approved reclaims, each once, plus the one undo; never a delete.
    let log = o.control.scim_log();
    let ops = |op: ScimOp| -> Vec<String> {
        log.iter()
            .filter(|w| w.op == op)
            .map(|w| w.user_id.clone())
            .collect()
    };
    assert!(ops(ScimOp::Delete).is_empty(), "never a delete");
    let deactivated = ops(ScimOp::Deactivate);
    let unique: BTreeSet<String> = deactivated.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        deactivated.len(),
        "someone was deactivated twice"
    );
    let reclaimed: BTreeSet<String> = o
        .waves
        .iter()
        .flat_map(|w| &w.reclaimed)
        .map(|m| m.as_str().to_owned())
        .collect();
    assert_eq!(
        unique, reclaimed,
        "SCIM acted on exactly the approved reclaims"
    );
    assert_eq!(
        ops(ScimOp::Reactivate),
        vec![undo.member_id.as_str().to_owned()]
    );

    // Nobody protected was touched, judged on the sandbox's own data at the plan's time. Deactivated members
    // neither work nor change license in the sandbox, so today's truth is theirs then (the undone member
    // works again, and someone may have left since).
    for w in &o.waves {
        let then = w.plan.created_at;
        for id in w.reclaimed.iter().filter(|m| **m != undo.member_id) {
            let Some(m) = by_id.get(id.as_str()) else {
                continue;
            };
            assert!(!m.active, "{id} is still deactivated");
            assert_eq!(m.role, "organization_internal_user", "{id}");
            assert!(m.admin_roles.is_empty(), "{id} has admin roles");
            assert!(
                PAID.contains(&m.license.as_str()),
                "{id} had a free license"
            );
            match m.last_activity_at {
                Some(t) => assert!(t <= then - Duration::days(90), "{id} was active recently"),
                None => assert!(
                    m.license_assigned_at
                        .is_some_and(|t| t <= then - Duration::days(90)),
                    "{id} never active but licensed recently"
                ),
            }
        }
    }

    // The history: a snapshot a day, each the sandbox's seats of that day.
    let first_day = o.before.date;
    let snapshots = store
        .list_snapshots(&org_id, first_day, now.date_naive())
        .await
        .unwrap();
    let dates: BTreeSet<_> = snapshots.iter().map(|s| s.date).collect();
    assert!(dates.len() >= 30, "{} snapshot days", dates.len());
    assert_eq!(dates.len() as u64, HISTORY_DAYS + 1);
    let by_date: HashMap<_, _> = snapshots.iter().map(|s| (s.date, s)).collect();
    let paid_of = |d: &DemoDay| -> u32 {
        d.lived
            .active_by_license
            .iter()
            .filter(|(l, _)| PAID.contains(&l.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    for d in &o.days {
        assert_eq!(by_date[&d.date].assigned_paid, paid_of(d), "{}", d.date);
    }
    // Seats over time fall the day after the first approval, by its reclaims give or take that day's churn.
    let day = |n: u64| &o.days[(n - 1) as usize];
    let (on, next) = (day(first.day), day(first.day + 1));
    let drop = by_date[&on.date].assigned_paid as i64 - by_date[&next.date].assigned_paid as i64;
    let churn =
        (next.lived.joined.len() + next.lived.left.len() + next.lived.license_changes.len()) as i64;
    assert!(
        (drop - first.reclaimed.len() as i64).abs() <= churn,
        "fell by {drop} after {} reclaims (churn {churn})",
        first.reclaimed.len()
    );
    let series: Vec<u32> = snapshots.iter().map(|s| s.assigned_paid).collect();
    assert!(
        series.windows(2).any(|w| w[0] != w[1]),
        "a curve, not a line"
    );

    // Timelines: planned and reclaimed for every reclaimed member, reactivated for the undone one, and the
    // sandbox's joins, leaves and license changes as the downloads saw them.
    let events = |id: String| {
        let store = store.clone();
        let org_id = org_id.clone();
        async move {
            store
                .list_member_events(&org_id, &MemberId::parse(&id).unwrap(), None, 200)
                .await
                .unwrap()
        }
    };
    for w in &o.waves {
        for id in &w.reclaimed {
            let ev = events(id.as_str().to_owned()).await;
            assert!(
                ev.iter().any(|e| matches!(&e.change, MemberChange::Reclaimed { plan_id, .. } if *plan_id == w.plan.plan_id)),
                "{id}: {ev:?}"
            );
            assert!(
                ev.iter()
                    .any(|e| matches!(e.change, MemberChange::Planned { .. })),
                "{id}"
            );
        }
    }
    let ev = events(undo.member_id.as_str().to_owned()).await;
    assert!(
        ev.iter()
            .any(|e| matches!(e.change, MemberChange::Reactivated { .. })),
        "{ev:?}"
    );
    let mut checked = 0;
    for d in &o.days {
        for c in &d.lived.license_changes {
            let ev = events(c.member_id.clone()).await;
            assert!(
                ev.iter().any(|e| matches!(&e.change, MemberChange::LicenseChanged { to, .. } if to.as_str() == c.to)),
                "{} on {}: {ev:?}",
                c.member_id,
                d.date
            );
            checked += 1;
        }
        for id in &d.lived.joined {
            let ev = events(id.clone()).await;
            assert!(
                ev.iter()
                    .any(|e| matches!(e.change, MemberChange::Joined { .. })),
                "{id}"
            );
        }
        for id in &d.lived.left {
            let ev = events(id.clone()).await;
            assert!(
                ev.iter().any(|e| matches!(e.change, MemberChange::Left)),
                "{id}"
            );
        }
    }
    assert!(checked > 10, "the month changed licenses: {checked}");

    // The report's numbers are the sandbox's numbers today.
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
    assert_eq!(
        o.report.reclaims.reclaimed_members as usize,
        reclaimed.len()
    );
    assert_eq!(o.report.reclaims.reactivations, 1);
    assert_eq!(
        o.report.reclaims.still_deactivated as usize,
        reclaimed.len() - 1
    );
    let savings = o.report.savings.as_ref().expect("savings");
    assert_eq!(
        savings.monthly_minor,
        u64::from(o.report.reclaims.still_deactivated) * 1000
    );

    // The files a person opens.
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Acme Corp"));
    assert!(!html.contains("<script"), "self-contained and script-free");
    let candidates = std::fs::read_to_string(out.path().join("candidates.csv")).unwrap();
    assert_eq!(candidates.lines().count(), o.plan.candidates.len() + 1);
    let series_csv = std::fs::read_to_string(out.path().join("series.csv")).unwrap();
    assert!(series_csv.lines().count() > 30, "{series_csv}");
    o.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_demo_plans_every_day_but_deactivates_nobody() {
    let (_out, o) = common::demo::ran(300, 3, true).await;
    assert!(!o.plan.candidates.is_empty());
    assert_eq!(o.days.len() as u64, HISTORY_DAYS);
    assert!(o.days.iter().all(|d| d.candidates > 0));
    assert!(o.waves.is_empty() && o.undo.is_none());
    assert!(o.control.scim_log().is_empty());
    assert_eq!(o.report.reclaims.reclaimed_members, 0);
    o.shutdown().await;
}

fn small_demo(out: &std::path::Path) -> DemoArgs {
    common::demo::demo_args(out, 150, 5, false)
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

/// What a new user reads: one numbered line per step, 1 to 7, none missing, and the command that opens the
/// console on the same history.
#[test]
fn the_demo_numbers_its_steps_one_to_seven() {
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_miro-sam"))
        .args(["demo", "--members", "150", "--out"])
        .env_remove("MIRO_SAM_SEAT_PRICE")
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
        stdout.contains(" over then"),
        "over-assigned seats read as over: {stdout}"
    );
    assert!(
        !stdout.contains(": -"),
        "no bare negative seat counts: {stdout}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    let expected = format!(
        "demo --serve --members 150 --seed 42 --seat-price 16 --out {}",
        out.path().display()
    );
    assert!(
        last.trim().ends_with(&expected) && last.contains("miro-sam"),
        "ends with the console command: {last:?}"
    );
}
