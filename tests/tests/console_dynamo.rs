//! The admin console over the deployment's stores: `miro_sam_console::router` with the ports the console
//! function wires at a cold start (`console_function::deps`: the DynamoDB table, the SQS reclaim queue, the
//! table's OAuth states, the SCIM-presence token store over Secrets Manager), served on a random 127.0.0.1 port
//! and driven over real HTTP by a browser with a cookie store, as an admin would: Sign in with Miro through the
//! sandbox, the overview, the plan, approve a selection and reject a candidate, the member page and its undo,
//! an exemption added and removed, pause and resume, the audit log and its exports. What the console queued is
//! received from the queue itself and carried out by the reclaim worker; what it stored is read from the table.
//!
//! The function itself (session key from Secrets Manager, Secure cookies under the HTTPS origin) is tested
//! through API Gateway events in functions/console/tests/handler.rs; the same pages over SQLite in
//! shared/console/tests.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use miro_sam_console::{ConsoleConfig, router};
use miro_sam_core::audit::AuditEvent;
use miro_sam_core::domain::{MemberId, PlanId};
use miro_sam_core::policy::{Approval, Policy};
use miro_sam_core::ports::{
    REACTIVATE_REQUEST_SCHEMA_VERSION, RECLAIM_REQUEST_SCHEMA_VERSION, WorkMessage,
};
use miro_sam_core::reclaim::ReclaimState;
use miro_sam_testkit::world::{audit_csv, csrf_of};
use miro_sam_tests::serve::Served;
use miro_sam_tests::*;
use secrecy::SecretBox;

/// A seat's price for the overview's savings: 10.00 USD a month.
const PRICE_MINOR: u64 = 1_000;

/// The console function's ports over the world's table, queue and secrets, with a config for plain HTTP on
/// loopback (the function's own config differs only in its HTTPS origin, Secure cookies and the session key's
/// source, all covered by handler.rs).
async fn serve(w: &World) -> Served {
    let deps =
        console_function::deps(&w.rt).expect("the console's ports over the world's adapters");
    miro_sam_tests::serve::serve(console_function::BASE_PATH, |origin| {
        let config = ConsoleConfig {
            base_path: console_function::BASE_PATH.to_owned(),
            public_url: origin,
            session_key: SecretBox::new(Box::new([42u8; 32])),
            secure_cookies: false,
            admin_emails: None,
            price_per_seat_month_minor: Some(PRICE_MINOR),
            currency: "USD".into(),
            local_login: false,
            keep_link_key: None,
        };
        router(config, deps)
    })
    .await
}

/// A browser: keeps cookies, follows redirects (the Miro client of the world installed the TLS provider).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Every `value` of the `member` checkboxes on the plan page (the candidates that can still be decided).
fn checkboxes(page: &str) -> Vec<String> {
    let marker = "name=\"member\" value=\"";
    page.match_indices(marker)
        .map(|(i, _)| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// Every item of the table, each as its attributes in name order, sorted: two scans are equal exactly when
/// nothing was written in between.
async fn table_items(w: &World) -> Vec<String> {
    let mut items = Vec::new();
    // The SDK's paginator follows LastEvaluatedKey until the whole table is read.
    let mut pages = w
        .clients
        .dynamodb
        .scan()
        .table_name(&w.rt.adapters.config.table_name)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let item = item.expect("scan the table");
        let sorted: BTreeMap<&String, &AttributeValue> = item.iter().collect();
        items.push(format!("{sorted:?}"));
    }
    items.sort();
    items
}

/// Everything on the reclaim queue, each message's body, as the reclaim worker would be handed it: the SQS
/// events of up to ten records, and the bodies parsed.
async fn received(w: &World) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let batches = w.drain_queue().await;
    let bodies = batches
        .iter()
        .flat_map(|b| b["Records"].as_array().unwrap().clone())
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).expect("a JSON body"))
        .collect();
    (batches, bodies)
}

fn active_in_miro(w: &World, member: &str) -> bool {
    w.control
        .members(w.org.as_str())
        .into_iter()
        .find(|m| m.id == member)
        .unwrap_or_else(|| panic!("member {member} is in the sandbox"))
        .active
}

