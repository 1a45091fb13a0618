//! `miro-sam reactivate EMAIL|ID`: undo a reclaim. On one machine it reactivates through SCIM at once and holds
//! the member; on a deployment it queues the versioned reactivate message for the reclaim function (which holds
//! the SCIM token, so the operator's machine never needs it), exactly as the console's undo does.

use miro_sam_core::domain::{Email, MemberId, OrgId};
use miro_sam_core::jobs::{JobError, MemberRef, reactivate, request_reactivation};

use crate::args::{Global, ReactivateArgs};
use crate::backend::Backend;
use crate::context::operator;
use crate::failure::CmdResult;

pub async fn run(b: &Backend, g: &Global, args: ReactivateArgs) -> CmdResult {
    let org = b.org(g).await?;
    let who = match MemberId::parse(&args.email) {
        Ok(id) => MemberRef::Id(id),
        Err(_) => MemberRef::Email(Email::parse(&args.email)?),
    };
    if b.is_deployment() {
        return queue_undo(b, &org, &who, &args.reason).await;
    }
    let r = reactivate(&b.deps, &org, &who, &operator("reactivate"), &args.reason).await?;
    if r.already_active {
        println!("{} is already active in Miro.", r.email);
    } else {
        println!(
            "Reactivated {} (SCIM user {}); recorded in the audit log.",
            r.email, r.scim_user_id
        );
    }
    println!(
        "Held until {}: no plan will reclaim this seat before then.",
        r.hold.expires_at.date_naive()
    );
    Ok(())
}

/// The undo as a message on the deployment's reclaim queue, audited as `reactivate_requested`.
async fn queue_undo(b: &Backend, org: &OrgId, who: &MemberRef, why: &str) -> CmdResult {
    let store = b.deps.store.as_ref();
    let member = match who {
        MemberRef::Id(id) => id.clone(),
        MemberRef::Email(email) => {
            store
                .find_member_by_email(org, email)
                .await?
                .ok_or_else(|| JobError::MemberNotFound {
                    org: org.clone(),
                    what: format!("with email {email} in the deployment's table"),
                })?
                .member_id
        }
    };
    let r = request_reactivation(
        store,
        b.queue()?,
        org,
        &member,
        &operator("reactivate"),
        why,
        b.deps.clock.now(),
    )
    .await?;
    println!(
        "Queued the reactivation of {} (member {}, request {}); the deployment's reclaim function reactivates \
         them through SCIM and holds the seat out of plans. The audit log records both.",
        r.email, r.member_id, r.request_id
    );
    Ok(())
}
