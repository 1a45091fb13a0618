//! How the benchmarks wire the production code to the sandbox: the jobs' dependencies, and the functions'
//! settings read from the same variables a deployment sets.

use std::sync::Arc;

use miro_client::MiroClient;
use miro_sam_core::jobs::Deps;
use miro_sam_core::ports::{SubscriptionStore, SystemClock, TokenStore};
use miro_sam_lambda::{Settings, env};
use miro_sandbox::Sandbox;

/// The jobs' dependencies on the real clock, without an OAuth app: a bench token never needs a refresh.
pub fn deps(
    store: Arc<dyn SubscriptionStore>,
    tokens: Arc<dyn TokenStore>,
    client: MiroClient,
) -> Deps {
    Deps {
        store,
        tokens,
        client,
        clock: Arc::new(SystemClock),
        oauth_app: None,
    }
}

/// A function's settings with every Miro base URL at the sandbox, plus one variable of the function's own.
pub fn sandbox_settings(
    sandbox: &Sandbox,
    (name, value): (&str, String),
) -> Result<Settings, String> {
    let vars = [
        (env::MIRO_API_BASE_URL, sandbox.base_url()),
        (env::MIRO_OAUTH_BASE_URL, sandbox.base_url()),
        (env::MIRO_SCIM_BASE_URL, sandbox.scim_base_url()),
        (name, value),
    ];
    Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .map_err(|e| e.to_string())
}
