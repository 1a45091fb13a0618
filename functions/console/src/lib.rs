//! The console function (API Gateway HTTP API, payload v2): miro-sam's admin console, the `miro-sam-console`
//! router, under `/console` of the deployment's HTTP API (routes `/console` and `/console/{proxy+}`), served by
//! lambda_http the way the runtime's `http-axum` example serves an axum router.
//!
//! - [`ConsoleSettings`]: the console's variables (session key secret, public origin, optional admin emails and
//!   seat price), read once per cold start;
//! - [`build`]: the router over the same [`Runtime`](miro_sam_lambda::Runtime) every function builds, with the
//!   session key from Secrets Manager ([`session_key`]), Secure cookies, and a token store that sees SCIM tokens
//!   as metadata only ([`scim_presence`]), and the keep-link key that verifies members' keep links
//!   (`/console/keep/{token}`, served by the same routes) when the deployment names its secret;
//! - [`deps`]: the same wiring without the config, for a test that serves it on loopback;
//! - [`handle`]: one invocation: the request through the router, the response back in API Gateway's form.

mod app;
pub mod scim_presence;
pub mod session_key;
mod settings;

use axum::Router;
use lambda_http::tower::ServiceExt;
use lambda_http::{Body, IntoResponse, Request, RequestExt, Response};
use tracing::Instrument;

pub use app::{StartError, build, deps, keep_link_key};
pub use settings::{BASE_PATH, ConsoleSettings, ConsoleSettingsError};

/// One request through the console's router (cheap to clone: it is built once per cold start).
pub async fn handle(app: Router, req: Request) -> Response<Body> {
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("invoke", request_id = %request_id, function = "console");
    async move {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let response = match app.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        // The path only: query strings carry OAuth codes and states.
        tracing::info!(method = %method, path = %path, status = response.status().as_u16(), "request");
        response.into_response().await
    }
    .instrument(span)
    .await
}
