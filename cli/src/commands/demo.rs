//! `miro-sam demo`: the main job end to end against a synthetic org in an in-process Miro sandbox. It goes through
//! the same code as a real org: the OAuth flow (with a scripted browser), the download, the plan, the notices
//! members get before their seat goes (into an outbox folder, [`notices`]), keeps through the notices' links,
//! approvals and the reclaim through SCIM with its re-checks, an undo, and the report. Execution is on because the
//! org is synthetic. The sandbox starts [`history::HISTORY_DAYS`] days ago and lives each day up to today
//! ([`history`]), so the snapshots, timelines and savings the console shows have a month of history.

mod history;
pub mod notices;

use chrono::{Duration as Days, TimeZone, Utc};
use miro_client::{MiroClient, MiroConfig, OAuthApp, RestLimits, ScimLimits, SecretString};
use miro_sam_core::domain::{Email, OrgId};
use miro_sam_core::jobs::{
    ConnectOptions, ConnectedOrg, DownloadSummary, connect_org, plan_org, set_policy,
};
use miro_sam_core::notices::{NoticeDaySummary, OrgNoticeReport};
use miro_sam_core::plan::ReclaimPlan;
use miro_sam_core::policy::{Exemption, ExemptionMatch, Policy, ReclaimCap};
use miro_sam_core::ports::Clock;
use miro_sam_core::report::Report;
use miro_sam_core::snapshot::OrgSnapshot;
use miro_sandbox::{Sandbox, SandboxConfig, SandboxControl};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use history::{DemoDay, HISTORY_DAYS, NOTICE_DAYS, REMINDER_DAYS_BEFORE, Undo, Wave};
pub use notices::{Cohort, CohortStanding, DemoNotices, Keep};

use super::{connect, report, serve, sync};
use crate::args::{DemoArgs, Global, ServeArgs};
use crate::context::Ctx;
use crate::failure::{CmdResult, Failure};
use crate::loopback::Loopback;
use crate::{exit, render};

/// Written into the store directory the demo creates. Only a directory carrying it is the demo's to start afresh:
/// `--out` may name a folder that holds other things, and the demo must never delete what it did not make.
const DEMO_MARKER: &str = ".miro-sam-demo";

/// The files the embedded store keeps in its directory (the database `Ctx::open_in` opens and SQLite's WAL side
/// files): all that a fresh run removes.
const STORE_FILES: [&str; 3] = [
    "miro-sam.sqlite3",
    "miro-sam.sqlite3-wal",
    "miro-sam.sqlite3-shm",
];

/// Miro's rate-limit windows, scaled so the demo takes seconds: one minute of Miro's REST budget is one second
/// here, and SCIM's 30-second window is half a second. The client is told the same, so it paces exactly as it
/// would against Miro, only faster.
const TIME_SCALE: u32 = 60;

pub struct DemoOutcome {
    pub connected: ConnectedOrg,
    /// The first download, on the day of connecting.
    pub download: DownloadSummary,
    /// The snapshot of that first day.
    pub before: OrgSnapshot,
    /// The plan of that first day.
    pub first_plan: ReclaimPlan,
    /// Each simulated day after it, oldest first.
    pub days: Vec<DemoDay>,
    /// The approvals, in order, with what the worker did.
    pub waves: Vec<Wave>,
    pub undo: Option<Undo>,
    /// The last day's plan.
    pub plan: ReclaimPlan,
    /// The last day's snapshot.
    pub after: OrgSnapshot,
    pub report: Report,
    pub files: Vec<PathBuf>,
    /// What the notices did: the first day's, the keeps, where they stood when the first approval came.
    pub notices: NoticeStory,
    /// The sandbox's handle, for tests that compare the outcome with the ground truth.
    pub control: SandboxControl,
    /// The demo's store and a client of its sandbox: `demo --serve` serves the console over it.
    pub ctx: Ctx,
    sandbox: Sandbox,
}

