//! The core's store conformance suite, unchanged, against DynamoDB (the store and the OAuth states), Secrets
//! Manager and SQS (moto). The queue contract runs on a FIFO queue, the SQS kind that deduplicates; a queue that
//! does not must fail it.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use miro_sam_aws::SqsReclaimQueue;
use miro_sam_core::StoreError;
use miro_sam_core::contract::{QueueUnderTest, check_queue_dedups_per_plan_and_member};
use miro_sam_core::ports::{
    Clock, EnqueueReport, OAuthStates, ReactivateRequest, ReclaimQueue, ReclaimRequest,
    SubscriptionStore, TokenStore,
};

miro_sam_core::store_contract_tests! {
    store: || async { Arc::new(common::fresh_store().await) as Arc<dyn SubscriptionStore> },
    tokens: || async { Arc::new(common::fresh_tokens().await) as Arc<dyn TokenStore> },
    queue: common::fresh_fifo_queue_under_test,
    oauth_states: |clock: Arc<dyn Clock>| async move {
        Arc::new(common::fresh_oauth_states().await.with_clock(clock)) as Arc<dyn OAuthStates>
    },
}

/// The real adapter with deduplication taken away: it sends to a standard queue (which takes no deduplication
/// id) one request per call (so the adapter's own check for a key repeated within a call never sees a repeat).
struct NoDedup(SqsReclaimQueue);

#[async_trait]
impl ReclaimQueue for NoDedup {
    async fn enqueue(&self, batch: &[ReclaimRequest]) -> Result<EnqueueReport, StoreError> {
        let mut report = EnqueueReport::default();
        for r in batch {
            report.enqueued += self.0.enqueue(std::slice::from_ref(r)).await?.enqueued;
        }
        Ok(report)
    }

    async fn enqueue_reactivation(&self, request: &ReactivateRequest) -> Result<(), StoreError> {
        self.0.enqueue_reactivation(request).await
    }
}

/// Proves the contract has teeth: without this, a contract that only counted what `enqueue` reports passed for
/// any queue.
#[tokio::test]
async fn a_queue_that_does_not_deduplicate_fails_the_queue_contract() {
    let clients = common::clients().await;
    let url = common::new_queue(&clients, false).await;
    let under_test = QueueUnderTest {
        queue: Arc::new(NoDedup(SqsReclaimQueue::new(clients.sqs.clone(), &url))),
        probe: Arc::new(common::queue_probe::SqsProbe {
            client: clients.sqs,
            url,
        }),
    };
    let violation = check_queue_dedups_per_plan_and_member(under_test)
        .await
        .expect_err("a queue that delivers duplicates must fail the contract");
    // The member repeated within the first call and sent again in the second arrives three times.
    assert!(
        violation.contains("was delivered 3 times"),
        "the violation names the duplicate delivery: {violation}"
    );
}
