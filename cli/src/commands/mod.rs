//! One file per subcommand; each takes the parsed arguments and returns a [`CmdResult`].

pub mod apply;
pub mod approve;
pub mod audit;
#[cfg(feature = "aws")]
pub mod aws;
pub mod connect;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod exemptions;
pub mod notices;
pub mod pause;
pub mod plan;
pub mod policy;
pub mod reactivate;
pub mod report;
pub mod scim_token;
pub mod serve;
pub mod sync;

use crate::args::{Cli, Command, Global, StoreKind};
use crate::backend::Backend;
use crate::context::Ctx;
use crate::failure::{CmdResult, Failure};

/// What to use on a deployment instead of a verb that acts on this machine.
const APPLY_ON_AWS: &str = "approve the plan instead: `miro-sam --store aws approve PLAN_ID [--member ID ...]` \
    queues it for the deployment's reclaim function, which re-checks and reclaims each member";
const SYNC_ON_AWS: &str = "the download function runs daily; to run it now invoke it \
    (`aws lambda invoke --function-name STACK-download-subscriptions --payload '{}' ...`, infra/README.md, \
    \"The first run\")";
const CONNECT_ON_AWS: &str =
    "send a Company Admin of the org a link from `miro-sam aws connect-link`";
const SERVE_ON_AWS: &str =
    "the console is a function of the deployment: open the stack output ConsoleUrl";

pub async fn run(cli: Cli) -> CmdResult {
    let g = &cli.global;
    match cli.command {
        #[cfg(feature = "sandbox")]
        Command::Demo(a) => {
            if g.store == StoreKind::Aws {
                return Err(Failure::usage(
                    "the demo runs on its own sandbox and embedded store; run it without --store aws",
                ));
            }
            demo::run(g, a).await
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(a) => miro_sandbox::cli::serve(a).await.map_err(Failure::from),
        #[cfg(not(feature = "sandbox"))]
        Command::Demo(_) | Command::Sandbox(_) => Err(Failure::usage(
            "this miro-sam was built without the sandbox (--no-default-features): `demo` and `sandbox` need \
             the default feature `sandbox`; install it with `cargo install --path cli` (add `--features aws` \
             for the deployment commands)",
        )),
        Command::Connect(a) => connect::run(&local(g, "connect", CONNECT_ON_AWS)?, a).await,
        Command::ScimToken(a) => scim_token::run(&Backend::open(g).await?, g, a).await,
        Command::Sync => sync::run(&local(g, "sync", SYNC_ON_AWS)?, g).await,
        Command::Plan(a) => plan::run(&Backend::open(g).await?, g, a).await,
        Command::Notices => notices::run(&Backend::open(g).await?, g).await,
        Command::Apply(a) => apply::run(&local(g, "apply", APPLY_ON_AWS)?, g, a).await,
        Command::Approve(a) => approve::approve(&Backend::open(g).await?, a).await,
        Command::Reject(a) => approve::reject(&Backend::open(g).await?, a).await,
        Command::Serve(a) => serve::run(&local(g, "serve", SERVE_ON_AWS)?, g, a).await,
        Command::Reactivate(a) => reactivate::run(&Backend::open(g).await?, g, a).await,
        Command::Pause(a) => pause::pause(&Backend::open(g).await?, g, a).await,
        Command::Resume => pause::resume(&Backend::open(g).await?, g).await,
        Command::Report(a) => report::run(&Backend::open(g).await?, g, a).await,
        Command::Policy(a) => policy::run(&Backend::open(g).await?, g, a).await,
        Command::Exemptions(a) => exemptions::run(&Backend::open(g).await?, g, a).await,
        Command::Audit(a) => audit::run(&Backend::open(g).await?, g, a).await,
        #[cfg(feature = "aws")]
        Command::Aws(a) => aws::run(g, a).await,
    }
}

/// The embedded store for a verb that acts on this machine; with `--store aws`, a refusal naming what to use.
fn local(g: &Global, verb: &str, instead: &str) -> CmdResult<Ctx> {
    if g.store == StoreKind::Aws {
        return Err(Failure::refused(format!(
            "`{verb}` works on the embedded store only; on a deployment {instead}"
        )));
    }
    Ctx::open(g)
}

impl From<miro_sam_core::jobs::JobError> for Failure {
    fn from(e: miro_sam_core::jobs::JobError) -> Self {
        use miro_sam_core::jobs::JobError as E;
        let code = if e.needs_reconnect() {
            crate::exit::NEEDS_ACTION
        } else if e.is_retryable() {
            crate::exit::RETRY_LATER
        } else {
            match e {
                E::Refused(_) => crate::exit::REFUSED,
                E::Domain(_)
                | E::InvalidRequest(_)
                | E::PlanNotFound { .. }
                | E::MemberNotFound { .. } => crate::exit::USAGE,
                _ => crate::exit::FAILURE,
            }
        };
        Failure::new(code, e.to_string())
    }
}
