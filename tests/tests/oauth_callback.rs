//! The OAuth callback function with real API Gateway v2 events: from `/oauth/start` through the sandbox's consent
//! redirect to a stored secret, and every way it must refuse: links used twice, links bound to another org,
//! orgs outside the allow-list (whose tokens are revoked, checked against the sandbox).

#[path = "oauth_callback/miro_tap.rs"]
mod miro_tap;

use chrono::Duration;
use miro_sam_core::domain::OrgId;
use miro_sam_links::connect_link;
use miro_sam_tests::*;
use miro_tap::MiroTap;
use secrecy::{ExposeSecret, SecretString};

async fn start(w: &World, link: Option<&str>) -> lambda_http::Response<lambda_http::Body> {
    let q: Vec<(&str, &str)> = link.map(|l| vec![("link", l)]).unwrap_or_default();
    oauth_callback::handle(&w.rt, &w.link_key, http_request("GET", "/oauth/start", &q)).await
}

fn fresh_link(w: &World) -> String {
    connect_link::issue(&w.link_key, w.rt.deps.clock.now(), Duration::hours(1))
}

async fn callback(
    w: &World,
    back: &[(String, String)],
) -> lambda_http::Response<lambda_http::Body> {
    let q: Vec<(&str, &str)> = back.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    oauth_callback::handle(
        &w.rt,
        &w.link_key,
        http_request("GET", "/oauth/callback", &q),
    )
    .await
}

/// The function refused with `status` and a page that says `why`; the page.
fn assert_refused(
    resp: &lambda_http::Response<lambda_http::Body>,
    status: u16,
    why: &str,
) -> String {
    let page = body_text(resp);
    assert_eq!(resp.status(), status, "{page}");
    assert!(page.contains(why), "{page}");
    page
}

/// `/oauth/start` with a good link, then the consent screen; returns the redirect's query.
async fn to_miro_and_back(w: &World) -> Vec<(String, String)> {
    to_miro_and_back_with(w, &fresh_link(w)).await
}

async fn to_miro_and_back_with(w: &World, link: &str) -> Vec<(String, String)> {
    let resp = start(w, Some(link)).await;
    assert_eq!(resp.status(), 302, "{}", body_text(&resp));
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&w.sandbox.base_url()), "{location}");
    let back = consent(&location).await;
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    pairs(&back)
}

#[tokio::test]
async fn the_whole_flow_stores_the_tokens_and_registers_the_org_in_dry_run() {
    let w = world_of(20).await;
    let back = to_miro_and_back(&w).await;
    let code = back.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let resp = callback(&w, &back).await;
    let page = body_text(&resp);
    assert_eq!(resp.status(), 200, "{page}");
    assert!(
        page.contains("Acme Corp") && page.contains("SCIM"),
        "{page}"
    );
    assert!(!page.contains(&code), "the page never shows the code");

    let bundle =
        w.rt.deps
            .tokens
            .get_tokens(&w.org)
            .await
            .expect("tokens stored in Secrets Manager");
    assert!(!page.contains(secrecy::ExposeSecret::expose_secret(&bundle.access_token)));
    let store = w.rt.deps.store.as_ref();
    let org = store
        .get_org(&w.org)
        .await
        .unwrap()
        .expect("org registered");
    assert_eq!(org.name, "Acme Corp");
    let policy = store
        .latest_policy(&w.org)
        .await
        .unwrap()
        .expect("a policy");
    assert!(policy.policy.dry_run, "new orgs start in dry run");
    // The secret is where the operator is told to look.
    let secret = format!(
        "{}/orgs/{}/oauth",
        w.rt.adapters.config.secret_prefix, w.org
    );
    w.clients
        .secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("the named secret exists");
}

#[tokio::test]
async fn a_state_works_once() {
    let w = world_of(5).await;
    let back = to_miro_and_back(&w).await;
    assert_eq!(callback(&w, &back).await.status(), 200);
    assert_refused(&callback(&w, &back).await, 400, "already used");
}

