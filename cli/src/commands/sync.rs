//! `miro-sam sync`: download every member and write today's snapshot.

use miro_sam_core::jobs::{DownloadSummary, download_org};

use crate::args::Global;
use crate::context::Ctx;
use crate::failure::CmdResult;
use crate::progress;

pub async fn run(ctx: &Ctx, g: &Global) -> CmdResult {
    let org = ctx.org(g).await?;
    let summary = download(ctx, &org).await?;
    print_summary(&summary);
    Ok(())
}

pub async fn download(ctx: &Ctx, org: &miro_sam_core::domain::OrgId) -> CmdResult<DownloadSummary> {
    let spinner = progress::spinner(&format!("Downloading the members of org {org}"));
    let result = download_org(&ctx.deps, org).await;
    spinner.finish_and_clear();
    Ok(result?)
}

pub fn print_summary(s: &DownloadSummary) {
    println!(
        "Downloaded {} members of org {} in {:.1} s: {} new, {} changed, {} unchanged, {} removed.",
        s.members_seen,
        s.org_id,
        (s.finished_at - s.started_at).num_milliseconds() as f64 / 1000.0,
        s.new,
        s.changed,
        s.unchanged,
        s.removed
    );
}
