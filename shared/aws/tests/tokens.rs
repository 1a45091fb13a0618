//! The Secrets Manager token store against moto and the Miro sandbox: the refresh race, recovery from
//! a half-finished write, where the secrets live and what never leaks.

mod common;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use common::miro::{client_for, connect_with_refresh_token, oauth_app};
use miro_client::ExposeSecret;
use miro_sam_aws::{DynamoStore, SecretsTokenStore, read_oauth_client_secret};
use miro_sam_core::StoreError;
use miro_sam_core::contract::fixtures::org;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::ports::{RefreshLease, SubscriptionStore, SystemClock, TokenBundle, TokenStore};
use miro_sandbox::{Sandbox, SandboxConfig};
use secrecy::SecretString;

struct Setup {
    clients: miro_sam_aws::AwsClients,
    table: String,
    prefix: String,
    tokens: SecretsTokenStore,
}

async fn setup() -> Setup {
    let clients = common::clients().await;
    let table = common::new_table(&clients).await;
    let prefix = common::unique("miro-sam-test");
    let tokens = SecretsTokenStore::new(
        clients.secrets.clone(),
        clients.dynamodb.clone(),
        &table,
        &prefix,
    );
    Setup {
        clients,
        table,
        prefix,
        tokens,
    }
}

impl Setup {
    /// Stores `value` as the secret `name` by hand, as an operator would (not through the adapter).
    async fn create_secret(&self, name: &str, value: &str) {
        self.clients
            .secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
}

fn bundle(org: &OrgId, access: &str, refresh: Option<&str>, expires_in: Duration) -> TokenBundle {
    TokenBundle {
        org_id: org.clone(),
        access_token: SecretString::from(access),
        refresh_token: refresh.map(SecretString::from),
        expires_at: Some(Utc::now() + expires_in),
        team_id: Some("3074457362577833142".into()),
        user_id: None,
        scopes: vec!["organizations:read".into()],
        version: 0,
    }
}

#[tokio::test]
async fn workers_refreshing_at_once_make_one_refresh_call_and_all_get_a_valid_token() {
    let s = setup().await;
    let sandbox = Sandbox::start(SandboxConfig::with_members(10))
        .await
        .expect("sandbox");
    let control = sandbox.control();
    let org = OrgId::parse(&control.org_ids()[0]).unwrap();
    let client = client_for(&sandbox);
    let deps = Deps {
        store: Arc::new(DynamoStore::new(s.clients.dynamodb.clone(), &s.table))
            as Arc<dyn SubscriptionStore>,
        tokens: Arc::new(s.tokens.clone()) as Arc<dyn TokenStore>,
        client: client.clone(),
        clock: Arc::new(SystemClock),
        oauth_app: Some(oauth_app()),
    };

    let mut connected = connect_with_refresh_token(&client, &org).await;
    // Two, then three, then four workers find the token inside the refresh margin at the same moment.
    for (round, workers) in [2usize, 3, 4].into_iter().enumerate() {
        connected.expires_at = Some(Utc::now() + Duration::seconds(60));
        let version = s.tokens.put_tokens(&connected).await.unwrap();
        control.reset_counters();
        let refreshes_before = control.refresh_count();

        let barrier = Arc::new(tokio::sync::Barrier::new(workers));
        let tasks = (0..workers).map(|_| {
            let deps = deps.clone();
            let org = org.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                jobs::usable_access_token(&deps, &org).await
            })
        });
        let tokens: Vec<SecretString> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.expect("task").expect("every worker gets a token"))
            .collect();

        assert_eq!(
            control.refresh_count() - refreshes_before,
            1,
            "round {round}: one refresh"
        );
        assert_eq!(
            control.counters().get("token"),
            1,
            "round {round}: one call to the token endpoint at all"
        );
        let first = tokens[0].expose_secret().to_owned();
        assert!(
            tokens.iter().all(|t| t.expose_secret() == first),
            "round {round}: everyone uses the winner's token"
        );
        assert_ne!(
            first,
            connected.access_token.expose_secret(),
            "round {round}: a new token"
        );
        let info = client
            .token_info(&tokens[0])
            .await
            .expect("the token works at Miro");
        assert_eq!(info.organization.id, org.as_str());

        let stored = s.tokens.get_tokens(&org).await.unwrap();
        assert_eq!(stored.version, version + 1);
        assert_eq!(stored.access_token.expose_secret(), first);
        assert!(stored.expires_at.unwrap() > Utc::now() + Duration::minutes(30));
        connected = stored;
    }
}