#[tokio::test]
async fn an_unknown_or_missing_state_is_refused_before_miro_is_asked() {
    let w = world_of(5).await;
    let tokens_before = w.control.counters().get("token");
    let forged = vec![
        ("code".to_owned(), "abc".to_owned()),
        ("state".to_owned(), "made-up".to_owned()),
    ];
    assert_eq!(callback(&w, &forged).await.status(), 400);
    let no_state = vec![("code".to_owned(), "abc".to_owned())];
    assert_eq!(callback(&w, &no_state).await.status(), 400);
    assert_eq!(
        w.control.counters().get("token"),
        tokens_before,
        "no code exchange was attempted"
    );
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let mut w = world_of(5).await;
    let clock = std::sync::Arc::new(miro_sam_core::ports::FixedClock::new(chrono::Utc::now()));
    w.rt.adapters.oauth_states = w.rt.adapters.oauth_states.clone().with_clock(clock.clone());
    let back = to_miro_and_back(&w).await;
    clock.advance(Duration::minutes(11));
    assert_refused(&callback(&w, &back).await, 400, "expired");
    assert!(
        w.rt.deps.tokens.get_tokens(&w.org).await.is_err(),
        "nothing stored"
    );
}

#[tokio::test]
async fn denied_consent_is_explained_and_stores_nothing() {
    let w = world_of(5).await;
    w.control.set_consent(miro_sandbox::Consent::Deny);
    let back = to_miro_and_back(&w).await;
    assert_refused(&callback(&w, &back).await, 400, "access_denied");
    assert!(w.rt.deps.tokens.get_tokens(&w.org).await.is_err());
}

#[tokio::test]
async fn forged_tampered_expired_and_missing_links_are_refused() {
    let w = world_of(5).await;
    let now = w.rt.deps.clock.now();
    let other_key = secrecy::SecretString::from("not the deployment's key".to_owned());
    let forged = connect_link::issue(&other_key, now, Duration::hours(1));
    let expired = connect_link::issue(&w.link_key, now - Duration::hours(2), Duration::hours(1));
    let mut tampered = fresh_link(&w);
    tampered.replace_range(3..5, "99");
    for (link, why) in [
        (Some(forged.as_str()), "not issued"),
        (Some(expired.as_str()), "expired"),
        (Some(tampered.as_str()), ""),
        (None, "needs a connect link"),
    ] {
        assert_refused(&start(&w, link).await, 403, why);
    }
    assert_eq!(w.control.counters().get("authorize"), 0);
}

/// A world whose function reaches Miro's API host through a [`MiroTap`].
async fn tapped_world(opts: WorldOptions) -> (World, MiroTap) {
    let tap = MiroTap::start().await;
    let mut opts = opts;
    opts.env
        .push((miro_sam_lambda::env::MIRO_API_BASE_URL, tap.url.clone()));
    let w = world(opts).await;
    tap.connect_to(&w.sandbox.base_url());
    (w, tap)
}

/// Whether Miro still accepts `token` (asked directly, not through the tap).
async fn token_works(w: &World, token: &str) -> bool {
    let direct = miro_client::MiroClient::new(miro_client::MiroConfig {
        api_base_url: url::Url::parse(&w.sandbox.base_url()).unwrap(),
        ..w.rt.deps.client.config().clone()
    })
    .unwrap();
    direct
        .token_info(&SecretString::from(token.to_owned()))
        .await
        .is_ok()
}

/// A tapped world whose allow-list leaves its org out, and the query Miro sends the admin back with.
async fn outside_the_allow_list() -> (World, MiroTap, Vec<(String, String)>) {
    let (w, tap) = tapped_world(WorldOptions {
        members: 5,
        env: vec![(miro_sam_lambda::env::ALLOWED_ORGS, "42".to_owned())],
        ..Default::default()
    })
    .await;
    let back = to_miro_and_back(&w).await;
    (w, tap, back)
}

#[tokio::test]
async fn an_org_outside_the_allow_list_is_refused_and_its_token_revoked() {
    let (w, tap, back) = outside_the_allow_list().await;
    let page = assert_refused(
        &callback(&w, &back).await,
        403,
        "not one this deployment may manage",
    );
    assert!(page.contains("was revoked"), "{page}");
    assert!(w.rt.deps.tokens.get_tokens(&w.org).await.is_err());
    assert_eq!(w.control.counters().get("revoke"), 1);
    let issued = tap.issued_access_tokens();
    assert_eq!(issued.len(), 1, "one code exchange");
    assert!(
        !token_works(&w, &issued[0]).await,
        "the refused org's token no longer works at Miro"
    );
}

