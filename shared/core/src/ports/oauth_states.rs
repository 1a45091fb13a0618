//! Single-use OAuth `state` values between the start of a code flow and its callback: connecting an org and
//! signing in to the console both use them. Why a store and not a signed value: a signed state can be replayed
//! until it expires, a stored one works exactly once (a replayed redirect or a double click gets nothing).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::error::StoreError;

/// How long a started OAuth flow may take to come back.
pub const OAUTH_STATE_TTL: Duration = Duration::minutes(10);

/// A state that was valid when taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenState {
    /// What the flow's start stored with it (opaque to the store; e.g. JSON with where to go after).
    pub data: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateTake {
    Valid(TakenState),
    /// It existed but its ten minutes were over; it is consumed all the same. Tell the person to start again.
    Expired {
        expired_at: DateTime<Utc>,
    },
    /// Never issued, already used, or swept after expiry. Refuse the callback.
    Unknown,
}

#[async_trait]
pub trait OAuthStates: Send + Sync {
    /// Stores a new random state (at least 128 bits, URL-safe) with `data`, valid for [`OAUTH_STATE_TTL`] from
    /// the store's clock, and returns it.
    async fn issue_state(&self, data: &str) -> Result<String, StoreError>;

    /// Consumes the state: of two calls with the same value, at most one gets [`StateTake::Valid`].
    async fn take_state(&self, state: &str) -> Result<StateTake, StoreError>;
}
