//! The command line. Every option that names a place (data directory, Miro URLs) or a credential can also come
//! from the environment, so scripts and CI need no flags.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;
use std::path::PathBuf;

use crate::env;

#[derive(Parser, Debug)]
#[command(
    name = "miro-sam",
    version,
    about = "Know who holds which Miro license and who uses it, reclaim the unused seats, never lock out the wrong person.",
    after_help = crate::exit::HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line, with the environment variables of [`env`]: a deprecated name in use is read where its
    /// new name is unset, after a warning on stderr naming the new one. Exits on bad arguments, like `parse`.
    pub fn parse_env() -> Cli {
        let in_use = env::deprecated_in_use(|name| std::env::var(name).ok());
        for (old, new) in &in_use {
            eprintln!("{}", env::deprecation_warning(old, new));
        }
        let matches = env::read_deprecated_names(Cli::command(), &in_use).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Where the embedded store lives (default: the per-user data directory, e.g. ~/.local/share/miro-sam).
    #[arg(long, env = env::DATA_DIR, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Miro's browser host for the OAuth consent page.
    #[arg(
        long,
        env = env::MIRO_OAUTH_BASE_URL,
        default_value = miro_client::DEFAULT_OAUTH_BASE_URL,
        global = true
    )]
    pub oauth_base_url: String,
    /// Miro's API host (token endpoints and REST v2).
    #[arg(
        long,
        env = env::MIRO_API_BASE_URL,
        default_value = miro_client::DEFAULT_API_BASE_URL,
        global = true
    )]
    pub api_base_url: String,
    /// Miro's SCIM 2.0 base URL.
    #[arg(
        long,
        env = env::MIRO_SCIM_BASE_URL,
        default_value = miro_client::DEFAULT_SCIM_BASE_URL,
        global = true
    )]
    pub scim_base_url: String,
    /// The org to work on; may be omitted when exactly one org is connected.
    #[arg(long, env = env::ORG, global = true)]
    pub org: Option<String>,
    /// Where the state lives: `embedded` (the SQLite file in the data directory) or `aws` (a deployment's
    /// DynamoDB table, SQS reclaim queue and Secrets Manager, named by MIRO_SAM_TABLE_NAME,
    /// MIRO_SAM_SECRET_PREFIX and MIRO_SAM_RECLAIM_QUEUE_URL; needs a build with `--features aws`).
    #[arg(
        long,
        env = env::STORE,
        value_enum,
        default_value_t = StoreKind::Embedded,
        global = true
    )]
    pub store: StoreKind,
    /// Log filter (e.g. info, debug, miro_client=debug). Logs go to stderr.
    #[arg(long, env = env::LOG_LEVEL, default_value = "warn", global = true)]
    pub log: String,
}

