//! `miro-sam-bench download|reclaim|startup|console|all [--json out.json]` (and `fleet`): benchmarks against the
//! physical limit.
//! Run it as a release build: `cargo run --release -p miro-sam-bench -- all --json bench.json`.
//! With `MIRO_SAM_TEST_AWS_ENDPOINT` set (a local AWS API such as moto) the download also runs on DynamoDB and
//! the start-up benchmark runs the functions with their production environment.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use miro_sam_bench::child;
use miro_sam_bench::console::{self, ConsoleConfig};
use miro_sam_bench::download::{self, ChildArgs, DownloadConfig};
use miro_sam_bench::machine::Machine;
use miro_sam_bench::partition::Partitioning;
use miro_sam_bench::reclaim::{self, ReclaimConfig};
use miro_sam_bench::report::{DownloadSection, ReclaimSection, Report};
use miro_sam_bench::startup::{self, StartupConfig};
use miro_sam_bench::store::aws_endpoint;

#[derive(Parser, Debug)]
#[command(
    name = "miro-sam-bench",
    about = "miro-sam against the floor Miro's rate limits impose"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Download orgs of 10 000, 100 000 and 1 000 000 members (`--members`), sequential and partitioned.
    Download(DownloadArgs),
    /// 1 000 queued candidates, 4 workers at 1/4 of the SCIM budget each (and two contrasting scenarios), and
    /// store reads per reclaim message for plans of 100 and 10 000 candidates.
    Reclaim(ReclaimArgs),
    /// Cold start of the three function binaries against a Runtime API stub.
    Startup(StartupArgs),
    /// All of the above.
    All(DownloadArgs),
    /// 20 orgs × 20 000 members through the real fan-out (queue on the local AWS API), 10 workers.
    Fleet(FleetArgs),
    /// Server time of the console's overview, plan and member-search pages for an org of 100 000 members.
    Console(ConsoleArgs),
    /// One download run in a child process (used by `download`).
    #[command(hide = true)]
    DownloadRun(DownloadRunArgs),
    /// One streamed plan in a child process (used by `download --plan`).
    #[command(hide = true)]
    PlanRun(PlanRunArgs),
    /// The console over one store in a child process (used by `console`).
    #[command(hide = true)]
    ConsoleServe(ConsoleServeArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct ReclaimArgs {
    /// Only the store reads per reclaim message (not the throughput scenarios).
    #[arg(long)]
    reads_only: bool,
}

#[derive(clap::Args, Debug, Clone)]
struct ConsoleArgs {
    /// Members of the org on SQLite.
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    /// Members of the org on DynamoDB (the local AWS API).
    #[arg(long, default_value_t = 100_000)]
    dynamo_members: usize,
    /// Candidates of the latest plan.
    #[arg(long, default_value_t = 10_000)]
    candidates: usize,
    /// Timed requests per page on SQLite (after one warm-up).
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Timed requests per page on DynamoDB (after one warm-up).
    #[arg(long, default_value_t = 5)]
    dynamo_requests: usize,
    /// The member search's email prefix.
    #[arg(long, default_value = "maria.s")]
    search: String,
    /// SQLite only, even with the local AWS API configured.
    #[arg(long)]
    sqlite_only: bool,
}

#[derive(clap::Args, Debug, Clone)]
struct PlanRunArgs {
    #[arg(long)]
    store: String,
    #[arg(long)]
    org: String,
}

#[derive(clap::Args, Debug, Clone)]
struct ConsoleServeArgs {
    #[arg(long)]
    store: String,
    #[arg(long)]
    org: String,
    #[arg(long)]
    secret_prefix: Option<String>,
    #[arg(long)]
    queue_url: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
struct DownloadArgs {
    /// Org sizes (members), e.g. `--members 10000,100000,1000000`.
    #[arg(
        long = "members",
        alias = "sizes",
        value_delimiter = ',',
        default_value = "10000,100000,1000000"
    )]
    sizes: Vec<usize>,
    /// Pagings to run on SQLite (sequential, active, active-license, active-license-role).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sequential,active-license"
    )]
    variants: Vec<String>,
    /// Pagings to run on DynamoDB.
    #[arg(long, value_delimiter = ',', default_value = "sequential")]
    dynamo_variants: Vec<String>,
    /// Per-request latency of the sandbox.
    #[arg(long, default_value_t = 10)]
    latency_ms: u64,
    /// Credit window (Miro: 60 000).
    #[arg(long, default_value_t = 1000)]
    window_ms: u64,
    /// Largest org also downloaded into DynamoDB on the local AWS API (moto is slow: see bench/RESULTS.md).
    #[arg(long, default_value_t = 100_000)]
    dynamo_max_members: usize,
    /// First runs only (no unchanged re-run).
    #[arg(long)]
    first_only: bool,
    /// After each SQLite variant's downloads, plan the org twice (`plan_org_streamed`) in a child process and
    /// report planning's peak RSS.
    #[arg(long)]
    plan: bool,
    /// Also a `changed` run: this share of the members changes in the sandbox first (license swapped, active
    /// just now), so the download rewrites them and records timeline events. E.g. `--changed 0.1`.
    #[arg(long)]
    changed: Option<f64>,
}

