//! The table handle every DynamoDB adapter shares, with the single-item operations and paged queries they all
//! use. Base-table reads are strongly consistent: the jobs read what they just wrote (a plan, a record).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use miro_sam_core::StoreError;
use miro_sam_core::domain::OrgId;

use super::item::{Item, key, s};
use crate::error::{backend, is_conditional_check_failed};
use crate::retry::Backoff;
use crate::table::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};

/// Counters of what the store wrote, for tests, logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// `BatchWriteItem` calls, retries included.
    pub batch_calls: u64,
    /// Items a batch call reported as written (put or deleted).
    pub batch_items: u64,
    /// Batch calls repeated because DynamoDB left items unprocessed.
    pub unprocessed_retries: u64,
    /// Batch calls repeated after a throttling or transient error.
    pub transient_retries: u64,
    /// Single-item writes: PutItem, UpdateItem, DeleteItem.
    pub item_writes: u64,
}

/// Counters of what the store read (every GetItem and Query page), for tests and the bench.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// GetItem calls plus Query pages.
    pub requests: u64,
    /// Items returned.
    pub items: u64,
    /// Their size by DynamoDB's rule (attribute names plus values), roughly what read capacity is charged on.
    pub bytes: u64,
    /// Of those, plan items (headers, candidates, exclusions).
    pub plan_items: u64,
    pub plan_bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub read_requests: AtomicU64,
    pub items_read: AtomicU64,
    pub bytes_read: AtomicU64,
    pub plan_items_read: AtomicU64,
    pub plan_bytes_read: AtomicU64,
    pub batch_calls: AtomicU64,
    pub batch_items: AtomicU64,
    pub unprocessed_retries: AtomicU64,
    pub transient_retries: AtomicU64,
    pub item_writes: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn reads(&self) -> ReadStats {
        ReadStats {
            requests: self.read_requests.load(Ordering::Relaxed),
            items: self.items_read.load(Ordering::Relaxed),
            bytes: self.bytes_read.load(Ordering::Relaxed),
            plan_items: self.plan_items_read.load(Ordering::Relaxed),
            plan_bytes: self.plan_bytes_read.load(Ordering::Relaxed),
        }
    }

    /// One read request that returned `items`.
    fn count_read<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        Self::add(&self.read_requests, 1);
        for i in items {
            Self::add(&self.items_read, 1);
            Self::add(&self.bytes_read, item_size(i));
        }
    }

    fn snapshot(&self) -> WriteStats {
        WriteStats {
            batch_calls: self.batch_calls.load(Ordering::Relaxed),
            batch_items: self.batch_items.load(Ordering::Relaxed),
            unprocessed_retries: self.unprocessed_retries.load(Ordering::Relaxed),
            transient_retries: self.transient_retries.load(Ordering::Relaxed),
            item_writes: self.item_writes.load(Ordering::Relaxed),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Db {
    pub client: Client,
    pub table: Arc<str>,
    pub backoff: Backoff,
    pub counters: Arc<Counters>,
    /// Member id lengths this process saw stored, per org (`member_id_lengths.rs`): lengths are never removed,
    /// so a remembered one stays true, and an upsert that brings no new length skips recording them.
    id_lengths: Arc<Mutex<HashMap<OrgId, BTreeSet<usize>>>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Which sort keys a query reads.
pub(crate) enum SkRange {
    All,
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    /// Inclusive.
    AtLeast(String),
    /// Inclusive.
    AtMost(String),
}

impl SkRange {
    /// The keys in `from..=to`, either end open when `None`; `None` when the range is empty (DynamoDB refuses a
    /// `BETWEEN` whose ends are the wrong way round, so an empty page is answered without asking).
    pub(crate) fn bounded(from: Option<String>, to: Option<String>) -> Option<SkRange> {
        Some(match (from, to) {
            (None, None) => SkRange::All,
            (Some(a), None) => SkRange::AtLeast(a),
            (None, Some(b)) => SkRange::AtMost(b),
            (Some(a), Some(b)) if a <= b => SkRange::Between(a, b),
            (Some(_), Some(_)) => return None,
        })
    }
}

pub(crate) struct KeyQuery {
    /// `None` for the base table, or the GSI name.
    pub index: Option<&'static str>,
    pub pk: String,
    pub sk: SkRange,
    pub newest_first: bool,
    pub limit: Option<usize>,
    /// Attributes to return (e.g. only the keys, to avoid reading large items); all when `None`.
    pub projection: Option<&'static str>,
}

impl KeyQuery {
    pub(crate) fn base(pk: impl Into<String>, sk: SkRange) -> Self {
        KeyQuery {
            index: None,
            pk: pk.into(),
            sk,
            newest_first: false,
            limit: None,
            projection: None,
        }
    }

    pub(crate) fn index(index: &'static str, pk: impl Into<String>, sk: SkRange) -> Self {
        KeyQuery {
            index: Some(index),
            ..Self::base(pk, sk)
        }
    }

    pub(crate) fn last(mut self) -> Self {
        self.newest_first = true;
        self.limit = Some(1);
        self
    }

    pub(crate) fn descending(mut self) -> Self {
        self.newest_first = true;
        self
    }
}

/// Most items one Query is asked for: DynamoDB stops at 1 MB anyway.
const MAX_QUERY_LIMIT: usize = 1000;

/// One page of a Query: the items and where the next page starts (`None` at the end).
pub(crate) struct QueryPage {
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

impl Db {
    pub(crate) fn new(client: Client, table: &str) -> Self {
        Db {
            client,
            table: Arc::from(table),
            backoff: Backoff::default(),
            counters: Arc::default(),
            id_lengths: Arc::default(),
        }
    }

    pub(crate) fn known_id_lengths(&self, org: &OrgId) -> BTreeSet<usize> {
        let known = self.id_lengths.lock().unwrap_or_else(|p| p.into_inner());
        known.get(org).cloned().unwrap_or_default()
    }

    pub(crate) fn remember_id_lengths(&self, org: &OrgId, lengths: &BTreeSet<usize>) {
        let mut known = self.id_lengths.lock().unwrap_or_else(|p| p.into_inner());
        known.entry(org.clone()).or_default().extend(lengths);
    }

    pub(crate) fn stats(&self) -> WriteStats {
        self.counters.snapshot()
    }

    pub(crate) fn read_stats(&self) -> ReadStats {
        self.counters.reads()
    }

    /// Counts `item` as a plan item read (it was counted as a read already).
    pub(crate) fn count_plan_read(&self, item: &Item) {
        Counters::add(&self.counters.plan_items_read, 1);
        Counters::add(&self.counters.plan_bytes_read, item_size(item));
    }

    pub(crate) fn err<E>(&self, op: &str, e: &SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        backend("DynamoDB", op, &format!("table {}", self.table), e)
    }

    pub(crate) fn count_item_write(&self) {
        Counters::add(&self.counters.item_writes, 1);
    }

    /// An UpdateItem of the item at (`pk`, `sk`), counted as one item write: the caller adds the expressions and
    /// sends it.
    pub(crate) fn update_item(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.count_item_write();
        self.client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(super::item::key(pk, sk)))
    }

    /// Strongly consistent GetItem.
    pub(crate) async fn get(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err("GetItem", &e))?;
        self.counters.count_read(out.item.as_ref());
        Ok(out.item)
    }

    /// Unconditional PutItem (insert or replace).
    pub(crate) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.count_item_write();
        self.client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.err("PutItem", &e))?;
        Ok(())
    }

    /// PutItem only if no item has this key. `Ok(false)` when one exists (nothing was written).
    pub(crate) async fn put_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        self.count_item_write();
        let res = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_check_failed(&e) => Ok(false),
            Err(e) => Err(self.err("PutItem", &e)),
        }
    }

    pub(crate) async fn delete(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<(), StoreError> {
        self.count_item_write();
        self.client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(|e| self.err("DeleteItem", &e))?;
        Ok(())
    }

    /// Every item the query matches, until done or `limit` items are read. The SDK's paginator follows
    /// `LastEvaluatedKey`; it sends the next Query only when its page is asked for, so stopping at the limit
    /// reads nothing more. Every page asks for `limit` items: only a page cut at 1 MB is followed by one that
    /// may read more than the rest needed.
    pub(crate) async fn query(&self, q: KeyQuery) -> Result<Vec<Item>, StoreError> {
        let mut pages = self.query_request(&q, q.limit)?.into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| self.err("Query", &e))?
                .items
                .unwrap_or_default();
            self.counters.count_read(&page);
            items.extend(page);
            if let Some(limit) = q.limit
                && items.len() >= limit
            {
                items.truncate(limit);
                break;
            }
        }
        Ok(items)
    }

    /// A hand-written page loop, not the paginator: each Query asks for a different number of items.
    ///
    /// The query's items in key order, each handed to `keep`, until `keep` has returned `limit` values or the
    /// range ends; for pages whose items are not all shown (a cursor item to skip, entries another filter
    /// drops). The first Query asks for what is missing plus one (the cursor item); when a page comes back with
    /// items dropped, the next asks for twice as many, up to 1 000, so a sparse filter costs few round trips.
    pub(crate) async fn query_matching<T>(
        &self,
        q: KeyQuery,
        limit: usize,
        mut keep: impl FnMut(&Item) -> Result<Option<T>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut start: Option<Item> = None;
        let mut want = limit.saturating_add(1).min(MAX_QUERY_LIMIT);
        loop {
            let page = self.query_page(&q, start.take(), Some(want)).await?;
            let read = page.items.len();
            let before = out.len();
            for item in &page.items {
                if let Some(v) = keep(item)? {
                    out.push(v);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            let Some(next) = page.next else {
                return Ok(out);
            };
            start = Some(next);
            let kept = out.len() - before;
            want = if kept < read {
                want.saturating_mul(2)
            } else {
                limit - out.len()
            }
            .clamp(1, MAX_QUERY_LIMIT);
        }
    }

    /// One Query request: at most `limit` items (up to 1 MB of them when `None`) from `start` on.
    pub(crate) async fn query_page(
        &self,
        q: &KeyQuery,
        start: Option<Item>,
        limit: Option<usize>,
    ) -> Result<QueryPage, StoreError> {
        let out = self
            .query_request(q, limit)?
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| self.err("Query", &e))?;
        let items = out.items.unwrap_or_default();
        self.counters.count_read(&items);
        Ok(QueryPage {
            items,
            next: out.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }

    /// The Query for `q` from its start, asking for at most `limit` items a page (up to 1 MB of them when
    /// `None`).
    fn query_request(
        &self,
        q: &KeyQuery,
        limit: Option<usize>,
    ) -> Result<QueryFluentBuilder, StoreError> {
        let (pk_attr, sk_attr) = index_keys(q.index)?;
        let (condition, sk_values): (&str, Vec<(&str, &str)>) = match &q.sk {
            SkRange::All => ("#pk = :pk", vec![]),
            SkRange::BeginsWith(p) => ("#pk = :pk AND begins_with(#sk, :p)", vec![(":p", p)]),
            SkRange::Between(a, b) => (
                "#pk = :pk AND #sk BETWEEN :a AND :b",
                vec![(":a", a), (":b", b)],
            ),
            SkRange::AtLeast(a) => ("#pk = :pk AND #sk >= :a", vec![(":a", a)]),
            SkRange::AtMost(b) => ("#pk = :pk AND #sk <= :b", vec![(":b", b)]),
        };
        let mut req = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .set_index_name(q.index.map(str::to_owned))
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(q.pk.clone()))
            .scan_index_forward(!q.newest_first);
        if !sk_values.is_empty() {
            req = req.expression_attribute_names("#sk", sk_attr);
        }
        for (name, value) in sk_values {
            req = req.expression_attribute_values(name, s(value));
        }
        if q.index.is_none() {
            req = req.consistent_read(true);
        }
        if let Some(p) = q.projection {
            req = req.projection_expression(p);
        }
        // Without a limit DynamoDB returns up to 1 MB, the fewest round trips for a whole listing.
        if let Some(limit) = limit {
            let limit = limit.clamp(1, MAX_QUERY_LIMIT);
            req = req.limit(i32::try_from(limit).unwrap_or(1000));
        }
        Ok(req)
    }
}

/// The key attributes of the base table (`None`) or of an index.
fn index_keys(index: Option<&str>) -> Result<(&'static str, &'static str), StoreError> {
    match index {
        None => Ok((PK, SK)),
        Some(GSI1) => Ok((GSI1_PK, GSI1_SK)),
        Some(GSI2) => Ok((GSI2_PK, GSI2_SK)),
        Some(other) => Err(StoreError::Backend(format!(
            "the store asked for index {other:?}, which the table does not define (a bug in the adapter)"
        ))),
    }
}

/// An item's size by DynamoDB's rule: attribute names plus values (strings and binaries by length, numbers
/// roughly by digits, nested values recursively with a little overhead).
pub(crate) fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(k, v)| k.len() as u64 + value_size(v))
        .sum()
}

fn value_size(v: &AttributeValue) -> u64 {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len() as u64,
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        AttributeValue::Ss(l) | AttributeValue::Ns(l) => l.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len() as u64).sum(),
        _ => 1,
    }
}