/// The notices of the month, and the first day's told from start to end.
pub struct NoticeStory {
    pub outbox: PathBuf,
    /// The first day's notices (the day of connecting).
    pub cohort: Cohort,
    pub keeps: Vec<Keep>,
    /// The first day's notices on the first approval day, before the approval.
    pub at_first_approval: Option<CohortStanding>,
    /// Of the first day's notices, the members the first approval reclaimed.
    pub reclaimed: usize,
    /// Every day's notice run added up, the first day's included.
    pub month: NoticeDaySummary,
    /// The demo's channel, for running a day's notices again.
    pub demo: DemoNotices,
}

impl DemoOutcome {
    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }

    /// Runs today's notices again on the last plan, as a redelivered daily run would.
    pub async fn notice_day_again(&self) -> CmdResult<OrgNoticeReport> {
        super::notices::send(
            &self.ctx,
            &self.connected.org_id,
            self.plan.plan_id,
            &self.notices.demo.channels,
        )
        .await
    }
}

pub async fn run(_g: &Global, args: DemoArgs) -> CmdResult {
    println!(
        "miro-sam demo: a synthetic Miro Enterprise org of {} members in a local sandbox (rate limits scaled {TIME_SCALE}x), \
         connected {HISTORY_DAYS} days ago and lived day by day up to today.",
        args.members
    );
    let outcome = run_demo(&args).await?;
    let b = &outcome.before;
    let a = &outcome.after;
    println!();
    print!("{}", render::table::render(&outcome.report));
    println!(
        "\nPaid seats assigned: {} on the first day, {} today; unused purchased seats: {} then, {} today.",
        render::thousands(b.assigned_paid.into()),
        render::thousands(a.assigned_paid.into()),
        render::unused_seats(b.unused_seats),
        render::unused_seats(a.unused_seats)
    );
    print_notices(&outcome.notices);
    println!("Files:");
    for f in &outcome.files {
        println!("  {}", f.display());
    }
    if args.serve {
        let org = outcome.connected.org_id.clone();
        let serve_args = ServeArgs {
            port: args.port,
            seat_price: args.seat_price,
        };
        // The sandbox keeps running, so approvals and undos in the console reach a Miro.
        let served = serve::serve(&outcome.ctx, &org, &serve_args).await;
        outcome.shutdown().await;
        return served;
    }
    println!(
        "\nOpen the admin console on this history (the same seed builds the same month again, and the sandbox keeps \
         running while the console is open, so approvals and undos reach a Miro):\n  {}",
        serve_command(&args)
    );
    outcome.shutdown().await;
    Ok(())
}

