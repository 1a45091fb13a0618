//! Planning memory: `miro_sam_core::jobs::plan_org_streamed` over an org the download benchmark just stored,
//! in a child process of its own (this binary, `plan-run`, [`crate::child`]), so its peak RSS is the planning's alone, as the
//! scheduled Lambda would see it after a download.
//!
//! Two plans per org: `first` (no earlier plan: every candidate gets a "planned" timeline event) and `again`
//! (the first plan is the previous one, so the new candidates are found by merging both plans page by page).

use std::path::Path;
use std::time::Instant;

use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::plan_org_streamed;
use serde::{Deserialize, Serialize};

use crate::machine::{cpu_seconds, reset_peak_rss, status_kib};
use crate::report::per_run_mark;
use crate::store::BenchStore;
use crate::table::Table;

/// The memory goals for planning, as for the download: (members, MiB).
pub const GOALS_MIB: [(usize, f64); 2] = [(100_000, 64.0), (1_000_000, 96.0)];

/// The goal that applies to an org of `members`, if any.
pub fn goal_mib(members: usize) -> Option<f64> {
    GOALS_MIB
        .iter()
        .find(|(n, _)| *n == members)
        .map(|(_, mib)| *mib)
}

/// What the child prints (one `RESULT {json}` line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanChildResult {
    pub wall_ms: u64,
    pub peak_rss_kib: u64,
    pub peak_reset: bool,
    pub cpu_s: f64,
    pub members_considered: u32,
    pub candidates: u32,
    pub excluded: u32,
}

/// One planning run as the table shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    pub variant: &'static str,
    pub store: &'static str,
    pub members: usize,
    /// `first` (no earlier plan) or `again` (the first plan is the previous one).
    pub run: &'static str,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub peak_rss_mib: f64,
    pub peak_rss_is_per_run: bool,
    pub members_considered: u32,
    pub candidates: u32,
    pub excluded: u32,
    pub goal_mib: Option<f64>,
    pub met: Option<bool>,
}

/// The child: one streamed plan of `org` in the store `spec`, timed, with its own peak RSS.
pub async fn child_run(spec: &str, org: &str) -> Result<PlanChildResult, String> {
    let org = OrgId::parse(org).map_err(|e| e.to_string())?;
    let store = BenchStore::open(spec).await?;
    let port = store.port();
    let peak_reset = reset_peak_rss();
    let cpu_before = cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    let header = plan_org_streamed(port.as_ref(), &org, "bench plan", chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(PlanChildResult {
        wall_ms: started.elapsed().as_millis() as u64,
        peak_rss_kib: status_kib("VmHWM").unwrap_or(0),
        peak_reset,
        cpu_s: cpu_seconds().unwrap_or(0.0) - cpu_before,
        members_considered: header.totals.members_considered,
        candidates: header.totals.candidates,
        excluded: header.totals.excluded,
    })
}

/// Plans the org in `spec` twice (`first`, `again`), each in its own child process.
pub fn run(
    exe: &Path,
    spec: &str,
    store_name: &'static str,
    org: &str,
    members: usize,
) -> Result<Vec<PlanRow>, String> {
    let mut rows = Vec::new();
    for run in ["first", "again"] {
        let args = ["plan-run", "--store", spec, "--org", org].map(str::to_owned);
        let r: PlanChildResult = crate::child::run(exe, &args)?;
        let peak_rss_mib = r.peak_rss_kib as f64 / 1024.0;
        let goal = goal_mib(members);
        let row = PlanRow {
            variant: "plan-streamed",
            store: store_name,
            members,
            run,
            wall_s: r.wall_ms as f64 / 1000.0,
            cpu_s: r.cpu_s,
            peak_rss_mib,
            peak_rss_is_per_run: r.peak_reset,
            members_considered: r.members_considered,
            candidates: r.candidates,
            excluded: r.excluded,
            goal_mib: goal,
            met: goal.map(|g| peak_rss_mib <= g),
        };
        eprintln!(
            "plan n={members} {store_name} {run}: {:.2} s, peak RSS {:.1} MiB, {} candidates",
            row.wall_s, row.peak_rss_mib, row.candidates
        );
        rows.push(row);
    }
    Ok(rows)
}

/// The planning table and its goals for `RESULTS.md`.
pub fn markdown(rows: &[PlanRow]) -> String {
    let mut t = Table::new(&[
        "members:",
        "store",
        "plan",
        "wall s:",
        "CPU s:",
        "peak RSS MiB:",
        "considered:",
        "candidates:",
        "excluded:",
        "goal",
    ]);
    for r in rows {
        t.row(&[
            r.members.to_string(),
            r.store.to_owned(),
            r.run.to_owned(),
            format!("{:.2}", r.wall_s),
            format!("{:.1}", r.cpu_s),
            format!(
                "{:.1}{}",
                r.peak_rss_mib,
                per_run_mark(r.peak_rss_is_per_run)
            ),
            r.members_considered.to_string(),
            r.candidates.to_string(),
            r.excluded.to_string(),
            match (r.goal_mib, r.met) {
                (Some(g), Some(true)) => format!("≤ {g:.0} MiB: met"),
                (Some(g), _) => format!("≤ {g:.0} MiB: MISSED"),
                _ => "-".into(),
            },
        ]);
    }
    format!(
        "### Planning (`plan_org_streamed`, a page of members at a time, in a child process)\n\n{}",
        t.finish()
    )
}