#[tokio::test]
async fn a_revoke_that_fails_is_reported_not_claimed() {
    let (w, tap, back) = outside_the_allow_list().await;
    tap.cut_revoke();
    let page = assert_refused(
        &callback(&w, &back).await,
        403,
        "revoking the token Miro issued failed",
    );
    assert!(!page.contains("was revoked"), "{page}");
    assert!(tap.revokes_cut() >= 1, "the revoke was attempted");
    assert!(w.rt.deps.tokens.get_tokens(&w.org).await.is_err());
    let issued = tap.issued_access_tokens();
    assert!(
        token_works(&w, &issued[0]).await,
        "the page is right: the token was not revoked"
    );
}

/// A link as `miro-sam aws connect-link [--org ORG]` mints it, with its default validity.
fn operator_link(w: &World, org: Option<&OrgId>) -> String {
    let minted = miro_sam_cli::commands::aws::mint_link(
        &w.link_key,
        "https://abc123.execute-api.us-east-1.amazonaws.com/",
        connect_link::DEFAULT_VALIDITY.num_minutes(),
        org.map(OrgId::as_str),
        w.rt.deps.clock.now(),
    )
    .unwrap();
    minted
        .url
        .query_pairs()
        .find(|(k, _)| k == "link")
        .unwrap()
        .1
        .into_owned()
}

/// Two orgs: B, the sandbox's first (the one it installs the app into), and A. B is connected through a link
/// bound to it; then a link bound to A, approved by B's admin, is refused at the callback.
struct RefusedForAnotherOrg {
    w: World,
    tap: MiroTap,
    a: OrgId,
    b: OrgId,
    /// B's tokens, org record and audit log length after its own connect.
    b_tokens: miro_sam_core::ports::TokenBundle,
    b_org: miro_sam_core::domain::RegisteredOrg,
    b_audit: usize,
    /// The callback's page for the link bound to A.
    page: String,
}

async fn a_link_for_a_approved_by_bs_admin(
    reinstall_replaces_tokens: bool,
) -> RefusedForAnotherOrg {
    let (w, tap) = tapped_world(WorldOptions {
        members: 5,
        extra_orgs: 1,
        ..Default::default()
    })
    .await;
    let (b, a) = (w.org.clone(), w.org_at(1));
    w.control
        .set_reinstall_replaces_tokens(reinstall_replaces_tokens);

    let back = to_miro_and_back_with(&w, &operator_link(&w, Some(&b))).await;
    let resp = callback(&w, &back).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    let b_tokens = w.rt.deps.tokens.get_tokens(&b).await.unwrap();
    let b_audit = w.rt.deps.store.list_audit(&b).await.unwrap().len();
    let b_org = w.rt.deps.store.get_org(&b).await.unwrap().unwrap();

    let back = to_miro_and_back_with(&w, &operator_link(&w, Some(&a))).await;
    let page = assert_refused(
        &callback(&w, &back).await,
        403,
        &format!("for org {a} only"),
    );
    assert!(
        w.rt.deps.tokens.get_tokens(&a).await.is_err(),
        "A stays unconnected"
    );
    RefusedForAnotherOrg {
        w,
        tap,
        a,
        b,
        b_tokens,
        b_org,
        b_audit,
        page,
    }
}

impl RefusedForAnotherOrg {
    /// Two code exchanges happened, and B's stored token is the second (refused) grant's, which works.
    async fn assert_b_holds_the_second_grant(&self) {
        let issued = self.tap.issued_access_tokens();
        assert_eq!(issued.len(), 2, "two code exchanges");
        let after = self.w.rt.deps.tokens.get_tokens(&self.b).await.unwrap();
        assert_eq!(after.access_token.expose_secret(), issued[1].as_str());
        assert!(
            token_works(&self.w, &issued[1]).await,
            "B's new token works"
        );
    }
}

#[tokio::test]
async fn a_link_for_one_org_never_replaces_another_orgs_tokens() {
    // Re-installs off (Miro keeps earlier tokens): the refused grant still becomes B's tokens (see the next test
    // for why), and nothing else about B changes; A gets nothing.
    let r = a_link_for_a_approved_by_bs_admin(false).await;
    let w = &r.w;
    assert!(w.rt.deps.store.get_org(&r.a).await.unwrap().is_none());
    assert_eq!(
        w.rt.deps.store.list_audit(&r.b).await.unwrap().len(),
        r.b_audit
    );
    assert_eq!(
        w.rt.deps.store.get_org(&r.b).await.unwrap().unwrap(),
        r.b_org
    );
    r.assert_b_holds_the_second_grant().await;
}

