//! Exit codes scripts can rely on. Documented in `miro-sam --help`.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// Something failed that is not one of the cases below (a bug or an unexpected answer).
pub const FAILURE: u8 = 1;
/// The command line was wrong (clap uses 2 as well).
pub const USAGE: u8 = 2;
/// A person must act: reconnect the org, add the SCIM token, fix the app's scopes or the configuration.
pub const NEEDS_ACTION: u8 = 3;
/// Transient: Miro rate-limited, failed or timed out. Running the same command later can succeed.
pub const RETRY_LATER: u8 = 4;
/// Refused on purpose: the plan exceeds the cap, the policy is a dry run, or the confirmation was declined.
pub const REFUSED: u8 = 5;

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}

pub const HELP: &str = "Exit codes: 0 ok, 1 failure, 2 usage, 3 a person must act (reconnect, SCIM token, \
configuration), 4 transient (retry later), 5 refused on purpose (cap exceeded, dry run, not confirmed).";
