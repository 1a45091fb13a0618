//! The environment variables `miro-sam` reads. This module is the one place the CLI writes their names
//! (tests/tests/architecture.rs fails on a name written anywhere else); the deployment's own names, which the
//! `--features aws` commands read too, live in `miro_sam_aws::env` and `miro_sam_lambda::env`.
//!
//! The names follow the functions' `MIRO_SAM_*` scheme, and a setting the functions also read has the functions'
//! name, so one environment serves both. Earlier builds read other names ([`DEPRECATED`]); those are still read,
//! with a warning on stderr, when the new name is unset.

/// Where the embedded store lives.
pub const DATA_DIR: &str = "MIRO_SAM_DATA_DIR";
/// Miro's browser host for the OAuth consent page (the functions' name).
pub const MIRO_OAUTH_BASE_URL: &str = "MIRO_SAM_MIRO_OAUTH_BASE_URL";
/// Miro's API host (the functions' name).
pub const MIRO_API_BASE_URL: &str = "MIRO_SAM_MIRO_API_BASE_URL";
/// Miro's SCIM base URL (the functions' name).
pub const MIRO_SCIM_BASE_URL: &str = "MIRO_SAM_MIRO_SCIM_BASE_URL";
/// The org to work on.
pub const ORG: &str = "MIRO_SAM_ORG";
/// `embedded` or `aws`.
pub const STORE: &str = "MIRO_SAM_STORE";
/// Log filter (the functions' name).
pub const LOG_LEVEL: &str = "MIRO_SAM_LOG_LEVEL";
/// Price of one seat per month.
pub const SEAT_PRICE: &str = "MIRO_SAM_SEAT_PRICE";
/// An org's SCIM token, for `scim-token` and `aws scim-token`. A secret: clap hides its value.
pub const SCIM_TOKEN: &str = "MIRO_SAM_SCIM_TOKEN";
/// The Miro app's client id (the functions' name).
pub const OAUTH_CLIENT_ID: &str = "MIRO_SAM_OAUTH_CLIENT_ID";
/// The Miro app's client secret. The functions read it from Secrets Manager (`MIRO_SAM_OAUTH_CLIENT_SECRET_NAME`);
/// on one machine it is the value itself. A secret: clap hides its value.
pub const OAUTH_CLIENT_SECRET: &str = "MIRO_SAM_OAUTH_CLIENT_SECRET";
/// The redirect URI registered in the Miro app, for `sync`'s token refresh (the functions' name).
pub const OAUTH_REDIRECT_URI: &str = "MIRO_SAM_OAUTH_REDIRECT_URI";

/// The sender of notices and digests (the functions' name; on AWS the SES identity).
pub const NOTICE_FROM: &str = "MIRO_SAM_NOTICE_FROM";
/// Whom members should ask about a notice (the functions' name).
pub const NOTICE_CONTACT: &str = "MIRO_SAM_NOTICE_CONTACT";
/// Notices sent per second (the functions' name).
pub const NOTICE_SEND_RATE: &str = "MIRO_SAM_NOTICE_SEND_RATE";
/// Comma-separated admin addresses the daily digest is emailed to (the functions' name).
pub const DIGEST_TO: &str = "MIRO_SAM_DIGEST_TO";
/// The console's public URL with its base path; keep links are `{this}/keep/{token}` (the functions' name).
pub const CONSOLE_URL: &str = "MIRO_SAM_CONSOLE_URL";
/// The SMTP server notices go through, as a lettre URL (`smtp://user:pass@host:587?tls=required`). A secret: it
/// may carry a password; clap hides its value and no message repeats it.
pub const SMTP_URL: &str = "MIRO_SAM_SMTP_URL";
/// A Slack or Teams incoming webhook for the digest. A secret: whoever has it can post to the channel.
pub const WEBHOOK_URL: &str = "MIRO_SAM_WEBHOOK_URL";
/// Write notices as `.eml` files into this folder instead of sending them.
pub const OUTBOX_DIR: &str = "MIRO_SAM_OUTBOX_DIR";

