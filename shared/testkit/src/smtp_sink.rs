//! The local SMTP server of the notice tests: `smtp_sink.py` next to this crate's manifest (aiosmtpd, from the
//! test Python environment `./scripts/test.sh` installs into `.venv`). It prints `ready PORT`, saves each
//! accepted message as `DIR/NNNN.eml` before its 250 reply, and stops when its standard input closes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use miro_sam_notify::{DEFAULT_SMTP_TIMEOUT, SmtpMailer};
use secrecy::SecretString;

/// A running `smtp_sink.py`; stops when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// This crate's folder: the script lives here, the workspace (and its `.venv`) two levels up.
fn kit_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let python = kit_dir().join("../../.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: the SMTP tests need the test Python environment with aiosmtpd; run them with \
             ./scripts/test.sh, which installs requirements-test.txt into .venv",
            python.display()
        );
        let dir = tempfile::tempdir().expect("a folder for the messages");
        let mut child = Command::new(python)
            .arg(kit_dir().join("smtp_sink.py"))
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start smtp_sink.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the sink's ready line");
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("smtp_sink.py did not start: {line:?}"));
        SmtpSink { child, port, dir }
    }

    /// The server's address as miro-sam's SMTP setting takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// miro-sam's SMTP mailer, sending to this server.
    pub fn mailer(&self) -> SmtpMailer {
        SmtpMailer::new(
            &SecretString::from(self.url()),
            "miro-sam <it@example.com>",
            DEFAULT_SMTP_TIMEOUT,
        )
        .expect("mailer")
    }

    /// The messages the server accepted, in order, as received (MIME, quoted-printable parts as sent).
    pub fn messages(&self) -> Vec<String> {
        messages_in(self.dir.path())
    }
}

fn messages_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the sink's folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read message"))
        .collect()
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The `text/html` part of a MIME message, decoded as a mail client shows it (quoted-printable undone).
pub fn html_part(message: &str) -> Option<String> {
    let at = message.find("Content-Type: text/html")?;
    let part = &message[at..];
    let body_start = part
        .find("\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| part.find("\n\n").map(|i| i + 2))?;
    let headers = &part[..body_start];
    let body = &part[body_start..];
    // The part ends at the next boundary line.
    let body = &body[..body.find("\n--").unwrap_or(body.len())];
    if headers.contains("Content-Transfer-Encoding: quoted-printable") {
        Some(unquote(body))
    } else {
        Some(body.to_owned())
    }
}

/// Quoted-printable soft line breaks and escapes undone (what a mail client shows). An `=` not followed by two
/// hex digits stays as it is.
pub fn unquote(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(Ok(b)) = joined.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_undoes_soft_breaks_and_escapes_and_keeps_a_lone_equals_sign() {
        assert_eq!(unquote("caf=C3=A9 =\r\nbar=\nbaz"), "café barbaz");
        assert_eq!(unquote("a=zz b=4"), "a=zz b=4");
    }

    #[test]
    fn html_part_finds_and_decodes_the_html_part() {
        let msg = "Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/html\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"x\">k</a>\r\n--b--";
        assert_eq!(html_part(msg).as_deref(), Some("<a href=\"x\">k</a>\r"));
        assert_eq!(html_part("Content-Type: text/plain\r\n\r\nhi"), None);
    }
}
