//! The notice settings of one run (`NoticeArgs`: the names in `crate::env`) turned into the core's mailer and
//! [`NoticeSettings`]: SMTP paced at the send rate, or an outbox folder; the digest's addresses and chat webhook;
//! keep links signed with the data directory's key. Every refusal names the setting and the form it takes, and
//! none repeats a secret (the SMTP URL may carry a password, the webhook URL is a credential).

use std::path::PathBuf;
use std::sync::Arc;

use miro_sam_core::domain::Email;
use miro_sam_core::notices::{DigestChannels, NoticeSettings, PacedMailer};
use miro_sam_core::ports::Mailer;
use miro_sam_links::SignedKeepLinks;
use miro_sam_notify::{ChatWebhook, DEFAULT_SMTP_TIMEOUT, OutboxMailer, SmtpMailer};
use secrecy::SecretString;

use crate::args::NoticeArgs;
use crate::env;
use crate::failure::{CmdResult, Failure};

/// The sender of messages written to an outbox when none is set: they are read on this machine, not delivered.
pub const OUTBOX_SENDER: &str = "miro-sam <miro-sam@localhost>";
/// How long a digest post to the chat webhook may take.
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the notices go through, and what the run prints about it.
pub struct Channels {
    pub mailer: Arc<dyn Mailer>,
    pub settings: NoticeSettings,
    /// "SMTP" or "the outbox DIR", for the summary.
    pub describe: String,
    /// The outbox folder, when that is the channel.
    pub outbox: Option<PathBuf>,
}

/// The channels `args` set up; `None` when no mail channel is set (neither --smtp-url nor --outbox).
pub fn channels(args: &NoticeArgs, keep_link_key: SecretString) -> CmdResult<Option<Channels>> {
    let (mailer, describe, outbox): (Arc<dyn Mailer>, String, Option<PathBuf>) = match (
        &args.outbox,
        &args.smtp_url,
    ) {
        (Some(dir), _) => {
            let from = args.notice_from.as_deref().unwrap_or(OUTBOX_SENDER);
            let outbox = OutboxMailer::new(dir, from)
                .map_err(|e| Failure::usage(format!("--outbox / {}: {e}", env::OUTBOX_DIR)))?;
            let describe = format!("the outbox {}", outbox.dir().display());
            (Arc::new(outbox), describe, Some(dir.clone()))
        }
        (None, Some(url)) => {
            let from = args.notice_from.as_deref().ok_or_else(|| {
                    Failure::usage(format!(
                        "notices by SMTP need a sender: set {} (or --notice-from), e.g. \"IT <it@example.com>\"",
                        env::NOTICE_FROM
                    ))
                })?;
            let smtp = SmtpMailer::new(url, from, DEFAULT_SMTP_TIMEOUT).map_err(|e| {
                Failure::usage(format!("--smtp-url / {} or the sender: {e}", env::SMTP_URL))
            })?;
            let paced = PacedMailer::new(smtp, args.send_rate).map_err(|e| {
                Failure::usage(format!("--send-rate / {}: {e}", env::NOTICE_SEND_RATE))
            })?;
            (Arc::new(paced), "SMTP".to_owned(), None)
        }
        (None, None) => return Ok(None),
    };
    let console_url = console_url(&args.console_url)?;
    Ok(Some(Channels {
        mailer,
        settings: NoticeSettings {
            contact: args.notice_contact.clone(),
            keep_links: Arc::new(SignedKeepLinks::new(keep_link_key, &console_url)),
            digest: DigestChannels {
                email_to: digest_to(&args.digest_to)?,
                webhook: match &args.webhook_url {
                    Some(url) => Some(Arc::new(
                        ChatWebhook::new(url.clone(), WEBHOOK_TIMEOUT).map_err(|e| {
                            Failure::usage(format!("--webhook-url / {}: {e}", env::WEBHOOK_URL))
                        })?,
                    )),
                    None => None,
                },
            },
        },
        describe,
        outbox,
    }))
}