#[derive(clap::Args, Debug, Clone)]
struct FleetArgs {
    #[arg(long, default_value_t = 20)]
    orgs: usize,
    #[arg(long, default_value_t = 20_000)]
    members: usize,
    #[arg(long, default_value_t = 10)]
    workers: usize,
    #[arg(long, default_value_t = 10)]
    latency_ms: u64,
    #[arg(long, default_value_t = 1000)]
    window_ms: u64,
}

#[derive(clap::Args, Debug, Clone)]
struct StartupArgs {
    #[arg(long, default_value_t = 9)]
    repeats: usize,
}

#[derive(clap::Args, Debug, Clone)]
struct DownloadRunArgs {
    #[arg(long)]
    base_url: String,
    #[arg(long)]
    org: String,
    #[arg(long)]
    credits: u64,
    #[arg(long)]
    window_ms: u64,
    #[arg(long)]
    partitioning: String,
    #[arg(long)]
    store: String,
    #[arg(long)]
    tokens: String,
}

fn pagings(names: &[String]) -> Result<Vec<Partitioning>, String> {
    names
        .iter()
        .map(|n| Partitioning::from_arg(n).ok_or_else(|| format!("unknown paging {n:?}")))
        .collect()
}

async fn run_download(a: &DownloadArgs) -> Result<DownloadSection, String> {
    let cfg = DownloadConfig {
        sizes: a.sizes.clone(),
        variants: pagings(&a.variants)?,
        dynamo_variants: pagings(&a.dynamo_variants)?,
        latency: Duration::from_millis(a.latency_ms),
        window: Duration::from_millis(a.window_ms),
        aws_endpoint: aws_endpoint(),
        dynamo_max_members: a.dynamo_max_members,
        rerun: !a.first_only,
        plan: a.plan,
        changed_share: a.changed,
        ..DownloadConfig::default()
    };
    if cfg.aws_endpoint.is_none() {
        eprintln!("download: MIRO_SAM_TEST_AWS_ENDPOINT is not set; DynamoDB runs skipped");
    }
    let (rows, plans) = download::run(&cfg).await?;
    Ok(DownloadSection {
        credits_per_window: cfg.credits,
        window_ms: cfg.window.as_millis() as u64,
        latency_ms: cfg.latency.as_millis() as u64,
        rows,
        plans,
    })
}

async fn run_reclaim(a: &ReclaimArgs) -> Result<ReclaimSection, String> {
    let cfg = ReclaimConfig::default();
    let rows = if a.reads_only {
        Vec::new()
    } else {
        reclaim::run(&cfg).await?
    };
    let mut section = ReclaimSection::new(&cfg, rows);
    section.reads = reclaim::run_reads(&reclaim::ReadsConfig::default()).await?;
    Ok(section)
}