#[tokio::test]
async fn an_admin_runs_the_org_from_the_console_over_dynamodb_and_sqs() {
    let w = world_of(80).await;
    let store = w.rt.deps.store.as_ref();

    // The org connects through the real code flow, so its stored grant names the admin who approved it.
    w.connect_through_consent(Policy {
        approval: Approval::Required,
        ..live_policy()
    })
    .await;
    let admin_id =
        w.rt.deps
            .tokens
            .get_tokens(&w.org)
            .await
            .unwrap()
            .user_id
            .expect("the grant names its user");
    let admin_email = w
        .control
        .members(w.org.as_str())
        .into_iter()
        .find(|m| m.id == admin_id)
        .expect("the connecting admin is a member")
        .email;
    let actor = format!("{admin_email} (console, Miro user {admin_id})");

    let c = serve(&w).await;
    let b = browser();
    let pages = c.pages(&b);
    let (status, page) = pages.get("/").await;
    assert_eq!(status, 401, "no session, no data: {page}");
    assert!(page.contains("Sign in with Miro"), "{page}");

    // Sign in with Miro: /login -> the sandbox's authorize -> the console's callback -> the overview.
    let r = b.get(format!("{}/login", c.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "sign-in lands on the overview");
    assert_eq!(r.url().path(), "/console/");
    let page = r.text().await.unwrap();
    assert!(page.contains("<h1>Overview</h1>"), "{page}");
    assert!(
        page.contains("No SCIM token is stored for this org"),
        "the console asks Secrets Manager whether the SCIM token exists: {page}"
    );
    assert!(page.contains("No complete download yet"), "{page}");
    let signed_in: Vec<_> = store
        .list_audit(&w.org)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            AuditEvent::SignedIn { user_id, email } => Some((e.actor, user_id, email)),
            _ => None,
        })
        .collect();
    assert_eq!(
        signed_in,
        vec![(actor.clone(), admin_id.clone(), admin_email.clone())],
        "the sign-in is in the table, with the admin's identity"
    );

    // The operator stores the SCIM token; the daily run (dispatcher and download worker) plans and, with
    // approval required, queues nothing. It runs after the sign-in: signing in as the connecting admin kept the
    // org's connection working.
    w.store_scim_token(&w.org).await;
    let (run, _) = w.daily_run().await;
    assert_eq!(run.orgs.len(), 1, "{run:?}");
    let o = &run.orgs[0];
    assert_eq!(o.enqueued, 0, "nothing is queued before an approval: {o:?}");
    let plan_id: PlanId = o.plan_id.expect("the run planned");
    let candidates = store
        .list_plan_candidates(plan_id, None, 1_000)
        .await
        .unwrap();
    assert!(candidates.len() >= 4, "the org yields candidates: {o:?}");
    assert!(received(&w).await.1.is_empty(), "the queue is empty");

    // Overview: the plan's candidates and what they cost.
    let (status, page) = pages.get("/").await;
    assert_eq!(status, 200);
    assert!(!page.contains("No SCIM token is stored"), "{page}");
    assert!(!page.contains("Could not read"), "{page}");
    assert!(page.contains("Last complete download ended"), "{page}");
    assert!(
        page.contains(&format!(
            "names <strong>{}</strong> candidates",
            candidates.len()
        )),
        "{page}"
    );
    let potential = PRICE_MINOR * candidates.len() as u64 / 100;
    assert!(
        page.contains(&format!("{potential}.00 USD a month")),
        "potential savings = candidates × price: {page}"
    );

    // The plan page lists every candidate as still open.
    let (status, page) = pages.get("/plans").await;
    assert_eq!(status, 200);
    assert!(page.contains(&plan_id.to_string()), "{page}");
    let open = checkboxes(&page);
    let in_plan: BTreeSet<String> = candidates.iter().map(|x| x.member_id.to_string()).collect();
    assert_eq!(
        open.iter().cloned().collect::<BTreeSet<_>>(),
        in_plan,
        "each candidate can be decided"
    );
    for x in &candidates {
        assert!(page.contains(x.email.as_str()), "{} listed", x.email);
    }
    let csrf = csrf_of(&page);
    let selection = format!("/plans/{plan_id}/selection");

    // A POST without the session's CSRF token (or with another one) is refused before any handler runs, and
    // the table is exactly as it was.
    let before = table_items(&w).await;
    assert!(
        before.iter().any(|i| i.contains(&plan_id.to_string())),
        "the scan sees the plan"
    );
    let wrong = "bm90IHRoZSB0b2tlbg";
    for (path, form) in [
        (
            selection.as_str(),
            vec![("action", "approve"), ("member", open[0].as_str())],
        ),
        (
            selection.as_str(),
            vec![
                ("csrf", wrong),
                ("action", "approve"),
                ("member", open[0].as_str()),
            ],
        ),
        (&format!("/plans/{plan_id}/approve"), vec![]),
        ("/pause", vec![("reason", "x")]),
        (
            &format!("/members/{}/reactivate", open[0]),
            vec![("why", "x")],
        ),
    ] {
        let (status, page) = pages.post(path, &form).await;
        assert_eq!(status, 403, "{path} {form:?}: {page}");
        assert!(page.contains("Form refused"), "{page}");
    }
    assert_eq!(
        table_items(&w).await,
        before,
        "a refused form wrote nothing"
    );
    assert!(received(&w).await.1.is_empty(), "and queued nothing");

    // Approve a selection of two: exactly those two reclaim messages, naming the admin.
    let (a, z) = (open[0].clone(), open[1].clone());
    let (status, page) = pages
        .post(
            &selection,
            &[
                ("csrf", &csrf),
                ("action", "approve"),
                ("member", &a),
                ("member", &z),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Approved 2 of the ticked candidates"),
        "{page}"
    );
    let (batches, bodies) = received(&w).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let mut reclaimed = BTreeSet::new();
    for body in &bodies {
        assert_eq!(body["schema_version"], RECLAIM_REQUEST_SCHEMA_VERSION);
        match WorkMessage::from_json(&body.to_string()).unwrap() {
            WorkMessage::Reclaim(r) => {
                assert_eq!(r.plan_id, plan_id);
                assert_eq!(r.org_id, w.org);
                assert_eq!(r.approved_by.as_deref(), Some(actor.as_str()));
                reclaimed.insert(r.member_id.to_string());
            }
            other => panic!("a reclaim message, got {other:?}"),
        }
    }
    assert_eq!(reclaimed, BTreeSet::from([a.clone(), z.clone()]));
    w.run_reclaims("worker", batches).await;
    assert!(!active_in_miro(&w, &a) && !active_in_miro(&w, &z));
    for m in [&a, &z] {
        let r = store
            .get_reclaim_record(plan_id, &MemberId::parse(m).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.state, ReclaimState::Done, "{m}");
    }

    // Reject a third: skipped in the table, nothing queued.
    let rejected = open[2].clone();
    let (status, page) = pages
        .post(
            &selection,
            &[
                ("csrf", &csrf),
                ("action", "reject"),
                ("why", "still onboarding"),
                ("member", &rejected),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Rejected 1 candidates"), "{page}");
    let r = store
        .get_reclaim_record(plan_id, &MemberId::parse(&rejected).unwrap())
        .await
        .unwrap()
        .expect("the rejection is recorded");
    assert_eq!(r.state, ReclaimState::Skipped);
    assert!(
        received(&w).await.1.is_empty(),
        "a rejection queues nothing"
    );
    let (_, page) = pages.get("/plans").await;
    let still_open: BTreeSet<String> = checkboxes(&page).into_iter().collect();
    let decided = BTreeSet::from([a.clone(), z.clone(), rejected.clone()]);
    assert_eq!(
        still_open,
        in_plan
            .difference(&decided)
            .cloned()
            .collect::<BTreeSet<_>>(),
        "the decided candidates can no longer be ticked"
    );

    // The member page and its undo: one versioned reactivate message, carried out by the worker.
    let (status, page) = pages.get(&format!("/members/{a}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Seat reclaimed"), "{page}");
    assert!(page.contains("Undo: reactivate this member"), "{page}");
    let why = "needs it for the audit";
    let (status, page) = pages
        .post(
            &format!("/members/{a}/reactivate"),
            &[("csrf", &csrf), ("why", why)],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let (batches, bodies) = received(&w).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["kind"], "reactivate");
    assert_eq!(
        bodies[0]["schema_version"],
        REACTIVATE_REQUEST_SCHEMA_VERSION
    );
    match WorkMessage::from_json(&bodies[0].to_string()).unwrap() {
        WorkMessage::Reactivate(r) => {
            assert_eq!(r.member_id.as_str(), a);
            assert_eq!(r.org_id, w.org);
            assert_eq!(r.why, why);
            assert_eq!(r.requested_by, actor);
        }
        other => panic!("a reactivate message, got {other:?}"),
    }
    let (_, page) = pages.get(&format!("/members/{a}")).await;
    assert!(page.contains("Undo requested"), "{page}");
    w.run_reclaims("worker", batches).await;
    assert!(active_in_miro(&w, &a), "the undo was carried out");
    assert!(!active_in_miro(&w, &z), "the other reclaim stands");

    // An exemption added and removed: each a new policy version in the table.
    let (_, page) = pages.get("/exemptions").await;
    let v1 = store.latest_policy(&w.org).await.unwrap().unwrap().version;
    let (status, page) = pages
        .post(
            "/exemptions/add",
            &[
                ("csrf", &csrf_of(&page)),
                ("version", &v1.to_string()),
                ("kind", "domain"),
                ("value", "contractors.example.com"),
                ("reason", "board"),
                ("expires", "2099-01-31"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let p = store.latest_policy(&w.org).await.unwrap().unwrap();
    assert_eq!(p.version, v1 + 1);
    assert_eq!(p.policy.exemptions.len(), 1);
    assert_eq!(p.policy.exemptions[0].reason, "board");
    assert_eq!(p.created_by, actor);
    let (_, page) = pages.get("/exemptions").await;
    assert!(page.contains("contractors.example.com"), "{page}");
    let (status, page) = pages
        .post(
            "/exemptions/remove",
            &[
                ("csrf", &csrf),
                ("version", &p.version.to_string()),
                ("index", "0"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let p = store.latest_policy(&w.org).await.unwrap().unwrap();
    assert_eq!(p.version, v1 + 2);
    assert!(p.policy.exemptions.is_empty());
    let (_, page) = pages.get("/exemptions").await;
    assert!(!page.contains("contractors.example.com"), "{page}");

    // Pause and resume.
    let (status, page) = pages
        .post("/pause", &[("csrf", &csrf), ("reason", "audit week")])
        .await;
    assert_eq!(status, 200, "{page}");
    let pause = store.get_pause(&w.org).await.unwrap().expect("paused");
    assert_eq!(pause.reason, "audit week");
    let (_, page) = pages.get("/").await;
    assert!(page.contains("Reclaims are paused"), "{page}");
    let (status, page) = pages.post("/resume", &[("csrf", &csrf)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(store.get_pause(&w.org).await.unwrap().is_none());
    let (_, page) = pages.get("/").await;
    assert!(!page.contains("Reclaims are paused"), "{page}");

    // Every console action is in the audit log with the admin's identity: the page, the CSV and the JSON.
    let console_actions = BTreeMap::from([
        ("signed_in", 1),
        ("plan_approved", 1),
        ("candidate_rejected", 1),
        ("reactivate_requested", 1),
        ("policy_changed", 2),
        ("org_paused", 1),
        ("org_resumed", 1),
    ]);
    for (kind, n) in &console_actions {
        let (status, page) = pages.get(&format!("/audit?kind={kind}")).await;
        assert_eq!(status, 200, "{kind}");
        assert_eq!(
            page.matches(&format!("<td>{actor}</td><td>{kind}</td>"))
                .count(),
            *n,
            "{kind} by the admin on the audit page: {page}"
        );
    }

    let (body, rows) = audit_csv(&b, &format!("{}/audit.csv", c.url)).await;
    let entries = store.list_audit(&w.org).await.unwrap();
    assert_eq!(rows.len(), entries.len(), "every entry of the table");
    let by_admin = |kinds: Vec<(String, String)>| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (who, kind) in kinds {
            if who == actor && console_actions.contains_key(kind.as_str()) {
                *counts.entry(kind).or_default() += 1;
            }
        }
        counts
    };
    let want: BTreeMap<String, usize> = console_actions
        .iter()
        .map(|(k, n)| (k.to_string(), *n))
        .collect();
    assert_eq!(
        by_admin(
            rows.iter()
                .map(|r| (r[2].to_owned(), r[3].to_owned()))
                .collect()
        ),
        want,
        "CSV: {body}"
    );

    let r = b.get(format!("{}/audit.json", c.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let json = json.as_array().expect("an array of entries");
    assert_eq!(json.len(), entries.len());
    assert_eq!(
        by_admin(
            json.iter()
                .map(|e| (
                    e["actor"].as_str().unwrap().to_owned(),
                    e["event"]["event"].as_str().unwrap().to_owned()
                ))
                .collect()
        ),
        want,
        "JSON: {json:?}"
    );
    let approval = json
        .iter()
        .find(|e| e["event"]["event"] == "plan_approved")
        .expect("the approval is exported");
    assert_eq!(approval["event"]["plan_id"], plan_id.to_string());
    assert_eq!(approval["event"]["queued"], 2);
    assert_eq!(approval["event"]["selection"], true);
}
