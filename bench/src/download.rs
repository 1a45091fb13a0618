//! The download benchmark: one org of N members, Miro's credit model with the window scaled to seconds, and a
//! per-request latency that keeps strictly sequential paging below the credit ceiling.
//!
//! The sandbox runs in this process; every download runs in a child process (this binary, `download-run`), so
//! the peak RSS it reports is the download's own (client, store, diff state), as a Lambda would see it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use miro_client::{MiroClient, MiroConfig, RestLimits, SecretString};
use miro_sam_aws::AwsClients;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{Deps, DownloadOptions, DownloadOutcome, StopAt, download_org_with};
use miro_sam_core::ports::{SystemClock, TokenBundle, TokenStore};
use miro_sam_sqlite::SqliteStore;
use miro_sandbox::{Sandbox, SandboxConfig};
use serde::{Deserialize, Serialize};

use crate::machine::{cpu_seconds, reset_peak_rss, status_kib};
use crate::partition::Partitioning;
use crate::plan::PlanRow;
use crate::store::{BenchStore, new_table};

/// Miro's Level-3 cost of one members page (and of the org call).
pub const LEVEL3: u64 = 500;
/// The environment variable the parent hands the access token to the child through (never argv).
const TOKEN_ENV: &str = "MIRO_SAM_BENCH_TOKEN";

#[derive(Debug, Clone)]
pub struct DownloadConfig {
    pub sizes: Vec<usize>,
    pub credits: u64,
    pub window: Duration,
    pub latency: Duration,
    pub variants: Vec<Partitioning>,
    /// The local AWS API; `None` runs SQLite only.
    pub aws_endpoint: Option<String>,
    /// Variants also run on DynamoDB (each one a fresh table).
    pub dynamo_variants: Vec<Partitioning>,
    /// Largest org also run on DynamoDB (moto is slow: a 100 000-member first run is ~4 000 batch calls).
    pub dynamo_max_members: usize,
    /// Also run the unchanged re-run after each first run.
    pub rerun: bool,
    /// After the downloads of each SQLite variant, plan the org ([`crate::plan`]): planning's own peak RSS.
    pub plan: bool,
    /// Also a `changed` run after the others: this share of the members changed in the sandbox first
    /// ([`crate::changes`]), so the download rewrites them and records their timeline events.
    pub changed_share: Option<f64>,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        DownloadConfig {
            sizes: vec![10_000, 100_000, 1_000_000],
            credits: 100_000,
            window: Duration::from_secs(1),
            latency: Duration::from_millis(10),
            variants: vec![Partitioning::Sequential, Partitioning::ActiveLicense],
            aws_endpoint: None,
            dynamo_variants: vec![Partitioning::Sequential],
            dynamo_max_members: 100_000,
            rerun: true,
            plan: false,
            changed_share: None,
        }
    }
}

/// One download run as the table shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadRow {
    pub members: usize,
    pub variant: &'static str,
    pub store: &'static str,
    /// `first` (empty store), `re-run` (same data again, nothing changed) or `changed` (a share of the members
    /// changed since the last run).
    pub run: &'static str,
    pub wall_s: f64,
    /// The credit floor: minimum calls × 500 credits ÷ budget × window.
    pub floor_s: f64,
    /// floor ÷ wall: the share of the credit ceiling achieved.
    pub of_ceiling: f64,
    /// 429s the sandbox sent.
    pub rate_limited: u64,
    /// Requests the sandbox received: org + members pages + member lookups.
    pub requests: u64,
    /// pages + 1 (the org call).
    pub min_requests: u64,
    pub pages: u64,
    pub parts: u64,
    pub peak_rss_mib: f64,
    pub peak_rss_is_per_run: bool,
    /// CPU seconds of the download process (client, diff, store client).
    pub cpu_s: f64,
    /// CPU seconds of the bench process meanwhile: the sandbox playing Miro, on the same cores.
    pub sandbox_cpu_s: f64,
    /// SQLite: member rows written. DynamoDB: BatchWriteItem calls + single-item writes.
    pub store_write_requests: u64,
    /// Items written (SQLite rows; DynamoDB batch items + single-item writes).
    pub store_items_written: u64,
    pub members_seen: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub duplicates: u64,
    pub confirmed_present: u64,
    /// `changed` runs on SQLite: timeline events stored for the changed members after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline_events: Option<u64>,
}

/// What the child prints (one `RESULT {json}` line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildResult {
    pub wall_ms: u64,
    pub pages: u64,
    pub parts: u64,
    pub members_seen: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub confirmed_present: u64,
    pub client_requests: u64,
    pub client_rate_limited: u64,
    pub store_write_requests: u64,
    pub store_items_written: u64,
    pub peak_rss_kib: u64,
    pub peak_reset: bool,
    /// CPU seconds the download used (user + system).
    pub cpu_s: f64,
}

/// The child's inputs.
#[derive(Debug, Clone)]
pub struct ChildArgs {
    pub base_url: String,
    pub org: String,
    pub credits: u64,
    pub window: Duration,
    pub partitioning: Partitioning,
    /// `sqlite:PATH` or `dynamo:TABLE`.
    pub store: String,
}