#[tokio::test]
async fn a_refused_approval_by_the_connecting_admin_renews_that_orgs_tokens_instead_of_disconnecting_it()
 {
    let r = a_link_for_a_approved_by_bs_admin(true).await;
    let w = &r.w;
    assert!(r.page.contains("tokens were renewed"), "{}", r.page);
    assert!(
        !token_works(w, r.b_tokens.access_token.expose_secret()).await,
        "the sandbox ended B's earlier token (the re-install)"
    );
    r.assert_b_holds_the_second_grant().await;
    let summary = miro_sam_core::jobs::download_org(&w.rt.deps, &r.b)
        .await
        .unwrap();
    assert!(summary.members_seen > 0, "B still downloads");
}

#[tokio::test]
async fn a_link_works_once() {
    let w = world_of(5).await;
    let link = fresh_link(&w);
    let first = start(&w, Some(&link)).await;
    assert_eq!(first.status(), 302, "{}", body_text(&first));
    let again = start(&w, Some(&link)).await;
    let page = assert_refused(&again, 403, "already used");
    assert!(page.contains("Ask the operator for a new one"), "{page}");
    assert!(page.contains("already used (at 20"), "says when: {page}");
    assert!(again.headers().get("location").is_none());

    // The first use still completes.
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let back = pairs(&consent(&location).await);
    assert_eq!(callback(&w, &back).await.status(), 200);

    // What the table holds for it: one hashed item that expires with the link.
    let items = w
        .clients
        .dynamodb
        .scan()
        .table_name(&w.rt.adapters.config.table_name)
        .filter_expression("begins_with(pk, :link)")
        .expression_attribute_values(
            ":link",
            aws_sdk_dynamodb::types::AttributeValue::S("LINK#".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    let nonce = link.split('.').nth(2).unwrap();
    let item = format!("{:?}", items[0]);
    assert!(!item.contains(nonce), "the nonce is stored hashed: {item}");
    assert_eq!(items[0]["sk"].as_s().unwrap(), "USED");
    let expires = link.split('.').nth(1).unwrap();
    assert_eq!(items[0]["ttl"].as_n().unwrap(), expires);
}

#[tokio::test]
async fn of_two_simultaneous_uses_of_a_link_exactly_one_starts() {
    let w = world_of(1).await;
    let link = fresh_link(&w);
    let (x, y) = tokio::join!(start(&w, Some(&link)), start(&w, Some(&link)));
    let mut statuses = [x.status().as_u16(), y.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [302, 403]);
}

#[tokio::test]
async fn links_last_24_hours_by_default() {
    let mut w = world_of(1).await;
    let clock = std::sync::Arc::new(miro_sam_core::ports::FixedClock::new(chrono::Utc::now()));
    w.rt.deps.clock = clock.clone();
    let (early, late) = (operator_link(&w, None), operator_link(&w, None));
    clock.advance(Duration::hours(24) - Duration::seconds(2));
    assert_eq!(start(&w, Some(&early)).await.status(), 302);
    clock.advance(Duration::seconds(2));
    assert_refused(&start(&w, Some(&late)).await, 403, "expired");
}

#[tokio::test]
async fn only_the_three_routes_exist() {
    let w = world_of(1).await;
    let h = |m: &str, p: &str| oauth_callback::handle(&w.rt, &w.link_key, http_request(m, p, &[]));
    assert_eq!(h("GET", "/health").await.status(), 200);
    assert_eq!(h("GET", "/admin").await.status(), 404);
    assert_eq!(h("POST", "/oauth/start").await.status(), 405);
    assert_eq!(h("DELETE", "/oauth/callback").await.status(), 405);
}

#[tokio::test]
async fn a_link_from_the_operator_command_opens_the_door() {
    let w = world_of(3).await;
    let link = connect_link::issue(&w.link_key, w.rt.deps.clock.now(), Duration::minutes(30));
    let url = miro_sam_cli::commands::aws::start_url(
        "https://abc123.execute-api.us-east-1.amazonaws.com/",
        &link,
    )
    .unwrap();
    assert_eq!(url.path(), "/oauth/start");
    let carried = url
        .query_pairs()
        .find(|(k, _)| k == "link")
        .unwrap()
        .1
        .into_owned();
    let resp = start(&w, Some(&carried)).await;
    assert_eq!(resp.status(), 302, "{}", body_text(&resp));
}
