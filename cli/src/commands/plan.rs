//! `miro-sam plan`: apply the org's policy to the stored members and store the plan.

use miro_sam_core::jobs::plan_org;
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::ExclusionRule;

use crate::args::Global;
use crate::context::Ctx;
use crate::failure::CmdResult;

pub async fn run(ctx: &Ctx, g: &Global) -> CmdResult {
    let org = ctx.org(g).await?;
    let plan = plan_org(
        ctx.deps.store.as_ref(),
        &org,
        "miro-sam plan",
        ctx.deps.clock.now(),
    )
    .await?;
    print_summary(&plan);
    if let Some(p) = ctx.deps.store.get_pause(&org).await? {
        println!("The org is {p}: nothing will be sent to Miro until `miro-sam resume`.");
    }
    Ok(())
}

pub fn print_summary(plan: &ReclaimPlan) {
    println!(
        "Plan {} for org {} (policy v{}): {} candidates, {} excluded.",
        plan.plan_id,
        plan.org_id,
        plan.policy_version,
        plan.candidates.len(),
        plan.exclusions.len()
    );
    for c in plan.candidates.iter().take(10) {
        println!("  - {:<40} {}", c.email.as_str(), c.reason);
    }
    if plan.candidates.len() > 10 {
        println!(
            "  … and {} more (`miro-sam report --format csv`)",
            plan.candidates.len() - 10
        );
    }
    // Holds are few and each is someone's recent undo: list every one, with the date it ends.
    for e in plan
        .exclusions
        .iter()
        .filter(|e| e.has_rule(|r| matches!(r, ExclusionRule::Held { .. })))
    {
        println!("  held: {:<34} {}", e.email.as_str(), e.reason);
    }
    match plan.check_executable(false) {
        Ok(()) => println!("Execute it with: miro-sam apply {}", plan.plan_id),
        Err(why) => println!("Not executable as it stands: {why}"),
    }
}