impl ChildArgs {
    fn to_args(&self) -> Vec<String> {
        vec![
            "download-run".into(),
            "--base-url".into(),
            self.base_url.clone(),
            "--org".into(),
            self.org.clone(),
            "--credits".into(),
            self.credits.to_string(),
            "--window-ms".into(),
            self.window.as_millis().to_string(),
            "--partitioning".into(),
            self.partitioning.arg().into(),
            "--store".into(),
            self.store.clone(),
        ]
    }
}

/// The client configuration of a download: the sandbox's budget, Miro's Level-3 cost, 95% utilisation.
pub fn client_config(base_url: &str, credits: u64, window: Duration) -> Result<MiroConfig, String> {
    let mut c = MiroConfig::for_base_url(base_url).map_err(|e| e.to_string())?;
    c.rest_limits = RestLimits {
        credits_per_window: credits,
        window,
        ..RestLimits::default()
    };
    Ok(c)
}

/// The SDK configuration for the local AWS API.
pub async fn aws_sdk(endpoint: &str) -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    miro_sam_aws::sdk::load()
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "moto",
        )))
        .build()
}

/// The child: one download run, timed, with its own peak RSS.
pub async fn child_run(a: ChildArgs) -> Result<ChildResult, String> {
    let token = std::env::var(TOKEN_ENV).map_err(|_| format!("{TOKEN_ENV} is not set"))?;
    let org = OrgId::parse(&a.org).map_err(|e| e.to_string())?;
    let client = MiroClient::new(client_config(&a.base_url, a.credits, a.window)?)
        .map_err(|e| e.to_string())?;
    let tokens = SqliteStore::in_memory().map_err(|e| e.to_string())?;
    tokens
        .put_tokens(&TokenBundle {
            org_id: org.clone(),
            access_token: SecretString::from(token),
            refresh_token: None,
            expires_at: None,
            team_id: None,
            user_id: None,
            scopes: vec!["organizations:read".into()],
            version: 0,
        })
        .await
        .map_err(|e| e.to_string())?;

    let store = BenchStore::open(&a.store).await?;
    let deps = Deps {
        store: store.port(),
        tokens: Arc::new(tokens),
        client: client.clone(),
        clock: Arc::new(SystemClock),
        oauth_app: None,
    };

    let peak_reset = reset_peak_rss();
    let started = Instant::now();
    let mut r = ChildResult {
        wall_ms: 0,
        pages: 0,
        parts: 1,
        members_seen: 0,
        new: 0,
        changed: 0,
        unchanged: 0,
        removed: 0,
        rejected: 0,
        duplicates: 0,
        confirmed_present: 0,
        client_requests: 0,
        client_rate_limited: 0,
        store_write_requests: 0,
        store_items_written: 0,
        peak_rss_kib: 0,
        peak_reset,
        cpu_s: 0.0,
    };
    let cpu_before = cpu_seconds().unwrap_or(0.0);
    // Every variant is the core's download: sequential (pipelined) or partitioned, as the setting says.
    let options = DownloadOptions {
        partitioning: a.partitioning,
    };
    let s = match download_org_with(&deps, &org, StopAt::default(), options)
        .await
        .map_err(|e| e.to_string())?
    {
        DownloadOutcome::Complete(s) => s,
        DownloadOutcome::Paused(p) => return Err(format!("the download paused: {p:?}")),
    };
    r.pages = s.pages;
    r.parts = a.partitioning.filters().len() as u64;
    r.members_seen = s.members_seen;
    r.new = s.new;
    r.changed = s.changed;
    r.unchanged = s.unchanged;
    r.removed = s.removed;
    r.rejected = s.rejected;
    r.duplicates = s.duplicates;
    r.confirmed_present = s.confirmed_present;
    r.wall_ms = started.elapsed().as_millis() as u64;
    r.cpu_s = cpu_seconds().unwrap_or(0.0) - cpu_before;
    r.peak_rss_kib = status_kib("VmHWM").unwrap_or(0);
    let stats = client.stats();
    r.client_requests = stats.requests;
    r.client_rate_limited = stats.rate_limited;
    match &store {
        BenchStore::Sqlite(s) => {
            r.store_write_requests = s.member_rows_written();
            r.store_items_written = s.member_rows_written();
        }
        BenchStore::Dynamo(d) => {
            let w = d.write_stats();
            r.store_write_requests = w.batch_calls + w.item_writes;
            r.store_items_written = w.batch_items + w.item_writes;
        }
    }
    Ok(r)
}

fn run_child(exe: &Path, args: &ChildArgs, token: &str) -> Result<ChildResult, String> {
    let out = Command::new(exe)
        .args(args.to_args())
        .env(TOKEN_ENV, token)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("download-run failed ({}): {stdout}", out.status));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("download-run printed no result: {stdout}"))?;
    serde_json::from_str(line).map_err(|e| format!("bad download-run result {line:?}: {e}"))
}

