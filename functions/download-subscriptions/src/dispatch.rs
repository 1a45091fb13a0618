//! The scheduled run with a download queue: one [`DownloadJob`] per connected org, nothing downloaded here. The
//! workers (SQS event source, one org each) do the rest, side by side, each org within its own rate budget.

use miro_sam_core::ports::{DownloadJob, DownloadQueue};
use miro_sam_lambda::Runtime;

/// Queues one job per connected org; returns how many were queued. Re-running it the same day queues the jobs
/// again, which is harmless: the lease lets one download of an org run, and a job whose org finished a download
/// after the job was queued only re-checks the plan.
pub async fn dispatch(rt: &Runtime) -> Result<u64, String> {
    let queue = rt.download_queue.as_ref().ok_or_else(|| {
        format!(
            "no download queue is configured ({}); the scheduled run cannot fan out",
            miro_sam_lambda::env::DOWNLOAD_QUEUE_URL
        )
    })?;
    let orgs = rt
        .deps
        .store
        .list_orgs()
        .await
        .map_err(|e| format!("cannot list the connected orgs: {e}"))?;
    let now = rt.deps.clock.now();
    let jobs: Vec<DownloadJob> = orgs
        .into_iter()
        .map(|o| DownloadJob::new(o.id, now))
        .collect();
    let sent = queue
        .send(&jobs, std::time::Duration::ZERO)
        .await
        .map_err(|e| format!("cannot queue the download jobs: {e}"))?;
    Ok(sent as u64)
}
