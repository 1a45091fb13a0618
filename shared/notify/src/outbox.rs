//! The core's [`Mailer`] into a folder: each message as an `.eml` file (RFC 5322, exactly what SMTP would carry),
//! for trying notices out before a mail server is set up, and for the demo. Any mail client opens the files.
//!
//! A file is named after the message's reference (org, member, cycle and which message), so an admin finds a
//! member's notice by name. A second message with the same reference is never written over the first: it gets
//! `.2.eml`, `.3.eml`, ..., so a notice sent twice shows as two files instead of hiding in one.
//!
//! The files carry keep links, which keep a seat without signing in: the folder is made private to the user
//! (0700) and every file 0600.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::message::Mailbox;
use miro_sam_core::ports::{MailError, Mailer, OutgoingEmail, SentEmail};
use tokio::io::AsyncWriteExt;

use crate::{SmtpConfigError, build_message, parse_sender};

/// How many files one reference may get before the outbox refuses (far more than any notice is ever sent).
const MAX_COPIES: u32 = 1000;

/// Why an outbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Sender(#[from] SmtpConfigError),
    #[error(
        "cannot create the outbox folder {dir}: {source}; choose another folder or fix its permissions"
    )]
    Folder {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes each message as a file in a folder instead of sending it.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// An outbox in `dir` (created, private to the user), with messages from `from`.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, OutboxError> {
        let dir = dir.into();
        let from = parse_sender(from)?;
        create_private_dir(&dir).map_err(|source| OutboxError::Folder {
            dir: dir.clone(),
            source,
        })?;
        Ok(OutboxMailer { dir, from })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name a message with this reference gets first (`copy` 1), or again (`copy` 2, 3, ...).
    pub fn file_name(reference: &str, copy: u32) -> String {
        let stem: String = reference
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if copy <= 1 {
            format!("{stem}.eml")
        } else {
            format!("{stem}.{copy}.eml")
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<SentEmail, MailError> {
        let bytes = build_message(&self.from, email)?.formatted();
        for copy in 1..=MAX_COPIES {
            let path = self.dir.join(Self::file_name(&email.reference, copy));
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            options.mode(0o600);
            let mut file = match options.open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(not_written(&path, &e)),
            };
            file.write_all(&bytes)
                .await
                .map_err(|e| not_written(&path, &e))?;
            file.flush().await.map_err(|e| not_written(&path, &e))?;
            return Ok(SentEmail {
                message_id: Some(path.display().to_string()),
            });
        }
        Err(MailError::Misconfigured {
            detail: format!(
                "the outbox {} already holds {MAX_COPIES} messages {}: empty it",
                self.dir.display(),
                email.reference
            ),
        })
    }
}

/// A file that could not be written: nobody was told. A folder that is gone or not writable needs a person;
/// anything else (a full disk) may pass, and the next run writes it again.
fn not_written(path: &Path, e: &std::io::Error) -> MailError {
    let detail = format!("cannot write {}: {e}", path.display());
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            MailError::Misconfigured { detail }
        }
        _ => MailError::NotSent { detail },
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use miro_sam_core::domain::Email;

    fn email(reference: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Your Miro license".into(),
            text: "Hello Ann, keep it here: http://127.0.0.1:8780/console/keep/k1.1.2.1.99.ab"
                .into(),
            html: "<p>Hello Ann</p>".into(),
            reference: reference.into(),
        }
    }

    #[tokio::test]
    async fn each_message_is_a_file_and_a_repeat_is_a_second_file() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            OutboxMailer::new(dir.path().join("out"), "miro-sam <it@example.com>").unwrap();
        let sent = outbox.send(&email("3074/42/1/notice")).await.unwrap();
        let first = outbox.dir().join("3074-42-1-notice.eml");
        assert_eq!(sent.message_id, Some(first.display().to_string()));
        let text = std::fs::read_to_string(&first).unwrap();
        assert!(text.contains("To: ann@example.com"), "{text}");
        assert!(text.contains("From: miro-sam <it@example.com>"), "{text}");
        assert!(text.contains("Subject: Your Miro license"), "{text}");
        assert!(
            text.contains("Message-ID: <3074/42/1/notice@miro-sam>"),
            "{text}"
        );

        outbox.send(&email("3074/42/1/notice")).await.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(outbox.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["3074-42-1-notice.2.eml", "3074-42-1-notice.eml"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&first), 0o600);
            assert_eq!(mode(outbox.dir()), 0o700);
        }
    }

    #[tokio::test]
    async fn a_bad_sender_or_a_folder_that_cannot_be_made_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = OutboxMailer::new(dir.path(), "not a mailbox").unwrap_err();
        assert!(matches!(e, OutboxError::Sender(_)), "{e}");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let e = OutboxMailer::new(file.join("out"), "it@example.com").unwrap_err();
        assert!(
            e.to_string().contains("cannot create the outbox folder"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_folder_removed_under_it_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::new(dir.path().join("out"), "it@example.com").unwrap();
        std::fs::remove_dir(outbox.dir()).unwrap();
        let e = outbox.send(&email("digest/2026-12-03")).await.unwrap_err();
        assert!(matches!(e, MailError::Misconfigured { .. }), "{e}");
    }
}
