//! The reclaim benchmark: queued candidates worked off by N concurrent reclaim workers, each pacing itself to
//! 1/N of Miro's budgets (`Settings::miro_for_reclaim_worker`), against the sandbox's SCIM PATCH budget.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use miro_client::MiroClient;
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::jobs::{Deps, JobError, download_org, plan_org, set_policy};
use miro_sam_core::plan::{Candidate, ReclaimPlan};
use miro_sam_core::ports::ReclaimRequest;
use miro_sam_lambda::{Runtime, env};
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::world::{self, SandboxWorld, Tokens};
use miro_sandbox::{SandboxConfig, ScimOp};
use reclaim_subscription::BatchCounts;
use serde::Serialize;

use crate::download::{client_config, credit_floor_s, scratch_dir};
use crate::store::{BenchStore, aws_endpoint, aws_sdk, new_table};
use crate::table::Table;
use crate::wiring::{runtime, sandbox_settings, sqs_event, unused_aws_clients};

#[derive(Debug, Clone)]
pub struct ReclaimConfig {
    /// Org size: enough members for every scenario's candidates.
    pub members: usize,
    /// Miro: 30 s. Scaled by `scale`.
    pub scim_window: Duration,
    /// Miro: 60 s. Scaled by the same factor.
    pub rest_window: Duration,
    pub rest_credits: u64,
    pub scim_patch_budget: u32,
    pub latency: Duration,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: &'static str,
    /// N: the event source mapping's maximum concurrency, i.e. how many shares the budget is cut into.
    pub workers_configured: u32,
    /// How many of them have messages to work on.
    pub workers_busy: u32,
    pub candidates: usize,
}

