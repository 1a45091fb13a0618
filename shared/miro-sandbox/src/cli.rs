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

/// Starts a sandbox, prints what a client needs as `KEY=VALUE` lines, and serves until Ctrl-C.
pub async fn serve(args: ServeArgs) -> std::io::Result<()> {
    let mut config = SandboxConfig::with_members(args.members);
    config.seed = args.seed;
    config.latency = Duration::from_millis(args.latency_ms);
    config.rest_limits.credits_per_window = args.rest_credits;
    config.rest_limits.window = Duration::from_millis(args.rest_window_ms);
    config.scim_limits.window = Duration::from_millis(args.scim_window_ms);
    config.oauth.expiring_tokens = !args.non_expiring;
    let (client_id, client_secret) = (
        config.oauth.client_id.clone(),
        config.oauth.client_secret.clone(),
    );

    let sandbox = Sandbox::start_on(SocketAddr::from(([127, 0, 0, 1], args.port)), config).await?;
    let control = sandbox.control();
    let org_id = control.org_ids().into_iter().next().unwrap_or_default();
    // KEY=VALUE lines so scripts can `eval` or grep them.
    let mut out = std::io::stdout().lock();
    writeln!(out, "MIRO_BASE_URL={}", sandbox.base_url())?;
    writeln!(out, "MIRO_SCIM_BASE_URL={}", sandbox.scim_base_url())?;
    writeln!(out, "MIRO_ORG_ID={org_id}")?;
    writeln!(out, "MIRO_CLIENT_ID={client_id}")?;
    writeln!(out, "MIRO_CLIENT_SECRET={client_secret}")?;
    writeln!(
        out,
        "MIRO_ACCESS_TOKEN={}",
        control.issue_access_token(&org_id)
    )?;
    writeln!(out, "MIRO_SCIM_TOKEN={}", control.scim_token(&org_id))?;
    out.flush()?;
    drop(out);

    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}
