//! The console benchmark: server time of the admin console's overview, plan (10 000 candidates) and member
//! search pages for an org of 100 000 members, on SQLite (goal ≤ 200 ms each) and on DynamoDB on the local
//! AWS API (printed, no goal: moto is not DynamoDB, see `bench/RESULTS.md`).
//!
//! The org is written straight through the store port ([`seed`]); the real router then serves it on
//! 127.0.0.1 in a child process ([`serve`]), and this process signs in with a one-time login link (a
//! reqwest client keeping the session cookie) and requests each page: one warm-up, then N timed requests.
//! Server time is measured around the whole router in the child; the client's time (loopback HTTP included)
//! is reported next to it.

pub mod seed;
pub mod serve;

use std::process::Stdio;
use std::time::Instant;

use miro_sam_aws::{Adapters, AwsClients, AwsConfig};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};

use crate::download::scratch_dir;
use crate::report::per_run_mark;
use crate::store::{aws_sdk, new_queue, new_table};
use crate::summary::{median, percentile};
use crate::table::Table;
use seed::{SeedConfig, Seeded, seed};
use serve::{BASE, ServeArgs, ServerStats};

/// The goal for every page on SQLite.
pub const GOAL_MS: f64 = 200.0;

#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Org size on SQLite.
    pub members: usize,
    /// Org size on DynamoDB (moto answers a Query in time proportional to the partition: see RESULTS.md).
    pub dynamo_members: usize,
    /// Candidates of the plan shown.
    pub candidates: usize,
    /// Timed requests per page (after one warm-up) on SQLite, and on DynamoDB.
    pub requests: usize,
    pub dynamo_requests: usize,
    /// The member search's email prefix.
    pub search: String,
    /// The local AWS API; `None` runs SQLite only.
    pub aws_endpoint: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            members: 100_000,
            dynamo_members: 100_000,
            candidates: 10_000,
            requests: 20,
            dynamo_requests: 5,
            search: "maria.s".into(),
            aws_endpoint: None,
        }
    }
}

/// One page on one store, as the table and the JSON show it.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleRow {
    pub variant: &'static str,
    pub store: &'static str,
    pub members: usize,
    pub plan_candidates: u32,
    pub page: &'static str,
    pub path: String,
    /// Timed requests (the warm-up not included).
    pub requests: usize,
    /// Server time: the request through the whole router, in the server process.
    pub median_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// The client's time for the same requests (loopback HTTP and reading the body included).
    pub client_median_ms: f64,
    pub client_p95_ms: f64,
    pub response_kib: f64,
    /// The server process's peak RSS while serving this page (reset before its warm-up).
    pub peak_rss_mib: f64,
    pub peak_rss_is_per_page: bool,
    /// DynamoDB only: store reads per request of this page (GetItem calls and Query pages, items returned, KiB
    /// by DynamoDB's size rule); Secrets Manager calls not included.
    pub store_requests_per_page: Option<f64>,
    pub store_items_per_page: Option<f64>,
    pub store_kib_per_page: Option<f64>,
    pub goal_ms: Option<f64>,
    /// Whether p95 is within the goal.
    pub met: Option<bool>,
}

/// What one store's run built and measured.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleStoreRun {
    pub store: &'static str,
    pub seeded: Seeded,
    /// RSS of the server process after signing in, before the first page.
    pub idle_rss_mib: f64,
    pub rows: Vec<ConsoleRow>,
}

struct Page {
    name: &'static str,
    path: String,
    check: fn(&str, &Seeded) -> Result<(), String>,
}