/// Who ran the command, for the audit log: USER on Unix shells, LOGNAME under cron and some daemons, USERNAME on
/// Windows; the first one set wins.
pub const OS_USER: [&str; 3] = ["USER", "LOGNAME", "USERNAME"];

/// (old name, new name): the names of earlier builds, read when the new one is unset.
pub const DEPRECATED: &[(&str, &str)] = &[
    ("MIRO_OAUTH_BASE_URL", MIRO_OAUTH_BASE_URL),
    ("MIRO_API_BASE_URL", MIRO_API_BASE_URL),
    ("MIRO_SCIM_BASE_URL", MIRO_SCIM_BASE_URL),
    ("MIRO_SAM_LOG", LOG_LEVEL),
    ("MIRO_SCIM_TOKEN", SCIM_TOKEN),
    ("MIRO_CLIENT_ID", OAUTH_CLIENT_ID),
    ("MIRO_CLIENT_SECRET", OAUTH_CLIENT_SECRET),
    ("MIRO_REDIRECT_URI", OAUTH_REDIRECT_URI),
];

/// The deprecated names to read instead of their new ones: those set (and not empty) whose new name is not.
pub fn deprecated_in_use(
    lookup: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, &'static str)> {
    let set = |name: &str| lookup(name).is_some_and(|v| !v.is_empty());
    DEPRECATED
        .iter()
        .copied()
        .filter(|(old, new)| set(old) && !set(new))
        .collect()
}

/// The warning for a deprecated name in use: what to rename, and that it still works for now.
pub fn deprecation_warning(old: &str, new: &str) -> String {
    format!(
        "warning: {old} is deprecated; rename it to {new} (the old name is still read while {new} is unset)"
    )
}

/// The variable `name`, or else its deprecated name. For the variables read outside clap; the warning for a
/// deprecated name in use is printed once, when the command line is parsed (`Cli::parse_env`).
pub fn var(name: &str) -> Option<String> {
    var_in(name, |n| std::env::var(n).ok())
}

fn var_in(name: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(v) = lookup(name) {
        return Some(v);
    }
    let (old, _) = DEPRECATED.iter().find(|(_, new)| *new == name)?;
    lookup(old)
}

/// Points every clap argument that reads a new name at its old name instead, for the names in `in_use` (from
/// [`deprecated_in_use`]), through every subcommand; clap reads one name per argument.
pub fn read_deprecated_names(
    cmd: clap::Command,
    in_use: &[(&'static str, &'static str)],
) -> clap::Command {
    let cmd = cmd.mut_args(|arg| {
        let old = arg.get_env().and_then(|env| {
            in_use
                .iter()
                .find(|(_, new)| env == *new)
                .map(|(old, _)| *old)
        });
        match old {
            Some(old) => arg.env(old),
            None => arg,
        }
    });
    cmd.mut_subcommands(|sub| read_deprecated_names(sub, in_use))
}

#[cfg(test)]
mod tests {
    use super::*;
    use miro_sam_testkit::env::lookup;

    #[test]
    fn every_name_follows_the_scheme_and_every_old_name_has_a_new_one() {
        let names = [
            DATA_DIR,
            MIRO_OAUTH_BASE_URL,
            MIRO_API_BASE_URL,
            MIRO_SCIM_BASE_URL,
            ORG,
            STORE,
            LOG_LEVEL,
            SEAT_PRICE,
            SCIM_TOKEN,
            OAUTH_CLIENT_ID,
            OAUTH_CLIENT_SECRET,
            OAUTH_REDIRECT_URI,
            NOTICE_FROM,
            NOTICE_CONTACT,
            NOTICE_SEND_RATE,
            DIGEST_TO,
            CONSOLE_URL,
            SMTP_URL,
            WEBHOOK_URL,
            OUTBOX_DIR,
        ];
        assert!(
            names.iter().all(|n| n.starts_with("MIRO_SAM_")),
            "{names:?}"
        );
        for (old, new) in DEPRECATED {
            assert!(
                names.contains(new),
                "{old} -> {new}: not a name the CLI reads"
            );
            assert!(!names.contains(old), "{old} is both deprecated and current");
        }
    }