/// The whole demo, printing one numbered line per step. Everything lands in `args.out`: the report files, and the
/// store in `data/`, started afresh on each run so every run shows the same synthetic org. Nothing else in
/// `args.out` is touched.
pub async fn run_demo(args: &DemoArgs) -> CmdResult<DemoOutcome> {
    let data_dir = args.out.join("data");
    fresh_demo_store(&data_dir)?;
    notices::clear_outbox(&data_dir.join(notices::OUTBOX))?;
    let demo_notices = notices::demo_notices(&data_dir, args.port)?;
    let sandbox = Sandbox::start(sandbox_config(args)).await?;
    let control = sandbox.control();
    let client = MiroClient::new(client_config(&sandbox)?)?;

    // 1. Connect through the real OAuth code flow; a scripted browser approves the consent screen.
    let loopback = Loopback::start(0, connect::new_state()).await?;
    let cfg = sandbox_config(args);
    let app = OAuthApp {
        client_id: cfg.oauth.client_id.clone(),
        client_secret: SecretString::from(cfg.oauth.client_secret.clone()),
        redirect_uri: loopback.redirect_uri.clone(),
    };
    let ctx = on_sandbox_clock(
        Ctx::open_in(&data_dir, client.clone(), Some(app.clone()))?,
        &control,
    );
    let url = connect::authorize_url(&client, &app, &loopback);
    let browser = tokio::spawn(scripted_browser(url));
    let code = loopback.code(Duration::from_secs(30)).await?;
    browser
        .await
        .map_err(|e| Failure::new(exit::FAILURE, format!("the scripted browser failed: {e}")))??;
    let connected = connect_org(&ctx.deps, &app, &code, &ConnectOptions::default()).await?;
    println!(
        "1. Connected org {} ({}) through OAuth on {}.",
        connected.org_name,
        connected.org_id,
        control.now().date_naive()
    );
    let org = connected.org_id.clone();

    // 2. The admin pastes the org's SCIM token; it is tested before it is stored.
    let scim = SecretString::from(control.scim_token(org.as_str()));
    client.scim_service_provider_config(&scim).await?;
    ctx.deps.tokens.put_scim_token(&org, &scim).await?;
    println!("2. Stored the org's SCIM token after testing it.");

    // 3. A policy for the demo: the defaults (approval required, a week's notice), executed, one person exempt.
    let policy = demo_policy(&control, &org, args.dry_run);
    let now = ctx.deps.clock.now();
    set_policy(ctx.deps.store.as_ref(), &org, &policy, "miro-sam demo", now).await?;
    println!(
        "3. Set the policy: reclaim paid seats inactive {}+ days{}, each member told {} days ahead (a reminder {} \
         days before), each plan approved by an admin, {} exemption(s).",
        policy.inactivity_days.get(),
        if policy.dry_run {
            " (dry run)"
        } else {
            ", executed"
        },
        policy.notice_days,
        REMINDER_DAYS_BEFORE,
        policy.exemptions.len()
    );

    // 4. Download every member.
    let download = sync::download(&ctx, &org).await?;
    print!("4. ");
    sync::print_summary(&download);
    let before = latest_snapshot(&ctx, &org).await?;

    // 5. Plan.
    let first_plan = plan_org(
        ctx.deps.store.as_ref(),
        &org,
        "miro-sam demo",
        ctx.deps.clock.now(),
    )
    .await?;
    println!(
        "5. Plan {}: {} candidates (inactive {}+ days, outside the {}-day grace period), {} members excluded; \
         it waits for an admin's approval.",
        first_plan.plan_id,
        first_plan.candidates.len(),
        policy.inactivity_days.get(),
        policy.grace_days,
        first_plan.exclusions.len()
    );
    let first_notices =
        super::notices::send(&ctx, &org, first_plan.plan_id, &demo_notices.channels).await?;
    let today = ctx.deps.clock.now().date_naive();
    let cohort = notices::cohort(&ctx, &org, &demo_notices.outbox, today).await?;
    match &first_notices.summary.silenced {
        Some(why) => println!("   Notices: nobody was told: {why}."),
        None => println!(
            "   Notices: {} members were told their seat goes on {} unless they keep it (their link leads to the \
             console); the messages are in {}{}.",
            first_notices.summary.notified,
            cohort
                .reclaim_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "the reclaim date".into()),
            demo_notices.outbox.display(),
            cohort
                .example
                .as_ref()
                .map(|p| format!(", e.g. {}", p.display()))
                .unwrap_or_default()
        ),
    }

    // 6. The month: a download and a plan every day; approvals, reclaims and an undo on some days.
    println!(
        "6. Lived {HISTORY_DAYS} days: each day members worked, went quiet, came back, joined, left or changed \
         license, and miro-sam downloaded (the day's snapshot and timeline events) and planned:"
    );
    let lived = history::live(&ctx, &control, &org, args.dry_run, &demo_notices, &cohort).await?;
    if args.dry_run {
        println!("   Dry run: the plans reclaim nothing, so there was nothing to approve.");
    }
    print_month(&lived.days);

    // 7. Report on the last day.
    let after = latest_snapshot(&ctx, &org).await?;
    let report = report::build(&ctx, &org, args.seat_price).await?;
    std::fs::create_dir_all(&args.out)?;
    let html = args.out.join("report.html");
    std::fs::write(&html, render::html::render(&report))?;
    let mut files = vec![html];
    files.extend(report::write_csv(&ctx, &org, &report, &args.out).await?);
    println!(
        "7. Today ({}): {} paid seats assigned ({} on the first day); wrote the report.",
        after.date,
        render::thousands(after.assigned_paid.into()),
        render::thousands(before.assigned_paid.into())
    );

    let month = notices::total(
        std::iter::once(first_notices.summary).chain(lived.days.iter().map(|d| d.notices.clone())),
    );
    Ok(DemoOutcome {
        notices: NoticeStory {
            outbox: demo_notices.outbox.clone(),
            cohort,
            keeps: lived.keeps,
            at_first_approval: lived.at_first_approval,
            reclaimed: lived.cohort_reclaimed,
            month,
            demo: demo_notices,
        },
        connected,
        download,
        before,
        first_plan,
        days: lived.days,
        waves: lived.waves,
        undo: lived.undo,
        plan: lived.plan,
        after,
        report,
        files,
        control,
        ctx,
        sandbox,
    })
}

