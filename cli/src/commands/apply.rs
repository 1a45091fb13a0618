//! `miro-sam apply PLAN_ID`: execute exactly the stored plan, one candidate at a time, each re-checked first.

use miro_sam_core::domain::PlanId;
use miro_sam_core::jobs::{ReclaimOptions, check_not_paused, reclaim_member};
use miro_sam_core::plan::{PLAN_PAGE, PlanHeader};
use miro_sam_core::reclaim::{ReclaimOutcome, SkipReason};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use crate::args::{ApplyArgs, Global};
use crate::context::{Ctx, operator};
use crate::exit;
use crate::failure::{CmdResult, Failure};
use crate::progress;

#[derive(Debug, Default)]
pub struct Tally {
    pub reclaimed: u32,
    pub replayed: u32,
    pub skipped: BTreeMap<String, u32>,
    pub failed: Vec<String>,
    /// Transient errors: running `apply` again continues with these.
    pub unfinished: Vec<String>,
    /// The kill switch was turned on during the run: why, and how many candidates were left alone.
    pub paused: Option<String>,
    pub not_attempted: usize,
}

pub async fn run(ctx: &Ctx, _g: &Global, args: ApplyArgs) -> CmdResult {
    let plan_id = PlanId::parse(&args.plan_id)?;
    let plan = ctx
        .deps
        .store
        .get_plan_header(plan_id)
        .await?
        .ok_or_else(|| {
            Failure::usage(format!(
                "plan {plan_id} does not exist; run `miro-sam plan` first"
            ))
        })?;
    plan.check_executable(false)
        .map_err(|e| Failure::refused(e.to_string()))?;
    check_not_paused(ctx.deps.store.as_ref(), &plan.org_id).await?;
    if !args.yes && !confirm(&plan)? {
        return Err(Failure::refused("not confirmed; nothing was changed"));
    }
    let tally = execute(
        ctx,
        &plan,
        &ReclaimOptions {
            override_dry_run: false,
            actor: operator("apply"),
            // Running `apply` is the operator's approval.
            approved_by: Some(operator("apply")),
        },
    )
    .await?;
    print_tally(&tally);
    if let Some(pause) = &tally.paused {
        return Err(Failure::refused(format!(
            "the org was paused during apply ({pause}); {} candidates were not attempted. Resume it \
             (`miro-sam resume`) and plan again",
            tally.not_attempted
        )));
    }
    if !tally.unfinished.is_empty() {
        return Err(Failure::new(
            exit::RETRY_LATER,
            format!(
                "{} candidates could not be finished now; run the same command again later",
                tally.unfinished.len()
            ),
        ));
    }
    if !tally.failed.is_empty() {
        return Err(Failure::new(
            exit::FAILURE,
            format!("{} candidates failed; see above", tally.failed.len()),
        ));
    }
    Ok(())
}

/// Runs every candidate of the plan. Stops early only when a person has to act (expired token, SCIM disabled):
/// every remaining candidate would fail the same way. The candidates are read a page at a time (member id order),
/// so a large plan is never held whole.
pub async fn execute(ctx: &Ctx, plan: &PlanHeader, opts: &ReclaimOptions) -> CmdResult<Tally> {
    let total = plan.totals.candidates as usize;
    let bar = progress::bar(total as u64, "Reclaiming");
    let mut tally = Tally::default();
    let mut attempted = 0;
    let mut after = None;
    loop {
        let page = ctx
            .deps
            .store
            .list_plan_candidates(plan.plan_id, after.as_ref(), PLAN_PAGE)
            .await?;
        after = page.last().map(|c| c.member_id.clone());
        let last_page = page.len() < PLAN_PAGE;
        for c in &page {
            attempted += 1;
            match reclaim_member(&ctx.deps, plan.plan_id, &c.member_id, opts).await {
                Ok(r) => {
                    if r.replayed {
                        tally.replayed += 1;
                    }
                    match r.outcome {
                        ReclaimOutcome::Reclaimed { .. } => tally.reclaimed += 1,
                        ReclaimOutcome::Skipped {
                            reason: reason @ SkipReason::OrgPaused { .. },
                        } => {
                            // The kill switch: every later candidate would be skipped the same way; stop here.
                            *tally.skipped.entry(reason.to_string()).or_default() += 1;
                            tally.paused = Some(reason.to_string());
                            tally.not_attempted = total.saturating_sub(attempted);
                            bar.abandon();
                            return Ok(tally);
                        }
                        ReclaimOutcome::Skipped { reason } => {
                            *tally.skipped.entry(reason.to_string()).or_default() += 1
                        }
                        ReclaimOutcome::Failed { error } => {
                            tally.failed.push(format!("{}: {error}", c.email))
                        }
                    }
                }
                Err(e) if e.needs_reconnect() => {
                    bar.abandon();
                    return Err(e.into());
                }
                Err(e) if e.is_retryable() => tally.unfinished.push(format!("{}: {e}", c.email)),
                Err(e) => tally.failed.push(format!("{}: {e}", c.email)),
            }
            bar.inc(1);
        }
        if last_page {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(tally)
}

pub fn print_tally(t: &Tally) {
    let skipped: u32 = t.skipped.values().sum();
    println!(
        "Reclaimed {} seats; skipped {skipped} at the re-check; {} failed; {} to retry{}.",
        t.reclaimed,
        t.failed.len(),
        t.unfinished.len(),
        if t.replayed > 0 {
            format!(" ({} already done before)", t.replayed)
        } else {
            String::new()
        }
    );
    for (reason, n) in &t.skipped {
        println!("  skipped {n}: {reason}");
    }
    for f in t.failed.iter().chain(&t.unfinished) {
        println!("  ! {f}");
    }
}

fn confirm(plan: &PlanHeader) -> CmdResult<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::refused(
            "apply needs confirmation: run it in a terminal or pass --yes",
        ));
    }
    print!(
        "Deactivate up to {} Miro members of org {} through SCIM (reversible with `miro-sam reactivate`)? [y/N] ",
        plan.totals.candidates, plan.org_id
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
