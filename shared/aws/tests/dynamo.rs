//! The DynamoDB store beyond the conformance suite: volume, write economy, the 400 KB item limit, concurrency,
//! the audit log and OAuth state items, against moto.

mod common;

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use common::counting::{CountedStore, counted_store};
use common::miro::world;
use miro_sam_aws::table::{GSI1, GSI2, TTL};
use miro_sam_aws::{DynamoStore, OAuthStateStore, SecretsTokenStore, StateTake};
use miro_sam_core::StoreError;
use miro_sam_core::audit::{AuditEntry, AuditEvent};
use miro_sam_core::contract::fixtures::{audit_entry, org, subscription, t0, versioned};
use miro_sam_core::domain::{AuditEntryId, Email, PlanId};
use miro_sam_core::jobs;
use miro_sam_core::plan::build_plan;
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{
    AuditStore, Clock, FixedClock, MemberStore, OrgStore, PlanStore, TokenStore,
};

#[tokio::test]
async fn download_of_10_000_members_then_an_unchanged_rerun_writes_no_member() {
    // The store's own client counts every request it sends; the token store has a separate one.
    let CountedStore {
        clients,
        table,
        store,
        requests,
    } = counted_store().await;
    let tokens = SecretsTokenStore::new(
        clients.secrets.clone(),
        clients.dynamodb.clone(),
        &table,
        &common::unique("t"),
    );
    let w = world(10_000, Arc::new(store.clone()), Arc::new(tokens)).await;

    let started = Instant::now();
    let first = jobs::download_org(&w.deps, &w.org)
        .await
        .expect("first download");
    let first_took = started.elapsed();
    assert_eq!(
        (first.members_seen, first.new, first.changed),
        (10_000, 10_000, 0)
    );
    assert_eq!(
        requests.get("BatchWriteItem"),
        400,
        "10 000 members in batches of 25: {:?}",
        requests.snapshot()
    );
    assert_eq!(store.write_stats().batch_items, 10_000);

    let started = Instant::now();
    let listed = store.list_members(&w.org).await.expect("list");
    let list_took = started.elapsed();
    let truth = w.control.members(w.org.as_str());
    assert_eq!(listed.len(), 10_000);
    assert_eq!(listed.len(), truth.len());
    for (got, want) in listed.iter().zip(&truth) {
        assert_eq!(got.member_id.as_str(), want.id);
        assert_eq!(got.email.as_str(), want.email.to_lowercase());
    }

    requests.reset();
    let started = Instant::now();
    let second = jobs::download_org(&w.deps, &w.org)
        .await
        .expect("second download");
    let second_took = started.elapsed();
    assert_eq!(
        (second.new, second.changed, second.unchanged, second.removed),
        (0, 0, 10_000, 0)
    );
    assert_eq!(
        requests.get("BatchWriteItem"),
        0,
        "{:?}",
        requests.snapshot()
    );
    assert_eq!(
        requests.writes(),
        2,
        "only the day's snapshot and the download record are written: {:?}",
        requests.snapshot()
    );

    // Three changed members and one gone: exactly those are written.
    let ids: Vec<String> = truth
        .iter()
        .skip(100)
        .step_by(1000)
        .take(3)
        .map(|m| m.id.clone())
        .collect();
    for id in &ids {
        w.control
            .update_member(w.org.as_str(), id, |m| m.active = !m.active);
    }
    let gone = truth[5_000].id.clone();
    assert!(w.control.remove_member(w.org.as_str(), &gone));
    requests.reset();
    let before = store.write_stats();
    let third = jobs::download_org(&w.deps, &w.org)
        .await
        .expect("third download");
    assert_eq!((third.changed, third.removed), (3, 1));
    assert_eq!(
        store.write_stats().batch_items - before.batch_items,
        3,
        "only the changed members"
    );
    // The core writes per listing page; the three members sit on three pages.
    assert_eq!(
        requests.get("BatchWriteItem"),
        3,
        "{:?}",
        requests.snapshot()
    );
    assert_eq!(
        requests.get("UpdateItem"),
        1,
        "one conditional mark-removed"
    );

    eprintln!(
        "10 000 members against moto: first download (fetch + write) {first_took:.2?}, list_members {list_took:.2?}, \
         unchanged re-run {second_took:.2?}"
    );
}

