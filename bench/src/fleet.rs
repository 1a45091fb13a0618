//! The fleet benchmark: many orgs, each with its own Miro token budget, downloaded through the real fan-out code.
//! The dispatcher (`download_subscriptions::handle` with the scheduled event) queues one job per org on an SQS
//! queue of the local AWS API; `workers` tasks each play one Lambda worker of the event source mapping (batch size
//! 1): receive a message, hand it to `download_subscriptions::handle_jobs` as an SQS event, delete it or make it
//! visible again as the answer says. Orgs' data is stored in one SQLite file (DynamoDB on moto would measure moto).
//!
//! The floor: one org's cursor listing is one request after another, so an org takes at least
//! max(credit floor, requests × latency); `workers` orgs run at once, so the fleet takes at least
//! ceil(orgs / workers) such waves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use miro_sam_aws::AwsClients;
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use miro_sam_lambda::env;
use miro_sam_sqlite::SqliteStore;
use miro_sam_testkit::world;
use miro_sandbox::{Sandbox, SandboxConfig};
use serde::Serialize;

use crate::download::{client_config, credit_floor_s, min_requests, scratch_dir};
use crate::store::{aws_sdk, new_queue};
use crate::wiring::{runtime, sandbox_settings, sqs_event};

#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub orgs: usize,
    pub members: usize,
    pub workers: usize,
    pub credits: u64,
    pub window: Duration,
    pub latency: Duration,
    pub aws_endpoint: String,
}

/// One fleet run, as the JSON rows of the other benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct FleetRow {
    pub variant: String,
    pub orgs: usize,
    pub members: usize,
    pub workers: usize,
    pub wall_s: f64,
    /// ceil(orgs / workers) × max(credit floor, latency floor) of one org.
    pub floor_s: f64,
    /// The same with the credit floor only (what the budgets alone would allow).
    pub credit_floor_s: f64,
    pub of_ceiling: f64,
    pub peak_rss_mib: f64,
    pub requests: u64,
    pub min_requests: u64,
    pub rate_limited: u64,
    pub jobs_handled: usize,
    pub orgs_done: usize,
    /// CPU seconds of the bench process (workers, sandbox, SQLite) during the run, on `cores` cores.
    pub cpu_s: f64,
    pub cores: usize,
}

