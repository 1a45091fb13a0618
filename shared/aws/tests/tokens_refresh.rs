//! Token refresh on DynamoDB + Secrets Manager (moto) and the Miro sandbox: the core's refresh scenarios (the
//! lease, two workers racing, the refresh after a 401, rotated tokens a failing write must not lose), and a real
//! Secrets Manager write failing once after the version bump.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use chrono::{Duration, Utc};
use common::counting::OnOperation;
use common::miro::{client_for, connect_with_refresh_token, oauth_app};
use miro_client::ExposeSecret;
use miro_sam_aws::{DynamoStore, SecretsTokenStore};
use miro_sam_core::contract::RefreshWorld;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{self, Deps};
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenStore};
use miro_sandbox::{Sandbox, SandboxConfig, SandboxControl};

/// Fails the next `PutSecretValue` once armed, inside the SDK: the adapter's own write really fails.
#[derive(Debug, Clone, Default)]
struct FailNextSecretWrite {
    armed: Arc<AtomicBool>,
    failed: Arc<AtomicU32>,
}

impl FailNextSecretWrite {
    fn interceptor(&self) -> OnOperation {
        let fault = self.clone();
        OnOperation::new("FailNextSecretWrite", move |op| {
            if op == "PutSecretValue" && fault.armed.swap(false, Ordering::SeqCst) {
                fault.failed.fetch_add(1, Ordering::SeqCst);
                return Err("injected: Secrets Manager is unavailable".into());
            }
            Ok(())
        })
    }
}

struct Env {
    world: RefreshWorld,
    control: SandboxControl,
    fault: FailNextSecretWrite,
    _sandbox: Sandbox,
}

async fn env() -> Env {
    let sdk = common::sdk().await;
    let clients = miro_sam_aws::AwsClients::new(&sdk);
    let table = common::new_table(&clients).await;
    let fault = FailNextSecretWrite::default();
    let secrets = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .interceptor(fault.interceptor())
            .build(),
    );
    let tokens = SecretsTokenStore::new(
        secrets,
        clients.dynamodb.clone(),
        &table,
        &common::unique("miro-sam-test"),
    );
    let sandbox = Sandbox::start(SandboxConfig::unlimited(20))
        .await
        .expect("sandbox");
    let control = sandbox.control();
    let org = OrgId::parse(&control.org_ids()[0]).unwrap();
    let client = client_for(&sandbox);
    let connected = connect_with_refresh_token(&client, &org).await;
    let deps = Deps {
        store: Arc::new(DynamoStore::new(clients.dynamodb.clone(), &table))
            as Arc<dyn SubscriptionStore>,
        tokens: Arc::new(tokens) as Arc<dyn TokenStore>,
        client,
        clock: Arc::new(SystemClock),
        oauth_app: Some(oauth_app()),
    };
    Env {
        world: RefreshWorld {
            deps,
            org,
            connected,
            miro: Arc::new(miro_sam_testkit::world::SandboxView(control.clone())),
        },
        control,
        fault,
        _sandbox: sandbox,
    }
}

/// A fresh world for one refresh scenario; the sandbox and the failing interceptor live as long as the Env.
async fn refresh_world() -> (RefreshWorld, Env) {
    let e = env().await;
    (e.world.clone(), e)
}

miro_sam_core::refresh_contract_tests!(refresh_world);

/// The adapter bumps the version item, then its `PutSecretValue` fails: the version is ahead of the secret,
/// which still holds the spent tokens. The retry recognises them and writes the rotated tokens over them.
#[tokio::test]
async fn a_secret_write_that_fails_after_the_version_bump_still_ends_stored() {
    let e = env().await;
    let (w, tokens) = (&e.world, &e.world.deps.tokens);
    let mut connected = w.connected.clone();
    connected.expires_at = Some(Utc::now() + Duration::seconds(60));
    let version = tokens.put_tokens(&connected).await.unwrap();

    e.fault.armed.store(true, Ordering::SeqCst);
    let token = jobs::usable_access_token(&w.deps, &w.org)
        .await
        .expect("the rotated token survives the failed secret write");

    assert_eq!(
        e.fault.failed.load(Ordering::SeqCst),
        1,
        "the write failed once"
    );
    assert_eq!(e.control.refresh_count(), 1, "one refresh at Miro");
    let stored = tokens.get_tokens(&w.org).await.unwrap();
    assert_eq!(
        stored.access_token.expose_secret(),
        token.expose_secret(),
        "the rotated token is stored"
    );
    assert_ne!(
        stored.refresh_token.as_ref().unwrap().expose_secret(),
        connected.refresh_token.as_ref().unwrap().expose_secret(),
        "with its rotated refresh token"
    );
    assert_eq!(
        stored.version,
        version + 2,
        "the failed write's bump, then the retry's"
    );
    let info = w.deps.client.token_info(&token).await.expect("it works");
    assert_eq!(info.organization.id, w.org.as_str());
}
