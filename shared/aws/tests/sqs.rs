//! The SQS reclaim queue against moto: what a message carries on a standard and on a FIFO queue.

mod common;

use std::collections::HashMap;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use miro_sam_aws::SqsReclaimQueue;
use miro_sam_aws::sqs::DEDUP_KEY_ATTRIBUTE;
use miro_sam_core::contract::fixtures::{org, reclaim_requests};
use miro_sam_core::domain::PlanId;
use miro_sam_core::ports::{ReclaimQueue, ReclaimRequest};

/// Everything on the queue now, deleting what it reads so the next call sees only new messages.
async fn drain(client: &aws_sdk_sqs::Client, url: &str) -> Vec<Message> {
    let mut all = Vec::new();
    for _ in 0..50 {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            break;
        }
        for m in &msgs {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        all.extend(msgs);
    }
    all
}

fn dedup_attr(m: &Message) -> String {
    m.message_attributes().unwrap()[DEDUP_KEY_ATTRIBUTE]
        .string_value()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_standard_queue_gets_every_request_once_with_its_dedup_key() {
    let clients = common::clients().await;
    let url = common::new_queue(&clients, false).await;
    let queue = SqsReclaimQueue::new(clients.sqs.clone(), &url);
    assert!(!queue.is_fifo());
    let plan = PlanId::new();
    let mut batch = reclaim_requests(plan, 25);
    batch.push(batch[3].clone());

    let report = queue.enqueue(&batch).await.unwrap();
    assert_eq!(
        (report.enqueued, report.already_queued),
        (25, 1),
        "the repeat in one call is sent once"
    );

    let got = drain(&clients.sqs, &url).await;
    assert_eq!(got.len(), 25);
    let mut by_key: HashMap<String, ReclaimRequest> = HashMap::new();
    for m in &got {
        let r = ReclaimRequest::from_json(m.body().unwrap())
            .expect("versioned JSON of a ReclaimRequest");
        assert_eq!(dedup_attr(m), r.dedup_key());
        by_key.insert(r.dedup_key(), r);
    }
    for r in &batch {
        assert_eq!(by_key.get(&r.dedup_key()), Some(r));
    }
}

#[tokio::test]
async fn a_fifo_queue_deduplicates_per_plan_and_member_and_groups_by_org() {
    let clients = common::clients().await;
    let url = common::new_queue(&clients, true).await;
    let queue = SqsReclaimQueue::new(clients.sqs.clone(), &url);
    assert!(queue.is_fifo());
    let plan = PlanId::new();
    let batch = reclaim_requests(plan, 23);

    // The plan enqueued twice (a retried planner run): SQS keeps one message per (plan, member). moto forgets a
    // deduplication id once its message is deleted, AWS only after five minutes, so both sends go before reading.
    assert_eq!(queue.enqueue(&batch).await.unwrap().enqueued, 23);
    assert_eq!(
        queue.enqueue(&batch).await.unwrap().enqueued,
        23,
        "accepted, as SQS accepts duplicates"
    );
    let got = drain(&clients.sqs, &url).await;
    assert_eq!(got.len(), 23, "delivered once");
    for m in &got {
        let r = ReclaimRequest::from_json(m.body().unwrap()).unwrap();
        let attrs = m.attributes().unwrap();
        assert_eq!(
            attrs[&MessageSystemAttributeName::MessageDeduplicationId],
            r.dedup_key()
        );
        assert_eq!(
            attrs[&MessageSystemAttributeName::MessageGroupId],
            org().as_str()
        );
        assert_eq!(dedup_attr(m), r.dedup_key());
    }

    // The key is per plan: the same members under another plan are new requests.
    queue
        .enqueue(&reclaim_requests(PlanId::new(), 2))
        .await
        .unwrap();
    assert_eq!(drain(&clients.sqs, &url).await.len(), 2);
}