/// Which store the verbs read and change.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The SQLite file in the data directory (one machine).
    Embedded,
    /// A deployment on AWS: its table, reclaim queue and secrets.
    Aws,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The whole job against a synthetic org in a local Miro sandbox: connect, download, plan, reclaim, report.
    #[cfg(feature = "sandbox")]
    Demo(DemoArgs),
    /// Not in this build (`--no-default-features`): kept so `demo` says how to get it instead of "unrecognized".
    #[cfg(not(feature = "sandbox"))]
    #[command(hide = true)]
    Demo(NotBuilt),
    /// Connect a Miro org: runs the OAuth flow with a loopback redirect and stores the tokens.
    Connect(ConnectArgs),
    /// Store the org's SCIM token (read from stdin or MIRO_SAM_SCIM_TOKEN) and test it.
    ScimToken(ScimTokenArgs),
    /// Download every member of the org, keep the history, and write today's snapshot.
    Sync,
    /// Build a reclaim plan from the stored members and the org's policy, then send the day's notices (when the
    /// policy gives notice and a mail channel is set: --smtp-url or --outbox).
    Plan(PlanArgs),
    /// The org's notice records: who was told their seat goes, when, and where each notice cycle stands.
    Notices,
    /// Execute a stored plan: re-check each candidate and deactivate through SCIM.
    Apply(ApplyArgs),
    /// Approve a plan (all of it, or the candidates given with --member): they are queued for reclaim.
    Approve(ApproveArgs),
    /// Reject candidates of a plan: that plan will not reclaim them.
    Reject(RejectArgs),
    /// The admin console on this machine (127.0.0.1 only), with the worker that carries out what it queues.
    Serve(ServeArgs),
    /// Undo a reclaim: reactivate a member through SCIM and hold them (no plan takes the seat again until the
    /// hold ends, `reactivation_hold_days` in the policy). With `--store aws` the undo is queued for the
    /// deployment's reclaim function, which holds the SCIM token.
    Reactivate(ReactivateArgs),
    /// Kill switch: stop every reclaim of the org not yet sent to Miro (queued, approved or in progress) at once.
    Pause(PauseArgs),
    /// Turn the kill switch off again. Reclaims skipped while paused stay skipped: plan again.
    Resume,
    /// Seats purchased, assigned and used; activity; candidates; reclaimed; money saved.
    Report(ReportArgs),
    /// Show or set the org's reclaim policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List, add or remove the org's exemptions (people who keep their seat whatever the policy says). Each change
    /// is saved as the next policy version and audited.
    #[command(subcommand)]
    Exemptions(ExemptionsCommand),
    /// The audit log, newest first: filter by member, action and date; print a table or write CSV or JSON.
    Audit(AuditArgs),
    /// Run the Miro sandbox server (a local Miro for trying things out).
    #[cfg(feature = "sandbox")]
    Sandbox(miro_sandbox::cli::ServeArgs),
    /// Not in this build, like `demo`.
    #[cfg(not(feature = "sandbox"))]
    #[command(hide = true)]
    Sandbox(NotBuilt),
    /// Operator commands for an AWS deployment: connect links, local setup (the state verbs above take
    /// `--store aws`).
    #[cfg(feature = "aws")]
    #[command(subcommand)]
    Aws(AwsCommand),
}

#[cfg(feature = "aws")]
#[derive(Subcommand, Debug)]
pub enum AwsCommand {
    /// Print a signed, expiring, single-use link to the deployment's /oauth/start for a Company Admin to connect an
    /// org. With `--org` (or MIRO_SAM_ORG) the link connects only that org.
    ConnectLink {
        /// The deployment's API base URL (the stack output `ApiBaseUrl`).
        #[arg(long)]
        base_url: String,
        /// How long the link works (default 24 hours, at most 7 days).
        #[arg(long, default_value_t = miro_sam_links::connect_link::DEFAULT_VALIDITY.num_minutes())]
        valid_for_minutes: i64,
        /// The Secrets Manager secret holding the signing key (default: MIRO_SAM_CONNECT_LINK_KEY_NAME).
        #[arg(long)]
        key_secret: Option<String>,
    },
    /// Test an org's SCIM token and store it in Secrets Manager where the functions read it.
    ScimToken {
        #[arg(long)]
        org: String,
        /// The token; read from stdin when absent.
        #[arg(long, env = env::SCIM_TOKEN, hide_env_values = true)]
        token: Option<String>,
    },
    /// Show or set an org's reclaim policy in the deployment's table (e.g. to turn dry run off). Deprecated: the
    /// same as `miro-sam --store aws --org ORG policy show|set`.
    Policy {
        #[arg(long)]
        org: String,
        #[command(subcommand)]
        action: PolicyCommand,
    },
    /// Kill switch for an org of the deployment: the reclaim worker ends every queued or approved reclaim of it
    /// `skipped`, sending nothing to Miro, until `aws resume`. Deprecated: the same as
    /// `miro-sam --store aws --org ORG pause`.
    Pause {
        #[arg(long)]
        org: String,
        /// Why, for the audit log and for everyone who sees the org paused.
        #[arg(long, default_value = "paused by an operator")]
        reason: String,
    },
    /// Turn an org's kill switch off again. Deprecated: the same as `miro-sam --store aws --org ORG resume`.
    Resume {
        #[arg(long)]
        org: String,
    },
    /// For local runs against a local AWS API (the template does this in AWS): create the DynamoDB table, and the
    /// connect-link key and OAuth client secret when their names are configured.
    InitLocal {
        #[arg(long, env = miro_sam_aws::env::TABLE_NAME)]
        table: String,
        #[arg(long, env = miro_sam_lambda::env::CONNECT_LINK_KEY_NAME)]
        link_key_secret: Option<String>,
        #[arg(long, env = miro_sam_aws::env::OAUTH_CLIENT_SECRET_NAME)]
        client_secret_name: Option<String>,
        /// The Miro app's client secret to store (e.g. the sandbox's).
        #[arg(long, env = env::OAUTH_CLIENT_SECRET, hide_env_values = true)]
        client_secret: Option<String>,
    },
}

