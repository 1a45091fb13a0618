//! The console benchmark's server: `miro_sam_console::router` over one store, on 127.0.0.1, in a child process
//! of its own (this binary, `console-serve`), so the peak RSS it reports is the server's (router, store
//! client, page buffers), not the data builder's or the HTTP client's.
//!
//! Wiring as deployed: on SQLite every port is the one store, as `miro-sam serve` wires it; on DynamoDB the
//! console Lambda's adapters (table, Secrets Manager token store seen through the console's SCIM-presence
//! view, OAuth states in the table, the SQS reclaim queue).
//!
//! Protocol on stdin/stdout, one line each: the child prints `READY {one-time login link}`; `reset` resets
//! its peak RSS and forgets the request times (answer `OK`); `stats` prints `STATS {json}` ([`ServerStats`]);
//! end of input stops it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use miro_client::{MiroClient, MiroConfig};
use miro_sam_aws::{Adapters, AwsClients, AwsConfig, DynamoStore};
use miro_sam_console::{ConsoleConfig, ConsoleDeps, one_time_login_link, router};
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::{ReclaimQueue, SystemClock};
use secrecy::SecretBox;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::machine::{reset_peak_rss, status_kib};
use crate::store::{BenchStore, aws_endpoint_from_env, aws_sdk};

/// The console's base path, as on both deployments.
pub const BASE: &str = "/console";

/// What the server reports after a page's requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerStats {
    /// Time from the request reaching the router to its response (the whole page rendered), per request
    /// since the last `reset`, in order.
    pub server_ms: Vec<f64>,
    /// `VmHWM` since the last `reset`.
    pub peak_rss_kib: u64,
    pub peak_reset: bool,
    /// `VmRSS` now.
    pub rss_kib: u64,
    /// DynamoDB only: the store's reads since the last `reset` (GetItem calls and Query pages, the items they
    /// returned and their size by DynamoDB's rule): what DynamoDB would charge, whatever moto's speed.
    pub store_reads: Option<StoreReads>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct StoreReads {
    pub requests: u64,
    pub items: u64,
    pub bytes: u64,
}

impl StoreReads {
    fn of(store: &DynamoStore) -> StoreReads {
        let r = store.read_stats();
        StoreReads {
            requests: r.requests,
            items: r.items,
            bytes: r.bytes,
        }
    }

    fn since(self, before: StoreReads) -> StoreReads {
        StoreReads {
            requests: self.requests - before.requests,
            items: self.items - before.items,
            bytes: self.bytes - before.bytes,
        }
    }
}

/// Where the child's store lives: `--store`, and on DynamoDB the deployment's other adapters.
#[derive(Debug, Clone)]
pub struct ServeArgs {
    /// `sqlite:PATH` or `dynamo:TABLE`.
    pub store: String,
    pub org: String,
    /// DynamoDB only: the Secrets Manager prefix the tokens were stored under.
    pub secret_prefix: Option<String>,
    /// DynamoDB only: the reclaim queue.
    pub queue_url: Option<String>,
}

impl ServeArgs {
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec![
            "console-serve".into(),
            "--store".into(),
            self.store.clone(),
            "--org".into(),
            self.org.clone(),
        ];
        if let Some(p) = &self.secret_prefix {
            a.extend(["--secret-prefix".into(), p.clone()]);
        }
        if let Some(q) = &self.queue_url {
            a.extend(["--queue-url".into(), q.clone()]);
        }
        a
    }
}

/// The console's settings as `miro-sam serve` makes them: loopback, a fresh key, one-time login links on.
fn config(public_url: url::Url) -> ConsoleConfig {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    ConsoleConfig {
        base_path: BASE.into(),
        public_url,
        session_key: SecretBox::new(Box::new(key)),
        secure_cookies: false,
        admin_emails: None,
        price_per_seat_month_minor: Some(1_000),
        currency: "USD".into(),
        local_login: true,
        keep_link_key: None,
    }
}

