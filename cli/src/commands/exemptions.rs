//! `miro-sam exemptions list|add|remove`, on either store. Exemptions are part of the policy: adding or removing
//! one saves the next policy version (audited as `policy_changed` with the operator), as the console does, with
//! the core's checks of what a person types (`Exemption::from_input`).

use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{current_policy, set_policy};
use miro_sam_core::policy::{Exemption, ExemptionMatch, VersionedPolicy};

use crate::args::{ExemptionWho, ExemptionsCommand, Global};
use crate::backend::Backend;
use crate::context::operator;
use crate::failure::{CmdResult, Failure};
use crate::render::printable;

pub async fn run(b: &Backend, g: &Global, cmd: ExemptionsCommand) -> CmdResult {
    let org = b.org(g).await?;
    let now = b.deps.clock.now();
    let current = current_policy(b.deps.store.as_ref(), &org, now).await?;
    match cmd {
        ExemptionsCommand::List => {
            print!("{}", list(&current, now));
            Ok(())
        }
        ExemptionsCommand::Add {
            who,
            reason,
            expires,
        } => {
            let (kind, value) = who.kind_and_value();
            let e = Exemption::from_input(kind, value, &reason, expires.as_deref())?;
            let what = e.matcher.to_string();
            let mut policy = current.policy;
            policy.exemptions.push(e);
            let v = save(b, &org, &policy).await?;
            println!(
                "Added the exemption for {what}: saved as policy version {}. The next plan applies it.",
                v.version
            );
            Ok(())
        }
        ExemptionsCommand::Remove { who } => {
            let mut policy = current.policy;
            let before = policy.exemptions.len();
            policy.exemptions.retain(|e| !covers(&who, &e.matcher));
            let removed = before - policy.exemptions.len();
            if removed == 0 {
                let (kind, value) = who.kind_and_value();
                return Err(Failure::usage(format!(
                    "policy version {} of org {org} has no exemption for {kind} {value:?}; nothing changed \
                     (`{}` shows them)",
                    current.version,
                    b.command("exemptions list")
                )));
            }
            let v = save(b, &org, &policy).await?;
            println!(
                "Removed {removed} exemption{}: saved as policy version {}. The next plan no longer applies it.",
                if removed == 1 { "" } else { "s" },
                v.version
            );
            Ok(())
        }
    }
}

async fn save(
    b: &Backend,
    org: &OrgId,
    policy: &miro_sam_core::policy::Policy,
) -> CmdResult<VersionedPolicy> {
    Ok(set_policy(
        b.deps.store.as_ref(),
        org,
        policy,
        &operator("exemptions"),
        b.deps.clock.now(),
    )
    .await?)
}

/// Whether `who` names this exemption's match: the same email or domain (as parsed, so case does not matter), or
/// the same admin role compared as the policy compares roles (case-insensitively).
fn covers(who: &ExemptionWho, m: &ExemptionMatch) -> bool {
    let (kind, value) = who.kind_and_value();
    match m {
        ExemptionMatch::Email(e) => {
            kind == "email" && e.as_str().eq_ignore_ascii_case(value.trim())
        }
        ExemptionMatch::Domain(d) => {
            kind == "domain"
                && d.as_str()
                    .eq_ignore_ascii_case(value.trim().trim_start_matches('@'))
        }
        ExemptionMatch::AdminRole(r) => {
            kind == "admin_role" && r.trim().eq_ignore_ascii_case(value.trim())
        }
    }
}

/// The exemptions as `list` prints them: one line each, numbered, with whether it is in force now.
pub fn list(p: &VersionedPolicy, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = format!(
        "Policy version {} of org {}: {} exemption{}.\n",
        p.version,
        p.org_id,
        p.policy.exemptions.len(),
        if p.policy.exemptions.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    for (i, e) in p.policy.exemptions.iter().enumerate() {
        let until = match e.expires_at {
            None => "no end".to_owned(),
            Some(t) if e.applies_at(now) => format!("until {}", t.to_rfc3339()),
            Some(t) => format!("ended {}", t.to_rfc3339()),
        };
        out.push_str(&format!(
            "  {:>2}. {:<40} {} ({until})\n",
            i + 1,
            printable(&e.matcher.to_string()),
            printable(&e.reason)
        ));
    }
    out
}