/// The notices in a few lines: the first day's told from notice to reclaim, and the month's count.
fn print_notices(n: &NoticeStory) {
    if let Some(why) = &n.month.silenced
        && n.month.notified == 0
    {
        println!("\nNotices: nobody was told ({why}).");
        return;
    }
    println!(
        "\nNotices: {} members told on {} that their seat goes on {}; {} kept it through their link",
        n.cohort.members.len(),
        n.cohort.told_on,
        n.cohort
            .reclaim_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        n.keeps.len()
    );
    if let Some(s) = &n.at_first_approval {
        println!(
            "  by then {} dropped out (came back or changed), {} were due and {} of them reclaimed after the \
             admin's approval.",
            s.dropped_out, s.due, n.reclaimed
        );
    }
    println!(
        "  Over the month: {} notices, {} reminders, in {} (one .eml file each, with the admin's daily digest).",
        n.month.notified,
        n.month.reminded,
        n.outbox.display()
    );
}

/// What the month did to the org, in one line.
fn print_month(days: &[DemoDay]) {
    let sum = |f: fn(&DemoDay) -> usize| days.iter().map(f).sum::<usize>();
    println!(
        "   Over the {} days: {} joined, {} left, {} license changes, {} went quiet, {} came back; {} changed \
         members written by the downloads.",
        days.len(),
        sum(|d| d.lived.joined.len()),
        sum(|d| d.lived.left.len()),
        sum(|d| d.lived.license_changes.len()),
        sum(|d| d.lived.went_quiet.len()),
        sum(|d| d.lived.came_back.len()),
        render::thousands(days.iter().map(|d| d.download.changed).sum())
    );
}

/// The demo's store and jobs on the sandbox's clock, so a simulated day passes for both: snapshots, plans,
/// timeline events and token expiry all fall on the day the sandbox is living.
fn on_sandbox_clock(mut ctx: Ctx, control: &SandboxControl) -> Ctx {
    let clock: Arc<dyn Clock> = Arc::new(history::SandboxClock(control.clone()));
    let store = Arc::new((*ctx.store).clone().with_clock(clock.clone()));
    ctx.deps.store = store.clone();
    ctx.deps.tokens = store.clone();
    ctx.deps.clock = clock;
    ctx.store = store;
    ctx
}

/// The command that builds this same history again (same seed, size and folder) and serves the console on it:
/// the program as it was started (`target/debug/miro-sam` under `cargo run`), or `miro-sam`.
fn serve_command(args: &DemoArgs) -> String {
    let program = std::env::args()
        .next()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "miro-sam".into());
    let mut cmd = format!(
        "{} demo --serve --members {} --seed {} --seat-price {} --out {}",
        shell_quote(&program),
        args.members,
        args.seed,
        args.seat_price,
        shell_quote(&args.out.display().to_string())
    );
    if args.dry_run {
        cmd.push_str(" --dry-run");
    }
    cmd
}

