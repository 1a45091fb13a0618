//! The console in a real browser: Debian's chromium, headless, driven over WebDriver by `chromedriver` (both
//! installed by `./scripts/test.sh`), and the console served on one machine the way `miro-sam serve` serves it:
//! the router over the SQLite store, with the CLI's local worker carrying out what it queues, for a sandbox org
//! connected through the real OAuth flow.
//!
//! With [`SCREENSHOTS_VAR`] set to a folder, [`Browser::screenshot`] saves a full-page PNG of the page it is on
//! there (`scripts/screenshots.sh` uses it to regenerate `docs/screenshots/`); without it, it does nothing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use miro_client::{MiroClient, MiroConfig, OAuthApp, SecretString};
use miro_sam_cli::context::Ctx;
use miro_sam_console::router;
use miro_sam_core::domain::OrgId;
use miro_sam_core::jobs::{ConnectOptions, ConnectedOrg, connect_org};
use miro_sandbox::{Sandbox, SandboxConfig, SandboxControl};
use serde_json::{Value, json};

use crate::serve::{Served, serve};
use crate::{consent, pairs, scaled};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// A folder to save a screenshot of every page the browser test visits into (`scripts/screenshots.sh`).
pub const SCREENSHOTS_VAR: &str = "MIRO_SAM_SCREENSHOTS";

/// How long one page may take to show what a step waits for. A bound for a failing test, never a pause: each
/// wait ends as soon as the page shows it.
const PAGE_WAIT: Duration = Duration::from_secs(15);
/// How long chromedriver may take to say which port it listens on.
const DRIVER_START: Duration = Duration::from_secs(30);
/// The browser window; pages are laid out for it, full-page screenshots keep its width.
const WINDOW: (u32, u32) = (1280, 900);

/// `chromedriver` on a loopback port it chose itself (`--port=0`, so no other process can take the port between
/// choosing and binding it); ended when dropped.
pub struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
}

