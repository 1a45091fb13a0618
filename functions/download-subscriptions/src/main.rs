//! Thin entry point: build the clients and the notice wiring once per cold start, then run the library for every
//! invocation: the schedule (dispatch one job per org), a one-org run, or an SQS event of download jobs (the
//! worker).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use miro_sam_aws::SesMailer;
use miro_sam_lambda::{Runtime, deadline};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut rt = Runtime::from_env(|s| s.miro.clone()).await?;
    let sdk = miro_sam_aws::sdk::load().await;
    rt.notices = download_subscriptions::notices::wire(&rt, |from| SesMailer::from_sdk(&sdk, from))
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot set up notices"))?;
    let rt = &rt;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let stop_by = deadline::stop_by(event.context.deadline, rt.settings.deadline_margin);
            download_subscriptions::worker::handle_any(
                rt,
                &event.context.request_id,
                event.payload,
                Some(stop_by),
            )
            .await
            .map_err(Error::from)
        },
    ))
    .await
}