/// `s` as one shell word: as it is when it is plainly safe, otherwise in single quotes.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Readies `data_dir` for a fresh demo store. A directory from an earlier demo run (it carries [`DEMO_MARKER`])
/// loses only its store files; a missing or empty one becomes the demo's; any other is refused, never cleared.
fn fresh_demo_store(data_dir: &Path) -> CmdResult<()> {
    if data_dir.join(DEMO_MARKER).is_file() {
        for name in STORE_FILES {
            match std::fs::remove_file(data_dir.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Failure::new(
                        exit::FAILURE,
                        format!(
                            "cannot remove the previous demo's {}: {e}; remove it by hand or choose another --out",
                            data_dir.join(name).display()
                        ),
                    ));
                }
                _ => {}
            }
        }
        return Ok(());
    }
    let occupied = match std::fs::read_dir(data_dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // A file of that name, or a folder we may not read: not ours either way.
        Err(_) => true,
    };
    if occupied {
        return Err(Failure::usage(format!(
            "{} already exists and is not marked as the demo's own (no {DEMO_MARKER} in it); the demo starts its \
             store there afresh on every run, so it will not clear a folder it did not make. Choose another \
             --out, or move {} away",
            data_dir.display(),
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(
        data_dir.join(DEMO_MARKER),
        "Made by `miro-sam demo`: its store in this folder is replaced on every demo run.\n",
    )?;
    Ok(())
}

fn sandbox_config(args: &DemoArgs) -> SandboxConfig {
    let mut c = SandboxConfig::with_members(args.members);
    c.seed = args.seed;
    c.clock_start = Some(history_start());
    c.rest_limits.window /= TIME_SCALE;
    c.scim_limits.window /= TIME_SCALE;
    c
}

/// Noon UTC, [`HISTORY_DAYS`] days before today: the history ends today, and every simulated day's activity
/// (the sandbox's people work in the morning) is behind the clock, so the same seed gives the same month
/// whenever the demo runs.
fn history_start() -> chrono::DateTime<Utc> {
    let noon = Utc::now()
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap_or_default();
    Utc.from_utc_datetime(&noon) - Days::days(HISTORY_DAYS as i64)
}

fn client_config(sandbox: &Sandbox) -> CmdResult<MiroConfig> {
    let mut c = MiroConfig::for_base_url(&sandbox.base_url())?;
    c.rest_limits = RestLimits {
        window: RestLimits::default().window / TIME_SCALE,
        ..RestLimits::default()
    };
    c.scim_limits = ScimLimits {
        window: ScimLimits::default().window / TIME_SCALE,
        ..ScimLimits::default()
    };
    Ok(c)
}

/// Plays the admin's browser: opens the consent URL, lets the sandbox approve, follows the redirect home.
async fn scripted_browser(url: url::Url) -> CmdResult {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| {
            Failure::new(
                exit::FAILURE,
                format!("cannot build the scripted browser: {e}"),
            )
        })?;
    let resp =
        browser.get(url).send().await.map_err(|e| {
            Failure::new(exit::FAILURE, format!("the consent page did not load: {e}"))
        })?;
    if !resp.status().is_success() {
        return Err(Failure::new(
            exit::FAILURE,
            format!("the OAuth redirect ended with HTTP {}", resp.status()),
        ));
    }
    Ok(())
}

/// The default policy, executed, with a wider cap (a synthetic org has many idle seats) and one exemption
/// to show how they appear in the plan.
fn demo_policy(control: &SandboxControl, org: &OrgId, dry_run: bool) -> Policy {
    let mut policy = Policy {
        dry_run,
        notice_days: history::NOTICE_DAYS,
        reminder_days_before: vec![history::REMINDER_DAYS_BEFORE],
        keep_needs_approval: false,
        cap: ReclaimCap {
            max_count: None,
            max_percent: Some(
                miro_sam_core::policy::Percent::new(50.0).expect("50 is a percentage"),
            ),
        },
        ..Policy::default()
    };
    let cutoff = control.now() - Days::days(120);
    let on_leave = control.members(org.as_str()).into_iter().find(|m| {
        m.active
            && m.role == "organization_internal_user"
            && m.admin_roles.is_empty()
            && m.license == "full"
            && m.last_activity_at.is_some_and(|t| t < cutoff)
    });
    if let Some(m) = on_leave.and_then(|m| Email::parse(&m.email).ok()) {
        policy.exemptions.push(Exemption {
            matcher: ExemptionMatch::Email(m),
            reason: "on parental leave; keeps the seat until they return".into(),
            expires_at: Some(control.now() + Days::days(90)),
        });
    }
    policy
}

async fn latest_snapshot(ctx: &Ctx, org: &OrgId) -> CmdResult<OrgSnapshot> {
    ctx.deps
        .store
        .latest_snapshot(org)
        .await?
        .ok_or_else(|| Failure::new(exit::FAILURE, "the download wrote no snapshot"))
}
