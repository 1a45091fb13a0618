//! Plans. A plan with thousands of candidates is megabytes of JSON and DynamoDB items stop at 400 KB, so a plan
//! is stored as a header item plus numbered chunk items holding the JSON bytes, all in the plan's partition.
//!
//! Every write uses a fresh "generation" in the chunk keys and writes the header last, pointing at its
//! generation: a reader never mixes the chunks of two writes, and a writer that dies half-way leaves only
//! unreferenced chunks, removed by the next write of that plan. The header also carries the length and SHA-256 of
//! the whole document, so a short or damaged read is detected instead of parsed.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use miro_sam_core::StoreError;
use miro_sam_core::domain::{OrgId, PlanId};
use miro_sam_core::plan::ReclaimPlan;
use sha2::{Digest, Sha256};

use super::batch::{delete_request, put_request, write_all};
use super::db::{Db, KeyQuery, SkRange};
use super::item::{Item, get_n, get_s, get_time, key, n, s};
use super::keys::{
    PLAN_CHUNK_PREFIX, PLAN_HEADER_SK, PLAN_INDEX_PREFIX, org_pk, plan_chunk_generation_prefix,
    plan_chunk_sk, plan_index_sk, plan_pk, sortable_time,
};
use crate::error::corrupt;
use crate::table::{PK, SK};

/// Bytes of plan JSON per chunk item: well under the 400 KB item limit once keys and attribute names are added,
/// and 25 of them stay under BatchWriteItem's 16 MB request limit.
pub(crate) const CHUNK_BYTES: usize = 300 * 1024;

const DATA: &str = "data";
const GENERATION: &str = "generation";
const CHUNKS: &str = "chunks";
const BYTES: &str = "bytes";
const SHA256: &str = "sha256";
const ORG_ID: &str = "org_id";
const CREATED_AT: &str = "created_at";
const PLAN_ID: &str = "plan_id";

/// A reader that loses a race with a rewrite of the same plan reads the header again; bounded.
const READ_ATTEMPTS: usize = 3;

struct Header {
    org: String,
    created_at: chrono::DateTime<chrono::Utc>,
    generation: String,
    chunks: usize,
    bytes: usize,
    sha256: String,
}

fn read_header(item: &Item) -> Result<Header, StoreError> {
    let what = "plan header";
    Ok(Header {
        org: get_s(item, ORG_ID, what)?.to_owned(),
        created_at: get_time(item, CREATED_AT, what)?,
        generation: get_s(item, GENERATION, what)?.to_owned(),
        chunks: get_n(item, CHUNKS, what)?,
        bytes: get_n(item, BYTES, what)?,
        sha256: get_s(item, SHA256, what)?.to_owned(),
    })
}

pub(crate) async fn put(db: &Db, plan: &ReclaimPlan) -> Result<(), StoreError> {
    let json = serde_json::to_vec(plan)
        .map_err(|e| StoreError::Backend(format!("cannot serialize plan {}: {e}", plan.plan_id)))?;
    let pk = plan_pk(plan.plan_id);
    let generation = uuid::Uuid::new_v4().simple().to_string();
    let previous = db
        .get(pk.clone(), PLAN_HEADER_SK)
        .await?
        .map(|i| read_header(&i))
        .transpose()?;

    let mut chunks = Vec::new();
    for (i, bytes) in json.chunks(CHUNK_BYTES).enumerate() {
        let mut item = key(pk.clone(), plan_chunk_sk(&generation, i));
        item.insert(DATA.to_owned(), AttributeValue::B(Blob::new(bytes)));
        chunks.push(put_request(item)?);
    }
    let chunk_count = chunks.len();
    write_all(db, chunks, &format!("chunks of plan {}", plan.plan_id)).await?;

    let mut header = key(pk.clone(), PLAN_HEADER_SK);
    header.insert(ORG_ID.to_owned(), s(plan.org_id.as_str()));
    header.insert(CREATED_AT.to_owned(), s(sortable_time(plan.created_at)));
    header.insert(GENERATION.to_owned(), s(generation.clone()));
    header.insert(CHUNKS.to_owned(), n(chunk_count));
    header.insert(BYTES.to_owned(), n(json.len()));
    header.insert(SHA256.to_owned(), s(hex::encode(Sha256::digest(&json))));
    db.put(header).await?;

    // The index entry comes after the header, so whoever finds it can read the plan.
    let mut index = key(
        org_pk(&plan.org_id),
        plan_index_sk(plan.created_at, plan.plan_id),
    );
    index.insert(PLAN_ID.to_owned(), s(plan.plan_id.to_string()));
    db.put(index).await?;

    if let Some(old) = previous {
        if old.org != plan.org_id.as_str() || old.created_at != plan.created_at {
            let old_org = OrgId::parse(&old.org).map_err(|e| corrupt("plan header", e))?;
            db.delete(
                org_pk(&old_org),
                plan_index_sk(old.created_at, plan.plan_id),
            )
            .await?;
        }
        delete_stale_chunks(db, plan.plan_id, &generation).await?;
    }
    Ok(())
}

