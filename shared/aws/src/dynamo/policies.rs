//! Versioned policies. A counter item hands out version numbers with an atomic `ADD`, so concurrent writers each
//! get their own number in one round trip and never retry against each other; the version item itself is then
//! put only if absent, so no version is ever rewritten.
//!
//! A writer that dies between the two steps leaves a gap in the numbering. That is harmless: versions only need to
//! be unique and increasing, and "latest" is the highest stored one.

use chrono::{DateTime, Utc};
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;
use miro_sam_core::policy::{Policy, VersionedPolicy};

use super::db::{Db, KeyQuery, SkRange};
use super::item::{doc_item, get_n, n, parse_doc};
use super::keys::{POLICY_COUNTER_SK, POLICY_VERSION_PREFIX, org_pk, policy_sk};

const LAST_VERSION: &str = "last_version";

pub(crate) async fn put(
    db: &Db,
    org: &OrgId,
    policy: &Policy,
    created_by: &str,
    at: DateTime<Utc>,
) -> Result<VersionedPolicy, StoreError> {
    let version = next_version(db, org).await?;
    let versioned = VersionedPolicy {
        org_id: org.clone(),
        version,
        created_at: at,
        created_by: created_by.to_owned(),
        policy: policy.clone(),
    };
    let created = db
        .put_if_absent(doc_item(
            org_pk(org),
            policy_sk(version),
            "policy",
            &versioned,
        )?)
        .await?;
    if !created {
        // Only possible if the counter item was edited or deleted by hand.
        return Err(StoreError::Conflict {
            what: format!(
                "policy version {version} of org {org} (the version counter is behind the stored versions; \
                 set {LAST_VERSION} of item {}/{} to the highest stored version)",
                org_pk(org),
                POLICY_COUNTER_SK
            ),
        });
    }
    Ok(versioned)
}

async fn next_version(db: &Db, org: &OrgId) -> Result<u32, StoreError> {
    let out = db
        .update_item(org_pk(org), POLICY_COUNTER_SK)
        .update_expression("ADD #v :one")
        .expression_attribute_names("#v", LAST_VERSION)
        .expression_attribute_values(":one", n(1))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| db.err("UpdateItem (policy version counter)", &e))?;
    let attrs = out.attributes.unwrap_or_default();
    get_n(&attrs, LAST_VERSION, "policy version counter")
}

pub(crate) async fn latest(db: &Db, org: &OrgId) -> Result<Option<VersionedPolicy>, StoreError> {
    let items = db
        .query(
            KeyQuery::base(
                org_pk(org),
                SkRange::BeginsWith(POLICY_VERSION_PREFIX.to_owned()),
            )
            .last(),
        )
        .await?;
    items.first().map(|i| parse_doc(i, "policy")).transpose()
}

pub(crate) async fn get(
    db: &Db,
    org: &OrgId,
    version: u32,
) -> Result<Option<VersionedPolicy>, StoreError> {
    db.get(org_pk(org), policy_sk(version))
        .await?
        .map(|i| parse_doc(&i, "policy"))
        .transpose()
}
