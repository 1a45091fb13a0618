//! The console on a random 127.0.0.1 port over a SQLite store and the Miro sandbox, and a browser (reqwest with
//! a cookie store) that signs in through the sandbox's OAuth flow exactly as a person's would.
#![allow(dead_code)]
// Each test binary uses some of the kit's re-exports, none all of them.
#![allow(unused_imports)]

// The sandbox world (sandbox, `:memory:` SQLite store, job deps) of the test kit.
use miro_sam_testkit::world::{Tokens, sqlite_world};
pub use miro_sam_testkit::world::{World, client_for, live_policy, oauth_app};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use miro_client::SecretString;
use miro_sam_console::{ConsoleConfig, ConsoleDeps, router};
use miro_sam_core::jobs::{self, ConnectOptions};
use miro_sam_core::ports::{Clock, FixedClock, ReclaimQueue, SubscriptionStore, TokenStore};
use miro_sam_sqlite::SqliteStore;
use miro_sandbox::SandboxConfig;
use secrecy::SecretBox;

pub const KEY: [u8; 32] = [7u8; 32];

/// Options that differ between tests.
pub struct Options {
    pub members: usize,
    /// Orgs besides the first (never connected).
    pub extra_orgs: usize,
    /// Connect the first org through the real OAuth flow before the test (as its Company Admin).
    pub connect: bool,
    pub admin_emails: Option<Vec<miro_sam_core::domain::Email>>,
    pub local_login: bool,
    pub key: [u8; 32],
    /// The keep links' key (`ConsoleConfig::keep_link_key`); `None` turns the keep page off.
    pub keep_link_key: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            members: 60,
            extra_orgs: 0,
            connect: true,
            admin_emails: None,
            local_login: false,
            key: KEY,
            keep_link_key: None,
        }
    }
}

impl Options {
    /// The default options with `members` members in the sandbox org.
    pub fn members(members: usize) -> Options {
        Options {
            members,
            ..Options::default()
        }
    }

    /// The default options with `extra_orgs` orgs besides the first.
    pub fn extra_orgs(extra_orgs: usize) -> Options {
        Options {
            extra_orgs,
            ..Options::default()
        }
    }
}