/// The arguments of a command this build leaves out, taken as they come so the refusal can name the feature.
#[cfg(not(feature = "sandbox"))]
#[derive(Args, Debug)]
pub struct NotBuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Members of the synthetic org.
    #[arg(long, default_value_t = 3000)]
    pub members: usize,
    /// Seed of the synthetic org (same seed, same org).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write report.html and the CSV exports.
    #[arg(long, default_value = "miro-sam-demo")]
    pub out: PathBuf,
    /// Price of one seat per month, for the money saved.
    #[arg(long, env = env::SEAT_PRICE, default_value_t = 16.0)]
    pub seat_price: f64,
    /// Plan only; reclaim nothing (the demo executes by default because the org is synthetic).
    #[arg(long)]
    pub dry_run: bool,
    /// Afterwards, serve the admin console on the demo's org (with its sandbox running) until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// The console's port on 127.0.0.1 with --serve (0 picks a free one).
    #[arg(long, default_value_t = 8780)]
    pub port: u16,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// The Miro app's client id (app settings page).
    #[arg(long, env = env::OAUTH_CLIENT_ID)]
    pub client_id: String,
    /// The Miro app's client secret. Prefer the environment variable over the flag.
    #[arg(long, env = env::OAUTH_CLIENT_SECRET, hide_env_values = true)]
    pub client_secret: String,
    /// Loopback port of the redirect URI; it must match the app settings: http://127.0.0.1:PORT/oauth/callback.
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Give up waiting for the browser after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
}

#[derive(Args, Debug)]
pub struct ScimTokenArgs {
    /// The SCIM token; read from stdin when absent.
    #[arg(long, env = env::SCIM_TOKEN, hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten, next_help_heading = "Notices")]
    pub notices: NoticeArgs,
}

/// The console `serve` runs by default, where the keep links of notices sent on this machine point.
pub const DEFAULT_CONSOLE_URL: &str = "http://127.0.0.1:8780/console";

/// How the day's notices go out (issue 12). Whether and when members are told is the org's policy; these say
/// through what, from whom, and where their keep links lead.
#[derive(Args, Debug, Clone)]
pub struct NoticeArgs {
    /// The SMTP server for notices: smtp://host:25, smtp://user:pass@host:587?tls=required or
    /// smtps://user:pass@host:465. Prefer the environment variable: the URL may carry a password.
    #[arg(long, env = env::SMTP_URL, hide_env_values = true, value_parser = secret)]
    pub smtp_url: Option<SecretString>,
    /// Write the notices as .eml files into this folder instead of sending them (to read them first).
    #[arg(long, env = env::OUTBOX_DIR, conflicts_with = "smtp_url")]
    pub outbox: Option<PathBuf>,
    /// The sender of notices and digests, e.g. "IT <it@example.com>" (needed with --smtp-url).
    #[arg(long, env = env::NOTICE_FROM)]
    pub notice_from: Option<String>,
    /// Whom members should ask about their notice.
    #[arg(long, env = env::NOTICE_CONTACT, default_value = "your Miro administrator")]
    pub notice_contact: String,
    /// Messages sent per second (above 0, at most 1000): what the mail server accepts.
    #[arg(long, env = env::NOTICE_SEND_RATE, default_value_t = miro_sam_core::notices::DEFAULT_SEND_RATE)]
    pub send_rate: f64,
    /// Admin addresses the daily digest of notices is emailed to (comma-separated).
    #[arg(long, env = env::DIGEST_TO, value_delimiter = ',')]
    pub digest_to: Vec<String>,
    /// A Slack or Teams incoming webhook the digest is posted to. Prefer the environment variable: whoever has
    /// the URL can post to the channel.
    #[arg(long, env = env::WEBHOOK_URL, hide_env_values = true, value_parser = secret)]
    pub webhook_url: Option<SecretString>,
    /// Where members reach the console (`miro-sam serve`), with its base path: keep links are
    /// {this}/keep/{token}.
    #[arg(long, env = env::CONSOLE_URL, default_value = DEFAULT_CONSOLE_URL)]
    pub console_url: String,
}

