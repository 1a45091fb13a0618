//! `miro-sam serve`: the admin console on this machine, over the embedded store, on 127.0.0.1 only, with the
//! worker that carries out what the console queues. It prints a one-time login link instead of Sign in with
//! Miro (which needs the Miro app's redirect URI to reach this machine; with MIRO_SAM_OAUTH_CLIENT_ID
//! and MIRO_SAM_OAUTH_CLIENT_SECRET set it is offered too).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use miro_sam_console::{ConsoleConfig, ConsoleDeps, one_time_login_link, router};
use miro_sam_core::domain::OrgId;
use rand::RngCore;
use secrecy::SecretBox;

use crate::args::{Global, ServeArgs};
use crate::context::{Ctx, operator};
use crate::failure::{CmdResult, Failure};
use crate::local_worker;

pub async fn run(ctx: &Ctx, g: &Global, args: ServeArgs) -> CmdResult {
    let org = ctx.org(g).await?;
    serve(ctx, &org, &args).await
}

/// Serves the console for `org` until Ctrl-C (also used by `demo --serve`).
pub async fn serve(ctx: &Ctx, org: &OrgId, args: &ServeArgs) -> CmdResult {
    // Loopback only: the console shows and changes who keeps a seat; nobody else on the network may reach it.
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
            .await
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot listen on 127.0.0.1:{}: {e}; choose another --port",
                    args.port
                ))
            })?;
    let addr = listener.local_addr()?;
    let public_url = url::Url::parse(&format!("http://{addr}"))
        .map_err(|e| Failure::usage(format!("the console address {addr} is not a URL: {e}")))?;
    let mut config = console_config(public_url, args.seat_price);
    // The keep links of notices `plan` sent from this data directory were signed with its key.
    config.keep_link_key = Some(super::notices::keep_link_key(&ctx.data_dir)?);
    let link = one_time_login_link(&config, ctx.store.as_ref(), org, &operator("serve"))
        .await
        .map_err(|e| Failure::new(crate::exit::FAILURE, e.to_string()))?;
    let deps = console_deps(ctx);
    let app = router(config, deps);
    println!("miro-sam console for org {org} on http://{addr}/console");
    println!("Open this one-time login link (valid 10 minutes, works once):");
    println!("{link}");
    println!("Press Ctrl-C to stop.");
    let worker_actor = operator("serve (worker)");
    let server = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    tokio::select! {
        r = server => r.map_err(|e| Failure::new(crate::exit::FAILURE, format!("the console stopped: {e}")))?,
        () = local_worker::run_forever(ctx, &worker_actor) => {}
    }
    Ok(())
}

/// `serve`'s console settings for the console at `public_url` (a loopback origin), without the keep page (`serve`
/// adds the data directory's keep-link key).
pub fn console_config(public_url: url::Url, seat_price: f64) -> ConsoleConfig {
    // A fresh key per run: restarting `serve` signs everyone out, and no key is ever stored on disk.
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    ConsoleConfig {
        base_path: "/console".into(),
        public_url,
        session_key: SecretBox::new(Box::new(key)),
        secure_cookies: false,
        admin_emails: None,
        price_per_seat_month_minor: Some((seat_price * 100.0).round().max(0.0) as u64),
        currency: "USD".into(),
        local_login: true,
        keep_link_key: None,
    }
}

/// `serve`'s wiring: every port is the embedded SQLite store (the queue is the one the local worker drains).
pub fn console_deps(ctx: &Ctx) -> ConsoleDeps {
    ConsoleDeps {
        store: ctx.deps.store.clone(),
        tokens: ctx.deps.tokens.clone(),
        states: ctx.store.clone(),
        queue: ctx.store.clone() as Arc<dyn miro_sam_core::ports::ReclaimQueue>,
        client: ctx.deps.client.clone(),
        oauth_app: ctx.deps.oauth_app.clone(),
        clock: ctx.deps.clock.clone(),
    }
}
