//! The JSON document and the Markdown tables a run prints.

use serde::Serialize;

use crate::console::ConsoleStoreRun;
use crate::download::DownloadRow;
use crate::machine::Machine;
use crate::plan::PlanRow;
use crate::reclaim::{ReadsRow, ReclaimConfig, ReclaimRow, reads_markdown};
use crate::startup::StartupRow;
use crate::table::Table;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<DownloadSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaim: Option<ReclaimSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup: Option<Vec<StartupRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console: Option<Vec<ConsoleStoreRun>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DownloadSection {
    pub credits_per_window: u64,
    pub window_ms: u64,
    pub latency_ms: u64,
    pub rows: Vec<DownloadRow>,
    /// Planning after the downloads (`--plan`), SQLite only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<PlanRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReclaimSection {
    pub scim_window_ms: u64,
    pub rest_window_ms: u64,
    pub patch_budget: u32,
    pub rest_credits: u64,
    pub latency_ms: u64,
    pub members: usize,
    pub rows: Vec<ReclaimRow>,
    /// Store reads per reclaim message against the plan's size (`reclaim::run_reads`).
    pub reads: Vec<ReadsRow>,
}

impl ReclaimSection {
    pub fn new(cfg: &ReclaimConfig, rows: Vec<ReclaimRow>) -> Self {
        ReclaimSection {
            scim_window_ms: cfg.scim_window.as_millis() as u64,
            rest_window_ms: cfg.rest_window.as_millis() as u64,
            patch_budget: cfg.scim_patch_budget,
            rest_credits: cfg.rest_credits,
            latency_ms: cfg.latency.as_millis() as u64,
            members: cfg.members,
            rows,
            reads: Vec::new(),
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The mark after a peak RSS that is the process's whole life rather than this run's (no per-run reset).
pub fn per_run_mark(per_run: bool) -> &'static str {
    if per_run { "" } else { "*" }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        s.push_str(&format!(
            "Machine: {} cores (nproc), {}, {}, {}\n\n```\n{}\n```\n\n",
            m.nproc, m.kernel, m.rustc, m.date, m.memory
        ));
        if let Some(d) = &self.download {
            s.push_str(&format!(
                "### Download: {} credits per {} ms window, 500 per page, {} ms latency per request\n\n",
                d.credits_per_window, d.window_ms, d.latency_ms
            ));
            let mut t = Table::new(&[
                "members:",
                "paging",
                "store",
                "run",
                "wall s:",
                "floor s:",
                "of ceiling:",
                "429s:",
                "requests (min):",
                "parts:",
                "CPU s (ours / sandbox):",
                "peak RSS MiB:",
                "store writes (items):",
                "new/changed/unchanged/removed",
            ]);
            for r in &d.rows {
                t.row(&[
                    r.members.to_string(),
                    r.variant.to_owned(),
                    r.store.to_owned(),
                    r.run.to_owned(),
                    format!("{:.2}", r.wall_s),
                    format!("{:.2}", r.floor_s),
                    pct(r.of_ceiling),
                    r.rate_limited.to_string(),
                    format!("{} ({})", r.requests, r.min_requests),
                    r.parts.to_string(),
                    format!("{:.1} / {:.1}", r.cpu_s, r.sandbox_cpu_s),
                    format!(
                        "{:.1}{}",
                        r.peak_rss_mib,
                        per_run_mark(r.peak_rss_is_per_run)
                    ),
                    format!("{} ({})", r.store_write_requests, r.store_items_written),
                    format!("{}/{}/{}/{}", r.new, r.changed, r.unchanged, r.removed),
                ]);
            }
            s.push_str(&t.finish());
            s.push('\n');
            s.push_str(&download_goals(&d.rows));
            s.push('\n');
            if !d.plans.is_empty() {
                s.push_str(&crate::plan::markdown(&d.plans));
                s.push('\n');
            }
        }
        if let Some(r) = &self.reclaim
            && !r.rows.is_empty()
        {
            s.push_str(&format!(
                "### Reclaim: SCIM PATCH budget {} per {} ms, REST {} credits per {} ms, {} ms latency, org of {} members\n\n",
                r.patch_budget, r.scim_window_ms, r.rest_credits, r.rest_window_ms, r.latency_ms, r.members
            ));
            let mut t = Table::new(&[
                "scenario",
                "PATCHes:",
                "wall s:",
                "floor s (PATCH / REST):",
                "PATCH/s:",
                "of ceiling:",
                "429s (sandbox / client):",
                "reclaimed/skipped/failed/errors",
            ]);
            for x in &r.rows {
                t.row(&[
                    x.scenario.to_owned(),
                    x.patches.to_string(),
                    format!("{:.2}", x.wall_s),
                    format!("{:.2} / {:.2}", x.patch_floor_s, x.rest_floor_s),
                    format!(
                        "{:.1} (ceiling {:.0})",
                        x.patch_rate_per_s, x.patch_ceiling_per_s
                    ),
                    pct(x.of_ceiling),
                    format!("{} / {}", x.rate_limited, x.client_rate_limited),
                    format!("{}/{}/{}/{}", x.reclaimed, x.skipped, x.failed, x.errors),
                ]);
            }
            s.push_str(&t.finish());
            s.push('\n');
        }
        if let Some(r) = &self.reclaim
            && !r.reads.is_empty()
        {
            s.push_str(&reads_markdown(&r.reads));
            s.push('\n');
        }
        if let Some(runs) = &self.console {
            s.push_str(&crate::console::markdown(runs));
            s.push('\n');
        }
        if let Some(rows) = &self.startup {
            s.push_str("### Start-up: exec → first GET /2018-06-01/runtime/invocation/next (native release build)\n\n");
            let mut t = Table::new(&[
                "function",
                "env",
                "binary:",
                "runs:",
                "min ms:",
                "median ms:",
                "max ms:",
                "note",
            ]);
            let ms = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.1}"));
            for r in rows {
                t.row(&[
                    r.function.to_string(),
                    r.env.to_string(),
                    r.binary_bytes.map_or("-".to_owned(), |b| {
                        format!("{:.1} MiB", b as f64 / 1048576.0)
                    }),
                    r.runs.to_string(),
                    ms(r.min_ms),
                    ms(r.median_ms),
                    ms(r.max_ms),
                    r.skipped.clone().unwrap_or_default(),
                ]);
            }
            s.push_str(&t.finish());
            s.push('\n');
        }
        s
    }
}