#[tokio::test]
async fn a_plan_with_5000_candidates_round_trips_despite_the_item_limit() {
    let sdk = common::sdk().await;
    let clients = miro_sam_aws::AwsClients::new(&sdk);
    let table = common::new_table(&clients).await;
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);

    let o = org();
    let members: Vec<_> = (1..=5_000)
        .map(|n| subscription(&o, n, 200 + (n % 50) as i64))
        .collect();
    let plan = build_plan(
        PlanId::new(),
        &o,
        Some(20_000),
        &versioned(&o, Policy::default(), 1),
        &[],
        &members,
        t0(),
    );
    assert_eq!(plan.candidates.len(), 5_000);
    let json_len = serde_json::to_vec(&plan).unwrap().len();
    assert!(
        json_len > 2 * 400 * 1024,
        "the plan is far above one item's limit: {json_len} bytes"
    );

    // moto enforces the limit, so a naive single item would really fail here.
    let too_big = clients
        .dynamodb
        .put_item()
        .table_name(&table)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("naive".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("plan".into()),
        )
        .item(
            "doc",
            aws_sdk_dynamodb::types::AttributeValue::S(serde_json::to_string(&plan).unwrap()),
        )
        .send()
        .await;
    assert!(too_big.is_err(), "moto refuses items over 400 KB");

    store.put_plan(&plan).await.expect("put plan");
    assert_eq!(
        store.get_plan(plan.plan_id).await.unwrap().as_ref(),
        Some(&plan)
    );
    assert_eq!(
        store.latest_plan(&o).await.unwrap().map(|p| p.plan_id),
        Some(plan.plan_id)
    );
    assert_eq!(
        plan_items(&clients.dynamodb, &table, plan.plan_id, "CAND#").await,
        5_000,
        "one item per candidate"
    );

    // What a reclaim message reads: the header and its own candidate, two GetItems, whatever the plan's size.
    let before = store.read_stats();
    let header = store.get_plan_header(plan.plan_id).await.unwrap().unwrap();
    let c = &plan.candidates[4_321];
    let got = store
        .get_plan_candidate(plan.plan_id, &c.member_id)
        .await
        .unwrap();
    assert_eq!((header, got.as_ref()), (plan.header(), Some(c)));
    let after = store.read_stats();
    assert_eq!(
        (
            after.requests - before.requests,
            after.plan_items - before.plan_items
        ),
        (2, 2)
    );
    assert!(
        after.plan_bytes - before.plan_bytes < 8 * 1024,
        "{} bytes read of a {json_len}-byte plan",
        after.plan_bytes - before.plan_bytes
    );

    // Replacing the plan leaves only the new version's items.
    let mut smaller = plan.clone();
    smaller.candidates.truncate(10);
    store.put_plan(&smaller).await.expect("replace plan");
    assert_eq!(store.get_plan(plan.plan_id).await.unwrap(), Some(smaller));
    assert_eq!(
        plan_items(&clients.dynamodb, &table, plan.plan_id, "CAND#").await,
        10,
        "stale candidate items are deleted"
    );
}

/// Items of the plan's partition whose sort key starts with `prefix`, counted page by page.
async fn plan_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    plan: PlanId,
    prefix: &str,
) -> usize {
    // The SDK's paginator follows LastEvaluatedKey: a plan's items may span several pages of counts.
    let mut pages = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :c)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("PLAN#{plan}")),
        )
        .expression_attribute_values(
            ":c",
            aws_sdk_dynamodb::types::AttributeValue::S(prefix.into()),
        )
        .select(aws_sdk_dynamodb::types::Select::Count)
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        count += page.expect("count the plan's items").count() as usize;
    }
    count
}

#[tokio::test]
async fn policy_versions_are_unique_under_concurrent_writers() {
    let store = Arc::new(common::fresh_store().await);
    let o = org();
    let writers = (0..12).map(|i| {
        let store = store.clone();
        let o = o.clone();
        tokio::spawn(async move {
            store
                .put_policy(&o, &Policy::default(), &format!("admin{i}"), Utc::now())
                .await
        })
    });
    let mut versions: Vec<u32> = futures::future::join_all(writers)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().version)
        .collect();
    versions.sort();
    assert_eq!(versions, (1..=12).collect::<Vec<u32>>());
    assert_eq!(store.latest_policy(&o).await.unwrap().unwrap().version, 12);
}