impl Default for ReclaimConfig {
    fn default() -> Self {
        ReclaimConfig {
            members: 6_000,
            // 30 s → 1 s and 60 s → 2 s: Miro's windows divided by 30.
            scim_window: Duration::from_secs(1),
            rest_window: Duration::from_secs(2),
            rest_credits: 100_000,
            scim_patch_budget: 100,
            // ~150 ms at Miro, divided by the same 30.
            latency: Duration::from_millis(5),
            scenarios: vec![
                Scenario {
                    name: "4 workers, all busy",
                    workers_configured: 4,
                    workers_busy: 4,
                    candidates: 1_000,
                },
                Scenario {
                    name: "4 workers, 1 busy",
                    workers_configured: 4,
                    workers_busy: 1,
                    candidates: 250,
                },
                Scenario {
                    name: "1 worker (whole budget)",
                    workers_configured: 1,
                    workers_busy: 1,
                    candidates: 1_000,
                },
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReclaimRow {
    pub scenario: &'static str,
    pub workers_configured: u32,
    pub workers_busy: u32,
    pub candidates: usize,
    pub wall_s: f64,
    /// SCIM PATCHes the sandbox received (deactivations).
    pub patches: u64,
    /// PATCH floor: patches ÷ budget × window.
    pub patch_floor_s: f64,
    /// REST floor of the re-check reads: member GETs × 500 ÷ credits × window.
    pub rest_floor_s: f64,
    pub floor_s: f64,
    pub patch_rate_per_s: f64,
    pub patch_ceiling_per_s: f64,
    pub of_ceiling: f64,
    /// 429s the sandbox sent (REST and SCIM).
    pub rate_limited: u64,
    pub client_rate_limited: u64,
    pub reclaimed: u64,
    pub skipped: u64,
    pub failed: u64,
    pub errors: u64,
    pub rest_member_gets: u64,
    pub scim_lists: u64,
}

/// How the reclaims of a run ended.
#[derive(Default)]
struct Tally {
    reclaimed: u64,
    skipped: u64,
    failed: u64,
    errors: u64,
}

impl Tally {
    /// One batch's counts. A message the worker hands back (to retry, or malformed) is an error here: the bench
    /// does not deliver it again.
    fn add(&mut self, c: &BatchCounts) {
        self.reclaimed += c.reclaimed;
        self.skipped += c.skipped;
        self.failed += c.failed;
        self.errors += c.retried + c.malformed + c.unstarted;
    }

    fn merge(&mut self, other: &Tally) {
        self.reclaimed += other.reclaimed;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.errors += other.errors;
    }
}

/// Messages per invocation of the reclaim worker: the event source mapping's `BatchSize` in infra/template.yaml.
const BATCH: usize = 10;

/// The queue's messages for `candidates` of the plan `plan_id`, as approving the plan sends them.
fn messages<'a>(
    plan_id: PlanId,
    org: &OrgId,
    candidates: impl IntoIterator<Item = &'a Candidate>,
) -> Mutex<VecDeque<String>> {
    let bodies = candidates.into_iter().map(|c| {
        ReclaimRequest::new(
            plan_id,
            org.clone(),
            c.member_id.clone(),
            c.email.clone(),
            c.reason.clone(),
        )
        .to_json()
    });
    Mutex::new(bodies.collect())
}

/// One reclaim worker as Lambda runs it: batches of [`BATCH`] messages taken from `queue` and handed to
/// `reclaim_subscription::handle_batch` until the queue is empty.
async fn work_off(rt: &Runtime, queue: &Mutex<VecDeque<String>>) -> Result<Tally, String> {
    let mut tally = Tally::default();
    loop {
        let batch: Vec<String> = {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            let n = q.len().min(BATCH);
            q.drain(..n).collect()
        };
        if batch.is_empty() {
            return Ok(tally);
        }
        let ids: Vec<String> = batch
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let records = ids
            .iter()
            .zip(&batch)
            .map(|(id, body)| (id.as_str(), id.as_str(), body.as_str()));
        let (_, counts) =
            reclaim_subscription::handle_batch(rt, sqs_event("reclaim", records)?).await;
        tally.add(&counts);
    }
}

/// Set-up, not timed: downloads the org, stores the live policy and plans it. The policy's notices are off:
/// the bench measures the reclaim itself, which with notices on waits a week for the cycle. `who` reclaims
/// `needs` of the plan's candidates.
async fn planned(deps: &Deps, org: &OrgId, needs: usize, who: &str) -> Result<ReclaimPlan, String> {
    let e = |e: JobError| e.to_string();
    download_org(deps, org).await.map_err(e)?;
    let now = chrono::Utc::now();
    set_policy(
        deps.store.as_ref(),
        org,
        &world::live_policy(),
        "bench",
        now,
    )
    .await
    .map_err(e)?;
    let plan = plan_org(deps.store.as_ref(), org, "bench", now)
        .await
        .map_err(e)?;
    if plan.candidates.len() < needs {
        return Err(format!(
            "the plan has {} candidates, {who} needs {needs}: raise the org size",
            plan.candidates.len()
        ));
    }
    Ok(plan)
}

pub async fn run(cfg: &ReclaimConfig) -> Result<Vec<ReclaimRow>, String> {
    let mut rows = Vec::new();
    for sc in &cfg.scenarios {
        let row = scenario(cfg, sc).await?;
        eprintln!(
            "reclaim {}: {:.2} s for {} PATCHes (floor {:.2} s), {} 429s",
            row.scenario, row.wall_s, row.patches, row.floor_s, row.rate_limited
        );
        rows.push(row);
    }
    Ok(rows)
}

async fn scenario(cfg: &ReclaimConfig, sc: &Scenario) -> Result<ReclaimRow, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut sandbox_cfg = SandboxConfig::with_members(cfg.members);
    sandbox_cfg.scim_limits.window = cfg.scim_window;
    sandbox_cfg.scim_limits.patch_user = cfg.scim_patch_budget;
    sandbox_cfg.rest_limits.window = cfg.rest_window;
    sandbox_cfg.rest_limits.credits_per_window = cfg.rest_credits;
    sandbox_cfg.latency = cfg.latency;
    let dir = scratch_dir("reclaim")?;
    let store = Arc::new(SqliteStore::open(dir.join("bench.sqlite")).map_err(|x| e(&x))?);
    let SandboxWorld {
        sandbox,
        control,
        org,
        mut deps,
    } = world::sandbox_world(sandbox_cfg, store.clone(), store, Tokens::BOTH).await;
    // The set-up's download paces to the sandbox's budget, as the workers do.
    deps.client = MiroClient::new(client_config(
        &sandbox.base_url(),
        cfg.rest_credits,
        cfg.rest_window,
    )?)
    .map_err(|x| e(&x))?;
    let plan = planned(&deps, &org, sc.candidates, "the scenario").await?;
    let queue = Arc::new(messages(
        plan.plan_id,
        &org,
        plan.candidates.iter().take(sc.candidates),
    ));

    // Each worker's Miro configuration, scaled exactly as the reclaim Lambda scales it.
    let mut settings = sandbox_settings(
        &sandbox,
        (env::RECLAIM_WORKERS, sc.workers_configured.to_string()),
    )?;
    settings.miro.scim_limits.window = cfg.scim_window;
    settings.miro.scim_limits.patch_user = cfg.scim_patch_budget;
    settings.miro.rest_limits.window = cfg.rest_window;
    settings.miro.rest_limits.credits_per_window = cfg.rest_credits;
    let worker_config = settings.miro_for_reclaim_worker();

    control.reset_counters();
    let before_patches = control.scim_log().len();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..sc.workers_busy {
        // Each worker its own cold start: its own client, paced to its share.
        let rt = runtime(
            settings.clone(),
            unused_aws_clients(),
            worker_config.clone(),
            deps.store.clone(),
            deps.tokens.clone(),
        )
        .await?;
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            let t = work_off(&rt, &queue).await;
            (t, rt.deps.client.stats())
        }));
    }
    let mut tally = Tally::default();
    let mut client_rate_limited = 0;
    for task in tasks {
        let (t, stats) = task.await.map_err(|x| e(&x))?;
        tally.merge(&t?);
        client_rate_limited += stats.rate_limited;
    }
    let wall_s = started.elapsed().as_secs_f64();
    let counters = control.counters();
    let patches = control
        .scim_log()
        .iter()
        .skip(before_patches)
        .filter(|w| w.op == ScimOp::Deactivate)
        .count() as u64;
    let member_gets = counters.get("member");
    let patch_floor_s =
        patches as f64 / cfg.scim_patch_budget as f64 * cfg.scim_window.as_secs_f64();
    let rest_floor_s = credit_floor_s(member_gets, cfg.rest_credits, cfg.rest_window);
    let floor_s = patch_floor_s.max(rest_floor_s);
    let ceiling = cfg.scim_patch_budget as f64 / cfg.scim_window.as_secs_f64();
    let rate = patches as f64 / wall_s.max(1e-9);
    sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ReclaimRow {
        scenario: sc.name,
        workers_configured: sc.workers_configured,
        workers_busy: sc.workers_busy,
        candidates: sc.candidates,
        wall_s,
        patches,
        patch_floor_s,
        rest_floor_s,
        floor_s,
        patch_rate_per_s: rate,
        patch_ceiling_per_s: ceiling,
        of_ceiling: rate / ceiling,
        rate_limited: counters.rate_limited,
        client_rate_limited,
        reclaimed: tally.reclaimed,
        skipped: tally.skipped,
        failed: tally.failed,
        errors: tally.errors,
        rest_member_gets: member_gets,
        scim_lists: counters.get("scim_list_users"),
    })
}

