//! The store a verb reads and changes, chosen with `--store` (MIRO_SAM_STORE): the embedded SQLite file, or a
//! deployment's DynamoDB table, SQS reclaim queue and Secrets Manager (`--features aws`). Both are the same core
//! ports, so every verb has one implementation over a [`Backend`]; only what is carried out where differs (on one
//! machine `serve` or `apply` acts on the queue; on a deployment the reclaim function does).

use std::sync::Arc;

use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::Deps;
use miro_sam_core::ports::ReclaimQueue;

use crate::args::{Global, StoreKind};
use crate::context::{Ctx, only_org};
use crate::failure::{CmdResult, Failure};

/// Where the state lives.
pub enum Place {
    /// The SQLite file on this machine (which is also its reclaim queue).
    Embedded(Ctx),
    /// A deployment on AWS.
    #[cfg(feature = "aws")]
    Deployment(Box<miro_sam_aws::Adapters>),
}

/// The ports a verb works through, and where they lead.
pub struct Backend {
    pub deps: Deps,
    /// `None` on a deployment whose reclaim queue is not configured; [`Backend::queue`] says what to set.
    queue: Option<Arc<dyn ReclaimQueue>>,
    pub place: Place,
}

impl AsRef<Deps> for Backend {
    fn as_ref(&self) -> &Deps {
        &self.deps
    }
}

impl Backend {
    /// The store `--store` names.
    pub async fn open(g: &Global) -> CmdResult<Backend> {
        match g.store {
            StoreKind::Embedded => Ok(Self::embedded(Ctx::open(g)?)),
            StoreKind::Aws => Self::open_deployment(g).await,
        }
    }

    pub fn embedded(ctx: Ctx) -> Backend {
        Backend {
            deps: ctx.deps.clone(),
            queue: Some(ctx.store.clone() as Arc<dyn ReclaimQueue>),
            place: Place::Embedded(ctx),
        }
    }

    #[cfg(feature = "aws")]
    async fn open_deployment(g: &Global) -> CmdResult<Backend> {
        let adapters = crate::deployment::open().await?;
        Ok(crate::deployment::backend(
            adapters,
            crate::context::client_from(g)?,
        ))
    }

    #[cfg(not(feature = "aws"))]
    async fn open_deployment(_g: &Global) -> CmdResult<Backend> {
        Err(Failure::usage(
            "--store aws (or MIRO_SAM_STORE=aws) needs a miro-sam built with the AWS adapters: \
             `cargo install --path cli --features aws`",
        ))
    }

    #[cfg(feature = "aws")]
    pub(crate) fn deployment(
        deps: Deps,
        queue: Option<Arc<dyn ReclaimQueue>>,
        adapters: miro_sam_aws::Adapters,
    ) -> Backend {
        Backend {
            deps,
            queue,
            place: Place::Deployment(Box::new(adapters)),
        }
    }

    pub fn is_deployment(&self) -> bool {
        !matches!(self.place, Place::Embedded(_))
    }

    /// How to run `verb` on this store, for hints: `miro-sam resume` or `miro-sam --store aws resume`.
    pub fn command(&self, verb: &str) -> String {
        if self.is_deployment() {
            format!("miro-sam --store aws {verb}")
        } else {
            format!("miro-sam {verb}")
        }
    }

    /// What the verbs change, for messages: "the embedded store" or "the deployment's table NAME".
    pub fn describe(&self) -> String {
        match &self.place {
            Place::Embedded(ctx) => format!("the embedded store in {}", ctx.data_dir.display()),
            #[cfg(feature = "aws")]
            Place::Deployment(a) => format!("the deployment's table {}", a.config.table_name),
        }
    }

    /// The reclaim queue: the embedded store's table, or the deployment's SQS queue.
    pub fn queue(&self) -> CmdResult<&dyn ReclaimQueue> {
        self.queue.as_deref().ok_or_else(|| {
            Failure::needs_action(
                "the deployment's reclaim queue is not configured: set MIRO_SAM_RECLAIM_QUEUE_URL to the stack \
                 output ReclaimQueueUrl",
            )
        })
    }

    /// The org named by `--org` (which must be connected to this store), or the only connected org.
    pub async fn org(&self, g: &Global) -> CmdResult<OrgId> {
        let connect = if self.is_deployment() {
            "connect it with a link from `miro-sam aws connect-link`"
        } else {
            "run `miro-sam connect` (or `miro-sam demo` to try it on a sandbox)"
        };
        if let Some(o) = &g.org {
            let org = OrgId::parse(o)?;
            if self.deps.store.get_org(&org).await?.is_none() {
                return Err(Failure::needs_action(format!(
                    "org {org} is not connected to {}: check --org (or MIRO_SAM_ORG), or {connect}",
                    self.describe()
                )));
            }
            return Ok(org);
        }
        only_org(&self.deps.store.list_orgs().await?, || {
            Failure::needs_action(format!(
                "no Miro org is connected to {} yet: {connect}",
                self.describe()
            ))
        })
    }
}
