//! `TokenStore` on SQLite. Secret values cross this module only as `SecretString`s and bound SQL parameters.
//!
//! # The refresh lease
//! One row per org in `oauth_refresh_leases`: the token version it guards and when it ends (epoch milliseconds).
//! Taking it is one `BEGIN IMMEDIATE` transaction (check the version, check the lease, write the lease), so two
//! processes sharing the file also get one holder. A lease of an older version is dead: every token write bumps
//! the version, so storing the refreshed tokens ends the lease without touching the row. The table is created
//! on first use rather than by a migration, so a database file stays readable by builds that predate it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::ports::{RefreshLease, TokenBundle, TokenStore};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use secrecy::{ExposeSecret, SecretString};

use crate::SqliteStore;
use crate::codec::{backend, from_json, opt_ts, parse_opt_ts, parsed, to_json, ts};

/// The columns of a bundle, secrets already exposed for binding; dropped right after the statement.
struct Columns {
    org: String,
    access: String,
    refresh: Option<String>,
    expires_at: Option<String>,
    team_id: Option<String>,
    user_id: Option<String>,
    scopes: String,
    now: String,
}

impl Columns {
    fn of(b: &TokenBundle) -> Result<Self, StoreError> {
        Ok(Columns {
            org: b.org_id.to_string(),
            access: b.access_token.expose_secret().to_owned(),
            refresh: b
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_owned()),
            expires_at: opt_ts(b.expires_at),
            team_id: b.team_id.clone(),
            user_id: b.user_id.clone(),
            scopes: to_json("scopes", &b.scopes)?,
            now: ts(Utc::now()),
        })
    }
}

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
);

#[async_trait]
impl TokenStore for SqliteStore {
    async fn get_tokens(&self, org: &OrgId) -> Result<TokenBundle, StoreError> {
        let o = org.to_string();
        let row: Option<Row> = self
            .call(move |c| {
                c.query_row(
                    "SELECT org_id, access_token, refresh_token, expires_at, team_id, user_id, scopes, version \
                     FROM oauth_tokens WHERE org_id = ?1",
                    [o],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                        ))
                    },
                )
                .optional()
                .map_err(backend)
            })
            .await?;
        let Some((org_id, access, refresh, expires_at, team_id, user_id, scopes, version)) = row
        else {
            return Err(StoreError::NotConnected {
                org: org.to_string(),
            });
        };
        const W: &str = "oauth tokens";
        Ok(TokenBundle {
            org_id: parsed(W, OrgId::parse(&org_id))?,
            access_token: SecretString::from(access),
            refresh_token: refresh.map(SecretString::from),
            expires_at: parse_opt_ts(W, expires_at)?,
            team_id,
            user_id,
            scopes: from_json(W, &scopes)?,
            version: version.max(0) as u64,
        })
    }

    async fn put_tokens(&self, bundle: &TokenBundle) -> Result<u64, StoreError> {
        let c = Columns::of(bundle)?;
        self.call(move |conn| {
            conn.query_row(
                "INSERT INTO oauth_tokens (org_id, access_token, refresh_token, expires_at, team_id, user_id, \
                 scopes, version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8) \
                 ON CONFLICT (org_id) DO UPDATE SET access_token = excluded.access_token, \
                 refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, \
                 team_id = excluded.team_id, user_id = excluded.user_id, scopes = excluded.scopes, \
                 version = oauth_tokens.version + 1, updated_at = excluded.updated_at \
                 RETURNING version",
                params![c.org, c.access, c.refresh, c.expires_at, c.team_id, c.user_id, c.scopes, c.now],
                |r| r.get::<_, i64>(0),
            )
            .map(|v| v.max(0) as u64)
            .map_err(backend)
        })
        .await
    }

    async fn put_tokens_if_version(
        &self,
        bundle: &TokenBundle,
        expected_version: u64,
    ) -> Result<u64, StoreError> {
        let c = Columns::of(bundle)?;
        let org = c.org.clone();
        let expected = expected_version as i64;
        let v = self
            .call(move |conn| {
                conn.query_row(
                    "UPDATE oauth_tokens SET access_token = ?2, refresh_token = ?3, expires_at = ?4, team_id = ?5, \
                     user_id = ?6, scopes = ?7, version = version + 1, updated_at = ?8 \
                     WHERE org_id = ?1 AND version = ?9 RETURNING version",
                    params![c.org, c.access, c.refresh, c.expires_at, c.team_id, c.user_id, c.scopes, c.now, expected],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map_err(backend)
            })
            .await?;
        v.map(|v| v.max(0) as u64)
            .ok_or_else(|| StoreError::Conflict {
                what: format!(
                    "the OAuth tokens of org {org} (expected version {expected_version})"
                ),
            })
    }

    async fn lease_refresh(
        &self,
        org: &OrgId,
        version: u64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<RefreshLease, StoreError> {
        let (o, v, now_ms, until_ms) = (
            org.to_string(),
            version as i64,
            now.timestamp_millis(),
            until.timestamp_millis(),
        );
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let stored: Option<i64> = tx
                .query_row(
                    "SELECT version FROM oauth_tokens WHERE org_id = ?1",
                    [&o],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(stored) = stored else {
                return Err(StoreError::NotConnected { org: o });
            };
            if stored != v {
                return Ok(RefreshLease::Moved);
            }
            let held: Option<i64> = tx
                .query_row(
                    "SELECT lease_until_ms FROM oauth_refresh_leases \
                     WHERE org_id = ?1 AND version = ?2 AND lease_until_ms > ?3",
                    params![o, v, now_ms],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if let Some(held) = held {
                return Ok(RefreshLease::Held {
                    until: millis(held)?,
                });
            }
            tx.execute(
                "INSERT INTO oauth_refresh_leases (org_id, version, lease_until_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (org_id) DO UPDATE SET version = excluded.version, \
                 lease_until_ms = excluded.lease_until_ms",
                params![o, v, until_ms],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(RefreshLease::Taken)
        })
        .await
    }

    async fn release_refresh(
        &self,
        org: &OrgId,
        version: u64,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (o, v, until_ms) = (org.to_string(), version as i64, until.timestamp_millis());
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM oauth_refresh_leases WHERE org_id = ?1 AND version = ?2 AND lease_until_ms = ?3",
                params![o, v, until_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_scim_token(&self, org: &OrgId) -> Result<SecretString, StoreError> {
        let o = org.to_string();
        let token: Option<String> = self
            .call(move |c| {
                c.query_row(
                    "SELECT token FROM scim_tokens WHERE org_id = ?1",
                    [o],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)
            })
            .await?;
        token
            .map(SecretString::from)
            .ok_or_else(|| StoreError::NoScimToken {
                org: org.to_string(),
            })
    }

    async fn put_scim_token(&self, org: &OrgId, token: &SecretString) -> Result<(), StoreError> {
        let (o, t, now) = (
            org.to_string(),
            token.expose_secret().to_owned(),
            ts(Utc::now()),
        );
        self.call(move |c| {
            c.execute(
                "INSERT INTO scim_tokens (org_id, token, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (org_id) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at",
                params![o, t, now],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

fn millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt {
        what: "refresh lease".into(),
        detail: format!("{ms} is not a time in epoch milliseconds"),
    })
}