/// The issue's goals for the download, met or missed, one line each.
pub fn download_goals(rows: &[DownloadRow]) -> String {
    let mut s = String::from("Goals:\n");
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    for r in rows.iter().filter(|r| r.variant == "sequential") {
        s.push_str(&format!(
            "- sequential pipelined ≥ 45% of the ceiling, {} members, {}, {}: {} ({})\n",
            r.members,
            r.store,
            r.run,
            pct(r.of_ceiling),
            mark(r.of_ceiling >= 0.45)
        ));
    }
    for r in rows.iter().filter(|r| r.run == "changed") {
        s.push_str(&format!(
            "- changed run, {} members, {} {}: {} changed members rewritten{}\n",
            r.members,
            r.variant,
            r.store,
            r.changed,
            r.timeline_events
                .map(|n| format!(", {n} timeline events stored for them"))
                .unwrap_or_default()
        ));
    }
    let limited: u64 = rows.iter().map(|r| r.rate_limited).sum();
    s.push_str(&format!(
        "- 0 × 429 in every run: {limited} ({})\n",
        mark(limited == 0)
    ));
    for (members, limit) in [(100_000usize, 64.0), (1_000_000, 96.0)] {
        for r in rows.iter().filter(|r| r.members == members) {
            s.push_str(&format!(
                "- peak RSS ≤ {limit:.0} MiB at {members} members, {} {} {}: {:.1} MiB ({})\n",
                r.variant,
                r.store,
                r.run,
                r.peak_rss_mib,
                mark(r.peak_rss_mib <= limit)
            ));
        }
    }
    s
}
