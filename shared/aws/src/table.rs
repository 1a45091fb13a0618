//! The one DynamoDB table: its key schema, its index and its TTL attribute. `TABLE.md` lists the items and the
//! access patterns; the IaC template mirrors [`create_table`].

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use miro_sam_core::StoreError;

use crate::error::{backend, has_code};

/// Partition key (S) of every item.
pub const PK: &str = "pk";
/// Sort key (S) of every item.
pub const SK: &str = "sk";
/// The first global secondary index, for the access patterns that do not start from a base-table key: member by
/// email, an org's reclaim records, an org's audit log in time order.
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// The second global secondary index, for the console's pages that need another order of the same items: an org's
/// members by (email, id), a member's audit entries, an org's reclaim records of one state. An item carries both
/// pairs of index keys, so a member write stays one item (DynamoDB keeps each index in step with it).
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// Epoch seconds after which DynamoDB's TTL sweeper may delete the item (OAuth `state`, connect-link and member
/// timeline items). The sweeper runs late, sometimes by days, so readers check expiry themselves.
pub const TTL: &str = "ttl";

/// Creates the table (on-demand capacity, the two GSIs, TTL on [`TTL`]) and waits until it is usable. An existing
/// table of that name is left as it is, except that an index it lacks (a table made before [`GSI2`] existed) is
/// added, so this also serves "make sure it exists" for local use.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let resource = format!("table {name}");
    let built = |e: BuildError| {
        StoreError::Backend(format!(
            "cannot build the CreateTable request for {name}: {e}"
        ))
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(built)
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(built)
    };

    // Everything projected: a console page is then one Query, with no read of the base items behind it.
    let index = |name: &str, pk: &str, sk: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(built)
    };
    let gsi1 = index(GSI1, GSI1_PK, GSI1_SK)?;
    let gsi2 = index(GSI2, GSI2_PK, GSI2_SK)?;
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?)
        .attribute_definitions(attr(GSI1_PK)?)
        .attribute_definitions(attr(GSI1_SK)?)
        .attribute_definitions(attr(GSI2_PK)?)
        .attribute_definitions(attr(GSI2_SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(gsi1)
        .global_secondary_indexes(gsi2.clone())
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if has_code(&e, "ResourceInUseException") => {
            tracing::info!(table = name, "table already exists; leaving it as it is");
        }
        Err(e) => return Err(backend("DynamoDB", "CreateTable", &resource, &e)),
    }

    wait_until_active(client, name).await?;
    add_missing_index(client, name, gsi2, [attr(GSI2_PK)?, attr(GSI2_SK)?]).await?;

    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL)
        .enabled(true)
        .build()
        .map_err(built)?;
    match client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Asking twice is refused with "TimeToLive is already enabled"; that is the state we want.
        Err(e)
            if has_code(&e, "ValidationException")
                && format!("{e:?}").contains("already enabled") =>
        {
            Ok(())
        }
        Err(e) => Err(backend("DynamoDB", "UpdateTimeToLive", &resource, &e)),
    }
}

/// Adds `index` to an existing table that lacks it (DynamoDB builds it from the items already there) and waits
/// until it is usable. Nothing is sent when the table has it.
async fn add_missing_index(
    client: &Client,
    name: &str,
    index: GlobalSecondaryIndex,
    attributes: [AttributeDefinition; 2],
) -> Result<(), StoreError> {
    let resource = format!("table {name}");
    let out = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| backend("DynamoDB", "DescribeTable", &resource, &e))?;
    let has_it = out
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .any(|i| i.index_name() == Some(index.index_name()));
    if has_it {
        return Ok(());
    }
    tracing::info!(
        table = name,
        index = index.index_name(),
        "adding the index the table lacks"
    );
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(index.index_name())
        .set_key_schema(Some(index.key_schema().to_vec()))
        .set_projection(index.projection().cloned())
        .build()
        .map_err(|e| {
            StoreError::Backend(format!(
                "cannot build the UpdateTable request for {name}: {e}"
            ))
        })?;
    client
        .update_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes.to_vec()))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await
        .map_err(|e| backend("DynamoDB", "UpdateTable", &resource, &e))?;
    wait_until_active(client, name).await
}

/// Real DynamoDB takes seconds to create a table; bounded so a stuck creation surfaces as an error.
///
/// Not the SDK's `wait_until_table_exists`: that waiter checks only the table's status, and a table is ACTIVE
/// while a global secondary index added to it is still being built (CREATING, then backfilling). Queries on the
/// index fail until it is ACTIVE too, so this waits for the table and every index.
async fn wait_until_active(client: &Client, name: &str) -> Result<(), StoreError> {
    for _ in 0..120 {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| backend("DynamoDB", "DescribeTable", &format!("table {name}"), &e))?;
        let table = out.table();
        let table_active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
        if table_active && indexes_active {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StoreError::Backend(format!(
        "table {name} did not become ACTIVE within 60 s; check it in the DynamoDB console"
    )))
}