/// The lease is a conditional write; of workers asking for it at the same moment exactly one may get it. (moto's
/// own server let two conditional writes pass at once, a race DynamoDB cannot have; the test command's
/// `scripts/moto_server.py` serialises DynamoDB requests, and this test fails without it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_workers_asking_for_the_refresh_lease_at_once_exactly_one_gets_it() {
    let s = setup().await;
    let o = org();
    let version = s
        .tokens
        .put_tokens(&bundle(&o, "at-1", Some("rt-1"), Duration::minutes(1)))
        .await
        .unwrap();
    for round in 0..30i64 {
        // Each round asks at a later `now`, past the lease the round before handed out.
        let now = Utc::now() + Duration::hours(round);
        let until = now + Duration::minutes(30);
        let barrier = Arc::new(tokio::sync::Barrier::new(12));
        let asks = (0..12).map(|_| {
            let (tokens, o, barrier) = (s.tokens.clone(), o.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                tokens.lease_refresh(&o, version, now, until).await
            })
        });
        let answers: Vec<RefreshLease> = futures::future::join_all(asks)
            .await
            .into_iter()
            .map(|r| r.expect("task").expect("lease_refresh"))
            .collect();
        let taken = answers
            .iter()
            .filter(|a| matches!(a, RefreshLease::Taken))
            .count();
        assert_eq!(taken, 1, "round {round}: one holder, got {answers:?}");
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, RefreshLease::Taken | RefreshLease::Held { .. })),
            "round {round}: the others are told it is held: {answers:?}"
        );
    }
}

#[tokio::test]
async fn a_writer_that_died_after_bumping_the_version_does_not_wedge_the_org() {
    let s = setup().await;
    let o = org();
    s.tokens
        .put_tokens(&bundle(&o, "at-1", None, Duration::minutes(50)))
        .await
        .unwrap();
    // What a crash between the version bump and the secret write leaves behind.
    s.clients
        .dynamodb
        .update_item()
        .table_name(&s.table)
        .key("pk", AttributeValue::S(format!("ORG#{o}")))
        .key("sk", AttributeValue::S("TOKENS".into()))
        .update_expression("ADD version :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();

    let started = Instant::now();
    let got = s.tokens.get_tokens(&o).await.unwrap();
    assert!(
        started.elapsed() >= StdDuration::from_secs(2),
        "it waited for the write to land"
    );
    assert_eq!(got.version, 2, "labelled with the current version");
    assert_eq!(
        got.access_token.expose_secret(),
        "at-1",
        "the newest tokens there are"
    );
    let next = s
        .tokens
        .put_tokens_if_version(
            &bundle(&o, "at-3", None, Duration::minutes(50)),
            got.version,
        )
        .await
        .expect("a compare-and-set against that version works");
    assert_eq!(next, 3);
    let got = s.tokens.get_tokens(&o).await.unwrap();
    assert_eq!((got.version, got.access_token.expose_secret()), (3, "at-3"));
}

#[tokio::test]
async fn secrets_live_under_the_prefix_and_never_in_the_table() {
    let s = setup().await;
    let o = org();
    s.tokens
        .put_tokens(&bundle(
            &o,
            "at-very-secret",
            Some("rt-very-secret"),
            Duration::minutes(50),
        ))
        .await
        .unwrap();
    s.tokens
        .put_scim_token(&o, &SecretString::from("scim-very-secret"))
        .await
        .unwrap();

    let name = format!("{}/orgs/{o}/oauth", s.prefix);
    assert_eq!(s.tokens.oauth_secret_name(&o), name);
    let raw = s
        .clients
        .secrets
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(raw.secret_string().unwrap()).unwrap();
    assert_eq!(json["access_token"], "at-very-secret");
    assert_eq!(json["refresh_token"], "rt-very-secret");
    assert_eq!(json["org_id"], o.as_str());
    assert_eq!(json["version"], 1);
    assert_eq!(json["schema_version"], 1);
    let scim = s
        .clients
        .secrets
        .get_secret_value()
        .secret_id(format!("{}/orgs/{o}/scim", s.prefix))
        .send()
        .await
        .unwrap();
    assert_eq!(scim.secret_string(), Some("scim-very-secret"));

    let items = s
        .clients
        .dynamodb
        .scan()
        .table_name(&s.table)
        .send()
        .await
        .unwrap();
    let dump = format!("{:?}", items.items());
    assert!(
        !dump.contains("very-secret"),
        "no token in the table: {dump}"
    );
    assert!(!format!("{:?}", s.tokens).contains("very-secret"));

    // A SCIM token pasted by hand with a trailing newline still makes a valid header value.
    s.clients
        .secrets
        .put_secret_value()
        .secret_id(format!("{}/orgs/{o}/scim", s.prefix))
        .secret_string("scim-pasted\n")
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.tokens.get_scim_token(&o).await.unwrap().expose_secret(),
        "scim-pasted"
    );
}

