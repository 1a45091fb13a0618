//! miro-sam's embedded storage: one SQLite file implementing the core's [`SubscriptionStore`] (its four store
//! traits, one file each: `member_store`, `plan_store`, `audit_store`, `org_store`, over one file of statements
//! per resource), [`TokenStore`] and [`ReclaimQueue`] ports, `NoticeStore` (the notice records), and
//! [`OAuthStates`] (the connect flow's and the console sign-in's single-use states).
//!
//! # Secrets
//! The file holds every connected org's OAuth and SCIM tokens in clear text, like a `~/.netrc`. Protect it the
//! same way: [`SqliteStore::open`] creates a new file with mode `0600` (owner read/write only) on Unix, and the
//! CLI keeps it in the user's data directory. SQLite's `-wal`/`-shm` side files inherit the database file's
//! permissions. Tokens never reach logs or `Debug` output: they only leave this crate as `SecretString`s.
//!
//! # Concurrency
//! One connection behind a `std::sync::Mutex`; every call runs on Tokio's blocking pool, holds the lock only for
//! its own statements, and multi-row writes are one transaction. Version bumps and state transitions are single
//! conditional statements (or `BEGIN IMMEDIATE` transactions), so two processes sharing the file also stay
//! consistent.
//!
//! # Schema
//! Forward-only numbered migrations tracked in `PRAGMA user_version` (see [`schema`]). A file written by a newer
//! build is refused rather than misread.
//!
//! [`SubscriptionStore`]: miro_sam_core::ports::SubscriptionStore
//! [`TokenStore`]: miro_sam_core::ports::TokenStore
//! [`ReclaimQueue`]: miro_sam_core::ports::ReclaimQueue
//! [`OAuthStates`]: miro_sam_core::ports::OAuthStates

mod audit;
mod audit_store;
mod codec;
mod download_lease;
mod holds;
#[cfg(test)]
mod index_use;
mod member_search;
mod member_store;
mod members;
mod notices;
mod oauth_states;
mod org_store;
mod orgs;
mod plan_store;
mod plan_stream;
mod plans;
mod policies;
mod queue;
mod records;
mod runs;
pub mod schema;
mod snapshots;
mod timeline;
mod tokens;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use miro_sam_core::StoreError;
use miro_sam_core::ports::{Clock, SystemClock};
use rusqlite::Connection;

pub use plans::PlanReads;
pub use queue::QueuedRequest;

/// The SQLite adapter. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    member_rows_written: Arc<AtomicU64>,
    plan_reads: Arc<plans::PlanReadCounters>,
    /// "Now" for what the store times itself (OAuth states); callers pass their own times everywhere else.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600 on Unix) and migrates the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_private(path)?;
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        // WAL lets a report read while a download writes; NORMAL sync is durable at each checkpoint and
        // plenty for data that a re-run recreates.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(codec::backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(codec::backend)?;
        Self::init(conn)
    }

    /// A private, empty database that lives as long as this store (tests, demos).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(codec::backend)?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(codec::backend)?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            member_rows_written: Arc::new(AtomicU64::new(0)),
            plan_reads: Arc::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Another notion of "now" for what the store times itself, e.g. a test's fixed clock for OAuth state expiry.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The schema version of the open database.
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        self.call(|c| schema::current_version(c)).await
    }

    /// Member rows written through this handle since it was opened: the cost a download actually paid.
    pub fn member_rows_written(&self) -> u64 {
        self.member_rows_written.load(Ordering::Relaxed)
    }

    /// Runs `f` on the blocking pool with the connection locked.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in another call cannot leave a half-written transaction behind (rusqlite rolls back on
            // drop), so a poisoned lock is safe to take over.
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Backend(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}
