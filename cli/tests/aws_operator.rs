//! The deployment's kill switch from the operator CLI (`--features aws`), against the local AWS API: `aws pause`
//! writes the org's pause item where the reclaim worker reads it, `aws resume` removes it, both audited.
//! `scripts/test.sh` runs this file with the feature on.
#![cfg(feature = "aws")]

mod common;

use miro_sam_aws::{AwsClients, DynamoStore};
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use miro_sam_core::ports::{AuditStore, OrgStore};

fn aws_endpoint() -> String {
    std::env::var("MIRO_SAM_TEST_AWS_ENDPOINT").expect(
        "MIRO_SAM_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test.sh, which starts the local AWS API",
    )
}

fn miro_sam(table: &str, args: &[&str]) -> (i32, String, String) {
    common::miro_sam(
        args,
        &[
            ("AWS_ENDPOINT_URL", aws_endpoint()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("MIRO_SAM_TABLE_NAME", table.into()),
            ("MIRO_SAM_SECRET_PREFIX", "miro-sam/cli-test".into()),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_pause_and_resume_switch_the_deployments_kill_switch() {
    let table = format!("miro-sam-cli-{}", uuid::Uuid::new_v4().simple());
    let t = table.clone();
    let (code, _, err) =
        tokio::task::spawn_blocking(move || miro_sam(&t, &["aws", "init-local", "--table", &t]))
            .await
            .unwrap();
    assert_eq!(code, 0, "{err}");

    // The SDK reads the local AWS API's address and test credentials from the environment scripts/test.sh sets.
    let clients = AwsClients::new(&miro_sam_aws::sdk::load().await);
    let store = DynamoStore::new(clients.dynamodb, &table);
    let org = OrgId::parse("3074457345821141000").unwrap();
    store
        .put_org(&RegisteredOrg {
            id: org.clone(),
            name: "Acme".into(),
            connected_at: chrono::Utc::now(),
        })
        .await
        .unwrap();

    let t = table.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        miro_sam(
            &t,
            &[
                "aws",
                "pause",
                "--org",
                "3074457345821141000",
                "--reason",
                "board review",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("paused"), "{out}");
    let p = store
        .get_pause(&org)
        .await
        .unwrap()
        .expect("the pause item");
    assert_eq!(p.reason, "board review");
    assert!(
        p.paused_by.starts_with("miro-sam pause (by "),
        "{}",
        p.paused_by
    );

    let t = table.clone();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        miro_sam(&t, &["aws", "pause", "--org", "3074457345821149999"])
    })
    .await
    .unwrap();
    assert_ne!(
        code, 0,
        "an org that is not connected cannot be paused by a typo"
    );
    assert!(err.contains("not connected"), "{err}");

    let t = table.clone();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        miro_sam(&t, &["aws", "resume", "--org", "3074457345821141000"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(store.get_pause(&org).await.unwrap(), None);
    let kinds: Vec<_> = store
        .list_audit(&org)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(kinds, vec!["org_paused", "org_resumed"]);
}