/// Runs every configured download (and plan) and returns the table rows.
pub async fn run(cfg: &DownloadConfig) -> Result<(Vec<DownloadRow>, Vec<PlanRow>), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = scratch_dir("download")?;
    let mut rows = Vec::new();
    let mut plan_rows = Vec::new();
    for &n in &cfg.sizes {
        let mut sc = SandboxConfig::with_members(n);
        sc.rest_limits.credits_per_window = cfg.credits;
        sc.rest_limits.window = cfg.window;
        sc.latency = cfg.latency;
        let sandbox = Sandbox::start(sc).await.map_err(|e| e.to_string())?;
        let control = sandbox.control();
        let org = control.org_ids()[0].clone();
        let token = control.issue_access_token(&org);

        let mut plans: Vec<(Partitioning, String, &'static str)> = cfg
            .variants
            .iter()
            .map(|&v| {
                let db = dir.join(format!("{n}-{}.sqlite", v.arg()));
                (v, format!("sqlite:{}", db.display()), "sqlite")
            })
            .collect();
        if let Some(endpoint) = &cfg.aws_endpoint
            && n <= cfg.dynamo_max_members
        {
            let clients = AwsClients::new(&aws_sdk(endpoint).await);
            for &v in &cfg.dynamo_variants {
                let table = new_table(&clients, "download").await?;
                plans.push((v, format!("dynamo:{table}"), "dynamodb"));
            }
        }

        let mut runs = vec!["first"];
        if cfg.rerun {
            runs.push("re-run");
        }
        if cfg.changed_share.is_some() {
            runs.push("changed");
        }
        for (variant, store, store_name) in plans {
            for &run in &runs {
                let changed_ids = match (run, cfg.changed_share) {
                    ("changed", Some(share)) => {
                        crate::changes::change_members(&control, &org, share)
                    }
                    _ => Vec::new(),
                };
                // A fresh credit window for every run, so each starts on the same footing.
                tokio::time::sleep(cfg.window + Duration::from_millis(200)).await;
                control.reset_counters();
                let args = ChildArgs {
                    base_url: sandbox.base_url(),
                    org: org.clone(),
                    credits: cfg.credits,
                    window: cfg.window,
                    partitioning: variant,
                    store: store.clone(),
                };
                let (exe, token) = (exe.clone(), token.clone());
                let sandbox_cpu = cpu_seconds().unwrap_or(0.0);
                let r = tokio::task::spawn_blocking(move || run_child(&exe, &args, &token))
                    .await
                    .map_err(|e| e.to_string())??;
                let sandbox_cpu_s = cpu_seconds().unwrap_or(0.0) - sandbox_cpu;
                let c = control.counters();
                let pages_min = n.div_ceil(100).max(1) as u64;
                let min_requests = pages_min + 1;
                let floor_s = min_requests as f64 * LEVEL3 as f64 / cfg.credits as f64
                    * cfg.window.as_secs_f64();
                let wall_s = r.wall_ms as f64 / 1000.0;
                let row = DownloadRow {
                    members: n,
                    variant: variant.name(),
                    store: store_name,
                    run,
                    wall_s,
                    floor_s,
                    of_ceiling: floor_s / wall_s.max(1e-9),
                    rate_limited: c.rate_limited,
                    requests: c.get("org") + c.get("members") + c.get("member"),
                    min_requests,
                    pages: r.pages,
                    parts: r.parts,
                    peak_rss_mib: r.peak_rss_kib as f64 / 1024.0,
                    peak_rss_is_per_run: r.peak_reset,
                    cpu_s: r.cpu_s,
                    sandbox_cpu_s,
                    store_write_requests: r.store_write_requests,
                    store_items_written: r.store_items_written,
                    members_seen: r.members_seen,
                    new: r.new,
                    changed: r.changed,
                    unchanged: r.unchanged,
                    removed: r.removed,
                    duplicates: r.duplicates,
                    confirmed_present: r.confirmed_present,
                    timeline_events: if run == "changed" && store_name == "sqlite" {
                        Some(crate::changes::count_events(&store, &org, &changed_ids).await?)
                    } else {
                        None
                    },
                };
                eprintln!(
                    "download n={n} {} {} {run}: {:.2} s (floor {:.2} s), {} 429s, {} requests",
                    row.variant, row.store, row.wall_s, row.floor_s, row.rate_limited, row.requests
                );
                rows.push(row);
            }
            // Planning reads only the store: the sandbox stays idle meanwhile.
            if cfg.plan && store_name == "sqlite" {
                let (exe, store, org) = (exe.clone(), store.clone(), org.clone());
                let r = tokio::task::spawn_blocking(move || {
                    crate::plan::run(&exe, &store, store_name, &org, n)
                })
                .await
                .map_err(|e| e.to_string())??;
                plan_rows.extend(r);
            }
        }
        sandbox.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((rows, plan_rows))
}

/// A fresh directory under the system temp dir.
pub fn scratch_dir(what: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "miro-sam-bench-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}
