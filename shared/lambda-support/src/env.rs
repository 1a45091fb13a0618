//! The environment variables the functions read, besides the AWS adapters' own (`miro_sam_aws::env`). This module
//! and that one are the only places their names are written; the IaC template sets exactly these.

/// Miro's API host (token endpoints and REST v2). Default `https://api.miro.com`.
pub const MIRO_API_BASE_URL: &str = "MIRO_SAM_MIRO_API_BASE_URL";
/// Miro's browser host for the consent page. Default `https://miro.com`.
pub const MIRO_OAUTH_BASE_URL: &str = "MIRO_SAM_MIRO_OAUTH_BASE_URL";
/// Miro's SCIM base URL. Default `https://miro.com/api/v1/scim`.
pub const MIRO_SCIM_BASE_URL: &str = "MIRO_SAM_MIRO_SCIM_BASE_URL";

/// The Miro app's client id (not a secret). Required by the functions that exchange or refresh tokens.
pub const OAUTH_CLIENT_ID: &str = "MIRO_SAM_OAUTH_CLIENT_ID";
/// The callback URL registered in the Miro app: `https://{api}/oauth/callback`. Required by oauth-callback.
pub const OAUTH_REDIRECT_URI: &str = "MIRO_SAM_OAUTH_REDIRECT_URI";
/// Name of the Secrets Manager secret holding the key that signs connect links. Required by oauth-callback.
pub const CONNECT_LINK_KEY_NAME: &str = "MIRO_SAM_CONNECT_LINK_KEY_NAME";
/// Comma-separated org ids the deployment may connect; empty or unset allows any org.
pub const ALLOWED_ORGS: &str = "MIRO_SAM_ALLOWED_ORGS";

/// Default policy of a newly connected org: inactivity threshold in days (default 90).
pub const DEFAULT_INACTIVITY_DAYS: &str = "MIRO_SAM_DEFAULT_INACTIVITY_DAYS";
/// Default policy of a newly connected org: `true` (default) plans without reclaiming.
pub const DEFAULT_DRY_RUN: &str = "MIRO_SAM_DEFAULT_DRY_RUN";
/// Default policy of a newly connected org: most members reclaimed per run (default 100).
pub const DEFAULT_CAP_COUNT: &str = "MIRO_SAM_DEFAULT_CAP_COUNT";
/// Default policy of a newly connected org: most members reclaimed per run, as a percentage of purchased seats
/// (default 10).
pub const DEFAULT_CAP_PERCENT: &str = "MIRO_SAM_DEFAULT_CAP_PERCENT";

/// How many reclaim workers may run at once (the event source mapping's maximum concurrency). Each worker paces
/// itself to its share of Miro's SCIM budget, so together they stay inside it. Default 2.
pub const RECLAIM_WORKERS: &str = "MIRO_SAM_RECLAIM_WORKERS";
/// Log filter, e.g. `info` or `info,miro_client=debug`. Default `info`.
pub const LOG_LEVEL: &str = "MIRO_SAM_LOG_LEVEL";
/// Set by Lambda itself to the deployed function's name (`{stack}-{binary}` in the template), never by the
/// template. The value of the metrics' `Function` dimension, so two stacks in one account keep apart; unset
/// (local runs, tests) the binary's name is used.
pub const LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// Seconds to keep in hand before the Lambda deadline; a download stops cleanly and checkpoints when less is
/// left. Default 60.
pub const DEADLINE_MARGIN_SECS: &str = "MIRO_SAM_DEADLINE_MARGIN_SECS";

/// URL of the SQS download queue: the scheduled run (the dispatcher) queues one job per connected org on it, and
/// the download workers take them. Unset: the scheduled run downloads every org itself, one after another.
pub const DOWNLOAD_QUEUE_URL: &str = "MIRO_SAM_DOWNLOAD_QUEUE_URL";

/// The admin console (functions/console): name of the Secrets Manager secret whose string value is the session
/// key, at least 32 random bytes, base64-encoded (the template generates it). Required by the console.
pub const CONSOLE_SESSION_KEY_NAME: &str = "MIRO_SAM_CONSOLE_SESSION_KEY_NAME";
/// The admin console: the origin browsers reach it at, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`
/// (the console is at `{origin}/console`; Miro sends admins back to `{origin}/console/auth/callback`). Required by
/// the console.
pub const CONSOLE_PUBLIC_URL: &str = "MIRO_SAM_CONSOLE_PUBLIC_URL";
/// The admin console: comma-separated emails of the only Company Admins who may sign in; empty or unset lets in
/// every Company Admin of a connected org.
pub const CONSOLE_ADMIN_EMAILS: &str = "MIRO_SAM_CONSOLE_ADMIN_EMAILS";
/// The admin console: price of one paid seat per month in minor units (cents), for the savings figures; empty or
/// unset hides them.
pub const CONSOLE_SEAT_PRICE_MINOR: &str = "MIRO_SAM_CONSOLE_SEAT_PRICE_MINOR";
/// The admin console: ISO 4217 currency of the seat price. Default `USD`.
pub const CONSOLE_CURRENCY: &str = "MIRO_SAM_CONSOLE_CURRENCY";

/// Notices (issue 12): the sender of notices and digests. On AWS the SES identity (an address, or an address at a
/// verified domain). Unset: the download function sends no notices (and says so once at cold start).
pub const NOTICE_FROM: &str = "MIRO_SAM_NOTICE_FROM";
/// Notices: whom members should ask, when the org's policy does not say. Default `your Miro administrator`.
pub const NOTICE_CONTACT: &str = "MIRO_SAM_NOTICE_CONTACT";
/// Notices: messages per second (the SES account's send rate). Default 1, SES's sandbox rate.
pub const NOTICE_SEND_RATE: &str = "MIRO_SAM_NOTICE_SEND_RATE";
/// Notices: the SES configuration set the notices are sent through; its event destination publishes their bounces
/// to EventBridge, whose rule hands them back to the download function (which records them). Unset: no
/// configuration set, and a bounce SES reports after accepting a notice goes unrecorded.
pub const NOTICE_CONFIGURATION_SET: &str = "MIRO_SAM_NOTICE_CONFIGURATION_SET";
/// Notices: comma-separated admin addresses the daily digest is emailed to. Empty or unset: no digest email.
pub const DIGEST_TO: &str = "MIRO_SAM_DIGEST_TO";
/// Notices: the console's public URL with its base path, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/console`.
/// Keep links are `{this}/keep/{token}`. Unset: notices carry no keep link and say whom to tell instead.
pub const CONSOLE_URL: &str = "MIRO_SAM_CONSOLE_URL";
/// Notices: name (or ARN) of the Secrets Manager secret whose string value is the Slack or Teams incoming webhook
/// URL the digest is posted to. Unset: no chat digest.
pub const WEBHOOK_SECRET_NAME: &str = "MIRO_SAM_WEBHOOK_SECRET_NAME";
/// Notices: name (or ARN) of the Secrets Manager secret holding the key that signs keep links. The download
/// function signs with it, the console verifies with it (the template generates it). Unset: no keep links, and
/// the console's keep page refuses every link.
pub const KEEP_LINK_KEY_SECRET_NAME: &str = "MIRO_SAM_KEEP_LINK_KEY_SECRET_NAME";