/// The console's URL as keep links start: http(s), no trailing slash.
fn console_url(raw: &str) -> CmdResult<String> {
    let bad = |why: &str| {
        Failure::usage(format!(
            "--console-url / {}: {raw:?} {why}; give where members reach `miro-sam serve`'s console, with its \
             base path, e.g. http://127.0.0.1:8780/console",
            env::CONSOLE_URL
        ))
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("is not an http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "has a query or fragment, where the link's path must go",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn digest_to(raw: &[String]) -> CmdResult<Vec<Email>> {
    raw.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            Email::parse(s).map_err(|e| {
                Failure::usage(format!(
                    "--digest-to / {}: {s:?} is not an email address ({e}); give addresses separated by commas",
                    env::DIGEST_TO
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn args(extra: &[&str]) -> NoticeArgs {
        let mut argv = vec!["miro-sam", "plan"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Plan(p) => p.notices,
            _ => unreachable!("plan"),
        }
    }

    fn key() -> SecretString {
        SecretString::from("00".repeat(32))
    }

    #[test]
    fn no_mail_channel_means_no_notices() {
        assert!(channels(&args(&[]), key()).unwrap().is_none());
    }

    #[test]
    fn the_outbox_needs_no_sender_and_names_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("outbox");
        let c = channels(&args(&["--outbox", out.to_str().unwrap()]), key())
            .unwrap()
            .expect("a channel");
        assert_eq!(c.outbox.as_deref(), Some(out.as_path()));
        assert!(c.describe.contains("outbox"), "{}", c.describe);
        assert!(out.is_dir());
    }

    #[test]
    fn smtp_needs_a_sender_and_a_good_url_and_never_repeats_it() {
        let e = channels(
            &args(&["--smtp-url", "smtp://u:hunter2@mail.example.com:587"]),
            key(),
        )
        .err()
        .expect("no sender");
        assert!(e.message.contains(env::NOTICE_FROM), "{}", e.message);
        let e = channels(
            &args(&[
                "--smtp-url",
                "http://u:hunter2@mail.example.com",
                "--notice-from",
                "it@example.com",
            ]),
            key(),
        )
        .err()
        .expect("not smtp");
        assert!(e.message.contains(env::SMTP_URL), "{}", e.message);
        assert!(
            e.message.contains("smtps://"),
            "says the form: {}",
            e.message
        );
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let c = channels(
            &args(&[
                "--smtp-url",
                "smtp://u:hunter2@mail.example.com:587",
                "--notice-from",
                "IT <it@example.com>",
            ]),
            key(),
        )
        .unwrap()
        .expect("SMTP");
        assert_eq!(c.describe, "SMTP");
    }

    #[test]
    fn a_bad_rate_digest_address_console_url_or_webhook_names_its_setting() {
        let smtp = [
            "--smtp-url",
            "smtp://127.0.0.1:25",
            "--notice-from",
            "it@example.com",
        ];
        let with = |extra: &[&str]| {
            let mut a = smtp.to_vec();
            a.extend_from_slice(extra);
            channels(&args(&a), key()).err().expect("refused").message
        };
        assert!(with(&["--send-rate", "0"]).contains(env::NOTICE_SEND_RATE));
        assert!(with(&["--digest-to", "ann@example.com,not-an-address"]).contains(env::DIGEST_TO));
        assert!(with(&["--console-url", "ftp://x/console"]).contains(env::CONSOLE_URL));
        let hook = with(&["--webhook-url", "http://hooks.example.com/T/hunter2"]);
        assert!(hook.contains(env::WEBHOOK_URL), "{hook}");
        assert!(!hook.contains("hunter2"), "{hook}");
    }

    #[test]
    fn the_default_console_url_is_where_serve_listens_by_default() {
        let serve = match Cli::try_parse_from(["miro-sam", "serve"]).unwrap().command {
            Command::Serve(s) => s,
            _ => unreachable!("serve"),
        };
        assert_eq!(
            args(&[]).console_url,
            format!("http://127.0.0.1:{}/console", serve.port)
        );
    }

    #[test]
    fn debug_of_the_arguments_hides_the_secrets() {
        let a = args(&[
            "--smtp-url",
            "smtp://u:hunter2@mail.example.com:587",
            "--webhook-url",
            "https://hooks.example.com/T/hunter3",
        ]);
        let debug = format!("{a:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("hunter3"),
            "{debug}"
        );
    }
}
