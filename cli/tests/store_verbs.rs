//! The state verbs on the embedded store, the binary as an operator runs it: exemptions round-trip through policy
//! versions with the console's checks, `audit` filters by member, action and date and writes CSV and JSON that
//! carry the operator, `approve` queues exactly the selection, and `--store aws` without the AWS build says how to
//! get it.

mod common;

use std::collections::BTreeSet;

use chrono::Utc;
use miro_sam_core::audit::AuditEntry;
use miro_sam_core::domain::MemberId;
use miro_sam_core::ports::{AuditStore, OrgStore, PlanStore};

use common::org::LocalOrg as Local;

impl Local {
    /// A data directory holding one downloaded sandbox org under a live policy that needs approval.
    async fn new() -> Local {
        Local::downloaded(40, &common::org::live_policy(0)).await
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let env = vec![
            ("MIRO_SAM_DATA_DIR", self.dir.path().display().to_string()),
            ("USER", "tester".to_owned()),
        ];
        common::miro_sam_blocking(args, env).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemptions_round_trip_as_policy_versions() {
    let l = Local::new().await;
    let (code, out, err) = l
        .run(&[
            "exemptions",
            "add",
            "--email",
            "CEO@Example.com",
            "--reason",
            "board member",
            "--expires",
            "2030-12-31",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("email ceo@example.com"), "{out}");
    let (code, _, err) = l
        .run(&[
            "exemptions",
            "add",
            "--admin-role",
            "Content Admin",
            "--reason",
            "keeps boards",
        ])
        .await;
    assert_eq!(code, 0, "{err}");

    let p = l.store.latest_policy(&l.org).await.unwrap().unwrap();
    assert_eq!(p.version, 3);
    assert_eq!(p.created_by, "miro-sam exemptions (by tester)");
    assert_eq!(p.policy.exemptions.len(), 2);
    assert_eq!(
        p.policy.exemptions[0].expires_at,
        Some("2031-01-01T00:00:00Z".parse().unwrap()),
        "through the whole last day"
    );
    let (code, out, _) = l.run(&["exemptions", "list"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("Policy version 3 of org"), "{out}");
    assert!(
        out.contains(" 1. email ceo@example.com")
            && out.contains(" 2. admin role \"Content Admin\""),
        "{out}"
    );

    // The console's checks: a reason, a date, exactly one of email, domain, admin role.
    for (args, says) in [
        (
            vec!["--email", "a@example.com", "--reason", " "],
            "needs a reason",
        ),
        (
            vec!["--domain", "localhost", "--reason", "x"],
            "not an email domain",
        ),
        (
            vec![
                "--email",
                "a@example.com",
                "--reason",
                "x",
                "--expires",
                "next week",
            ],
            "2027-01-31",
        ),
        (
            vec![
                "--email",
                "a@example.com",
                "--domain",
                "example.com",
                "--reason",
                "x",
            ],
            "cannot be used with",
        ),
    ] {
        let mut argv = vec!["exemptions", "add"];
        argv.extend(args);
        let (code, _, err) = l.run(&argv).await;
        assert_eq!(code, 2, "{argv:?}: {err}");
        assert!(err.contains(says), "{argv:?}: {err}");
    }
    assert_eq!(
        l.store
            .latest_policy(&l.org)
            .await
            .unwrap()
            .unwrap()
            .version,
        3,
        "nothing saved"
    );

    let (code, out, err) = l
        .run(&["exemptions", "remove", "--admin-role", "content admin"])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Removed 1 exemption"), "{out}");
    let (code, _, err) = l
        .run(&["exemptions", "remove", "--admin-role", "content admin"])
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no exemption for admin_role"), "{err}");
    let p = l.store.latest_policy(&l.org).await.unwrap().unwrap();
    assert_eq!(p.version, 4);
    assert_eq!(p.policy.exemptions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_queues_the_selection_and_audit_filters_and_exports_it() {
    let l = Local::new().await;
    let (code, _, err) = l.run(&["plan"]).await;
    assert_eq!(code, 0, "{err}");
    let plan = l.store.latest_plan(&l.org).await.unwrap().unwrap();
    let chosen = plan.candidates[0].member_id.to_string();
    let (code, out, err) = l
        .run(&["approve", &plan.plan_id.to_string(), "--member", &chosen])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Approved: 1 queued"), "{out}");
    let queued: BTreeSet<MemberId> = l
        .queued_reclaims()
        .await
        .into_iter()
        .map(|r| r.member_id)
        .collect();
    assert_eq!(queued, BTreeSet::from([MemberId::parse(&chosen).unwrap()]));
    let other = plan.candidates[1].member_id.to_string();
    let (code, _, err) = l
        .run(&[
            "reject",
            &plan.plan_id.to_string(),
            "--member",
            &other,
            "--reason",
            "on leave",
        ])
        .await;
    assert_eq!(code, 0, "{err}");

    // By action, as JSON: the approval, by the operator.
    let (code, out, err) = l
        .run(&["audit", "--action", "plan_approved", "--format", "json"])
        .await;
    assert_eq!(code, 0, "{err}");
    let entries: Vec<AuditEntry> = serde_json::from_str(&out).unwrap();
    assert_eq!(entries.len(), 1, "{out}");
    assert_eq!(entries[0].actor, "miro-sam approve (by tester)");

    // By member (id or email): the rejection only.
    let email = plan.candidates[1].email.to_string();
    for who in [other.as_str(), email.as_str()] {
        let (code, out, err) = l.run(&["audit", "--member", who, "--format", "json"]).await;
        assert_eq!(code, 0, "{err}");
        let entries: Vec<AuditEntry> = serde_json::from_str(&out).unwrap();
        assert_eq!(
            entries.iter().map(|e| e.event.kind()).collect::<Vec<_>>(),
            ["candidate_rejected"],
            "{who}"
        );
    }

    // By date: everything is from today; nothing from before yesterday's end.
    let today = Utc::now().date_naive().to_string();
    let yesterday = (Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let all = l.store.list_audit(&l.org).await.unwrap();
    let file = l.dir.path().join("audit.csv");
    let (code, _, err) = l
        .run(&[
            "audit",
            "--since",
            &today,
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("wrote {} audit entries", all.len())),
        "{err}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), all.len() + 1, "{text}");
    assert!(text.starts_with("at,id,actor,kind,member_id,email,details,org_id\n"));
    assert!(
        text.contains(",miro-sam reject (by tester),candidate_rejected,"),
        "{text}"
    );
    let (code, out, _) = l.run(&["audit", "--until", &yesterday]).await;
    assert_eq!(code, 0);
    assert!(out.contains("(no entries match)"), "{out}");
    let (code, out, _) = l.run(&["audit", "--action", "candidate_rejected"]).await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.contains("miro-sam reject (by tester)") && l.contains(&email)),
        "{out}"
    );

    // Filters that cannot be right are refused with the choices.
    let (code, _, err) = l.run(&["audit", "--action", "deleted"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("plan_approved"), "{err}");
    let (code, _, err) = l.run(&["audit", "--since", "30.11.2026"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("not a date"), "{err}");
    let (code, _, err) = l.run(&["audit", "--member", "nobody@example.com"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("no member with the email"), "{err}");
}

#[test]
fn local_only_verbs_refuse_a_deployment_and_the_aws_store_needs_its_build() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("MIRO_SAM_DATA_DIR", dir.path().display().to_string())];
    let (code, _, err) = common::miro_sam(
        &[
            "--store",
            "aws",
            "apply",
            "6f1c2b9e-0d5e-4c1a-9a7e-2f4b8c3d1e0f",
            "--yes",
        ],
        &env,
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("approve"), "{err}");
    let (code, _, err) = common::miro_sam(&["--store", "aws", "demo"], &env);
    assert_eq!(code, 2, "{err}");
    if cfg!(not(feature = "sandbox")) {
        // A lean build still knows `demo` and says which feature it needs.
        let (code, _, err) = common::miro_sam(&["demo", "--members", "5"], &env);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("feature `sandbox`"), "{err}");
    }
    if cfg!(not(feature = "aws")) {
        let (code, _, err) = common::miro_sam(&["audit"], &[("MIRO_SAM_STORE", "aws".to_owned())]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--features aws"), "{err}");
    }
}
