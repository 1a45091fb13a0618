//! A download that stops (deadline, page budget or failure) keeps a checkpoint, and the next run finishes the
//! job: exactly the sandbox's member set, removals detected across the pause, nothing downloaded twice.

mod common;

use common::*;
use miro_sam_core::domain::DownloadCheckpoint;
use miro_sam_core::jobs::{self, DownloadOutcome, StopAt};
use miro_sam_core::ports::MemberStore;
use miro_sandbox::FaultConfig;
use std::collections::BTreeSet;

fn pages(n: u64) -> StopAt {
    StopAt {
        deadline: None,
        max_pages: Some(n),
    }
}

/// The checkpoint of the org's paused download, which must exist.
async fn checkpoint(w: &World) -> DownloadCheckpoint {
    w.store
        .get_checkpoint(&w.org)
        .await
        .unwrap()
        .expect("a checkpoint")
}

async fn stored_ids(w: &World, removed: bool) -> BTreeSet<String> {
    w.store
        .list_members(&w.org)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.is_removed() == removed)
        .map(|m| m.member_id.to_string())
        .collect()
}

fn truth(w: &World) -> BTreeSet<String> {
    w.control
        .members(&w.org_str())
        .into_iter()
        .map(|m| m.id)
        .collect()
}

#[tokio::test]
async fn a_paused_download_resumes_where_it_stopped_and_ends_exact() {
    let w = world(1_050).await;
    let first = jobs::download_org_until(&w.deps, &w.org, pages(4))
        .await
        .unwrap();
    let DownloadOutcome::Paused(p) = first else {
        panic!("4 of 11 pages must pause: {first:?}")
    };
    assert_eq!(p.pages_done, 4);
    assert_eq!(stored_ids(&w, false).await.len(), 400);
    let cp = checkpoint(&w).await;
    assert!(cp.cursor.is_some());

    let before = w.control.counters().get("members");
    let second = jobs::download_org_until(&w.deps, &w.org, pages(4))
        .await
        .unwrap();
    assert!(
        matches!(second, DownloadOutcome::Paused(ref p) if p.pages_done == 8),
        "{second:?}"
    );
    let DownloadOutcome::Complete(done) = jobs::download_org_until(&w.deps, &w.org, pages(4))
        .await
        .unwrap()
    else {
        panic!("the third call finishes the 11 pages")
    };
    assert_eq!(
        w.control.counters().get("members") - before,
        7,
        "no page fetched twice"
    );
    assert_eq!(done.members_seen, 1_050);
    assert_eq!(done.new, 1_050);
    assert_eq!(done.pages, 11);
    assert_eq!(stored_ids(&w, false).await, truth(&w));
    assert!(
        w.store.get_checkpoint(&w.org).await.unwrap().is_none(),
        "a complete run clears its checkpoint"
    );
    assert!(w.store.latest_snapshot(&w.org).await.unwrap().is_some());
}

#[tokio::test]
async fn removals_on_both_sides_of_a_pause_are_detected_and_nobody_else_is_removed() {
    let w = world(600).await;
    jobs::download_org(&w.deps, &w.org).await.unwrap();
    let ids: Vec<String> = truth(&w).into_iter().collect();
    let (early, late) = (ids[50].clone(), ids[550].clone());
    assert!(w.control.remove_member(&w.org_str(), &early));
    assert!(w.control.remove_member(&w.org_str(), &late));

    let mut calls = 0;
    let done = loop {
        calls += 1;
        assert!(calls <= 10, "the run must finish");
        if let DownloadOutcome::Complete(s) = jobs::download_org_until(&w.deps, &w.org, pages(2))
            .await
            .unwrap()
        {
            break s;
        }
    };
    assert!(calls >= 3);
    assert_eq!(done.removed, 2);
    let removed = stored_ids(&w, true).await;
    assert_eq!(removed, BTreeSet::from([early, late]));
    assert_eq!(stored_ids(&w, false).await, truth(&w));
    assert_eq!(done.unchanged, 598);
}

#[tokio::test]
async fn a_failure_half_way_keeps_a_checkpoint_and_the_next_run_finishes() {
    let w = world(700).await;
    // Three pages, then Miro fails every call: the run errs but keeps what it did.
    let DownloadOutcome::Paused(_) = jobs::download_org_until(&w.deps, &w.org, pages(3))
        .await
        .unwrap()
    else {
        panic!("pauses after three pages")
    };
    w.control.set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let err = jobs::download_org(&w.deps, &w.org).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(checkpoint(&w).await.pages_done, 3);
    assert!(
        w.store.latest_snapshot(&w.org).await.unwrap().is_none(),
        "no snapshot from an incomplete listing"
    );

    w.control.set_faults(FaultConfig::default());
    let done = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(done.members_seen, 700);
    assert_eq!(
        done.removed, 0,
        "an interrupted run never concludes removals from a partial listing"
    );
    assert_eq!(stored_ids(&w, false).await, truth(&w));
}

#[tokio::test]
async fn a_deadline_already_past_pauses_before_any_page() {
    let w = world(150).await;
    let out =
        jobs::download_org_until(&w.deps, &w.org, StopAt::deadline(std::time::Instant::now()))
            .await
            .unwrap();
    assert!(
        matches!(out, DownloadOutcome::Paused(ref p) if p.pages_done == 0),
        "{out:?}"
    );
    assert_eq!(w.control.counters().get("members"), 0);
    let done = jobs::download_org(&w.deps, &w.org).await.unwrap();
    assert_eq!(done.members_seen, 150);
}
