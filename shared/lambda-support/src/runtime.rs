//! The dependencies a function builds once per cold start and reuses for every invocation
//! (the `basic-shared-resource` pattern): settings, AWS adapters, the Miro client and the core's [`Deps`].

use miro_client::{MiroClient, MiroConfig, MiroError, OAuthApp};
use miro_sam_aws::sqs::SqsDownloadQueue;
use miro_sam_aws::{Adapters, ConfigError, sdk::AdapterError};
use miro_sam_core::jobs::Deps;
use miro_sam_core::notices::{NoticeDeps, NoticeSettings};
use miro_sam_core::ports::SystemClock;
use std::sync::Arc;

use crate::settings::{Settings, SettingsError};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Aws(#[from] ConfigError),
    #[error("cannot read the Miro app's client secret: {0}")]
    ClientSecret(#[from] AdapterError),
    #[error(transparent)]
    Miro(#[from] MiroError),
}

/// Everything an invocation needs. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub settings: Settings,
    pub adapters: Adapters,
    pub deps: Deps,
    /// The download fan-out's queue, when [`Settings::download_queue_url`] is set.
    pub download_queue: Option<SqsDownloadQueue>,
    /// Notices after each org's daily plan: wired by the function that sends them (download-subscriptions, from
    /// [`Settings::notices`] and its secrets), `None` everywhere else and when the deployment sends none.
    pub notices: Option<NoticeRuntime>,
}

/// What the notice run needs besides the plan: the mailer, the notice store, the keep links and the digest's
/// channels, built once per cold start.
#[derive(Clone)]
pub struct NoticeRuntime {
    pub deps: NoticeDeps,
    pub settings: NoticeSettings,
}

impl Runtime {
    /// Reads the environment and builds every client. `miro` picks the Miro configuration from the settings
    /// (e.g. [`Settings::miro_for_reclaim_worker`]).
    pub async fn from_env(
        miro: impl FnOnce(&Settings) -> MiroConfig,
    ) -> Result<Self, RuntimeError> {
        let settings = Settings::from_env()?;
        crate::logging::init(&settings.log_level);
        let adapters = Adapters::from_env().await?;
        let config = miro(&settings);
        Self::new(settings, adapters, config).await
    }

    /// Wires given parts; tests build their own settings and adapters.
    pub async fn new(
        settings: Settings,
        adapters: Adapters,
        miro: MiroConfig,
    ) -> Result<Self, RuntimeError> {
        let client = MiroClient::new(miro)?;
        // Without the app's credentials an expiring token cannot be refreshed; functions that need them
        // (the OAuth callback) say so through `oauth_app()`.
        let oauth_app = match (
            &settings.oauth_client_id,
            &adapters.config.oauth_client_secret_name,
        ) {
            (Some(id), Some(_)) => Some(OAuthApp {
                client_id: id.clone(),
                client_secret: adapters.oauth_client_secret().await?,
                redirect_uri: settings.oauth_redirect_uri.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        let deps = Deps {
            store: Arc::new(adapters.store.clone()),
            tokens: Arc::new(adapters.tokens.clone()),
            client,
            clock: Arc::new(SystemClock),
            oauth_app,
        };
        let download_queue = settings
            .download_queue_url
            .as_deref()
            .map(|url| SqsDownloadQueue::new(adapters.clients.sqs.clone(), url));
        Ok(Runtime {
            settings,
            adapters,
            deps,
            download_queue,
            notices: None,
        })
    }

    /// The OAuth app, or an error naming what is missing.
    pub fn oauth_app(&self) -> Result<&OAuthApp, RuntimeError> {
        self.settings.require_client_id()?;
        self.settings.require_redirect_uri()?;
        self.adapters.config.require_oauth_client_secret_name()?;
        self.deps
            .oauth_app
            .as_ref()
            .ok_or(RuntimeError::Settings(SettingsError::Missing {
                var: crate::env::OAUTH_CLIENT_ID,
                what: "the Miro app's client id (from the app settings page)",
            }))
    }
}