fn pages(search: &str) -> Vec<Page> {
    vec![
        Page {
            name: "overview",
            path: "/".into(),
            check: |body, _| expect(body, "<h1>Overview</h1>"),
        },
        Page {
            name: "plan",
            path: "/plans".into(),
            check: |body, s| {
                expect(body, "<h1>Reclaim plan</h1>")?;
                let shown = count_after(body, "<tr><th>Candidates</th><td>");
                if shown != Some(u64::from(s.candidates)) {
                    return Err(format!(
                        "the plan page shows {shown:?} candidates, the plan has {}",
                        s.candidates
                    ));
                }
                let rows = body.matches("name=\"member\" value=").count();
                if rows != 50 {
                    return Err(format!("the plan page lists {rows} candidates, not 50"));
                }
                Ok(())
            },
        },
        Page {
            name: "member-search",
            path: format!("/members?q={search}"),
            check: |body, _| {
                expect(body, "<h1>Members</h1>")?;
                let rows = body.matches(&format!("{BASE}/members/3")).count();
                if rows != 50 || !body.contains("Next page") {
                    return Err(format!(
                        "the search lists {rows} members (a full page of 50 and a next page expected)"
                    ));
                }
                Ok(())
            },
        },
    ]
}

fn expect(body: &str, what: &str) -> Result<(), String> {
    if body.contains(what) {
        Ok(())
    } else {
        let start: String = body.chars().take(600).collect();
        Err(format!("the page lacks {what:?}; it starts: {start}"))
    }
}

/// The number written (with thousands separators) right after `marker`.
fn count_after(body: &str, marker: &str) -> Option<u64> {
    let rest = &body[body.find(marker)? + marker.len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The server child and the two ends of its protocol.
struct Server {
    child: tokio::process::Child,
    input: ChildStdin,
    output: Lines<BufReader<ChildStdout>>,
}

impl Server {
    async fn start(args: &ServeArgs) -> Result<(Server, String), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(&exe)
            .args(args.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let input = child.stdin.take().ok_or("the server child has no stdin")?;
        let output = BufReader::new(
            child
                .stdout
                .take()
                .ok_or("the server child has no stdout")?,
        )
        .lines();
        let mut server = Server {
            child,
            input,
            output,
        };
        let link = server.line("READY ").await?;
        Ok((server, link))
    }

    /// The next line starting with `prefix`, without it.
    async fn line(&mut self, prefix: &str) -> Result<String, String> {
        while let Some(l) = self.output.next_line().await.map_err(|e| e.to_string())? {
            if let Some(rest) = l.strip_prefix(prefix) {
                return Ok(rest.to_owned());
            }
        }
        Err(format!(
            "the console server stopped before printing {prefix:?} (its errors are above)"
        ))
    }

    async fn ask(&mut self, command: &str, answer: &str) -> Result<String, String> {
        self.input
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|e| format!("the console server is gone: {e}"))?;
        self.line(answer).await
    }

    async fn stats(&mut self) -> Result<ServerStats, String> {
        let line = self.ask("stats", "STATS ").await?;
        serde_json::from_str(&line).map_err(|e| format!("bad server stats {line:?}: {e}"))
    }

    async fn stop(mut self) {
        drop(self.input);
        let _ = self.child.wait().await;
    }
}

/// A browser: keeps cookies, follows redirects.
fn browser() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())
}

/// GET `url`: status, body and the client's time in ms.
async fn get(b: &reqwest::Client, url: &str) -> Result<(u16, String, f64), String> {
    let started = Instant::now();
    let r = b
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = r.status().as_u16();
    let body = r.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    Ok((status, body, started.elapsed().as_secs_f64() * 1000.0))
}

