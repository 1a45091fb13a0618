//! A scheduled run where an org failed or needs a person names those orgs in its result and counts them in the
//! metrics the template's alarms watch. Real event JSON (the scheduled event to the dispatcher, SQS events to the
//! download workers), the Miro sandbox, the local AWS API (moto).

use download_subscriptions::{Action, DownloadResponse, FUNCTION, Status, run_metrics};
use miro_sam_core::domain::OrgId;
use miro_sam_lambda::env::LAMBDA_FUNCTION_NAME;
use miro_sam_lambda::metrics::{DIMENSION, ORGS_FAILED, ORGS_NEEDING_ACTION};
use miro_sam_tests::{World, WorldOptions, live_policy, world};

async fn three_orgs() -> (World, OrgId, OrgId) {
    let w = world(WorldOptions {
        members: 60,
        extra_orgs: 2,
        // As Lambda sets it for the deployed function.
        env: vec![(LAMBDA_FUNCTION_NAME, "prod-download-subscriptions".into())],
        ..Default::default()
    })
    .await;
    let ids = w.control.org_ids();
    let (second, third) = (
        OrgId::parse(&ids[1]).unwrap(),
        OrgId::parse(&ids[2]).unwrap(),
    );
    for org in [&w.org, &second, &third] {
        w.connect_directly(org, live_policy()).await;
    }
    (w, second, third)
}

/// Removes the org's SCIM token the way an operator could: the secret deleted outright, or scheduled for deletion.
async fn remove_scim_token(w: &World, org: &OrgId, at_once: bool) {
    w.clients
        .secrets
        .delete_secret()
        .secret_id(w.rt.adapters.tokens.scim_secret_name(org))
        .set_force_delete_without_recovery(at_once.then_some(true))
        .set_recovery_window_in_days((!at_once).then_some(7))
        .send()
        .await
        .expect("secret deleted");
}

/// A value of the EMF document the run emits, checked to be declared and to carry the deployed function's name.
fn metric(w: &World, run: &DownloadResponse, name: &str) -> f64 {
    let doc = run_metrics(w.rt.settings.metrics_function(FUNCTION), run, 0, 1).to_json(0);
    assert_eq!(doc[DIMENSION], "prod-download-subscriptions", "{doc}");
    let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["Name"] == name);
    assert!(
        declared,
        "{name} is not declared in the EMF document: {doc}"
    );
    doc[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} has no value: {doc}"))
}

#[tokio::test]
async fn a_failed_org_and_an_org_without_its_scim_token_are_named_and_counted() {
    let (w, no_scim, healthy) = three_orgs().await;
    w.control.revoke_all_tokens(w.org.as_str());
    remove_scim_token(&w, &no_scim, true).await;

    // The schedule's dispatcher, then one worker per org (the download queue).
    let (run, _) = w.daily_run().await;

    assert_eq!(
        (run.done, run.failed, run.needs_action),
        (2, 1, 2),
        "{run:?}"
    );
    // Which failed, and why.
    assert_eq!(run.failed_orgs.len(), 1, "{run:?}");
    assert_eq!(run.failed_orgs[0].org_id, w.org);
    assert!(!run.failed_orgs[0].retryable);
    assert!(
        run.failed_orgs[0]
            .error
            .to_lowercase()
            .contains("reconnect"),
        "{run:?}"
    );
    // Which need a person, and what they must do.
    let actions: Vec<(OrgId, Action)> = run
        .action_needed
        .iter()
        .map(|a| (a.org_id.clone(), a.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            (w.org.clone(), Action::Reconnect),
            (no_scim.clone(), Action::StoreScimToken)
        ]
    );
    let scim = &run.action_needed[1];
    assert!(
        scim.what_to_do
            .contains(&format!("miro-sam aws scim-token --org {no_scim}")),
        "{scim:?}"
    );

    // The org without a SCIM token was downloaded and planned, but nothing of it was queued.
    let o = run.orgs.iter().find(|o| o.org_id == no_scim).unwrap();
    assert_eq!(o.status, Status::Done);
    assert!(o.candidates > 0 && o.enqueued == 0, "{o:?}");
    assert!(
        o.not_queued_because
            .as_deref()
            .unwrap()
            .contains("SCIM token"),
        "{o:?}"
    );
    let fine = run.orgs.iter().find(|o| o.org_id == healthy).unwrap();
    assert!(!fine.needs_action && fine.enqueued == fine.candidates && fine.enqueued > 0);
    let queued: usize = w
        .drain_queue()
        .await
        .iter()
        .map(|b| b["Records"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        queued as u64, fine.enqueued,
        "only the healthy org's reclaims are queued"
    );

    // The metrics the alarms watch.
    assert_eq!(metric(&w, &run, ORGS_FAILED), 1.0);
    assert_eq!(metric(&w, &run, ORGS_NEEDING_ACTION), 2.0);

    // The result JSON a person reads names them too.
    let json = serde_json::to_value(&run).unwrap();
    assert_eq!(json["failed_orgs"][0]["org_id"], w.org.as_str());
    assert_eq!(json["action_needed"][0]["action"], "reconnect");
    assert_eq!(json["action_needed"][1]["org_id"], no_scim.as_str());
    assert_eq!(json["action_needed"][1]["action"], "store_scim_token");
    assert_eq!(json["needs_action"], 2);
}

#[tokio::test]
async fn a_clean_run_sends_zeros_so_the_alarms_return_to_ok() {
    let (w, _, _) = three_orgs().await;
    // The schedule's dispatcher, then one worker per org (the download queue).
    let (run, _) = w.daily_run().await;
    assert_eq!(
        (run.done, run.failed, run.needs_action),
        (3, 0, 0),
        "{run:?}"
    );
    assert!(run.failed_orgs.is_empty() && run.action_needed.is_empty());
    assert_eq!(metric(&w, &run, ORGS_FAILED), 0.0);
    assert_eq!(metric(&w, &run, ORGS_NEEDING_ACTION), 0.0);
}

#[tokio::test]
async fn a_scim_secret_scheduled_for_deletion_is_a_missing_token() {
    let (w, no_scim, _) = three_orgs().await;
    remove_scim_token(&w, &no_scim, false).await;
    let run = download_subscriptions::handle(
        &w.rt,
        "req-1",
        serde_json::json!({ "org_id": no_scim.to_string() }),
        None,
    )
    .await
    .unwrap();
    let o = &run.orgs[0];
    assert_eq!(o.action, Some(Action::StoreScimToken), "{o:?}");
    assert_eq!(o.enqueued, 0);
    assert!(w.drain_queue().await.is_empty());
    assert_eq!(metric(&w, &run, ORGS_NEEDING_ACTION), 1.0);
}

#[tokio::test]
async fn a_dry_run_org_without_a_scim_token_needs_nobody() {
    let (w, no_scim, _) = three_orgs().await;
    let dry = miro_sam_core::policy::Policy {
        dry_run: true,
        ..live_policy()
    };
    miro_sam_core::jobs::set_policy(
        w.rt.deps.store.as_ref(),
        &no_scim,
        &dry,
        "test",
        w.rt.deps.clock.now(),
    )
    .await
    .unwrap();
    remove_scim_token(&w, &no_scim, true).await;
    // The schedule's dispatcher, then one worker per org (the download queue).
    let (run, _) = w.daily_run().await;
    assert_eq!(
        (run.done, run.failed, run.needs_action),
        (3, 0, 0),
        "{run:?}"
    );
    let o = run.orgs.iter().find(|o| o.org_id == no_scim).unwrap();
    assert!(o.dry_run && o.candidates > 0 && !o.needs_action, "{o:?}");
}