/// Runs the fleet once and returns its row.
pub async fn run(cfg: &FleetConfig) -> Result<FleetRow, String> {
    let mut sc = SandboxConfig::with_members(cfg.members);
    let first = sc.orgs[0].clone();
    sc.orgs = (0..cfg.orgs)
        .map(|i| {
            let mut o = first.clone();
            o.id = format!("30744573458211{i:05}");
            o.name = format!("Fleet Org {i}");
            o
        })
        .collect();
    sc.rest_limits.credits_per_window = cfg.credits;
    sc.rest_limits.window = cfg.window;
    sc.latency = cfg.latency;
    let sandbox = Sandbox::start(sc).await.map_err(|e| e.to_string())?;
    let control = sandbox.control();

    let sdk = aws_sdk(&cfg.aws_endpoint).await;
    let clients = AwsClients::new(&sdk);
    let queue_url = new_queue(&clients, "download").await?;
    let settings = sandbox_settings(&sandbox, (env::DOWNLOAD_QUEUE_URL, queue_url.clone()))?;
    let miro = client_config(&sandbox.base_url(), cfg.credits, cfg.window)?;
    let dir = scratch_dir("fleet")?;
    let store = Arc::new(SqliteStore::open(dir.join("fleet.sqlite")).map_err(|e| e.to_string())?);
    let rt = runtime(settings, clients.clone(), miro, store.clone(), store).await?;

    let now = chrono::Utc::now();
    for id in control.org_ids() {
        let org = OrgId::parse(&id).map_err(|e| e.to_string())?;
        rt.deps
            .tokens
            .put_tokens(&world::access_token(&control, &org))
            .await
            .map_err(|e| e.to_string())?;
        rt.deps
            .store
            .put_org(&RegisteredOrg {
                id: org,
                name: id.clone(),
                connected_at: now,
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    // A fresh credit window for every org.
    tokio::time::sleep(cfg.window + Duration::from_millis(200)).await;
    control.reset_counters();

    let cpu_before = crate::machine::cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    let dispatched =
        download_subscriptions::handle(&rt, "fleet-schedule", serde_json::json!({}), None).await?;
    if dispatched.queued as usize != cfg.orgs {
        return Err(format!(
            "the dispatcher queued {} jobs for {} orgs",
            dispatched.queued, cfg.orgs
        ));
    }
    let done = Arc::new(AtomicUsize::new(0));
    let handled = Arc::new(AtomicUsize::new(0));
    let rt = Arc::new(rt);
    let mut tasks = Vec::new();
    for w in 0..cfg.workers {
        let (rt, sqs, url, done, handled, orgs) = (
            rt.clone(),
            clients.sqs.clone(),
            queue_url.clone(),
            done.clone(),
            handled.clone(),
            cfg.orgs,
        );
        tasks.push(tokio::spawn(async move {
            while done.load(Ordering::SeqCst) < orgs {
                let out = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(1)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .map_err(|e| format!("receive: {e}"))?;
                let Some(m) = out.messages().first() else {
                    continue;
                };
                let receipt = m.receipt_handle().unwrap_or_default();
                let message = (
                    m.message_id().unwrap_or_default(),
                    receipt,
                    m.body().unwrap_or_default(),
                );
                let event = sqs_event("download", [message])?;
                // Lambda's 15 minutes minus the margin, as the deployed worker has.
                let deadline = Instant::now() + Duration::from_secs(840);
                let r = download_subscriptions::handle_jobs(
                    &rt,
                    &format!("worker-{w}"),
                    event,
                    Some(deadline),
                )
                .await;
                handled.fetch_add(1, Ordering::SeqCst);
                if r.response.batch_item_failures.is_empty() {
                    sqs.delete_message()
                        .queue_url(&url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                } else {
                    sqs.change_message_visibility()
                        .queue_url(&url)
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let finished = r
                    .jobs
                    .iter()
                    .filter(|j| {
                        j.outcome
                            .as_ref()
                            .is_some_and(|o| o.status == download_subscriptions::Status::Done)
                    })
                    .count();
                done.fetch_add(finished, Ordering::SeqCst);
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = crate::machine::cpu_seconds().unwrap_or(0.0) - cpu_before;
    let c = control.counters();
    let per_org_requests = min_requests(cfg.members);
    let credit = credit_floor_s(per_org_requests, cfg.credits, cfg.window);
    let latency = per_org_requests as f64 * cfg.latency.as_secs_f64();
    let waves = cfg.orgs.div_ceil(cfg.workers) as f64;
    let floor_s = waves * credit.max(latency);
    sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(FleetRow {
        variant: "fleet".into(),
        orgs: cfg.orgs,
        members: cfg.members,
        workers: cfg.workers,
        wall_s,
        floor_s,
        credit_floor_s: waves * credit,
        of_ceiling: floor_s / wall_s.max(1e-9),
        peak_rss_mib: crate::machine::status_kib("VmHWM").unwrap_or(0) as f64 / 1024.0,
        requests: c.get("org") + c.get("members") + c.get("member"),
        min_requests: per_org_requests * cfg.orgs as u64,
        rate_limited: c.rate_limited,
        jobs_handled: handled.load(Ordering::SeqCst),
        orgs_done: done.load(Ordering::SeqCst),
        cpu_s,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

impl FleetRow {
    pub fn markdown(&self) -> String {
        format!(
            "### Fleet: {} orgs × {} members, {} workers, each org its own budget\n\n\
             | orgs × members | workers | wall s | floor s (credit-only) | of floor | 429s | requests (min) | jobs | orgs done | CPU s on {} cores | peak RSS MiB (bench + sandbox) |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | {} × {} | {} | {:.2} | {:.2} ({:.2}) | {:.0}% | {} | {} ({}) | {} | {} | {:.1} | {:.1} |\n\n\
             Goal: ≥ 80% of the floor and 0 × 429: {}\n",
            self.orgs,
            self.members,
            self.workers,
            self.cores,
            self.orgs,
            self.members,
            self.workers,
            self.wall_s,
            self.floor_s,
            self.credit_floor_s,
            self.of_ceiling * 100.0,
            self.rate_limited,
            self.requests,
            self.min_requests,
            self.jobs_handled,
            self.orgs_done,
            self.cpu_s,
            self.peak_rss_mib,
            if self.of_ceiling >= 0.8 && self.rate_limited == 0 {
                "met"
            } else {
                "MISSED"
            }
        )
    }
}