/// Serves the seeded store and measures every page.
async fn measure(
    store: &'static str,
    args: ServeArgs,
    seeded: Seeded,
    cfg: &ConsoleConfig,
    requests: usize,
    goal_ms: Option<f64>,
) -> Result<ConsoleStoreRun, String> {
    let (mut server, link) = Server::start(&args).await?;
    let origin = {
        let u = url::Url::parse(&link).map_err(|e| format!("bad login link: {e}"))?;
        format!("{}://{}", u.scheme(), u.authority())
    };
    let b = browser()?;
    let (status, body, _) = get(&b, &link).await?;
    if status != 200 {
        return Err(format!(
            "signing in with the one-time link answered {status}"
        ));
    }
    expect(&body, "<h1>Overview</h1>")?;
    let idle = server.stats().await?;
    let mut rows = Vec::new();
    for page in pages(&cfg.search) {
        let url = format!("{origin}{BASE}{}", page.path);
        server.ask("reset", "OK").await?;
        let mut client_ms = Vec::with_capacity(requests);
        let mut bytes = 0;
        for i in 0..=requests {
            let (status, body, ms) = get(&b, &url).await?;
            if status != 200 {
                return Err(format!("GET {url} answered {status}: {body}"));
            }
            (page.check)(&body, &seeded).map_err(|e| format!("GET {url}: {e}"))?;
            bytes = body.len();
            // The first is the warm-up.
            if i > 0 {
                client_ms.push(ms);
            }
        }
        let stats = server.stats().await?;
        if stats.server_ms.len() != requests + 1 {
            return Err(format!(
                "the server timed {} requests of {}, not {}",
                stats.server_ms.len(),
                page.name,
                requests + 1
            ));
        }
        let server_ms = &stats.server_ms[1..];
        // Reads are counted from the reset, so over the warm-up too.
        let per_request = |n: u64| n as f64 / (requests + 1) as f64;
        let reads = stats.store_reads;
        let p95 = percentile(server_ms, 95.0).unwrap_or(f64::NAN);
        let row = ConsoleRow {
            variant: "console",
            store,
            members: seeded.members,
            plan_candidates: seeded.candidates,
            page: page.name,
            path: format!("{BASE}{}", page.path),
            requests,
            median_ms: median(server_ms).unwrap_or(f64::NAN),
            p95_ms: p95,
            max_ms: server_ms.iter().copied().fold(f64::NAN, f64::max),
            client_median_ms: median(&client_ms).unwrap_or(f64::NAN),
            client_p95_ms: percentile(&client_ms, 95.0).unwrap_or(f64::NAN),
            response_kib: bytes as f64 / 1024.0,
            peak_rss_mib: stats.peak_rss_kib as f64 / 1024.0,
            peak_rss_is_per_page: stats.peak_reset,
            store_requests_per_page: reads.map(|r| per_request(r.requests)),
            store_items_per_page: reads.map(|r| per_request(r.items)),
            store_kib_per_page: reads.map(|r| per_request(r.bytes) / 1024.0),
            goal_ms,
            met: goal_ms.map(|g| p95 <= g),
        };
        eprintln!(
            "console {store} {} members, {}: median {:.1} ms, p95 {:.1} ms (client {:.1} ms), peak RSS {:.1} MiB",
            row.members,
            row.page,
            row.median_ms,
            row.p95_ms,
            row.client_median_ms,
            row.peak_rss_mib
        );
        rows.push(row);
    }
    server.stop().await;
    Ok(ConsoleStoreRun {
        store,
        seeded,
        idle_rss_mib: idle.rss_kib as f64 / 1024.0,
        rows,
    })
}

fn seed_config(cfg: &ConsoleConfig, members: usize) -> SeedConfig {
    SeedConfig {
        members,
        candidates: cfg.candidates,
        records: 300,
        audit_entries: 2_000,
        snapshot_days: 120,
    }
}

/// What the seeding wrote into one store, on stderr.
fn print_seeded(store: &str, seeded: &Seeded) {
    eprintln!(
        "console {store}: {} members, plans of {} and {} candidates, {} audit entries written in {:.1} s",
        seeded.members,
        seeded.candidates,
        seeded.previous_candidates,
        seeded.audit_entries,
        seeded.seed_s
    );
}

async fn on_sqlite(cfg: &ConsoleConfig) -> Result<ConsoleStoreRun, String> {
    let dir = scratch_dir("console")?;
    let path = dir.join("console.sqlite");
    let store = miro_sam_sqlite::SqliteStore::open(&path).map_err(|e| e.to_string())?;
    let seeded = seed(
        &store,
        &store,
        &seed_config(cfg, cfg.members),
        chrono::Utc::now(),
    )
    .await?;
    drop(store);
    print_seeded("sqlite", &seeded);
    let args = ServeArgs {
        store: format!("sqlite:{}", path.display()),
        org: seeded.org.to_string(),
        secret_prefix: None,
        queue_url: None,
    };
    let run = measure("sqlite", args, seeded, cfg, cfg.requests, Some(GOAL_MS)).await;
    let _ = std::fs::remove_dir_all(&dir);
    run
}