// --- Store reads per reclaim message ----------------------------------------------------------------------------

/// Store reads per reclaim message against the size of the plan: `messages` real candidates of a small sandbox
/// org are reclaimed out of plans padded (with candidates Miro does not know, never messaged) to each size.
#[derive(Debug, Clone)]
pub struct ReadsConfig {
    pub members: usize,
    pub plan_sizes: Vec<usize>,
    pub messages: usize,
    /// The local AWS API (moto); without it only SQLite is measured.
    pub aws_endpoint: Option<String>,
}

impl Default for ReadsConfig {
    fn default() -> Self {
        ReadsConfig {
            members: 200,
            plan_sizes: vec![100, 10_000],
            messages: 20,
            aws_endpoint: aws_endpoint(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadsRow {
    pub variant: &'static str,
    pub store: &'static str,
    pub plan_candidates: usize,
    pub messages: usize,
    /// Plan rows (SQLite) or items (DynamoDB) read per message: the plan's header, the message's candidate and
    /// the org's latest plan header (an approval lapses when a newer plan exists).
    pub plan_reads_per_message: f64,
    pub plan_kib_per_message: f64,
    /// DynamoDB only: every GetItem and Query page of the message (records, audit, policy, hold, pause
    /// included), and the items and KiB they returned.
    pub store_requests_per_message: Option<f64>,
    pub store_items_per_message: Option<f64>,
    pub store_kib_per_message: Option<f64>,
    /// What every message read before plans were items: the whole plan's JSON (one SQLite row; on DynamoDB a
    /// header plus 300 KiB chunks).
    pub whole_plan_kib: f64,
    pub outcomes: String,
}

/// What a store read so far, in one shape for both adapters.
#[derive(Debug, Clone, Copy, Default)]
struct Reads {
    plan_items: u64,
    plan_bytes: u64,
    requests: Option<u64>,
    items: Option<u64>,
    bytes: Option<u64>,
}

impl BenchStore {
    /// What the store read so far (the adapters' read counters).
    fn reads(&self) -> Reads {
        match self {
            BenchStore::Sqlite(s) => {
                let r = s.plan_reads();
                Reads {
                    plan_items: r.rows,
                    plan_bytes: r.bytes,
                    ..Reads::default()
                }
            }
            BenchStore::Dynamo(s) => {
                let r = s.read_stats();
                Reads {
                    plan_items: r.plan_items,
                    plan_bytes: r.plan_bytes,
                    requests: Some(r.requests),
                    items: Some(r.items),
                    bytes: Some(r.bytes),
                }
            }
        }
    }
}

pub async fn run_reads(cfg: &ReadsConfig) -> Result<Vec<ReadsRow>, String> {
    let mut rows = Vec::new();
    for dynamo in [false, true] {
        if dynamo && cfg.aws_endpoint.is_none() {
            eprintln!(
                "reclaim reads: DynamoDB skipped (no {})",
                miro_sam_aws::env::TEST_AWS_ENDPOINT
            );
            continue;
        }
        for &size in &cfg.plan_sizes {
            let row = reads_for(cfg, dynamo, size).await?;
            eprintln!(
                "reclaim reads, {} plan of {} candidates: {:.1} plan reads ({:.2} KiB) per message; the whole plan is {:.0} KiB",
                row.store,
                row.plan_candidates,
                row.plan_reads_per_message,
                row.plan_kib_per_message,
                row.whole_plan_kib
            );
            rows.push(row);
        }
    }
    Ok(rows)
}

async fn reads_for(cfg: &ReadsConfig, dynamo: bool, size: usize) -> Result<ReadsRow, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    // Tokens in an in-memory SQLite store whichever store holds the plan: only the plan reads are measured.
    let tokens = Arc::new(SqliteStore::in_memory().map_err(|x| e(&x))?);
    let store = match (&cfg.aws_endpoint, dynamo) {
        (Some(endpoint), true) => {
            let clients = miro_sam_aws::AwsClients::new(&aws_sdk(endpoint).await);
            let table = new_table(&clients, "reads").await?;
            BenchStore::Dynamo(miro_sam_aws::DynamoStore::new(clients.dynamodb, &table))
        }
        _ => BenchStore::Sqlite(SqliteStore::in_memory().map_err(|x| e(&x))?),
    };
    let port = store.port();
    let SandboxWorld {
        sandbox,
        org,
        mut deps,
        ..
    } = world::sandbox_world(
        SandboxConfig::with_members(cfg.members),
        port.clone(),
        tokens,
        Tokens::BOTH,
    )
    .await;
    let miro = client_config(&sandbox.base_url(), 100_000, Duration::from_secs(1))?;
    deps.client = MiroClient::new(miro.clone()).map_err(|x| e(&x))?;
    let real = planned(&deps, &org, cfg.messages, "the reads benchmark").await?;
    let messaged: Vec<_> = real.candidates[..cfg.messages].to_vec();
    let plan = padded(&real, size, cfg.messages)?;
    port.put_plan(&plan).await.map_err(|x| e(&x))?;
    let whole_plan_kib = serde_json::to_vec(&plan).map_err(|x| e(&x))?.len() as f64 / 1024.0;

    let settings = sandbox_settings(&sandbox, (env::RECLAIM_WORKERS, "1".into()))?;
    let rt = runtime(
        settings,
        unused_aws_clients(),
        miro,
        deps.store.clone(),
        deps.tokens.clone(),
    )
    .await?;
    let queue = messages(plan.plan_id, &org, &messaged);
    let before = store.reads();
    let outcomes = work_off(&rt, &queue).await?;
    let after = store.reads();
    sandbox.shutdown().await;
    let per = |a: u64, b: u64| (a - b) as f64 / cfg.messages as f64;
    let per_opt = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| per(a, b));
    Ok(ReadsRow {
        variant: "reclaim-reads",
        store: store.name(),
        plan_candidates: plan.candidates.len(),
        messages: cfg.messages,
        plan_reads_per_message: per(after.plan_items, before.plan_items),
        plan_kib_per_message: per(after.plan_bytes, before.plan_bytes) / 1024.0,
        store_requests_per_message: per_opt(after.requests, before.requests),
        store_items_per_message: per_opt(after.items, before.items),
        store_kib_per_message: per_opt(after.bytes, before.bytes).map(|b| b / 1024.0),
        whole_plan_kib,
        outcomes: format!(
            "{}/{}/{}/{}",
            outcomes.reclaimed, outcomes.skipped, outcomes.failed, outcomes.errors
        ),
    })
}

/// `real` under a new id with `size` candidates: its first `keep` real ones plus made-up members (ids Miro has
/// never issued, emails on a reserved domain) standing for the rest of a large org; only the real ones get
/// messages. It is made a second later than `real`, so it is the org's latest plan: a message of an older plan
/// is skipped as superseded, and this benchmark measures reclaims.
fn padded(real: &ReclaimPlan, size: usize, keep: usize) -> Result<ReclaimPlan, String> {
    use miro_sam_core::domain::{Email, MemberId};
    let template = real
        .candidates
        .first()
        .ok_or("the plan has no candidates")?;
    let mut plan = real.clone();
    plan.plan_id = PlanId::new();
    plan.created_at = real.created_at + chrono::Duration::seconds(1);
    plan.candidates.truncate(keep.min(size));
    for i in plan.candidates.len()..size {
        let mut c = template.clone();
        c.member_id = MemberId::parse(&format!("9{i:018}")).map_err(|x| x.to_string())?;
        c.email =
            Email::parse(&format!("padding{i}@example.invalid")).map_err(|x| x.to_string())?;
        plan.candidates.push(c);
    }
    plan.candidates
        .sort_by(miro_sam_core::plan::candidate_order);
    let n = plan.candidates.len() as u32;
    plan.totals.candidates = n;
    plan.cap.candidates = n;
    Ok(plan)
}

/// The reads table for `RESULTS.md`.
pub fn reads_markdown(rows: &[ReadsRow]) -> String {
    let mut t = Table::new(&[
        "store",
        "plan candidates:",
        "messages:",
        "plan reads / msg:",
        "plan KiB / msg:",
        "all requests / msg:",
        "all items / msg:",
        "all KiB / msg:",
        "whole plan KiB (read per msg before):",
        "reclaimed/skipped/failed/errors",
    ]);
    let opt = |v: Option<f64>, d: usize| v.map_or("-".to_owned(), |v| format!("{v:.d$}"));
    for r in rows {
        t.row(&[
            r.store.to_owned(),
            r.plan_candidates.to_string(),
            r.messages.to_string(),
            format!("{:.1}", r.plan_reads_per_message),
            format!("{:.2}", r.plan_kib_per_message),
            opt(r.store_requests_per_message, 1),
            opt(r.store_items_per_message, 1),
            opt(r.store_kib_per_message, 2),
            format!("{:.0}", r.whole_plan_kib),
            r.outcomes.clone(),
        ]);
    }
    let mut s = format!("#### Store reads per reclaim message\n\n{}", t.finish());
    let constant = rows
        .iter()
        .map(|r| {
            (
                r.store,
                r.plan_reads_per_message,
                r.store_requests_per_message,
            )
        })
        .fold(
            std::collections::BTreeMap::<&str, Vec<_>>::new(),
            |mut m, (s, p, q)| {
                m.entry(s).or_default().push((p, q));
                m
            },
        )
        .values()
        .all(|v| v.windows(2).all(|w| w[0] == w[1]));
    s.push_str(&format!(
        "\nGoal: reads per reclaim message constant in the plan's size: {}\n",
        if constant { "met" } else { "NOT met" }
    ));
    s
}
