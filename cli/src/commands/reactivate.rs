//! `miro-sam reactivate EMAIL`: undo a reclaim.

use miro_sam_core::domain::Email;
use miro_sam_core::jobs::{MemberRef, reactivate};

use crate::args::{Global, ReactivateArgs};
use crate::context::{Ctx, operator};
use crate::failure::CmdResult;

pub async fn run(ctx: &Ctx, g: &Global, args: ReactivateArgs) -> CmdResult {
    let org = ctx.org(g).await?;
    let email = Email::parse(&args.email)?;
    let r = reactivate(
        &ctx.deps,
        &org,
        &MemberRef::Email(email),
        &operator("reactivate"),
        &args.reason,
    )
    .await?;
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