async fn run_startup(repeats: usize) -> Result<Vec<startup::StartupRow>, String> {
    startup::run(&StartupConfig {
        repeats,
        aws_endpoint: aws_endpoint(),
        ..StartupConfig::default()
    })
    .await
}

async fn run_console(a: &ConsoleArgs) -> Result<Vec<console::ConsoleStoreRun>, String> {
    let cfg = ConsoleConfig {
        members: a.members,
        dynamo_members: a.dynamo_members,
        candidates: a.candidates,
        requests: a.requests,
        dynamo_requests: a.dynamo_requests,
        search: a.search.clone(),
        aws_endpoint: if a.sqlite_only { None } else { aws_endpoint() },
    };
    console::run(&cfg).await
}

async fn main_inner(cli: Cli) -> Result<(), String> {
    if let Cmd::PlanRun(a) = &cli.command {
        let r = miro_sam_bench::plan::child_run(&a.store, &a.org).await?;
        return child::print_result(&r);
    }
    if let Cmd::ConsoleServe(a) = &cli.command {
        return console::serve::child_run(console::serve::ServeArgs {
            store: a.store.clone(),
            org: a.org.clone(),
            secret_prefix: a.secret_prefix.clone(),
            queue_url: a.queue_url.clone(),
        })
        .await;
    }
    if let Cmd::DownloadRun(a) = &cli.command {
        let partitioning = Partitioning::from_arg(&a.partitioning)
            .ok_or_else(|| format!("unknown partitioning {:?}", a.partitioning))?;
        let r = download::child_run(ChildArgs {
            base_url: a.base_url.clone(),
            org: a.org.clone(),
            credits: a.credits,
            window: Duration::from_millis(a.window_ms),
            partitioning,
            store: a.store.clone(),
            tokens: a.tokens.clone(),
        })
        .await?;
        return child::print_result(&r);
    }
    if let Cmd::Fleet(a) = &cli.command {
        let endpoint = aws_endpoint()
            .ok_or("fleet: MIRO_SAM_TEST_AWS_ENDPOINT (the local AWS API) is required")?;
        let row = miro_sam_bench::fleet::run(&miro_sam_bench::fleet::FleetConfig {
            orgs: a.orgs,
            members: a.members,
            workers: a.workers,
            credits: 100_000,
            window: Duration::from_millis(a.window_ms),
            latency: Duration::from_millis(a.latency_ms),
            aws_endpoint: endpoint,
        })
        .await?;
        println!("{}", row.markdown());
        if let Some(path) = &cli.json {
            let text = serde_json::to_string_pretty(&row).map_err(|e| e.to_string())?;
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        return Ok(());
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build; benchmark numbers need `cargo run --release -p miro-sam-bench`"
        );
    }
    let mut report = Report {
        machine: Machine::describe(),
        download: None,
        reclaim: None,
        startup: None,
        console: None,
    };
    match &cli.command {
        Cmd::Download(a) => report.download = Some(run_download(a).await?),
        Cmd::Reclaim(a) => report.reclaim = Some(run_reclaim(a).await?),
        Cmd::Startup(a) => report.startup = Some(run_startup(a.repeats).await?),
        Cmd::Console(a) => report.console = Some(run_console(a).await?),
        Cmd::All(a) => {
            report.startup = Some(run_startup(9).await?);
            report.reclaim = Some(run_reclaim(&ReclaimArgs { reads_only: false }).await?);
            report.download = Some(run_download(a).await?);
            report.console = Some(
                console::run(&ConsoleConfig {
                    aws_endpoint: aws_endpoint(),
                    ..ConsoleConfig::default()
                })
                .await?,
            );
        }
        Cmd::DownloadRun(_) | Cmd::PlanRun(_) | Cmd::ConsoleServe(_) | Cmd::Fleet(_) => {
            unreachable!("handled above")
        }
    }
    println!("{}", report.markdown());
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match main_inner(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("miro-sam-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