/// A Miro client nobody calls: the pages measured read the store only (the address is a closed port).
fn idle_miro_client() -> Result<MiroClient, String> {
    let c = MiroConfig::for_base_url("http://127.0.0.1:9").map_err(|e| e.to_string())?;
    MiroClient::new(c).map_err(|e| e.to_string())
}

/// The console's ports, and on DynamoDB the store again (its read counters).
async fn deps(a: &ServeArgs) -> Result<(ConsoleDeps, Option<DynamoStore>), String> {
    let client = idle_miro_client()?;
    let clock = Arc::new(SystemClock);
    match BenchStore::open(&a.store).await? {
        BenchStore::Sqlite(s) => Ok((
            ConsoleDeps {
                store: Arc::new(s.clone()),
                tokens: Arc::new(s.clone()),
                states: Arc::new(s.clone()),
                queue: Arc::new(s) as Arc<dyn ReclaimQueue>,
                client,
                oauth_app: None,
                clock,
            },
            None,
        )),
        BenchStore::Dynamo(d) => {
            let clients = AwsClients::new(&aws_sdk(&aws_endpoint_from_env()?).await);
            let adapters = Adapters::from_clients(
                AwsConfig {
                    table_name: d.table_name().to_owned(),
                    secret_prefix: a
                        .secret_prefix
                        .clone()
                        .ok_or("console-serve on DynamoDB needs --secret-prefix")?,
                    reclaim_queue_url: a.queue_url.clone(),
                    oauth_client_secret_name: None,
                },
                clients,
            );
            let queue = adapters
                .queue
                .clone()
                .ok_or("console-serve on DynamoDB needs --queue-url")?;
            let stats = adapters.store.clone();
            Ok((
                ConsoleDeps {
                    store: Arc::new(adapters.store.clone()),
                    tokens: Arc::new(console_function::scim_presence::ConsoleTokens::new(
                        adapters.tokens.clone(),
                        adapters.clients.secrets.clone(),
                    )),
                    states: Arc::new(adapters.oauth_states.clone()),
                    queue: Arc::new(queue),
                    client,
                    oauth_app: None,
                    clock,
                },
                Some(stats),
            ))
        }
    }
}

/// The child: serves until its input ends.
pub async fn child_run(a: ServeArgs) -> Result<(), String> {
    let org = OrgId::parse(&a.org).map_err(|e| e.to_string())?;
    let (deps, dynamo) = deps(&a).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = url::Url::parse(&format!("http://{addr}")).map_err(|e| e.to_string())?;
    let config = config(public_url);
    let link = one_time_login_link(&config, deps.states.as_ref(), &org, "bench")
        .await
        .map_err(|e| e.to_string())?;

    let times: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let recorded = times.clone();
    // Outermost layer: the whole router (security headers, CSRF check, session, page) is inside the time.
    let app = router(config, deps).layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let recorded = recorded.clone();
            async move {
                let started = Instant::now();
                let response = next.run(req).await;
                let took = started.elapsed();
                recorded
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(took);
                response
            }
        },
    ));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("READY {link}");

    let mut peak_reset = false;
    let mut reads_before = dynamo.as_ref().map(StoreReads::of);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        match line.trim() {
            "reset" => {
                peak_reset = reset_peak_rss();
                reads_before = dynamo.as_ref().map(StoreReads::of);
                times.lock().unwrap_or_else(|p| p.into_inner()).clear();
                println!("OK");
            }
            "stats" => {
                let server_ms = times
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .map(|d| d.as_secs_f64() * 1000.0)
                    .collect();
                let stats = ServerStats {
                    server_ms,
                    peak_rss_kib: status_kib("VmHWM").unwrap_or(0),
                    peak_reset,
                    rss_kib: status_kib("VmRSS").unwrap_or(0),
                    store_reads: dynamo
                        .as_ref()
                        .map(StoreReads::of)
                        .zip(reads_before)
                        .map(|(now, before)| now.since(before)),
                };
                println!(
                    "STATS {}",
                    serde_json::to_string(&stats).map_err(|e| e.to_string())?
                );
            }
            other => eprintln!("console-serve: unknown command {other:?}"),
        }
    }
    server.abort();
    Ok(())
}