/// A secret argument: kept as a [`SecretString`] from the command line on, so `Debug` of the arguments shows
/// `[REDACTED]`.
fn secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The plan to execute (from `miro-sam plan`).
    pub plan_id: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The plan to approve (from `miro-sam plan`).
    pub plan_id: String,
    /// Approve only these members (repeat the flag); without it the whole plan.
    #[arg(long)]
    pub member: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RejectArgs {
    /// The plan.
    pub plan_id: String,
    /// The member to reject (repeat the flag for several).
    #[arg(long, required = true)]
    pub member: Vec<String>,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8780)]
    pub port: u16,
    /// Price of one seat per month, for the money saved.
    #[arg(long, env = env::SEAT_PRICE, default_value_t = 16.0)]
    pub seat_price: f64,
}

#[derive(Args, Debug)]
pub struct ReactivateArgs {
    /// The member: email address or Miro member id.
    pub email: String,
    /// Why, for the audit log.
    #[arg(long, default_value = "reactivated by an operator")]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    /// Why, for the audit log and for everyone who sees the org paused.
    #[arg(long, default_value = "paused by an operator")]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of stdout (html always needs a file or goes to stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Price of one seat per month, for the money saved.
    #[arg(long, env = env::SEAT_PRICE, default_value_t = 16.0)]
    pub seat_price: f64,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Html,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Print the current policy as JSON.
    Show,
    /// Replace the policy with the JSON in FILE (`-` for stdin); it becomes a new version.
    Set { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum ExemptionsCommand {
    /// Print the exemptions of the current policy, numbered, with who they cover, why and until when.
    List,
    /// Add an exemption (saved as the next policy version; the next plan applies it).
    Add {
        #[command(flatten)]
        who: ExemptionWho,
        /// Why this person or group keeps the seat (shown next to every member it protects).
        #[arg(long)]
        reason: String,
        /// The last day it holds (e.g. 2027-01-31, through that whole day, UTC); without it, until removed.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Remove the exemption for this email, domain or admin role (saved as the next policy version).
    Remove {
        #[command(flatten)]
        who: ExemptionWho,
    },
}

/// Exactly one of: an email, a domain, an admin role.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct ExemptionWho {
    /// One person, by email address.
    #[arg(long)]
    pub email: Option<String>,
    /// Every address at exactly this domain (e.g. example.com).
    #[arg(long)]
    pub domain: Option<String>,
    /// Members holding this admin role (e.g. "Content Admin").
    #[arg(long)]
    pub admin_role: Option<String>,
}

impl ExemptionWho {
    /// (kind, value) as the core's `Exemption::from_input` reads them.
    pub fn kind_and_value(&self) -> (&'static str, &str) {
        match (&self.email, &self.domain, &self.admin_role) {
            (Some(e), _, _) => ("email", e),
            (_, Some(d), _) => ("domain", d),
            (_, _, Some(r)) => ("admin_role", r),
            // clap's group makes one of them required.
            (None, None, None) => ("email", ""),
        }
    }
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only entries about this member (email address or Miro member id).
    #[arg(long)]
    pub member: Option<String>,
    /// Only entries of this action (e.g. plan_approved, reclaimed, reactivated, policy_changed).
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries from this day on (e.g. 2026-11-01, UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries up to and including this day (UTC).
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFormat {
    Table,
    Csv,
    Json,
}