async fn delete_stale_chunks(db: &Db, plan: PlanId, keep: &str) -> Result<(), StoreError> {
    let mut q = KeyQuery::base(
        plan_pk(plan),
        SkRange::BeginsWith(PLAN_CHUNK_PREFIX.to_owned()),
    );
    q.projection = Some("pk, sk");
    let keep = plan_chunk_generation_prefix(keep);
    let mut deletes = Vec::new();
    for item in db.query(q).await? {
        let sk = get_s(&item, SK, "plan chunk")?;
        if !sk.starts_with(&keep) {
            deletes.push(delete_request(key(get_s(&item, PK, "plan chunk")?, sk))?);
        }
    }
    write_all(db, deletes, &format!("stale chunks of plan {plan}")).await
}

pub(crate) async fn get(db: &Db, plan: PlanId) -> Result<Option<ReclaimPlan>, StoreError> {
    let what = format!("plan {plan}");
    let mut last_problem = String::new();
    for _ in 0..READ_ATTEMPTS {
        let Some(header) = db.get(plan_pk(plan), PLAN_HEADER_SK).await? else {
            return Ok(None);
        };
        let header = read_header(&header)?;
        let chunks = db
            .query(KeyQuery::base(
                plan_pk(plan),
                SkRange::BeginsWith(plan_chunk_generation_prefix(&header.generation)),
            ))
            .await?;
        if chunks.len() != header.chunks {
            // A concurrent rewrite replaced this generation between our two reads.
            last_problem = format!("expected {} chunks, found {}", header.chunks, chunks.len());
            continue;
        }
        let mut json = Vec::with_capacity(header.bytes);
        for c in &chunks {
            match c.get(DATA) {
                Some(AttributeValue::B(b)) => json.extend_from_slice(b.as_ref()),
                _ => return Err(corrupt(&what, "a chunk has no binary data attribute")),
            }
        }
        if json.len() != header.bytes || hex::encode(Sha256::digest(&json)) != header.sha256 {
            return Err(corrupt(
                &what,
                format!(
                    "the chunks add up to {} bytes that do not match the header's length and SHA-256",
                    json.len()
                ),
            ));
        }
        return serde_json::from_slice(&json)
            .map(Some)
            .map_err(|e| corrupt(&what, e));
    }
    Err(corrupt(what, last_problem))
}

pub(crate) async fn latest(db: &Db, org: &OrgId) -> Result<Option<ReclaimPlan>, StoreError> {
    let items = db
        .query(
            KeyQuery::base(
                org_pk(org),
                SkRange::BeginsWith(PLAN_INDEX_PREFIX.to_owned()),
            )
            .last(),
        )
        .await?;
    let Some(index) = items.first() else {
        return Ok(None);
    };
    let id = get_s(index, PLAN_ID, "plan index entry")?;
    let id = PlanId::parse(id).map_err(|e| corrupt("plan index entry", e))?;
    get(db, id).await
}