#[tokio::test]
async fn a_corrupt_bundle_is_reported_without_its_content() {
    let s = setup().await;
    let o = org();
    s.create_secret(
        &s.tokens.oauth_secret_name(&o),
        &format!(r#"{{"org_id":"{o}","access_token":"at-leak","version":"rt-leak"}}"#),
    )
    .await;
    let err = s.tokens.get_tokens(&o).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(o.as_str()) && msg.contains("line 1"), "{msg}");
    assert!(!msg.contains("leak"), "{msg}");
}

#[tokio::test]
async fn a_bundle_stored_by_hand_is_adopted() {
    let s = setup().await;
    let o = org();
    s.create_secret(
        &s.tokens.oauth_secret_name(&o),
        &format!(r#"{{"org_id":"{o}","access_token":"at-by-hand"}}"#),
    )
    .await;
    let got = s.tokens.get_tokens(&o).await.unwrap();
    assert_eq!(
        (got.version, got.access_token.expose_secret()),
        (0, "at-by-hand")
    );
    let v = s
        .tokens
        .put_tokens_if_version(&bundle(&o, "at-next", None, Duration::minutes(50)), 0)
        .await
        .unwrap();
    assert_eq!(v, 1);
}

/// Reconnecting restores a secret scheduled for deletion: AWS refuses `PutSecretValue` on it, which the unit tests
/// in `secrets.rs` cover with mocks, because moto accepts that put (and keeps the secret deleted).
#[tokio::test]
async fn a_secret_scheduled_for_deletion_reads_as_missing() {
    let s = setup().await;
    let o = org();
    s.tokens
        .put_scim_token(&o, &SecretString::from("scim-1"))
        .await
        .unwrap();
    s.tokens
        .put_tokens(&bundle(&o, "at-1", None, Duration::minutes(50)))
        .await
        .unwrap();
    for name in [
        s.tokens.scim_secret_name(&o),
        s.tokens.oauth_secret_name(&o),
    ] {
        s.clients
            .secrets
            .delete_secret()
            .secret_id(name)
            .recovery_window_in_days(7)
            .send()
            .await
            .unwrap();
    }
    match s.tokens.get_scim_token(&o).await {
        Err(StoreError::NoScimToken { org }) => assert_eq!(org, o.as_str()),
        other => panic!("expected NoScimToken, got {:?}", other.map(|_| "a token")),
    }
    match s.tokens.get_tokens(&o).await {
        Err(StoreError::NotConnected { org }) => assert_eq!(org, o.as_str()),
        other => panic!("expected NotConnected, got {other:?}"),
    }
}

#[tokio::test]
async fn the_oauth_client_secret_is_read_from_its_own_secret() {
    let s = setup().await;
    let name = format!("{}/oauth-client-secret", s.prefix);
    let err = read_oauth_client_secret(&s.clients.secrets, &name)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&name), "{err}");
    s.create_secret(&name, "  client-secret-value\n").await;
    let secret = read_oauth_client_secret(&s.clients.secrets, &name)
        .await
        .unwrap();
    assert_eq!(secret.expose_secret(), "client-secret-value");
}
