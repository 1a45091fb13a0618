//! `miro-sam reactivate EMAIL`: undo a reclaim.

use miro_sam_core::domain::Email;
use miro_sam_core::jobs::{MemberRef, reactivate};

use crate::args::{Global, ReactivateArgs};
use crate::context::Ctx;
use crate::failure::CmdResult;

pub async fn run(ctx: &Ctx, g: &Global, args: ReactivateArgs) -> CmdResult {
    let org = ctx.org(g).await?;
    let email = Email::parse(&args.email)?;
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let r = reactivate(
        &ctx.deps,
        &org,
        &MemberRef::Email(email),
        &format!("miro-sam reactivate (by {user})"),
        &args.reason,
    )
    .await?;
    if r.already_active {
        println!("{} is already active; nothing to do.", r.email);
    } else {
        println!(
            "Reactivated {} (SCIM user {}); recorded in the audit log.",
            r.email, r.scim_user_id
        );
    }
    Ok(())
}
