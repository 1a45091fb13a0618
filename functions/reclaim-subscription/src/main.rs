//! Thin entry point: build the clients once per cold start, then hand every SQS batch to the library.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use miro_sam_lambda::{Runtime, deadline};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rt = Runtime::from_env(|s| s.miro_for_reclaim_worker()).await?;
    let rt = &rt;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let stop_by = deadline::stop_by(event.context.deadline, rt.settings.deadline_margin);
            Ok::<_, Error>(
                reclaim_subscription::handle_until(
                    rt,
                    &event.context.request_id,
                    event.payload,
                    Some(stop_by),
                )
                .await,
            )
        },
    ))
    .await
}
