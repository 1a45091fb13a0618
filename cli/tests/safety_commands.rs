//! The safety commands as an operator uses them, the binary against a sandboxed Miro: `apply` on a paused org exits
//! 5 and sends nothing, and after `resume` the same plan goes through; `reactivate` holds the member out of the next
//! plan, which says until when.

mod common;

use miro_client::SecretString;
use miro_sam_cli::env;
use miro_sam_core::ports::{AuditStore, OrgStore, PlanStore, TokenStore};
use miro_sam_sqlite::SqliteStore;

use common::org::LocalOrg as Operator;

impl Operator {
    /// A data directory with one connected sandbox org (tokens and SCIM token stored) under a live policy.
    async fn new() -> Operator {
        let op = Operator::start(120).await;
        let (store, org) = (&op.store, &op.org);
        common::org::connect(&op.control, org, store, store, &common::org::live_policy(0)).await;
        let scim = SecretString::from(op.control.scim_token(org.as_str()));
        store.put_scim_token(org, &scim).await.unwrap();
        op
    }

    /// Runs the binary on a blocking thread (the sandbox keeps serving on the runtime meanwhile).
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut env = self.miro_env();
        env.push((env::DATA_DIR, self.dir.path().display().to_string()));
        common::miro_sam_blocking(args, env).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_on_a_paused_org_exits_5_and_sends_nothing() {
    let op = Operator::new().await;
    let (code, _, err) = op.run(&["sync"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = op.run(&["plan"]).await;
    assert_eq!(code, 0, "{err}");
    let store = SqliteStore::open(op.dir.path().join("miro-sam.sqlite3")).unwrap();
    let org = store.list_orgs().await.unwrap()[0].id.clone();
    let plan = store
        .latest_plan(&org)
        .await
        .unwrap()
        .expect("a stored plan");
    assert!(!plan.candidates.is_empty(), "{out}");
    let plan_id = plan.plan_id.to_string();

    let (code, out, err) = op
        .run(&["pause", "--reason", "license true-up in progress"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("paused"), "{out}");

    let (code, _, err) = op.run(&["apply", &plan_id, "--yes"]).await;
    assert_eq!(code, 5, "refused on purpose: {err}");
    assert!(err.contains("license true-up in progress"), "{err}");
    assert!(err.contains("miro-sam resume"), "{err}");
    assert!(op.control.scim_log().is_empty(), "nothing was sent");
    assert_eq!(op.control.counters().get("scim_patch_user"), 0);

    let (code, out, err) = op.run(&["resume"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resumed"), "{out}");
    let (code, out, err) = op.run(&["apply", &plan_id, "--yes"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(op.control.scim_log().len(), plan.candidates.len());

    let audit = store.list_audit(&org).await.unwrap();
    let paused = audit
        .iter()
        .find(|e| e.event.kind() == "org_paused")
        .expect("the pause is audited");
    assert!(
        paused.actor.starts_with("miro-sam pause (by "),
        "{}",
        paused.actor
    );
    assert!(audit.iter().any(|e| e.event.kind() == "org_resumed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactivate_holds_the_member_out_of_the_next_plan() {
    let op = Operator::new().await;
    assert_eq!(op.run(&["sync"]).await.0, 0);
    assert_eq!(op.run(&["plan"]).await.0, 0);
    let store = SqliteStore::open(op.dir.path().join("miro-sam.sqlite3")).unwrap();
    let org = store.list_orgs().await.unwrap()[0].id.clone();
    let plan = store.latest_plan(&org).await.unwrap().unwrap();
    let (code, out, err) = op.run(&["apply", &plan.plan_id.to_string(), "--yes"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let email = plan.candidates[0].email.to_string();

    let (code, out, err) = op
        .run(&["reactivate", &email, "--reason", "back from leave"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Held until"), "{out}");
    assert_eq!(op.run(&["sync"]).await.0, 0);
    let (code, out, err) = op.run(&["plan"]).await;
    assert_eq!(code, 0, "{err}");
    let held = out
        .lines()
        .find(|l| l.contains("held:") && l.contains(&email))
        .unwrap_or_else(|| panic!("the plan lists the held member: {out}"));
    assert!(
        held.contains("back from leave") && held.contains("held until"),
        "{held}"
    );
    let next = store.latest_plan(&org).await.unwrap().unwrap();
    assert!(next.candidates.iter().all(|c| c.email.as_str() != email));
}
