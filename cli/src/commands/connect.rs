//! `miro-sam connect`: the OAuth code flow with a loopback redirect, for one machine.

use miro_client::{MiroClient, OAuthApp, SecretString};
use miro_sam_core::jobs::{ConnectOptions, ConnectedOrg, connect_org};
use std::time::Duration;

use crate::args::ConnectArgs;
use crate::context::Ctx;
use crate::failure::CmdResult;
use crate::loopback::Loopback;

pub async fn run(ctx: &Ctx, args: ConnectArgs) -> CmdResult {
    let loopback = Loopback::start(args.port, new_state()).await?;
    let app = OAuthApp {
        client_id: args.client_id,
        client_secret: SecretString::from(args.client_secret),
        redirect_uri: loopback.redirect_uri.clone(),
    };
    let url = authorize_url(&ctx.deps.client, &app, &loopback);
    eprintln!(
        "Open this link in a browser where you are signed in to Miro as a Company Admin, and choose the \
         Enterprise org's team:\n\n  {url}\n\nThe app's redirect URI must be {}",
        app.redirect_uri
    );
    let code = loopback
        .code(Duration::from_secs(args.timeout_secs))
        .await?;
    let connected = connect_org(&ctx.deps, &app, &code, &ConnectOptions::default()).await?;
    print_connected(&connected);
    Ok(())
}

/// The consent URL for this loopback's `state`.
pub fn authorize_url(client: &MiroClient, app: &OAuthApp, loopback: &Loopback) -> url::Url {
    client.authorize_url(app, loopback.state(), None)
}

pub fn print_connected(c: &ConnectedOrg) {
    println!(
        "Connected org {} ({}), plan {}, {} full licenses purchased, as {}.",
        c.org_name, c.org_id, c.plan, c.full_licenses_purchased, c.user_name
    );
    println!(
        "Next: store the org's SCIM token (Admin Console > Enterprise integrations > SCIM) with \
         `miro-sam scim-token`, then `miro-sam sync`."
    );
}

/// A CSRF `state` nobody can guess: 128 random bits.
pub fn new_state() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
