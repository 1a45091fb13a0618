//! `miro-sam plan`: apply the org's policy to the stored members and store the plan (on either store); on this
//! machine, then send the day's notices when the policy gives notice (see [`super::notices`]).

use miro_sam_core::jobs::plan_org;
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::ExclusionRule;

use super::notices;
use crate::args::{Global, PlanArgs};
use crate::backend::{Backend, Place};
use crate::context::operator;
use crate::failure::CmdResult;

pub async fn run(b: &Backend, g: &Global, args: PlanArgs) -> CmdResult {
    let org = b.org(g).await?;
    let plan = plan_org(
        b.deps.store.as_ref(),
        &org,
        &operator("plan"),
        b.deps.clock.now(),
    )
    .await?;
    print_summary(&plan);
    match plan.check_executable(false) {
        Ok(()) if b.is_deployment() => println!(
            "Approve it with `{} {}` (all, or --member ID ...); the deployment's reclaim function carries it out.",
            b.command("approve"),
            plan.plan_id
        ),
        Ok(()) => println!(
            "Approve it with `miro-sam approve {id}` (`miro-sam serve` carries it out), or execute it now with \
             `miro-sam apply {id}`.",
            id = plan.plan_id
        ),
        Err(why) => println!("Not executable as it stands: {why}"),
    }
    if let Some(p) = b.deps.store.get_pause(&org).await? {
        println!(
            "The org is {p}: nothing will be sent to Miro until `{}`.",
            b.command("resume")
        );
    }
    send_notices(b, &plan, &args).await
}

/// The day's notices on the plan just made. A deployment's download function sends its own after its daily
/// plan, with keep links its console verifies; a plan from this machine sends none there.
async fn send_notices(b: &Backend, plan: &ReclaimPlan, args: &PlanArgs) -> CmdResult {
    let policy = b.deps.store.latest_policy(&plan.org_id).await?;
    if !policy.is_some_and(|p| p.policy.notices_enabled()) {
        return Ok(());
    }
    // Without `--features aws` the embedded store is the only place there is.
    #[cfg_attr(not(feature = "aws"), allow(irrefutable_let_patterns))]
    let Place::Embedded(ctx) = &b.place else {
        println!(
            "Notices: the deployment's download function sends them after its daily plan; this plan sent none."
        );
        return Ok(());
    };
    let key = notices::keep_link_key(&ctx.data_dir)?;
    let Some(channels) = notices::channels(&args.notices, key)? else {
        println!("{}", notices::no_channel_message());
        return Ok(());
    };
    let report = notices::send(ctx, &plan.org_id, plan.plan_id, &channels).await?;
    notices::print_report(&report, &channels);
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
}
