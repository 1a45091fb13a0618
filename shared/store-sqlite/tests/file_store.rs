//! The on-disk database: private permissions, migrations, persistence across reopen.

use std::path::PathBuf;

use miro_client::{ExposeSecret, SecretString};
use miro_sam_core::domain::OrgId;
use miro_sam_core::policy::Policy;
use miro_sam_core::ports::{AuditStore, OrgStore, TokenStore};
use miro_sam_sqlite::{SqliteStore, schema};

/// A path in a fresh directory, removed when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("miro-sam-sqlite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDb(dir)
    }

    fn path(&self) -> PathBuf {
        self.0.join("miro-sam.sqlite3")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_new_file_is_private_migrated_and_persistent() {
    let tmp = TempDb::new();
    let org = OrgId::parse("3074457345821141000").unwrap();
    {
        let store = SqliteStore::open(tmp.path()).unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            schema::latest_version()
        );
        store
            .put_scim_token(&org, &SecretString::from("scim-secret"))
            .await
            .unwrap();
        store
            .put_policy(&org, &Policy::default(), "test", chrono::Utc::now())
            .await
            .unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file holds tokens: owner read/write only");
    }
    let reopened = SqliteStore::open(tmp.path()).unwrap();
    assert_eq!(
        reopened.schema_version().await.unwrap(),
        schema::latest_version()
    );
    assert_eq!(
        reopened.get_scim_token(&org).await.unwrap().expose_secret(),
        "scim-secret"
    );
    assert_eq!(
        reopened
            .latest_policy(&org)
            .await
            .unwrap()
            .map(|p| p.version),
        Some(1)
    );
}

#[tokio::test]
async fn a_file_from_a_newer_build_is_refused() {
    let tmp = TempDb::new();
    drop(SqliteStore::open(tmp.path()).unwrap());
    {
        let conn = rusqlite::Connection::open(tmp.path()).unwrap();
        conn.pragma_update(None, "user_version", schema::latest_version() + 1)
            .unwrap();
    }
    let err = SqliteStore::open(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("newer") && err.contains("upgrade miro-sam"),
        "{err}"
    );
}

#[tokio::test]
async fn the_audit_log_cannot_be_edited_even_with_sql() {
    let tmp = TempDb::new();
    let store = SqliteStore::open(tmp.path()).unwrap();
    let org = OrgId::parse("1").unwrap();
    let entry = miro_sam_core::audit::AuditEntry {
        id: miro_sam_core::domain::AuditEntryId::parse("policy/1/v1").unwrap(),
        org_id: org.clone(),
        at: chrono::Utc::now(),
        actor: "test".into(),
        event: miro_sam_core::audit::AuditEvent::PolicyChanged { version: 1 },
    };
    store.append_audit(&entry).await.unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(tmp.path()).unwrap();
    let upd = conn.execute("UPDATE audit_log SET kind = 'x'", []);
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = conn.execute("DELETE FROM audit_log", []);
    assert!(del.unwrap_err().to_string().contains("append-only"));
}
