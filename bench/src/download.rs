//! The download benchmark: one org of N members, Miro's credit model with the window scaled to seconds, and a
//! per-request latency that keeps strictly sequential paging below the credit ceiling.
//!
//! The sandbox runs in this process; every download runs in a child process (this binary, `download-run`,
//! [`crate::child`]), so the peak RSS it reports is the download's own (client, store, diff state), as a Lambda
//! would see it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use miro_client::{MiroClient, MiroConfig, RestLimits};
use miro_sam_aws::AwsClients;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{
    DownloadOptions, DownloadOutcome, DownloadSummary, StopAt, download_org_with,
};
use miro_sam_core::ports::TokenStore;
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::world;
use miro_sandbox::{Sandbox, SandboxConfig};
use serde::{Deserialize, Serialize};

use crate::machine::{cpu_seconds, reset_peak_rss, status_kib};
use crate::partition::Partitioning;
use crate::plan::PlanRow;
use crate::store::{BenchStore, aws_sdk, new_table};

/// Miro's Level-3 cost of one members page (and of the org call).
pub const LEVEL3: u64 = 500;

/// The fewest requests a download of `members` makes: the org call and one per members page of 100.
pub fn min_requests(members: usize) -> u64 {
    members.div_ceil(100).max(1) as u64 + 1
}

/// How long `requests` Level-3 calls take at the least on a budget of `credits` per `window`.
pub fn credit_floor_s(requests: u64, credits: u64, window: Duration) -> f64 {
    requests as f64 * LEVEL3 as f64 / credits as f64 * window.as_secs_f64()
}

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
    /// The core's own account of the run (pages, new, changed, ...).
    pub summary: DownloadSummary,
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
    /// A SQLite file holding the org's tokens, stored there by the parent (a token never goes in argv).
    pub tokens: String,
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
            "--tokens".into(),
            self.tokens.clone(),
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

/// The child: one download run, timed, with its own peak RSS.
pub async fn child_run(a: ChildArgs) -> Result<ChildResult, String> {
    let org = OrgId::parse(&a.org).map_err(|e| e.to_string())?;
    let client = MiroClient::new(client_config(&a.base_url, a.credits, a.window)?)
        .map_err(|e| e.to_string())?;
    let tokens = SqliteStore::open(&a.tokens).map_err(|e| e.to_string())?;
    let store = BenchStore::open(&a.store).await?;
    let deps = crate::wiring::deps(store.port(), Arc::new(tokens), client.clone());

    let peak_reset = reset_peak_rss();
    let started = Instant::now();
    let cpu_before = cpu_seconds().unwrap_or(0.0);
    // Every variant is the core's download: sequential (pipelined) or partitioned, as the setting says.
    let options = DownloadOptions {
        partitioning: a.partitioning,
    };
    let summary = match download_org_with(&deps, &org, StopAt::default(), options)
        .await
        .map_err(|e| e.to_string())?
    {
        DownloadOutcome::Complete(s) => *s,
        DownloadOutcome::Paused(p) => return Err(format!("the download paused: {p:?}")),
    };
    let wall_ms = started.elapsed().as_millis() as u64;
    let cpu_s = cpu_seconds().unwrap_or(0.0) - cpu_before;
    let peak_rss_kib = status_kib("VmHWM").unwrap_or(0);
    let stats = client.stats();
    let (store_write_requests, store_items_written) = match &store {
        BenchStore::Sqlite(s) => (s.member_rows_written(), s.member_rows_written()),
        BenchStore::Dynamo(d) => {
            let w = d.write_stats();
            (w.batch_calls + w.item_writes, w.batch_items + w.item_writes)
        }
    };
    Ok(ChildResult {
        wall_ms,
        summary,
        client_requests: stats.requests,
        client_rate_limited: stats.rate_limited,
        store_write_requests,
        store_items_written,
        peak_rss_kib,
        peak_reset,
        cpu_s,
    })
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
        let org_id = OrgId::parse(&org).map_err(|e| e.to_string())?;
        let tokens_path = dir.join(format!("{n}-tokens.sqlite"));
        let tokens = SqliteStore::open(&tokens_path).map_err(|e| e.to_string())?;

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
                // A fresh token for every run, as the callback stores it: none expires mid-run.
                tokens
                    .put_tokens(&world::access_token(&control, &org_id))
                    .await
                    .map_err(|e| e.to_string())?;
                let args = ChildArgs {
                    base_url: sandbox.base_url(),
                    org: org.clone(),
                    credits: cfg.credits,
                    window: cfg.window,
                    partitioning: variant,
                    store: store.clone(),
                    tokens: tokens_path.display().to_string(),
                };
                let exe = exe.clone();
                let sandbox_cpu = cpu_seconds().unwrap_or(0.0);
                let r: ChildResult =
                    tokio::task::spawn_blocking(move || crate::child::run(&exe, &args.to_args()))
                        .await
                        .map_err(|e| e.to_string())??;
                let sandbox_cpu_s = cpu_seconds().unwrap_or(0.0) - sandbox_cpu;
                let c = control.counters();
                let min_requests = min_requests(n);
                let floor_s = credit_floor_s(min_requests, cfg.credits, cfg.window);
                let wall_s = r.wall_ms as f64 / 1000.0;
                let s = &r.summary;
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
                    pages: s.pages,
                    parts: variant.filters().len() as u64,
                    peak_rss_mib: r.peak_rss_kib as f64 / 1024.0,
                    peak_rss_is_per_run: r.peak_reset,
                    cpu_s: r.cpu_s,
                    sandbox_cpu_s,
                    store_write_requests: r.store_write_requests,
                    store_items_written: r.store_items_written,
                    members_seen: s.members_seen,
                    new: s.new,
                    changed: s.changed,
                    unchanged: s.unchanged,
                    removed: s.removed,
                    duplicates: s.duplicates,
                    confirmed_present: s.confirmed_present,
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
