//! Contract of [`ReclaimQueue`].

use std::sync::Arc;

use super::fixtures::*;
use crate::domain::{Email, PlanId};
use crate::ports::{ReclaimQueue, ReclaimRequest};

pub async fn queue_dedups_per_plan_and_member(queue: Arc<dyn ReclaimQueue>) {
    let plan = PlanId::new();
    let req = |n: u64| {
        ReclaimRequest::new(
            plan,
            org(),
            member_id(n),
            Email::parse(&format!("user{n}@example.com")).unwrap(),
            "no activity".into(),
        )
    };
    let first = queue.enqueue(&[req(1), req(2)]).await.unwrap();
    assert_eq!(first.enqueued, 2);
    let second = queue.enqueue(&[req(2), req(3)]).await.unwrap();
    assert_eq!(second.enqueued + second.already_queued, 2);
    assert!(second.enqueued >= 1, "the new member is queued");
    let other_plan = ReclaimRequest {
        plan_id: PlanId::new(),
        ..req(1)
    };
    assert_eq!(
        queue.enqueue(&[other_plan]).await.unwrap().enqueued,
        1,
        "the key is per plan"
    );
    assert_eq!(queue.enqueue(&[]).await.unwrap().enqueued, 0);
}
