//! Shared set-up for the client's tests against the Miro sandbox over real HTTP.
#![allow(dead_code)]

pub mod browser;

use futures::TryStreamExt;
use miro_client::{
    Member, MemberFilter, MembersPage, MiroClient, MiroConfig, MiroError, Organization, RestLimits,
    RetryPolicy, ScimLimits, SecretString,
};
use miro_sandbox::{FaultConfig, Sandbox, SandboxConfig, SandboxMember};
use std::time::Duration;

/// Miro's budgets with the window scaled down so a test of many pages takes a fraction of a second.
pub const WINDOW: Duration = Duration::from_millis(500);
pub const CREDITS: u64 = 100_000;

pub fn sandbox_config(members: usize) -> SandboxConfig {
    let mut c = SandboxConfig::with_members(members);
    c.rest_limits.window = WINDOW;
    c.rest_limits.credits_per_window = CREDITS;
    c.scim_limits.window = WINDOW;
    c
}

/// A client whose limits match the sandbox's, with fast retries.
pub fn client(sandbox: &Sandbox, cfg: &SandboxConfig) -> MiroClient {
    let mut config = MiroConfig::for_base_url(&sandbox.base_url()).unwrap();
    config.rest_limits = RestLimits {
        credits_per_window: cfg.rest_limits.credits_per_window,
        window: cfg.rest_limits.window,
        ..RestLimits::default()
    };
    config.scim_limits = ScimLimits {
        window: cfg.scim_limits.window,
        list_users: cfg.scim_limits.list_users,
        get_user: cfg.scim_limits.get_user,
        patch_user: cfg.scim_limits.patch_user,
        other: cfg.scim_limits.other,
        ..ScimLimits::default()
    };
    config.retry = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
    };
    config.request_timeout = Duration::from_secs(5);
    MiroClient::new(config).unwrap()
}

pub async fn start(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg).await.expect("sandbox starts")
}

/// A started sandbox of `cfg`, its first org and a [`client`] whose limits match the sandbox's.
pub async fn org_of(cfg: &SandboxConfig) -> (Sandbox, String, MiroClient) {
    let sandbox = start(cfg.clone()).await;
    let org = first_org(&sandbox);
    let client = client(&sandbox, cfg);
    (sandbox, org, client)
}

pub fn first_org(sandbox: &Sandbox) -> String {
    sandbox
        .control()
        .org_ids()
        .into_iter()
        .next()
        .expect("one org")
}

pub fn access_token(sandbox: &Sandbox, org: &str) -> SecretString {
    SecretString::from(sandbox.control().issue_access_token(org))
}

pub fn scim_token(sandbox: &Sandbox, org: &str) -> SecretString {
    SecretString::from(sandbox.control().scim_token(org))
}

/// An active plain member: no admin role in REST, so SCIM may deactivate it.
pub fn plain_member(sandbox: &Sandbox, org: &str) -> SandboxMember {
    member_where(sandbox, org, "an ordinary active member", |m| {
        m.active && m.role == "organization_internal_user" && m.admin_roles.is_empty()
    })
}

/// The first member of `org` that `pick` picks; `what` names it for the panic if there is none.
pub fn member_where(
    sandbox: &Sandbox,
    org: &str,
    what: &str,
    pick: impl Fn(&SandboxMember) -> bool,
) -> SandboxMember {
    sandbox
        .control()
        .members(org)
        .into_iter()
        .find(|m| pick(m))
        .unwrap_or_else(|| panic!("the org should have {what}"))
}

/// [`org_of`] a sandbox of `members` with the faults `fault` sets switched on.
pub async fn faulted(
    members: usize,
    fault: impl FnOnce(&mut FaultConfig),
) -> (Sandbox, String, MiroClient) {
    let (sandbox, org, client) = org_of(&sandbox_config(members)).await;
    let mut faults = FaultConfig::default();
    fault(&mut faults);
    sandbox.control().set_faults(faults);
    (sandbox, org, client)
}

/// The ids of the org's members in the sandbox's (numeric) order: what a download must deliver.
pub fn member_ids(sandbox: &Sandbox, org: &str) -> Vec<String> {
    sandbox
        .control()
        .members(org)
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// Every member, page by page, through the client's stream.
pub async fn download(
    client: &MiroClient,
    token: &SecretString,
    org: &str,
) -> Result<Vec<Member>, MiroError> {
    let pages: Vec<_> = client
        .members(token, org, MemberFilter::default(), None)
        .try_collect()
        .await?;
    Ok(pages.into_iter().flat_map(|p| p.members).collect())
}

/// [`download`] with a fresh access token of the org's admin.
pub async fn download_org(
    client: &MiroClient,
    sandbox: &Sandbox,
    org: &str,
) -> Result<Vec<Member>, MiroError> {
    download(client, &access_token(sandbox, org), org).await
}

/// The org's record, read with a fresh access token of the org's admin.
pub async fn org_info(
    client: &MiroClient,
    sandbox: &Sandbox,
    org: &str,
) -> Result<Organization, MiroError> {
    client.organization(&access_token(sandbox, org), org).await
}

/// The org's first members page, unfiltered, read with a fresh access token of the org's admin.
pub async fn first_page(
    client: &MiroClient,
    sandbox: &Sandbox,
    org: &str,
) -> Result<MembersPage, MiroError> {
    let token = access_token(sandbox, org);
    client
        .members_page(&token, org, &MemberFilter::default(), None)
        .await
}
