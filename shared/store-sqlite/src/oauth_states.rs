//! Single-use OAuth states on SQLite ([`OAuthStates`]): a row per issued state in `oauth_states`, keyed by the
//! SHA-256 of the state (the file never holds a state someone could replay). Taking is one
//! `DELETE ... RETURNING`, so of two takes of one state exactly one gets its row, in this process or another
//! sharing the file. Times come from the store's clock ([`SqliteStore::with_clock`]).

use async_trait::async_trait;
use chrono::Duration;
use miro_sam_core::StoreError;
use miro_sam_core::ports::{OAUTH_STATE_TTL, OAuthStates, StateTake, TakenState};
use rand::Rng;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::SqliteStore;
use crate::codec::{backend, parse_ts, ts};

/// Expired states are kept this long, so a late callback hears "expired, start again" rather than "unknown";
/// then an issue sweeps them.
const KEEP_EXPIRED: Duration = Duration::days(1);

/// A state is stored as this: the hex SHA-256 of its text.
fn digest(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

#[async_trait]
impl OAuthStates for SqliteStore {
    /// 256 random bits, hex (URL-safe as it is).
    async fn issue_state(&self, data: &str) -> Result<String, StoreError> {
        let state = hex::encode(rand::rng().random::<[u8; 32]>());
        let now = self.clock.now();
        let row = (
            digest(&state),
            data.to_owned(),
            ts(now),
            ts(now + OAUTH_STATE_TTL),
            ts(now - KEEP_EXPIRED),
        );
        self.call(move |c| {
            let (hash, data, created, expires, swept) = row;
            c.execute("DELETE FROM oauth_states WHERE expires_at < ?1", [swept])
                .map_err(backend)?;
            c.execute(
                "INSERT INTO oauth_states (state_sha256, data, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, data, created, expires],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await?;
        Ok(state)
    }

    async fn take_state(&self, state: &str) -> Result<StateTake, StoreError> {
        let hash = digest(state);
        let row: Option<(String, String, String)> = self
            .call(move |c| {
                c.query_row(
                    "DELETE FROM oauth_states WHERE state_sha256 = ?1 RETURNING data, created_at, expires_at",
                    [hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(backend)
            })
            .await?;
        let Some((data, created_at, expires_at)) = row else {
            return Ok(StateTake::Unknown);
        };
        const W: &str = "OAuth state";
        let expires_at = parse_ts(W, &expires_at)?;
        if self.clock.now() >= expires_at {
            return Ok(StateTake::Expired {
                expired_at: expires_at,
            });
        }
        Ok(StateTake::Valid(TakenState {
            data,
            created_at: parse_ts(W, &created_at)?,
            expires_at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use miro_sam_core::contract::fixtures::t0;
    use miro_sam_core::ports::{FixedClock, OAUTH_STATE_TTL, OAuthStates, StateTake};

    use crate::SqliteStore;

    /// Every text column of the table, row by row.
    async fn stored(store: &SqliteStore) -> Vec<String> {
        store
            .call(|c| {
                let mut stmt = c
                    .prepare("SELECT state_sha256 || ' ' || data || ' ' || created_at || ' ' || expires_at FROM oauth_states")
                    .unwrap();
                let rows = stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap();
                Ok(rows)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_file_holds_only_the_sha256_of_a_state() {
        let store = SqliteStore::in_memory().unwrap();
        let state = store.issue_state("{}").await.unwrap();
        assert_eq!(state.len(), 64, "256 bits, hex: {state}");
        let rows = stored(&store).await;
        assert_eq!(rows.len(), 1);
        assert!(
            !rows[0].contains(&state),
            "the state itself is not stored: {rows:?}"
        );
        assert!(rows[0].starts_with(&super::digest(&state)), "{rows:?}");
    }

    #[tokio::test]
    async fn an_issue_sweeps_states_expired_over_a_day_ago_and_keeps_recent_ones() {
        let clock = Arc::new(FixedClock::new(t0()));
        let store = SqliteStore::in_memory().unwrap().with_clock(clock.clone());
        let old = store.issue_state("old").await.unwrap();
        clock.advance(OAUTH_STATE_TTL + chrono::Duration::hours(23));
        let recent = store.issue_state("recent").await.unwrap();
        clock.advance(chrono::Duration::hours(2));
        store.issue_state("new").await.unwrap();
        assert_eq!(stored(&store).await.len(), 2, "the old state was swept");
        assert_eq!(store.take_state(&old).await.unwrap(), StateTake::Unknown);
        assert!(matches!(
            store.take_state(&recent).await.unwrap(),
            StateTake::Expired { .. }
        ));
    }
}