#[tokio::test]
async fn the_audit_log_refuses_an_overwrite_and_keeps_the_original() {
    let store = common::fresh_store().await;
    let o = org();
    let original = audit_entry(&o, "reclaim/plan-1/42", t0());
    store.append_audit(&original).await.unwrap();
    let forged = AuditEntry {
        actor: "mallory".into(),
        at: t0() + Duration::days(1),
        event: AuditEvent::PolicyChanged { version: 99 },
        ..original.clone()
    };
    let err = store.append_audit(&forged).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("reclaim/plan-1/42"), "{err}");
    assert_eq!(
        store.get_audit(&original.id).await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(store.list_audit(&o).await.unwrap(), vec![original]);
    assert!(
        store
            .get_audit(&AuditEntryId::parse("reclaim/none").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_oauth_state_is_taken_exactly_once() {
    let clients = common::clients().await;
    let table = common::new_table(&clients).await;
    let states = OAuthStateStore::new(clients.dynamodb.clone(), &table);
    let state = OAuthStateStore::generate_state();
    assert_eq!(state.len(), 64);
    let expires = states
        .put(&state, r#"{"return_to":"/orgs"}"#)
        .await
        .unwrap();
    assert!(
        expires > Utc::now() + Duration::minutes(9)
            && expires <= Utc::now() + Duration::minutes(10)
    );
    assert!(matches!(
        states.put(&state, "again").await,
        Err(StoreError::AlreadyExists { .. })
    ));

    // Ten callbacks carrying the same state at once: one wins.
    let takers = (0..10).map(|_| {
        let states = states.clone();
        let state = state.clone();
        tokio::spawn(async move { states.take(&state).await.unwrap() })
    });
    let results: Vec<StateTake> = futures::future::join_all(takers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let valid: Vec<_> = results
        .iter()
        .filter(|r| matches!(r, StateTake::Valid(_)))
        .collect();
    assert_eq!(valid.len(), 1, "{results:?}");
    assert_eq!(
        results.iter().filter(|r| **r == StateTake::Unknown).count(),
        9
    );
    match valid[0] {
        StateTake::Valid(t) => assert_eq!(t.data, r#"{"return_to":"/orgs"}"#),
        _ => unreachable!(),
    }
    assert_eq!(
        states.take("never-issued").await.unwrap(),
        StateTake::Unknown
    );
}

#[tokio::test]
async fn an_expired_oauth_state_is_refused_even_before_the_ttl_sweeper_runs() {
    let clients = common::clients().await;
    let table = common::new_table(&clients).await;
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let states = OAuthStateStore::new(clients.dynamodb.clone(), &table).with_clock(clock.clone());
    let state = OAuthStateStore::generate_state();
    states.put(&state, "x").await.unwrap();

    // The item carries the TTL attribute, and the table has TTL on it.
    let items = common::scan_items(&clients, &table).await;
    let item = &items[0];
    let ttl = common::ttl_of(item);
    assert!(
        (ttl - (Utc::now() + Duration::minutes(10)).timestamp()).abs() <= 2,
        "ttl {ttl}"
    );
    assert!(
        !format!("{item:?}").contains(&state),
        "the state itself is not stored, only its hash"
    );
    let ttl_desc = clients
        .dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let spec = ttl_desc.time_to_live_description().unwrap();
    assert_eq!(spec.attribute_name(), Some(TTL));

    clock.advance(Duration::minutes(10) + Duration::seconds(1));
    match states.take(&state).await.unwrap() {
        StateTake::Expired { expired_at } => assert!(expired_at < clock.now()),
        other => panic!("expected Expired, got {other:?}"),
    }
    assert_eq!(
        states.take(&state).await.unwrap(),
        StateTake::Unknown,
        "and it is gone"
    );

    let fresh = OAuthStateStore::generate_state();
    states.put(&fresh, "y").await.unwrap();
    clock.advance(Duration::minutes(9));
    assert!(
        matches!(states.take(&fresh).await.unwrap(), StateTake::Valid(_)),
        "nine minutes is fine"
    );
}

#[tokio::test]
async fn a_member_is_found_under_their_new_email_only() {
    let store = common::fresh_store().await;
    let o = org();
    let mut m = subscription(&o, 1, 10);
    store
        .upsert_members(&o, std::slice::from_ref(&m))
        .await
        .unwrap();
    let old = m.email.clone();
    m.email = Email::parse("renamed@example.com").unwrap();
    m.content_hash = m.compute_hash();
    store
        .upsert_members(&o, std::slice::from_ref(&m))
        .await
        .unwrap();
    assert!(
        store
            .find_member_by_email(&o, &old)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.find_member_by_email(&o, &m.email).await.unwrap(),
        Some(m.clone())
    );

    // Two members sharing an address: the lowest id.
    let mut twin = subscription(&o, 2, 10);
    twin.email = m.email.clone();
    store.upsert_members(&o, &[twin]).await.unwrap();
    assert_eq!(
        store
            .find_member_by_email(&o, &m.email)
            .await
            .unwrap()
            .map(|x| x.member_id),
        Some(m.member_id)
    );
}

#[tokio::test]
async fn upserting_a_member_of_another_org_writes_nothing() {
    let store = common::fresh_store().await;
    let o = org();
    let stray = subscription(&miro_sam_core::contract::fixtures::other_org(), 2, 10);
    let err = store
        .upsert_members(&o, &[subscription(&o, 1, 10), stray])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert!(store.list_members(&o).await.unwrap().is_empty());
    assert_eq!(store.write_stats().batch_calls, 0);
}

async fn table_description(
    clients: &miro_sam_aws::AwsClients,
    table: &str,
) -> aws_sdk_dynamodb::types::TableDescription {
    let desc = clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    desc.table().unwrap().clone()
}

/// The table's global secondary indexes, by name.
fn index_names(desc: &aws_sdk_dynamodb::types::TableDescription) -> Vec<&str> {
    let mut names: Vec<_> = desc
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn create_table_is_idempotent_and_builds_the_documented_layout() {
    let clients = common::clients().await;
    let table = common::new_table(&clients).await;
    miro_sam_aws::table::create_table(&clients.dynamodb, &table)
        .await
        .expect("second call is fine");
    let desc = table_description(&clients, &table).await;
    let keys: Vec<_> = desc
        .key_schema()
        .iter()
        .map(|k| k.attribute_name().to_owned())
        .collect();
    assert_eq!(keys, ["pk", "sk"]);
    assert_eq!(index_names(&desc), [GSI1, GSI2]);
}

/// A table made before GSI2 existed (keys and GSI1 only, as earlier builds created it) gains GSI2 from
/// `create_table`, and the console's search then works on it.
#[tokio::test]
async fn create_table_adds_the_index_an_older_table_lacks() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let clients = common::clients().await;
    let table = common::unique("miro-sam-old");
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let gsi1 = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key("gsi1pk", KeyType::Hash))
        .key_schema(key("gsi1sk", KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .attribute_definitions(attr("gsi1pk"))
        .attribute_definitions(attr("gsi1sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(gsi1)
        .send()
        .await
        .unwrap();
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    let o = org();
    assert!(
        store.search_members(&o, "", None, 10).await.is_err(),
        "without GSI2 the search has no index to ask"
    );

    miro_sam_aws::table::create_table(&clients.dynamodb, &table)
        .await
        .expect("the missing index is added");
    assert_eq!(
        index_names(&table_description(&clients, &table).await),
        [GSI1, GSI2]
    );
    store
        .upsert_members(&o, &[subscription(&o, 2, 10), subscription(&o, 1, 10)])
        .await
        .unwrap();
    let found = store.search_members(&o, "user", None, 10).await.unwrap();
    let ids: Vec<_> = found.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(ids, ["user1@example.com", "user2@example.com"]);
}

#[tokio::test]
async fn sdk_load_honours_aws_endpoint_url() {
    let endpoint = common::endpoint();
    let from_env = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests through ./scripts/test.sh, which points it at moto")
    });
    assert_eq!(from_env, endpoint);
    let sdk = miro_sam_aws::sdk::load().await;
    assert_eq!(sdk.endpoint_url(), Some(endpoint.as_str()));
    // The adapters built the way a Lambda builds them reach moto.
    let clients = miro_sam_aws::AwsClients::new(&common::sdk().await);
    let table = common::new_table(&clients).await;
    let config = miro_sam_aws::AwsConfig {
        table_name: table,
        secret_prefix: common::unique("p"),
        reclaim_queue_url: None,
        oauth_client_secret_name: None,
    };
    let adapters = miro_sam_aws::Adapters::new(config, &sdk);
    assert!(adapters.store.list_orgs().await.unwrap().is_empty());
    assert!(matches!(
        adapters.tokens.get_tokens(&org()).await,
        Err(StoreError::NotConnected { .. })
    ));
    assert!(
        adapters
            .require_queue()
            .unwrap_err()
            .to_string()
            .contains(miro_sam_aws::env::RECLAIM_QUEUE_URL)
    );
}

/// A page in numeric id order reads only the id lengths the org's members have: one Query for Miro's 19-digit
/// ids, at the start and at the end of the org (it made a pass per possible length, each reading the whole org,
/// when the text range of a shorter length held every 19-digit id). An org stored before the lengths were
/// recorded is filled in once from its members' keys.
#[tokio::test]
async fn member_pages_read_only_the_id_lengths_the_org_has() {
    let counted = counted_store().await;
    let (store, requests) = (&counted.store, &counted.requests);
    let o = org();
    let members: Vec<_> = (1..=30).map(|n| subscription(&o, n, 10)).collect();
    store.upsert_members(&o, &members).await.unwrap();
    // The upsert recorded the lengths of what it wrote; the first read also checks the org's members' keys once
    // (there could be members from before the lengths were recorded).
    requests.reset();
    store.list_members_page(&o, None, None, 10).await.unwrap();
    assert_eq!(requests.get("Query"), 2, "{:?}", requests.snapshot());

    requests.reset();
    let first = store.list_members_page(&o, None, None, 10).await.unwrap();
    assert_eq!(first, members[..10].to_vec());
    assert_eq!(requests.get("Query"), 1, "{:?}", requests.snapshot());
    requests.reset();
    let last = store
        .list_members_page(&o, Some(&members[24].member_id), None, 10)
        .await
        .unwrap();
    assert_eq!(last, members[25..].to_vec());
    assert_eq!(requests.get("Query"), 1, "{:?}", requests.snapshot());

    // A short id, and the lengths item gone, as for members an earlier build wrote.
    let mut short = subscription(&o, 31, 10);
    short.member_id = miro_sam_core::domain::MemberId::parse("42").unwrap();
    store
        .upsert_members(&o, std::slice::from_ref(&short))
        .await
        .unwrap();
    let lengths_key = |c: &aws_sdk_dynamodb::Client| {
        c.get_item()
            .table_name(&counted.table)
            .key("pk", AttributeValue::S(format!("ORG#{o}")))
            .key("sk", AttributeValue::S("MEMBER_ID_LENGTHS".into()))
            .consistent_read(true)
    };
    counted
        .clients
        .dynamodb
        .delete_item()
        .table_name(&counted.table)
        .key("pk", AttributeValue::S(format!("ORG#{o}")))
        .key("sk", AttributeValue::S("MEMBER_ID_LENGTHS".into()))
        .send()
        .await
        .unwrap();
    let fresh = DynamoStore::new(counted.clients.dynamodb.clone(), &counted.table);
    let page = fresh.list_members_page(&o, None, None, 2).await.unwrap();
    assert_eq!(
        page,
        vec![short.clone(), members[0].clone()],
        "the short id first"
    );
    let item = lengths_key(&counted.clients.dynamodb).send().await.unwrap();
    let item = item.item().expect("the lengths are recorded again");
    let mut lengths: Vec<_> = item["lengths"].as_ns().unwrap().clone();
    lengths.sort();
    assert_eq!(lengths, ["19", "2"]);
    assert_eq!(item["complete"], AttributeValue::Bool(true));
}
