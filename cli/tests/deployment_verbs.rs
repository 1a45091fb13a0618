//! The verbs on a deployment (`--features aws`): the binary run with `--store aws` and the environment of a local
//! deployment (a table, a reclaim queue and secrets on the local AWS API, moto), next to the same verbs on the
//! embedded store, both holding the same sandbox org downloaded the same way. The two stores give the same answers:
//! the same plan, exactly the approved selection queued (on SQS, on the SQLite queue), the same exemptions and audit
//! entries with the operator as actor. On the deployment, `reactivate` queues one versioned reactivate message, and
//! the errors for a missing table, a missing variable or a local-only verb say what to do.
//! `scripts/test.sh` runs this with the local AWS API (the test kit enables the feature in the workspace run).
#![cfg(feature = "aws")]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use common::org::LocalOrg;
use miro_sam_aws::{AwsClients, AwsConfig};
use miro_sam_core::audit::AuditEntry;
use miro_sam_core::domain::MemberId;
use miro_sam_core::ports::{
    AuditStore, MemberStore, OrgStore, PlanStore, ReclaimRequest, SubscriptionStore, TokenStore,
    WorkMessage,
};

fn aws_endpoint() -> String {
    std::env::var("MIRO_SAM_TEST_AWS_ENDPOINT").expect(
        "MIRO_SAM_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test.sh, which starts the local AWS API",
    )
}

/// The operator the audit entries must name (`miro-sam VERB (by tester)`).
const USER: &str = "tester";

/// One sandbox org, downloaded into a SQLite data directory and into a deployment's table.
struct Stores {
    /// The sandbox and the SQLite data directory.
    local: LocalOrg,
    clients: AwsClients,
    aws: AwsConfig,
    dynamo: miro_sam_aws::DynamoStore,
}

impl Stores {
    async fn new() -> Stores {
        let local = LocalOrg::start(60).await;
        let client = miro_sam_testkit::world::client_for(&local.sandbox);

        // The deployment: what `sam deploy` creates, here on the local AWS API.
        let clients = AwsClients::new(&miro_sam_aws::sdk::load().await);
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("miro-sam-cli-{suffix}");
        miro_sam_aws::table::create_table(&clients.dynamodb, &table)
            .await
            .unwrap();
        let queue_url = clients
            .sqs
            .create_queue()
            .queue_name(format!("miro-sam-cli-reclaim-{suffix}"))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let aws = AwsConfig {
            table_name: table,
            secret_prefix: format!("miro-sam/cli-{suffix}"),
            reclaim_queue_url: Some(queue_url),
            oauth_client_secret_name: None,
        };
        let adapters = miro_sam_aws::Adapters::from_clients(aws.clone(), clients.clone());

        let sqlite = &local.store;
        let stores: [(Arc<dyn SubscriptionStore>, Arc<dyn TokenStore>); 2] = [
            (Arc::new(sqlite.clone()), Arc::new(sqlite.clone())),
            (
                Arc::new(adapters.store.clone()),
                Arc::new(adapters.tokens.clone()),
            ),
        ];
        // Notices off: these verbs are about approving and undoing on a deployment; the notice gate they pass
        // through is tested in shared/store-sqlite/tests/notice_reclaim.rs and tests/tests/notices_aws.rs.
        let live = common::org::live_policy(0);
        for (store, tokens) in stores {
            let (control, org) = (&local.control, &local.org);
            common::org::connect_and_download(control, org, &client, store, tokens, &live).await;
        }
        Stores {
            local,
            dynamo: adapters.store.clone(),
            clients,
            aws,
        }
    }

    fn env(&self, aws: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![("USER", USER.to_owned())];
        env.extend(self.local.miro_env());
        if aws {
            env.extend([
                ("AWS_ENDPOINT_URL", aws_endpoint()),
                ("AWS_ACCESS_KEY_ID", "test".into()),
                ("AWS_SECRET_ACCESS_KEY", "test".into()),
                ("AWS_REGION", "us-east-1".into()),
                ("MIRO_SAM_TABLE_NAME", self.aws.table_name.clone()),
                ("MIRO_SAM_SECRET_PREFIX", self.aws.secret_prefix.clone()),
                (
                    "MIRO_SAM_RECLAIM_QUEUE_URL",
                    self.aws.reclaim_queue_url.clone().unwrap(),
                ),
            ]);
        } else {
            env.push((
                "MIRO_SAM_DATA_DIR",
                self.local.dir.path().display().to_string(),
            ));
        }
        env
    }