async fn on_dynamo(cfg: &ConsoleConfig, endpoint: &str) -> Result<ConsoleStoreRun, String> {
    let clients = AwsClients::new(&aws_sdk(endpoint).await);
    let table = new_table(&clients, "console").await?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue_url = new_queue(&clients, "reclaim").await?;
    let config = AwsConfig {
        table_name: table.clone(),
        secret_prefix: format!("miro-sam-bench-console-{id}"),
        reclaim_queue_url: Some(queue_url.clone()),
        oauth_client_secret_name: None,
    };
    let adapters = Adapters::from_clients(config.clone(), clients.clone());
    let seeded = seed(
        &adapters.store,
        &adapters.tokens,
        &seed_config(cfg, cfg.dynamo_members),
        chrono::Utc::now(),
    )
    .await?;
    print_seeded("dynamodb", &seeded);
    let args = ServeArgs {
        store: format!("dynamo:{table}"),
        org: seeded.org.to_string(),
        secret_prefix: Some(config.secret_prefix),
        queue_url: Some(queue_url),
    };
    let run = measure("dynamodb", args, seeded, cfg, cfg.dynamo_requests, None).await;
    // moto keeps every table in memory: give this one back.
    let _ = clients
        .dynamodb
        .delete_table()
        .table_name(&table)
        .send()
        .await;
    run
}

/// Both stores (DynamoDB when the local AWS API is configured).
pub async fn run(cfg: &ConsoleConfig) -> Result<Vec<ConsoleStoreRun>, String> {
    let mut runs = vec![on_sqlite(cfg).await?];
    match &cfg.aws_endpoint {
        Some(endpoint) => runs.push(on_dynamo(cfg, endpoint).await?),
        None => eprintln!(
            "console: {} is not set; DynamoDB skipped",
            miro_sam_aws::env::TEST_AWS_ENDPOINT
        ),
    }
    Ok(runs)
}

/// The console table and its goals for `RESULTS.md`.
pub fn markdown(runs: &[ConsoleStoreRun]) -> String {
    let mut t = Table::new(&[
        "store",
        "members:",
        "page",
        "requests:",
        "median ms:",
        "p95 ms:",
        "max ms:",
        "client median / p95 ms:",
        "KiB:",
        "peak RSS MiB:",
        "store reads / page (items, KiB):",
        "goal",
    ]);
    for run in runs {
        for r in &run.rows {
            t.row(&[
                r.store.to_owned(),
                r.members.to_string(),
                format!("{} `{}`", r.page, r.path),
                r.requests.to_string(),
                format!("{:.1}", r.median_ms),
                format!("{:.1}", r.p95_ms),
                format!("{:.1}", r.max_ms),
                format!("{:.1} / {:.1}", r.client_median_ms, r.client_p95_ms),
                format!("{:.0}", r.response_kib),
                format!(
                    "{:.1}{}",
                    r.peak_rss_mib,
                    per_run_mark(r.peak_rss_is_per_page)
                ),
                match (
                    r.store_requests_per_page,
                    r.store_items_per_page,
                    r.store_kib_per_page,
                ) {
                    (Some(q), Some(i), Some(k)) => format!("{q:.0} ({i:.0}, {k:.0})"),
                    _ => "-".into(),
                },
                match (r.goal_ms, r.met) {
                    (Some(g), Some(true)) => format!("p95 ≤ {g:.0} ms: met"),
                    (Some(g), _) => format!("p95 ≤ {g:.0} ms: MISSED"),
                    _ => "none (printed)".into(),
                },
            ]);
        }
    }
    let mut s = format!(
        "### Console: server time per page (one warm-up, then N requests; server = around the router)\n\n{}",
        t.finish()
    );
    s.push('\n');
    for run in runs {
        let d = &run.seeded;
        s.push_str(&format!(
            "- {}: {} members, latest plan {} candidates and {} exclusions (previous plan {} candidates), {} \
             reclaim records, {} audit entries, {} snapshots; written in {:.1} s; server idle RSS {:.1} MiB.\n",
            run.store,
            d.members,
            d.candidates,
            d.excluded,
            d.previous_candidates,
            d.records,
            d.audit_entries,
            d.snapshots,
            d.seed_s,
            run.idle_rss_mib
        ));
    }
    s
}
