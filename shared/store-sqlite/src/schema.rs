//! Forward-only migrations. Migration `n` (1-based) is `MIGRATIONS[n - 1]`; `PRAGMA user_version` holds the
//! number of the last one applied. Never edit a released migration: append a new one.

use miro_sam_core::StoreError;
use rusqlite::{Connection, TransactionBehavior};

use crate::codec::backend;

pub const MIGRATIONS: &[&str] = &[
    // 1: everything miro-sam 0.1 stores.
    r#"
    CREATE TABLE orgs (
        org_id        TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        connected_at  TEXT NOT NULL
    );

    CREATE TABLE members (
        org_id               TEXT NOT NULL,
        member_id            TEXT NOT NULL,
        email                TEXT NOT NULL,
        license              TEXT NOT NULL,
        role                 TEXT NOT NULL,
        admin_roles          TEXT NOT NULL,  -- JSON array of names
        active               INTEGER NOT NULL,
        license_assigned_at  TEXT,
        last_activity_at     TEXT,
        first_seen_at        TEXT NOT NULL,
        last_seen_at         TEXT NOT NULL,
        removed_at           TEXT,
        content_hash         TEXT NOT NULL,
        PRIMARY KEY (org_id, member_id)
    ) WITHOUT ROWID;
    CREATE INDEX members_by_email ON members (org_id, email);

    -- The last COMPLETE download per org; see SubscriptionStore::get_member for why it matters.
    CREATE TABLE download_runs (
        org_id        TEXT PRIMARY KEY,
        run_id        TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        completed_at  TEXT NOT NULL,
        members_seen  INTEGER NOT NULL
    );

    CREATE TABLE download_checkpoints (
        org_id      TEXT PRIMARY KEY,
        run_id      TEXT NOT NULL,
        cursor      TEXT,
        pages_done  INTEGER NOT NULL,
        updated_at  TEXT NOT NULL
    );

    CREATE TABLE snapshots (
        org_id  TEXT NOT NULL,
        day     TEXT NOT NULL,  -- YYYY-MM-DD
        body    TEXT NOT NULL,  -- JSON OrgSnapshot
        PRIMARY KEY (org_id, day)
    ) WITHOUT ROWID;

    CREATE TABLE policies (
        org_id      TEXT NOT NULL,
        version     INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        body        TEXT NOT NULL,  -- JSON Policy
        PRIMARY KEY (org_id, version)
    ) WITHOUT ROWID;

    CREATE TABLE plans (
        plan_id     TEXT PRIMARY KEY,
        org_id      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        body        TEXT NOT NULL   -- JSON ReclaimPlan
    );
    CREATE INDEX plans_by_org ON plans (org_id, created_at);

    CREATE TABLE reclaim_records (
        plan_id       TEXT NOT NULL,
        member_id     TEXT NOT NULL,
        org_id        TEXT NOT NULL,
        email         TEXT NOT NULL,
        state         TEXT NOT NULL,
        scim_user_id  TEXT,
        outcome       TEXT,           -- JSON ReclaimOutcome
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (plan_id, member_id)
    ) WITHOUT ROWID;
    CREATE INDEX reclaim_records_by_org ON reclaim_records (org_id, created_at);

    CREATE TABLE audit_log (
        entry_id  TEXT PRIMARY KEY,
        org_id    TEXT NOT NULL,
        at        TEXT NOT NULL,
        kind      TEXT NOT NULL,
        body      TEXT NOT NULL       -- JSON AuditEntry
    );
    CREATE INDEX audit_by_org ON audit_log (org_id, at, entry_id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    CREATE TABLE oauth_tokens (
        org_id         TEXT PRIMARY KEY,
        access_token   TEXT NOT NULL,
        refresh_token  TEXT,
        expires_at     TEXT,
        team_id        TEXT,
        user_id        TEXT,
        scopes         TEXT NOT NULL,  -- JSON array
        version        INTEGER NOT NULL,
        updated_at     TEXT NOT NULL
    );

    CREATE TABLE scim_tokens (
        org_id      TEXT PRIMARY KEY,
        token       TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );

    CREATE TABLE reclaim_queue (
        dedup_key    TEXT PRIMARY KEY,
        org_id       TEXT NOT NULL,
        body         TEXT NOT NULL,    -- JSON ReclaimRequest
        enqueued_at  TEXT NOT NULL,
        done_at      TEXT
    );
    "#,
    // 2: what an interrupted download learned, so the next run can finish it (JSON DownloadProgress).
    r#"
    ALTER TABLE download_checkpoints ADD COLUMN progress TEXT;
    "#,
    // 3: the kill switch (one row per paused org) and holds (one row per held member).
    r#"
    CREATE TABLE org_pauses (
        org_id  TEXT PRIMARY KEY,
        body    TEXT NOT NULL          -- JSON OrgPause
    );

    CREATE TABLE holds (
        org_id      TEXT NOT NULL,
        member_id   TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        body        TEXT NOT NULL,     -- JSON Hold
        PRIMARY KEY (org_id, member_id)
    ) WITHOUT ROWID;
    "#,
    // 4: the refresh lease: one worker per token version spends the refresh token (see tokens.rs).
    r#"
    CREATE TABLE oauth_refresh_leases (
        org_id          TEXT PRIMARY KEY,
        version         INTEGER NOT NULL,
        lease_until_ms  INTEGER NOT NULL
    );
    "#,
    // 5: the per-org download lease: one worker downloads an org at a time (see download_lease.rs).
    r#"
    CREATE TABLE download_leases (
        org_id    TEXT PRIMARY KEY,
        holder    TEXT NOT NULL,
        until_ms  INTEGER NOT NULL
    );
    "#,
    // 6: members in numeric id order (shorter ids first, then text), the order the download compares Miro's pages
    // in: a range page is an index seek instead of a sort of the whole org.
    r#"
    CREATE INDEX members_by_numeric_id ON members (org_id, length(member_id), member_id);
    "#,
    // 7: plans as rows: `plans` keeps the header (the plan's JSON without its two lists, which is a `PlanHeader`),
    // each candidate and each exclusion becomes its own row, so a reclaim reads two small rows instead of the
    // whole plan. Keyed by (plan, id length, id): the primary key is numeric member id order, for paging. Plans
    // already stored are split here, in SQL.
    r#"
    CREATE TABLE plan_candidates (
        plan_id    TEXT NOT NULL,
        id_len     INTEGER NOT NULL,
        member_id  TEXT NOT NULL,
        body       TEXT NOT NULL,     -- JSON Candidate
        PRIMARY KEY (plan_id, id_len, member_id)
    ) WITHOUT ROWID;

    CREATE TABLE plan_exclusions (
        plan_id    TEXT NOT NULL,
        id_len     INTEGER NOT NULL,
        member_id  TEXT NOT NULL,
        body       TEXT NOT NULL,     -- JSON Exclusion
        PRIMARY KEY (plan_id, id_len, member_id)
    ) WITHOUT ROWID;

    INSERT INTO plan_candidates (plan_id, id_len, member_id, body)
        SELECT p.plan_id, length(json_extract(c.value, '$.member_id')), json_extract(c.value, '$.member_id'),
               c.value
        FROM plans p, json_each(p.body, '$.candidates') c;
    INSERT INTO plan_exclusions (plan_id, id_len, member_id, body)
        SELECT p.plan_id, length(json_extract(e.value, '$.member_id')), json_extract(e.value, '$.member_id'),
               e.value
        FROM plans p, json_each(p.body, '$.exclusions') e;
    UPDATE plans SET body = json_remove(body, '$.candidates', '$.exclusions');
    "#,
    // 8: the console. Every console page is one range of an index in the page's order, so it costs the same on
    // its hundredth page as on its first. Numeric member id order needs (length, id); `id_len` is a VIRTUAL
    // generated column (computed on read, nothing stored in the table, nothing for writers to fill) because
    // SQLite uses a row-value bound such as `(created_at, plan_id, id_len, member_id) < (?, ?, ?, ?)` over a
    // whole index only when every part is a column, not an expression like `length(member_id)`.
    // The audit log gains `member_id` (what `AuditEvent::member_id` names), filled from the stored JSON here;
    // the update trigger is lifted for that one statement and put back in the same transaction.
    r#"
    ALTER TABLE members ADD COLUMN id_len INTEGER GENERATED ALWAYS AS (length(member_id)) VIRTUAL;
    DROP INDEX members_by_email;
    CREATE INDEX members_by_email ON members (org_id, email, id_len, member_id);

    ALTER TABLE audit_log ADD COLUMN member_id TEXT;
    DROP TRIGGER audit_log_no_update;
    UPDATE audit_log SET member_id = json_extract(body, '$.event.member_id');
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE INDEX audit_by_kind ON audit_log (org_id, kind, at, entry_id);
    CREATE INDEX audit_by_member ON audit_log (org_id, member_id, at, entry_id) WHERE member_id IS NOT NULL;

    ALTER TABLE reclaim_records ADD COLUMN id_len INTEGER GENERATED ALWAYS AS (length(member_id)) VIRTUAL;
    DROP INDEX reclaim_records_by_org;
    CREATE INDEX reclaim_records_by_org ON reclaim_records (org_id, created_at, plan_id, id_len, member_id);
    CREATE INDEX reclaim_records_by_state
        ON reclaim_records (org_id, state, created_at, plan_id, id_len, member_id);

    DROP INDEX plans_by_org;
    CREATE INDEX plans_by_org ON plans (org_id, created_at, plan_id);

    -- Each member's timeline, keyed by MemberEvent::key (time, then kind): a re-run adds nothing.
    CREATE TABLE member_events (
        org_id     TEXT NOT NULL,
        member_id  TEXT NOT NULL,
        event_key  TEXT NOT NULL,
        body       TEXT NOT NULL,     -- JSON MemberEvent
        PRIMARY KEY (org_id, member_id, event_key)
    ) WITHOUT ROWID;

    -- Single-use OAuth states, by the SHA-256 of the state: the file never holds a usable state.
    CREATE TABLE oauth_states (
        state_sha256  TEXT PRIMARY KEY,   -- hex
        data          TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL
    );
    CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
    "#,
    // 9: notice records (issue 12), one row per member, updated by compare-and-set on `version`.
    crate::notices::MIGRATION,
];

/// The highest migration this build knows.
pub fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

pub fn current_version(conn: &Connection) -> Result<u32, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0))
        .map_err(backend)
}

/// Applies every migration not yet applied, each in its own transaction together with its version bump.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current = current_version(conn)?;
    let latest = latest_version();
    if current > latest {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current} but this build of miro-sam only knows up to {latest}; \
             upgrade miro-sam (the file was written by a newer version)"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as u32 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        // Another process may have migrated while we waited for the write lock.
        if current_version(&tx)? >= version {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("schema migration {version} failed: {e}")))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(())
}
