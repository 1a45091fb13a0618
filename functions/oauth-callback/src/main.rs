//! Thin entry point: build the clients and read the connect-link key once per cold start, then route every request.

use lambda_http::{Error, Request, service_fn};
use miro_sam_lambda::Runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rt = Runtime::from_env(|s| s.miro.clone()).await?;
    let key = oauth_callback::read_link_key(&rt).await?;
    let (rt, key) = (&rt, &key);
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(oauth_callback::handle(rt, key, req).await)
    }))
    .await
}
