//! Errors of the pure core and of the storage ports. Job errors live in [`crate::jobs`].

/// Input that does not describe a valid domain value. Each message names the value and what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{what} {value:?} is not a Miro id: expected a non-empty string of digits")]
    NotAnId { what: &'static str, value: String },

    #[error("{value:?} is not an email address: {problem}")]
    NotAnEmail {
        value: String,
        problem: &'static str,
    },

    #[error("{value:?} is not an email domain: expected something like \"example.com\"")]
    NotADomain { value: String },

    #[error(
        "{value:?} is not a plan id: expected a UUID such as 6f1c2b9e-0d5e-4c1a-9a7e-2f4b8c3d1e0f"
    )]
    NotAPlanId { value: String },

    #[error("invalid reclaim policy: {0}")]
    InvalidPolicy(String),

    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

/// What a storage adapter reports. Adapters map their own failures onto these variants so the jobs can react the
/// same way whatever the backend is.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the stored value is not what the caller expected. Re-read and decide again.
    #[error("{what} was changed by someone else; re-read it and try again")]
    Conflict { what: String },

    /// An insert-only write found the key taken. Nothing was overwritten.
    #[error("{what} already exists and is never overwritten")]
    AlreadyExists { what: String },

    #[error("{what} was not found")]
    NotFound { what: String },

    #[error(
        "org {org} has no stored OAuth tokens: connect it first (`miro-sam connect`, or the /oauth/start link \
         of your deployment) with a Company Admin of that org"
    )]
    NotConnected { org: String },

    #[error(
        "org {org} has no stored SCIM token: generate one in Miro's Admin Console > Enterprise integrations > \
         SCIM provisioning and store it for this org (`miro-sam scim-token set`)"
    )]
    NoScimToken { org: String },

    /// Stored data that no longer parses: a bug, a manual edit or a newer writer.
    #[error("stored {what} cannot be read: {detail}")]
    Corrupt { what: String, detail: String },

    /// The backend itself failed (I/O, locking, connection). Usually worth retrying.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, StoreError::AlreadyExists { .. })
    }
}
