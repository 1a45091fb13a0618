//! Thin entry point: build the clients once per cold start, then run the library for every scheduled invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use miro_sam_lambda::Runtime;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rt = Runtime::from_env(|s| s.miro.clone()).await?;
    let rt = &rt;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_instant(event.context.deadline, rt.settings.deadline_margin);
            download_subscriptions::handle(
                rt,
                &event.context.request_id,
                event.payload,
                Some(deadline),
            )
            .await
            .map_err(Error::from)
        },
    ))
    .await
}

/// The Lambda deadline (epoch milliseconds) as an `Instant`, minus the margin kept for a clean stop.
fn deadline_instant(deadline_ms: u64, margin: Duration) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(margin)
}
