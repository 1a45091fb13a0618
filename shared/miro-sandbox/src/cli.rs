//! Running the sandbox by hand: the options and the serve loop behind both command-line entry points.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use crate::{Sandbox, SandboxConfig};

/// Options of a hand-run sandbox, shared by the `miro-sandbox` binary and `miro-sam sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Members of the org, including the installing Company Admin.
    #[arg(long, default_value_t = 2000)]
    pub members: usize,
    /// Seed of the synthetic org.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Latency added to every API request.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// REST credits per window (Level-3 calls cost 500).
    #[arg(long, default_value_t = 100_000)]
    pub rest_credits: u64,
    /// REST credit window.
    #[arg(long, default_value_t = 60_000)]
    pub rest_window_ms: u64,
    /// SCIM rate-limit window.
    #[arg(long, default_value_t = 30_000)]
    pub scim_window_ms: u64,
    /// Issue non-expiring OAuth tokens (no refresh_token / expires_in).
    #[arg(long)]
    pub non_expiring: bool,
}

/// Starts a sandbox, prints `export NAME=value` lines for the variables `miro-sam` reads, and serves until Ctrl-C.
/// The server keeps running, so capture the lines in a file rather than `$(…)`:
/// `miro-sam sandbox > sandbox.env &`, then `. ./sandbox.env` points the CLI at it.
pub async fn serve(args: ServeArgs) -> std::io::Result<()> {
    let mut config = SandboxConfig::with_members(args.members);
    config.seed = args.seed;
    config.latency = Duration::from_millis(args.latency_ms);
    config.rest_limits.credits_per_window = args.rest_credits;
    config.rest_limits.window = Duration::from_millis(args.rest_window_ms);
    config.scim_limits.window = Duration::from_millis(args.scim_window_ms);
    config.oauth.expiring_tokens = !args.non_expiring;

    let sandbox = Sandbox::start_on(SocketAddr::from(([127, 0, 0, 1], args.port)), config).await?;
    let mut out = std::io::stdout().lock();
    out.write_all(exports(&sandbox).as_bytes())?;
    out.flush()?;
    drop(out);
    // Human notes go to stderr so stdout stays fit for `eval`.
    eprintln!(
        "miro-sandbox: serving at {}; run `miro-sam connect` next. Ctrl-C stops it.",
        sandbox.base_url()
    );

    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// Names `miro-sam` reads (cli/src/env.rs, which the CLI's build of this crate cannot import: the CLI depends on
/// the sandbox), in the order printed.
pub const EXPORTED_NAMES: &[&str] = &[
    "MIRO_SAM_MIRO_OAUTH_BASE_URL",
    "MIRO_SAM_MIRO_API_BASE_URL",
    "MIRO_SAM_MIRO_SCIM_BASE_URL",
    "MIRO_SAM_ORG",
    "MIRO_SAM_OAUTH_CLIENT_ID",
    "MIRO_SAM_OAUTH_CLIENT_SECRET",
    "MIRO_SAM_SCIM_TOKEN",
];

/// `export NAME='value'` lines, one per [`EXPORTED_NAMES`] entry, shell-quoted so `eval` takes them verbatim.
/// The sandbox serves the consent page, the API and SCIM on one host, so the three base URLs share it.
pub fn exports(sandbox: &Sandbox) -> String {
    let control = sandbox.control();
    let org_id = control.org_ids().into_iter().next().unwrap_or_default();
    let (client_id, client_secret) = {
        let state = control.shared.lock();
        (
            state.oauth.client_id.clone(),
            state.oauth.client_secret.clone(),
        )
    };
    let scim_token = if org_id.is_empty() {
        String::new()
    } else {
        control.scim_token(&org_id)
    };
    let values = [
        sandbox.base_url(),
        sandbox.base_url(),
        sandbox.scim_base_url(),
        org_id,
        client_id,
        client_secret,
        scim_token,
    ];
    EXPORTED_NAMES
        .iter()
        .zip(values)
        .map(|(name, value)| format!("export {name}={}\n", shell_quote(&value)))
        .collect()
}

/// POSIX single quoting: everything literal, a `'` written as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}
