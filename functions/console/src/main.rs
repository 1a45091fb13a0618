//! Thin entry point: build the runtime, read the session key and build the console's router once per cold
//! start, then serve every request through it.

use lambda_http::{Error, Request, service_fn};
use miro_sam_lambda::Runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rt = Runtime::from_env(|s| s.miro.clone()).await?;
    let settings = console_function::ConsoleSettings::from_env()?;
    let app = console_function::build(&rt, &settings).await?;
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Error>(console_function::handle(app, req).await) }
    }))
    .await
}
