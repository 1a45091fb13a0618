//! What every handler shares: the configuration, the ports and the session keys, behind one `Arc`.

use std::sync::Arc;

use miro_sam_core::jobs::Deps;

use crate::config::{ConsoleConfig, ConsoleDeps};
use crate::security::session::SessionKeys;

#[derive(Clone)]
pub(crate) struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub config: ConsoleConfig,
    pub deps: ConsoleDeps,
    pub keys: SessionKeys,
    /// `config.base()`, computed once.
    pub base: String,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(config: ConsoleConfig, deps: ConsoleDeps) -> Self {
        let keys = SessionKeys::new(&config.session_key);
        let base = config.base();
        AppState(Arc::new(Inner {
            config,
            deps,
            keys,
            base,
        }))
    }

    /// The jobs' dependencies (for the token a role check reads Miro with).
    pub fn job_deps(&self) -> Deps {
        Deps {
            store: self.deps.store.clone(),
            tokens: self.deps.tokens.clone(),
            client: self.deps.client.clone(),
            clock: self.deps.clock.clone(),
            oauth_app: self.deps.oauth_app.clone(),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.deps.clock.now()
    }
}