pub struct Console {
    pub w: World,
    /// `http://127.0.0.1:PORT/console`
    pub url: String,
    pub origin: String,
    pub clock: Arc<FixedClock>,
    /// The OAuth states the console uses (one-time login links are issued here).
    pub states: Arc<SqliteStore>,
    pub config_for_links: ConsoleConfig,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Console {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn config(origin: &str, o: &Options) -> ConsoleConfig {
    ConsoleConfig {
        base_path: "/console".into(),
        public_url: url::Url::parse(origin).unwrap(),
        session_key: SecretBox::new(Box::new(o.key)),
        secure_cookies: false,
        admin_emails: o.admin_emails.clone(),
        price_per_seat_month_minor: Some(1_000),
        currency: "USD".into(),
        local_login: o.local_login,
        keep_link_key: o.keep_link_key.clone().map(SecretString::from),
    }
}

/// The sandbox world of the SQLite tests, with `extra_orgs` more orgs in the sandbox and no tokens stored: the
/// org is connected (or not) through the real OAuth flow, so its stored grant names the admin who approved it.
pub async fn world_with(members: usize, extra_orgs: usize) -> World {
    let mut config = SandboxConfig::unlimited(members);
    for i in 0..extra_orgs {
        let mut extra = config.orgs[0].clone();
        extra.id = format!("30744573458211420{i:02}");
        extra.name = format!("Other Org {i}");
        config.orgs.push(extra);
    }
    sqlite_world(
        config,
        Tokens {
            access: false,
            scim: true,
        },
    )
    .await
}

/// Plays the admin's browser at Miro's authorize page and returns the code.
pub async fn authorization_code(w: &World) -> SecretString {
    miro_sam_testkit::world::authorization_code(&w.deps.client, "connect-state").await
}

/// Connects the world's org as `miro-sam connect` or the deployment's /oauth/start would.
pub async fn connect(w: &World) {
    let code = authorization_code(w).await;
    jobs::connect_org(&w.deps, &oauth_app(), &code, &ConnectOptions::default())
        .await
        .expect("org connects");
}

pub async fn console(o: Options) -> Console {
    let w = world_with(o.members, o.extra_orgs).await;
    if o.connect {
        connect(&w).await;
    }
    serve(w, o).await
}

/// Serves the console over the world's store and sandbox.
pub async fn serve(w: World, o: Options) -> Console {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(FixedClock::new(Utc::now()));
    // The store's OAuth states, timed by the console's clock (so a test can let one expire).
    let states = Arc::new(w.store.clone().with_clock(clock.clone()));
    let deps = ConsoleDeps {
        store: Arc::new(w.store.clone()) as Arc<dyn SubscriptionStore>,
        tokens: Arc::new(w.store.clone()) as Arc<dyn TokenStore>,
        states: states.clone(),
        queue: Arc::new(w.store.clone()) as Arc<dyn ReclaimQueue>,
        client: w.deps.client.clone(),
        oauth_app: Some(oauth_app()),
        clock: clock.clone(),
    };
    let app = router(config(&origin, &o), deps);
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Console {
        url: format!("{origin}/console"),
        config_for_links: config(&origin, &o),
        origin,
        clock,
        states,
        w,
        server,
    }
}

/// A browser: keeps cookies, follows redirects.
pub fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// A browser that stops at every redirect (to look at them).
pub fn manual_browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Console {
    /// Signs in through Miro's (the sandbox's) OAuth flow; returns the final page.
    pub async fn sign_in(&self, b: &reqwest::Client) -> reqwest::Response {
        b.get(format!("{}/login", self.url)).send().await.unwrap()
    }

    /// Signs in and checks it worked.
    pub async fn signed_in_browser(&self) -> reqwest::Client {
        let b = browser();
        let r = self.sign_in(&b).await;
        assert_eq!(r.status(), 200, "sign-in lands on the overview");
        let body = r.text().await.unwrap();
        assert!(body.contains("<h1>Overview</h1>"), "{body}");
        b
    }

    pub async fn get(&self, b: &reqwest::Client, path: &str) -> (u16, String) {
        let r = b.get(format!("{}{path}", self.url)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    pub async fn post(
        &self,
        b: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String) {
        let r = b
            .post(format!("{}{path}", self.url))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// A page with a form, fetched in `b`: the page (a 200) and its CSRF token.
    pub async fn form_page(&self, b: &reqwest::Client, path: &str) -> (String, String) {
        let (status, page) = self.get(b, path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let csrf = csrf_of(&page);
        (page, csrf)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The page of a refused request: a 403 that says `words`.
pub async fn forbidden(r: reqwest::Response, words: &str) -> String {
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains(words), "{words:?} not in {page}");
    page
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("the page has a form with a CSRF token");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl Console {
    /// Walks the sign-in by hand and returns the session cookie's value (to tamper with it).
    pub async fn session_cookie(&self) -> String {
        let b = manual_browser();
        let mut url = format!("{}/login", self.url);
        for _ in 0..5 {
            let r = b.get(&url).send().await.unwrap();
            for v in r.headers().get_all("set-cookie") {
                let v = v.to_str().unwrap();
                if let Some(rest) =
                    v.strip_prefix(&format!("{}=", miro_sam_console::SESSION_COOKIE))
                    && !rest.starts_with(';')
                {
                    return rest.split(';').next().unwrap().to_owned();
                }
            }
            assert!(
                r.status().is_redirection(),
                "sign-in stopped at {}: {}",
                r.status(),
                r.text().await.unwrap()
            );
            url = r.headers()["location"].to_str().unwrap().to_owned();
        }
        panic!("sign-in never set a session cookie");
    }

    /// Starts a sign-in in `b` (a browser that stops at redirects) and plays the admin at Miro's authorize page
    /// in `at_miro`: the console's callback URL, with Miro's code and the state, not yet followed.
    pub async fn callback_from_miro(
        &self,
        b: &reqwest::Client,
        at_miro: &reqwest::Client,
    ) -> String {
        let r = b.get(format!("{}/login", self.url)).send().await.unwrap();
        let to_miro = r.headers()["location"].to_str().unwrap().to_owned();
        let back = at_miro.get(&to_miro).send().await.unwrap();
        back.headers()["location"].to_str().unwrap().to_owned()
    }

    /// A page fetched with exactly this cookie value and no other.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> (u16, String) {
        let r = manual_browser()
            .get(format!("{}{path}", self.url))
            .header(
                "cookie",
                format!("{}={cookie}", miro_sam_console::SESSION_COOKIE),
            )
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }
}

/// Every `value` of the `member` checkboxes on a page (the candidates that can still be approved).
pub fn checkboxes(page: &str) -> Vec<String> {
    values_after(page, "name=\"member\" value=\"")
}

/// Every member id linked from a part of a page (`/members/{id}` links).
pub fn member_links(part: &str) -> Vec<String> {
    values_after(part, "/members/")
        .into_iter()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty())
        .collect()
}

fn values_after(page: &str, marker: &str) -> Vec<String> {
    page.match_indices(marker)
        .map(|(i, _)| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find(['"', '?', '/']).unwrap_or(rest.len())].to_owned()
        })
        .collect()
}

/// The part of `page` between two markers.
pub fn between<'a>(page: &'a str, from: &str, to: &str) -> &'a str {
    let start = page
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not on the page"));
    let rest = &page[start..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

impl Console {
    /// A live policy (not a dry run, approval required), a download and a plan of the world's org.
    pub async fn seed(&self) -> miro_sam_core::plan::ReclaimPlan {
        self.seed_org(&self.w.org).await
    }

    /// [`Console::seed`] of any connected org of the sandbox.
    pub async fn seed_org(
        &self,
        org: &miro_sam_core::domain::OrgId,
    ) -> miro_sam_core::plan::ReclaimPlan {
        jobs::set_policy(
            self.w.deps.store.as_ref(),
            org,
            &live_policy(),
            "test",
            Utc::now(),
        )
        .await
        .unwrap();
        miro_sam_testkit::world::download_and_plan(&self.w.deps, org).await
    }
}

/// The tests' usual start: a console of `o`, seeded ([`Console::seed`]), and a signed-in browser.
pub async fn seeded(o: Options) -> (Console, miro_sam_core::plan::ReclaimPlan, reqwest::Client) {
    let c = console(o).await;
    let plan = c.seed().await;
    let b = c.signed_in_browser().await;
    (c, plan, b)
}

/// The console path (without `/console`) of the link labelled `label` on `page`, if there is one; every link
/// the console writes is under `/console`.
pub fn link_labelled(page: &str, label: &str) -> Option<String> {
    let end = page.find(&format!("\">{label}</a>"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    let href = page[start..end].replace("&amp;", "&").replace("&#38;", "&");
    let path = href
        .strip_prefix("/console")
        .unwrap_or_else(|| panic!("{href:?} is not a console link"));
    Some(path.to_owned())
}

/// The value cell of the table row whose header cell holds `header` (HTML as the page has it).
pub fn cell<'a>(page: &'a str, header: &str) -> &'a str {
    let th = format!("<th>{header}</th><td>");
    let start = page
        .find(&th)
        .unwrap_or_else(|| panic!("no row {header:?} in {page}"))
        + th.len();
    let rest = &page[start..];
    &rest[..rest.find("</td>").expect("a closed cell")]
}