    /// [`Self::run`] of a verb that must succeed: its stdout.
    async fn ok(&self, aws: bool, args: &[&str]) -> String {
        let (code, out, err) = self.run(aws, args).await;
        assert_eq!(code, 0, "aws={aws}: {out}{err}");
        out
    }

    /// `miro-sam [--store aws] ARGS` with that store's environment; (exit code, stdout, stderr).
    async fn run(&self, aws: bool, args: &[&str]) -> (i32, String, String) {
        self.run_with(aws, args, &[]).await
    }

    /// As [`Self::run`], with variables changed (`""` removes one).
    async fn run_with(
        &self,
        aws: bool,
        args: &[&str],
        change: &[(&'static str, &str)],
    ) -> (i32, String, String) {
        let mut argv: Vec<String> = if aws {
            vec!["--store".into(), "aws".into()]
        } else {
            vec![]
        };
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut env = self.env(aws);
        for (k, v) in change {
            env.retain(|(name, _)| name != k);
            env.push((k, v.to_string()));
        }
        env.retain(|(_, v)| !v.is_empty());
        common::miro_sam_blocking(&argv, env).await
    }

    fn store(&self, aws: bool) -> &dyn SubscriptionStore {
        if aws { &self.dynamo } else { &self.local.store }
    }

    /// Everything on the deployment's reclaim queue (received and deleted).
    async fn drain_sqs(&self) -> Vec<WorkMessage> {
        let url = self.aws.reclaim_queue_url.clone().unwrap();
        let mut out = Vec::new();
        loop {
            let got = self
                .clients
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            if got.messages().is_empty() {
                return out;
            }
            for m in got.messages() {
                out.push(WorkMessage::from_json(m.body().unwrap()).unwrap());
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn members_of(requests: impl IntoIterator<Item = ReclaimRequest>) -> BTreeSet<MemberId> {
    requests.into_iter().map(|r| r.member_id).collect()
}

fn kinds(entries: &[AuditEntry]) -> Vec<&'static str> {
    let mut k: Vec<_> = entries.iter().map(|e| e.event.kind()).collect();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verbs_give_the_same_answers_on_both_stores() {
    let s = Stores::new().await;

    // plan: the same candidates from the same members and policy.
    let mut plans = Vec::new();
    for aws in [false, true] {
        let out = s.ok(aws, &["plan"]).await;
        let plan = s
            .store(aws)
            .latest_plan(&s.local.org)
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.contains(&format!("Plan {}", plan.plan_id)),
            "aws={aws}: {out}"
        );
        if aws {
            assert!(out.contains("miro-sam --store aws approve"), "{out}");
        }
        plans.push(plan);
    }
    let candidates = |i: usize| -> BTreeSet<MemberId> {
        plans[i]
            .candidates
            .iter()
            .map(|c| c.member_id.clone())
            .collect()
    };
    assert!(candidates(0).len() >= 3, "{:?}", plans[0].candidates);
    assert_eq!(candidates(0), candidates(1), "the same plan on both stores");

    // report: the same seats and candidates.
    let mut reports = Vec::new();
    for aws in [false, true] {
        let out = s.ok(aws, &["report", "--format", "json"]).await;
        let r: serde_json::Value = serde_json::from_str(&out).unwrap();
        reports.push((
            r["seats"].clone(),
            r["candidates"].as_array().unwrap().len(),
        ));
    }
    assert!(!reports[0].0.is_null());
    assert_eq!(reports[0], reports[1]);

    // The members export (the console's columns) and the policy: the same rows, the same JSON.
    let mut exports = Vec::new();
    for aws in [false, true] {
        let out_dir = s.local.dir.path().join(format!("report-{aws}"));
        s.ok(
            aws,
            &[
                "report",
                "--format",
                "csv",
                "--out",
                out_dir.to_str().unwrap(),
            ],
        )
        .await;
        // Everything but the sync time, which is when each store downloaded.
        let rows: Vec<Vec<String>> = csv_rows(&out_dir.join("members.csv"))
            .into_iter()
            .map(|mut r| {
                r.pop();
                r
            })
            .collect();
        let policy = s.ok(aws, &["policy", "show"]).await;
        exports.push((rows, policy));
    }
    assert_eq!(exports[0].0[0][..2], ["Id", "Username"]);
    let stored = s
        .local
        .store
        .list_members(&s.local.org)
        .await
        .unwrap()
        .len();
    assert_eq!(exports[0].0.len(), stored + 1, "a header and every member");
    assert_eq!(
        exports[0], exports[1],
        "the same members and policy on both stores"
    );

    // approve a selection: exactly it is queued, on the SQLite queue and on SQS.
    let chosen: Vec<String> = candidates(0)
        .iter()
        .take(2)
        .map(|m| m.to_string())
        .collect();
    for (aws, plan) in [(false, &plans[0]), (true, &plans[1])] {
        let plan_id = plan.plan_id.to_string();
        let out = s
            .ok(
                aws,
                &[
                    "approve", &plan_id, "--member", &chosen[0], "--member", &chosen[1],
                ],
            )
            .await;
        assert!(out.contains("Approved: 2 queued"), "aws={aws}: {out}");
    }
    let local: Vec<ReclaimRequest> = s.local.queued_reclaims().await;
    let sqs: Vec<ReclaimRequest> = s
        .drain_sqs()
        .await
        .into_iter()
        .map(|m| match m {
            WorkMessage::Reclaim(r) => r,
            other => panic!("only reclaims were approved: {other:?}"),
        })
        .collect();
    let expected: BTreeSet<MemberId> = chosen.iter().map(|m| MemberId::parse(m).unwrap()).collect();
    assert_eq!(members_of(local.clone()), expected);
    assert_eq!(sqs.len(), 2, "{sqs:?}");
    assert_eq!(members_of(sqs.clone()), expected);
    assert!(sqs.iter().all(|r| r.plan_id == plans[1].plan_id));

    // exemptions: added, listed alike, removed.
    for aws in [false, true] {
        let out = s
            .ok(
                aws,
                &[
                    "exemptions",
                    "add",
                    "--domain",
                    "Contractors.Example.com",
                    "--reason",
                    "contract seats",
                    "--expires",
                    "2027-01-31",
                ],
            )
            .await;
        assert!(
            out.contains("saved as policy version 2"),
            "aws={aws}: {out}"
        );
        let (code, _, err) = s
            .run(
                aws,
                &[
                    "exemptions",
                    "add",
                    "--email",
                    "not-an-email",
                    "--reason",
                    "x",
                ],
            )
            .await;
        assert_eq!(code, 2, "aws={aws}: {err}");
        assert!(err.contains("not an email address"), "{err}");
    }
    let lists = [
        s.run(false, &["exemptions", "list"]).await,
        s.run(true, &["exemptions", "list"]).await,
    ];
    assert_eq!(lists[0].1, lists[1].1, "the same list on both stores");
    assert!(
        lists[0].1.contains("domain contractors.example.com")
            && lists[0].1.contains("contract seats")
            && lists[0].1.contains("until 2027-02-01T00:00:00+00:00"),
        "{}",
        lists[0].1
    );
    for aws in [false, true] {
        let out = s
            .ok(
                aws,
                &[
                    "exemptions",
                    "remove",
                    "--domain",
                    "contractors.example.com",
                ],
            )
            .await;
        assert!(out.contains("Removed 1 exemption"), "{out}");
        let latest = s
            .store(aws)
            .latest_policy(&s.local.org)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.version, 3);
        assert!(latest.policy.exemptions.is_empty());
    }

    // audit: the same entries on both, and the exports carry the operator.
    let logs = [
        s.local.store.list_audit(&s.local.org).await.unwrap(),
        s.dynamo.list_audit(&s.local.org).await.unwrap(),
    ];
    assert_eq!(kinds(&logs[0]), kinds(&logs[1]));
    for aws in [false, true] {
        let out = s
            .ok(
                aws,
                &["audit", "--action", "plan_approved", "--format", "json"],
            )
            .await;
        let entries: Vec<AuditEntry> = serde_json::from_str(&out).unwrap();
        assert_eq!(entries.len(), 1, "{out}");
        assert_eq!(entries[0].actor, format!("miro-sam approve (by {USER})"));

        let file = s.local.dir.path().join(format!("audit-{aws}.csv"));
        s.ok(
            aws,
            &[
                "audit",
                "--format",
                "csv",
                "--output",
                file.to_str().unwrap(),
            ],
        )
        .await;
        let rows = csv_rows(&file);
        assert_eq!(rows[0][..4], ["at", "id", "actor", "kind"]);
        assert_eq!(rows.len() - 1, logs[usize::from(aws)].len());
        let changes: Vec<&Vec<String>> = rows
            .iter()
            .filter(|r| r[3] == "policy_changed" && r[2].starts_with("miro-sam exemptions"))
            .collect();
        assert_eq!(changes.len(), 2, "add and remove, each by the operator");
        assert!(
            changes
                .iter()
                .all(|r| r[2] == format!("miro-sam exemptions (by {USER})"))
        );
    }
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    csv_text_rows(&std::fs::read_to_string(path).unwrap())
}

fn csv_text_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            // The test's own rows carry no quoted commas in the columns it reads (at, id, actor, kind).
            l.split(',').map(str::to_owned).collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_deployment_undo_is_queued_and_local_verbs_point_elsewhere() {
    let s = Stores::new().await;
    let member = s
        .dynamo
        .list_members(&s.local.org)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.active)
        .unwrap();

    let (code, out, err) = s
        .run(
            true,
            &[
                "reactivate",
                member.email.as_str(),
                "--reason",
                "back from leave",
            ],
        )
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Queued the reactivation"), "{out}");
    let messages = s.drain_sqs().await;
    assert_eq!(messages.len(), 1, "one reactivate message: {messages:?}");
    let WorkMessage::Reactivate(r) = &messages[0] else {
        panic!("a reactivate message: {messages:?}")
    };
    assert_eq!(r.member_id, member.member_id);
    assert_eq!(r.requested_by, format!("miro-sam reactivate (by {USER})"));
    assert_eq!(r.why, "back from leave");
    assert!(
        s.local.control.scim_log().is_empty(),
        "the operator's machine sent nothing to SCIM"
    );
    let requested = s
        .dynamo
        .list_audit(&s.local.org)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event.kind() == "reactivate_requested")
        .expect("the undo is audited");
    assert_eq!(requested.actor, r.requested_by);

    // pause on the deployment: an approval is refused with the reason; resume lifts it.
    let (code, _, err) = s.run(true, &["pause", "--reason", "true-up"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(s.dynamo.get_pause(&s.local.org).await.unwrap().is_some());
    let (code, _, err) = s.run(true, &["plan"]).await;
    assert_eq!(code, 0, "{err}");
    let plan = s
        .dynamo
        .latest_plan_header(&s.local.org)
        .await
        .unwrap()
        .unwrap();
    let (code, _, err) = s.run(true, &["approve", &plan.plan_id.to_string()]).await;
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("true-up"), "{err}");
    assert!(s.drain_sqs().await.is_empty());
    let (code, _, err) = s.run(true, &["resume"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.dynamo.get_pause(&s.local.org).await.unwrap(), None);

    // Verbs that act on this machine say what to use on a deployment.
    let (code, _, err) = s
        .run(true, &["apply", &plan.plan_id.to_string(), "--yes"])
        .await;
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("miro-sam --store aws approve"), "{err}");
    let (code, _, err) = s.run(true, &["sync"]).await;
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("download function"), "{err}");

    // Clear errors when the deployment is not where the environment says.
    let (code, _, err) = s
        .run_with(true, &["report"], &[("MIRO_SAM_TABLE_NAME", "")])
        .await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("MIRO_SAM_TABLE_NAME"), "{err}");
    let (code, _, err) = s
        .run_with(
            true,
            &["report"],
            &[("MIRO_SAM_TABLE_NAME", "miro-sam-no-such-table")],
        )
        .await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("miro-sam-no-such-table does not exist") && err.contains("TableName"),
        "{err}"
    );
    let (code, _, err) = s
        .run_with(
            true,
            &["approve", &plan.plan_id.to_string()],
            &[("MIRO_SAM_RECLAIM_QUEUE_URL", "")],
        )
        .await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("MIRO_SAM_RECLAIM_QUEUE_URL"), "{err}");
    let (code, _, err) = s
        .run(true, &["--org", "3074457345821149999", "audit"])
        .await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("not connected to the deployment's table"),
        "{err}"
    );
}