impl Chromedriver {
    pub fn start() -> Chromedriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).is_file(),
                "{path} is missing: the console's browser test needs Debian's {package}. Run the tests with \
                 `./scripts/test.sh`, which installs chromium and chromium-driver with apt-get, or install them: \
                 apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver"
            );
        }
        let mut child = Command::new(CHROMEDRIVER)
            .args(["--port=0", "--log-level=WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start: {e}"));
        let stdout = child.stdout.take().expect("chromedriver's stdout is piped");
        // chromedriver prints its port once it listens; the thread keeps reading afterwards so that a full pipe
        // never blocks it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
            }
        });
        let mut driver = Chromedriver {
            child,
            url: String::new(),
        };
        match rx.recv_timeout(DRIVER_START) {
            Ok(port) => driver.url = format!("http://127.0.0.1:{port}/"),
            Err(_) => panic!(
                "{CHROMEDRIVER} did not say which port it listens on within {DRIVER_START:?} (its exit status: \
                 {:?})",
                driver.child.try_wait()
            ),
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chromedriver command fantoccini has no method for: `POST /session/{id}/{path}` with a JSON body.
#[derive(Debug)]
struct SessionPost {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Headless chromium in a fresh profile, as one person's browser.
pub struct Browser {
    pub client: Client,
    shots: Option<PathBuf>,
    _driver: Chromedriver,
}

impl Browser {
    pub async fn start() -> Browser {
        let driver = Chromedriver::start();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    // Root in a container has no user namespace for chromium's sandbox.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                ]
            },
            // The page's console (CSP violations, failed loads, script errors) is read with `se/log`.
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start chromium ({CHROMIUM}): {e}"));
        let shots = std::env::var_os(SCREENSHOTS_VAR)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        Browser {
            client,
            shots,
            _driver: driver,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("the browser cannot open {url}: {e}"));
    }

    /// The page's `<h1>` once it reads `title`; fails with what the page says instead.
    pub async fn expect_title(&self, title: &str) {
        let xpath = format!("//h1[normalize-space()={}]", xpath_literal(title));
        if let Err(e) = self.wait_for(Locator::XPath(&xpath)).await {
            panic!(
                "expected a page titled {title:?}, got {} ({e}) with:\n{}",
                self.url().await,
                self.text().await
            );
        }
    }

    /// The first element `locator` matches, waiting up to [`PAGE_WAIT`] for it. fantoccini's wait gives up at
    /// once on any WebDriver error other than "no such element", and while a submitted form navigates the
    /// driver may answer one (a stale document, a page still loading): those end one attempt, not the wait.
    async fn wait_for(
        &self,
        locator: Locator<'_>,
    ) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
        let deadline = tokio::time::Instant::now() + PAGE_WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.client.wait().at_most(left).for_element(locator).await {
                Ok(e) => return Ok(e),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                // A poll interval between attempts, as fantoccini's own wait keeps.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// What the page shows, as text.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }

    /// The first element `css` matches, once the page has one.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.find_by(Locator::Css(css)).await
    }

    /// The first element `xpath` matches, once the page has one.
    pub async fn find_xpath(&self, xpath: &str) -> fantoccini::elements::Element {
        self.find_by(Locator::XPath(xpath)).await
    }

    /// The first element `locator` matches, once the page has one; else a panic naming the page and its text.
    async fn find_by(&self, locator: Locator<'_>) -> fantoccini::elements::Element {
        match self.wait_for(locator).await {
            Ok(e) => e,
            Err(e) => panic!(
                "no {locator:?} on {}: {e}\n{}",
                self.url().await,
                self.text().await
            ),
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css:?}: {e}"));
    }

    /// The `value` attribute of every element `css` matches, in page order.
    pub async fn values(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
        {
            if let Some(v) = e.attr("value").await.expect("an attribute") {
                out.push(v);
            }
        }
        out
    }

    /// The browser console's warnings and errors since the last call (chromedriver hands each entry out once).
    pub async fn console_problems(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(SessionPost {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
            .unwrap_or_else(|e| panic!("chromedriver does not hand out the browser's log: {e}"));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
            .map(|e| {
                format!(
                    "{}: {}",
                    e["level"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    /// Saves the whole page (not only the window) as `{name}.png` when [`SCREENSHOTS_VAR`] names a folder.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = &self.shots else { return };
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let (width, height) = (
            size["width"].as_f64().unwrap_or(WINDOW.0.into()),
            size["height"].as_f64().unwrap_or(WINDOW.1.into()),
        );
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": width.max(WINDOW.0.into()), "height": height, "scale": 1 }
                }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("a screenshot"))
            .expect("the screenshot is base64");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// A DevTools command through chromedriver (`goog/cdp/execute`).
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(SessionPost {
                path: "goog/cdp/execute",
                body: json!({ "cmd": cmd, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("DevTools command {cmd} failed: {e}"))
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// `s` as an XPath 1.0 string literal (which has no escapes).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// The console on one machine, as `miro-sam serve` runs it, for a sandbox org connected through OAuth.
pub struct LocalConsole {
    pub sandbox: Sandbox,
    pub control: SandboxControl,
    /// The CLI's context over the SQLite store: what `run_round` and the core jobs take.
    pub ctx: Ctx,
    pub org: OrgId,
    /// Who connected the org (the Company Admin the sandbox signs in by default).
    pub connected: ConnectedOrg,
    /// `http://127.0.0.1:PORT/console`
    pub url: String,
    _served: Served,
    _data: tempfile::TempDir,
}

impl LocalConsole {
    /// A sandbox org of `members` (Miro's rate windows scaled down as in [`crate::world`]), connected through the
    /// OAuth code flow with its SCIM token stored, and the console serving it on a random 127.0.0.1 port.
    pub async fn start(members: usize) -> LocalConsole {
        let mut cfg = SandboxConfig::with_members(members);
        cfg.rest_limits.window /= 60;
        cfg.scim_limits.window /= 60;
        let sandbox = Sandbox::start(cfg.clone()).await.expect("sandbox starts");
        let control = sandbox.control();
        let client = MiroClient::new(scaled(
            MiroConfig::for_base_url(&sandbox.base_url()).expect("the sandbox's URL"),
        ))
        .expect("Miro client");
        let app = OAuthApp {
            client_id: cfg.oauth.client_id.clone(),
            client_secret: SecretString::from(cfg.oauth.client_secret.clone()),
            redirect_uri: "http://127.0.0.1:8765/oauth/callback".into(),
        };
        let data = tempfile::tempdir().expect("a data folder");
        let ctx =
            Ctx::open_in(data.path(), client.clone(), Some(app.clone())).expect("the CLI's store");

        // `miro-sam connect`: the admin approves at Miro's authorize page and the code comes back.
        let back = consent(client.authorize_url(&app, "connect", None).as_str()).await;
        let code = pairs(&back)
            .into_iter()
            .find(|(k, _)| k == "code")
            .unwrap_or_else(|| panic!("Miro sent no code back: {back}"))
            .1;
        let connected = connect_org(
            &ctx.deps,
            &app,
            &SecretString::from(code),
            &ConnectOptions::default(),
        )
        .await
        .expect("the org connects");
        let org = connected.org_id.clone();
        ctx.deps
            .tokens
            .put_scim_token(&org, &SecretString::from(control.scim_token(org.as_str())))
            .await
            .expect("SCIM token stored");

        let deps = miro_sam_cli::commands::serve::console_deps(&ctx);
        let served = serve("/console", |origin| {
            router(
                miro_sam_cli::commands::serve::console_config(origin, 10.0),
                deps,
            )
        })
        .await;
        LocalConsole {
            sandbox,
            control,
            ctx,
            org,
            connected,
            url: served.url.clone(),
            _served: served,
            _data: data,
        }
    }

    /// Daily snapshots for the `days` before the latest one, as that many earlier daily runs would have left
    /// them (a few more paid seats each day back), so the overview's chart over time has a line to draw.
    pub async fn earlier_days(&self, days: u32) {
        let store = self.ctx.deps.store.as_ref();
        let today = store
            .latest_snapshot(&self.org)
            .await
            .expect("the store answers")
            .expect("a download wrote today's snapshot");
        for d in 1..=days {
            let mut s = today.clone();
            s.date -= chrono::Duration::days(d.into());
            s.computed_at -= chrono::Duration::days(d.into());
            s.assigned_paid += d / 3;
            s.unused_seats = s.purchased_full_licenses - i64::from(s.assigned_paid);
            store.put_snapshot(&s).await.expect("snapshot stored");
        }
    }

    /// The email of the admin who connected the org (and whom the sandbox signs in).
    pub fn admin_email(&self) -> String {
        self.control
            .members(self.org.as_str())
            .into_iter()
            .find(|m| m.id == self.connected.user_id)
            .expect("the connecting admin is a member")
            .email
    }
}