    /// Where the CLI and the functions read the same setting, they read it under the same name.
    #[cfg(feature = "aws")]
    #[test]
    fn shared_settings_have_the_functions_names() {
        use miro_sam_lambda::env as f;
        assert_eq!(MIRO_OAUTH_BASE_URL, f::MIRO_OAUTH_BASE_URL);
        assert_eq!(MIRO_API_BASE_URL, f::MIRO_API_BASE_URL);
        assert_eq!(MIRO_SCIM_BASE_URL, f::MIRO_SCIM_BASE_URL);
        assert_eq!(LOG_LEVEL, f::LOG_LEVEL);
        assert_eq!(OAUTH_CLIENT_ID, f::OAUTH_CLIENT_ID);
        assert_eq!(OAUTH_REDIRECT_URI, f::OAUTH_REDIRECT_URI);
        assert_eq!(NOTICE_FROM, f::NOTICE_FROM);
        assert_eq!(NOTICE_CONTACT, f::NOTICE_CONTACT);
        assert_eq!(NOTICE_SEND_RATE, f::NOTICE_SEND_RATE);
        assert_eq!(DIGEST_TO, f::DIGEST_TO);
        assert_eq!(CONSOLE_URL, f::CONSOLE_URL);
    }

    #[test]
    fn an_old_name_is_read_only_while_the_new_one_is_unset() {
        let env = lookup(&[
            ("MIRO_CLIENT_ID", "old-id"),
            ("MIRO_API_BASE_URL", "http://old"),
            (MIRO_API_BASE_URL, "http://new"),
            ("MIRO_SCIM_TOKEN", ""),
        ]);
        assert_eq!(
            deprecated_in_use(&env),
            vec![("MIRO_CLIENT_ID", OAUTH_CLIENT_ID)]
        );

        assert_eq!(var_in(OAUTH_CLIENT_ID, &env).as_deref(), Some("old-id"));
        assert_eq!(
            var_in(MIRO_API_BASE_URL, &env).as_deref(),
            Some("http://new")
        );
        assert_eq!(var_in(SEAT_PRICE, &env), None);
        let warning = deprecation_warning("MIRO_CLIENT_ID", OAUTH_CLIENT_ID);
        assert!(
            warning.contains("MIRO_CLIENT_ID is deprecated") && warning.contains(OAUTH_CLIENT_ID),
            "{warning}"
        );
    }

    #[test]
    fn clap_reads_the_old_name_of_an_argument_in_a_subcommand() {
        use clap::{Arg, Command};
        let cmd = Command::new("t")
            .arg(Arg::new("log").long("log").env(LOG_LEVEL).global(true))
            .subcommand(
                Command::new("connect").arg(Arg::new("id").long("id").env(OAUTH_CLIENT_ID)),
            );
        let cmd = read_deprecated_names(cmd, &[("MIRO_CLIENT_ID", OAUTH_CLIENT_ID)]);
        let connect = cmd.find_subcommand("connect").expect("connect");
        let id = connect
            .get_arguments()
            .find(|a| a.get_id() == "id")
            .expect("id");
        assert_eq!(id.get_env(), Some(std::ffi::OsStr::new("MIRO_CLIENT_ID")));
        let log = cmd
            .get_arguments()
            .find(|a| a.get_id() == "log")
            .expect("log");
        assert_eq!(log.get_env(), Some(std::ffi::OsStr::new(LOG_LEVEL)));
    }
}
