//! One file per subcommand; each takes the parsed arguments and returns a [`CmdResult`].

pub mod apply;
pub mod approve;
#[cfg(feature = "aws")]
pub mod aws;
pub mod connect;
pub mod demo;
pub mod pause;
pub mod plan;
pub mod policy;
pub mod reactivate;
pub mod report;
pub mod scim_token;
pub mod serve;
pub mod sync;

use crate::args::{Cli, Command};
use crate::context::Ctx;
use crate::failure::{CmdResult, Failure};

pub async fn run(cli: Cli) -> CmdResult {
    let g = &cli.global;
    match cli.command {
        Command::Demo(a) => demo::run(g, a).await,
        Command::Sandbox(a) => miro_sandbox::cli::serve(a).await.map_err(Failure::from),
        Command::Connect(a) => connect::run(&Ctx::open(g)?, a).await,
        Command::ScimToken(a) => scim_token::run(&Ctx::open(g)?, g, a).await,
        Command::Sync => sync::run(&Ctx::open(g)?, g).await,
        Command::Plan => plan::run(&Ctx::open(g)?, g).await,
        Command::Apply(a) => apply::run(&Ctx::open(g)?, g, a).await,
        Command::Approve(a) => approve::approve(&Ctx::open(g)?, a).await,
        Command::Reject(a) => approve::reject(&Ctx::open(g)?, a).await,
        Command::Serve(a) => serve::run(&Ctx::open(g)?, g, a).await,
        Command::Reactivate(a) => reactivate::run(&Ctx::open(g)?, g, a).await,
        Command::Pause(a) => pause::pause(&Ctx::open(g)?, g, a).await,
        Command::Resume => pause::resume(&Ctx::open(g)?, g).await,
        Command::Report(a) => report::run(&Ctx::open(g)?, g, a).await,
        Command::Policy(a) => policy::run(&Ctx::open(g)?, g, a).await,
        #[cfg(feature = "aws")]
        Command::Aws(a) => aws::run(g, a).await,
    }
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
