//! What every command needs, built once from the global options: the embedded store, the Miro client, the clock.

use miro_client::{MiroClient, MiroConfig, OAuthApp, SecretString};
use miro_sam_core::domain::{OrgId, RegisteredOrg};
use miro_sam_core::jobs::Deps;
use miro_sam_core::ports::{OrgStore, SystemClock};
use miro_sam_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::args::Global;
use crate::env;
use crate::failure::{CmdResult, Failure};

pub struct Ctx {
    pub deps: Deps,
    pub store: Arc<SqliteStore>,
    pub data_dir: PathBuf,
}

impl AsRef<Deps> for Ctx {
    fn as_ref(&self) -> &Deps {
        &self.deps
    }
}

impl Ctx {
    pub fn open(global: &Global) -> CmdResult<Ctx> {
        let data_dir = match &global.data_dir {
            Some(d) => d.clone(),
            None => dirs::data_dir()
                .map(|d| d.join("miro-sam"))
                .ok_or_else(|| {
                    Failure::usage("no per-user data directory on this system; pass --data-dir")
                })?,
        };
        Self::open_in(&data_dir, client_from(global)?, oauth_app_from_env())
    }

    pub fn open_in(
        data_dir: &Path,
        client: MiroClient,
        oauth_app: Option<OAuthApp>,
    ) -> CmdResult<Ctx> {
        create_private_dir(data_dir)?;
        let store = Arc::new(SqliteStore::open(data_dir.join("miro-sam.sqlite3"))?);
        let deps = Deps {
            store: store.clone(),
            tokens: store.clone(),
            client,
            clock: Arc::new(SystemClock),
            oauth_app,
        };
        Ok(Ctx {
            deps,
            store,
            data_dir: data_dir.to_owned(),
        })
    }

    /// The org named by `--org`, or the only connected org.
    pub async fn org(&self, global: &Global) -> CmdResult<OrgId> {
        if let Some(o) = &global.org {
            return Ok(OrgId::parse(o)?);
        }
        only_org(&self.store.list_orgs().await?, || {
            Failure::needs_action(
                "no Miro org is connected yet: run `miro-sam connect` (or `miro-sam demo` to try it on a sandbox)",
            )
        })
    }
}

/// The one connected org when `--org` is not given; `none` says what to do when there is no org, and more than
/// one asks for `--org`, listing them.
pub(crate) fn only_org(orgs: &[RegisteredOrg], none: impl FnOnce() -> Failure) -> CmdResult<OrgId> {
    match orgs {
        [] => Err(none()),
        [one] => Ok(one.id.clone()),
        many => Err(Failure::usage(format!(
            "{} orgs are connected; choose one with --org ({})",
            many.len(),
            many.iter()
                .map(|o| o.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub fn client_from(global: &Global) -> CmdResult<MiroClient> {
    let config = MiroConfig::with_urls(
        &global.oauth_base_url,
        &global.api_base_url,
        &global.scim_base_url,
    )?;
    Ok(MiroClient::new(config)?)
}

/// The app credentials let `sync` refresh expiring tokens; without them an expiring token lasts its hour.
fn oauth_app_from_env() -> Option<OAuthApp> {
    let client_id = env::var(env::OAUTH_CLIENT_ID)?;
    let secret = env::var(env::OAUTH_CLIENT_SECRET)?;
    Some(OAuthApp {
        client_id,
        client_secret: SecretString::from(secret),
        redirect_uri: env::var(env::OAUTH_REDIRECT_URI).unwrap_or_default(),
    })
}

/// The store holds tokens: only the user may read the directory.
fn create_private_dir(dir: &Path) -> CmdResult<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::usage(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Who is acting, for the audit log: the command and the operating-system user who ran it.
pub fn operator(command: &str) -> String {
    let user = env::OS_USER
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("miro-sam {command} (by {user})")
}
