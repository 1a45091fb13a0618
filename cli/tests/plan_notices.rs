//! `miro-sam plan` sends the day's notices, the binary as an operator runs it: without a mail channel it says so
//! once and still plans; with `--outbox` each candidate gets one notice file whose keep link verifies with the
//! data directory's key, and planning again the same day tells nobody twice; by SMTP (aiosmtpd, `smtp_sink.py`)
//! each candidate gets one message; a wrong SMTP URL names the setting and never shows the password; `notices`
//! lists the records.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use miro_client::SecretString;
use miro_sam_cli::commands::notices::KEEP_LINK_KEY_FILE;
use miro_sam_cli::env;
use miro_sam_core::policy::{DEFAULT_NOTICE_DAYS, Policy};
use miro_sam_testkit::smtp_sink::SmtpSink;

mod common;

/// The settings of the notices: none may come from the shell that runs the tests.
const NOTICE_VARS: [&str; 8] = [
    env::SMTP_URL,
    env::OUTBOX_DIR,
    env::NOTICE_FROM,
    env::NOTICE_CONTACT,
    env::NOTICE_SEND_RATE,
    env::DIGEST_TO,
    env::WEBHOOK_URL,
    env::CONSOLE_URL,
];

use common::org::LocalOrg as Local;

impl Local {
    /// A data directory holding one downloaded sandbox org under a live policy with the default notices (7 days).
    async fn new(dry_run: bool) -> Local {
        let policy = Policy {
            dry_run,
            ..common::org::live_policy(DEFAULT_NOTICE_DAYS)
        };
        assert!(policy.notices_enabled(), "the default policy gives notice");
        Local::downloaded(60, &policy).await
    }

    /// Runs the binary on this data directory with `vars` set: (exit code, stdout, stderr).
    async fn run(&self, args: &[&str], vars: &[(&str, String)]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_miro-sam"));
        cmd.args(args)
            .env(env::DATA_DIR, self.dir.path())
            .env_remove(env::ORG)
            .env("USER", "tester");
        for v in NOTICE_VARS {
            cmd.env_remove(v);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
            .await
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn key(&self) -> SecretString {
        let hex = std::fs::read_to_string(self.dir.path().join(KEEP_LINK_KEY_FILE)).expect("key");
        SecretString::from(hex.trim().to_owned())
    }
}

/// The candidate count `plan` printed ("Plan ID for org ORG (policy vN): C candidates, ...").
fn candidates(out: &str) -> usize {
    let line = out
        .lines()
        .find(|l| l.starts_with("Plan "))
        .unwrap_or_else(|| panic!("no plan line: {out}"));
    let after = line.split("): ").nth(1).expect("counts");
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// The files in `dir` whose name ends with `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    f.sort();
    f
}

/// A keep link's token in a message: quoted-printable soft line breaks rejoined (a token holds no `=`).
fn keep_token(message: &str) -> Option<String> {
    let joined = message.replace("=\r\n", "").replace("=\n", "");
    let at = joined.find("/console/keep/")? + "/console/keep/".len();
    Some(
        joined[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_channel_the_plan_says_so_once_and_still_plans() {
    let l = Local::new(false).await;
    let (code, out, err) = l.run(&["plan"], &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(candidates(&out) > 0, "{out}");
    assert_eq!(
        out.matches("no mail channel is set").count(),
        1,
        "said once: {out}"
    );
    assert!(
        out.contains(env::SMTP_URL) && out.contains("--outbox"),
        "{out}"
    );
    let (code, out, err) = l.run(&["notices"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("No notices"), "nobody was told: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_gets_one_notice_per_candidate_and_a_second_plan_tells_nobody_twice() {
    let l = Local::new(false).await;
    let outbox = l.dir.path().join("outbox");
    let outbox_arg = outbox.display().to_string();
    let (code, out, err) = l.run(&["plan", "--outbox", &outbox_arg], &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    let told = candidates(&out);
    assert!(told > 0, "{out}");
    assert!(
        out.contains(&format!(
            "Notices through the outbox {outbox_arg}: {told} told, 0 reminded"
        )),
        "{out}"
    );
    assert!(!out.contains("no mail channel"), "{out}");

    let notices = files(&outbox, "-notice.eml");
    assert_eq!(notices.len(), told, "{notices:?}");
    let key = l.key();
    let mut members = BTreeSet::new();
    for f in &notices {
        let text = std::fs::read_to_string(f).unwrap();
        let token = keep_token(&text).unwrap_or_else(|| panic!("no keep link in {}", f.display()));
        assert!(
            text.contains("http://127.0.0.1:8780/console/keep/"),
            "the default console URL: {}",
            f.display()
        );
        let target = miro_sam_links::verify_keep_token(&key, &token, Utc::now())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(target.org, l.org);
        assert_eq!(target.cycle, 1);
        assert!(members.insert(target.member), "one notice per member");
    }

    // The same day again (the env names this time): a new plan, nobody told twice, no file written twice.
    let (code, out, err) = l
        .run(&["plan"], &[(env::OUTBOX_DIR, outbox_arg.clone())])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": 0 told, 0 reminded"), "{out}");
    assert_eq!(files(&outbox, "-notice.eml"), notices);
    // Not even the digest: it is claimed once per org per day.
    assert!(
        files(&outbox, ".2.eml").is_empty(),
        "nothing comes twice: {:?}",
        files(&outbox, ".2.eml")
    );

    let (code, out, err) = l.run(&["notices"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(" notified ").count(), told, "{out}");
    assert!(
        out.contains(&format!("{told} notice record(s) of org {}", l.org)),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_plan_tells_nobody_and_says_why() {
    let l = Local::new(true).await;
    let outbox = l.dir.path().join("outbox");
    let (code, out, err) = l
        .run(&["plan", "--outbox", &outbox.display().to_string()], &[])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Notices: none sent today:"), "{out}");
    assert!(out.contains("dry-run policy"), "{out}");
    assert!(files(&outbox, "-notice.eml").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_smtp_url_names_the_setting_and_never_shows_the_password() {
    let l = Local::new(false).await;
    let vars = |url: &str| {
        vec![
            (env::SMTP_URL, url.to_owned()),
            (env::NOTICE_FROM, "IT <it@example.com>".to_owned()),
        ]
    };
    for url in [
        "smtp://ann:hunter2@",
        "https://ann:hunter2@mail.example.com",
    ] {
        let (code, out, err) = l.run(&["plan"], &vars(url)).await;
        assert_eq!(
            code,
            i32::from(miro_sam_cli::exit::USAGE),
            "{url}: {out}{err}"
        );
        assert!(err.contains(env::SMTP_URL), "names the setting: {err}");
        assert!(err.contains("smtps://"), "says the form: {err}");
        assert!(
            !out.contains("hunter2") && !err.contains("hunter2"),
            "{out}{err}"
        );
        assert!(out.contains("Plan "), "the plan itself is stored: {out}");
    }
    // Help and a conflict with --outbox show the setting, never its value.
    let (_, out, err) = l
        .run(
            &["plan", "--help"],
            &vars("smtp://ann:hunter2@mail.example.com"),
        )
        .await;
    assert!(out.contains("--smtp-url"), "{out}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
    let (code, out, err) = l
        .run(
            &["plan", "--outbox", "/tmp/x"],
            &vars("smtp://ann:hunter2@mail.example.com"),
        )
        .await;
    assert_ne!(code, 0);
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
    // No sender: says which setting to add.
    let (code, _, err) = l
        .run(
            &["plan"],
            &[(env::SMTP_URL, "smtp://127.0.0.1:25".to_owned())],
        )
        .await;
    assert_eq!(code, i32::from(miro_sam_cli::exit::USAGE), "{err}");
    assert!(err.contains(env::NOTICE_FROM), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_smtp_each_candidate_gets_one_message_and_the_admins_the_digest() {
    let l = Local::new(false).await;
    let sink = SmtpSink::start();
    let vars = vec![
        (env::SMTP_URL, sink.url()),
        (env::NOTICE_FROM, "Acme IT <it@example.com>".to_owned()),
        (env::NOTICE_SEND_RATE, "200".to_owned()),
        (
            env::DIGEST_TO,
            "boss@example.com, it@example.com".to_owned(),
        ),
        (
            env::CONSOLE_URL,
            "https://console.example.com/console/".to_owned(),
        ),
    ];
    let (code, out, err) = l.run(&["plan"], &vars).await;
    assert_eq!(code, 0, "{out}{err}");
    let told = candidates(&out);
    assert!(
        out.contains(&format!("Notices through SMTP: {told} told")),
        "{out}"
    );
    let messages = sink.messages();
    let notices: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("/notice@miro-sam>"))
        .collect();
    assert_eq!(notices.len(), told, "one message per candidate");
    assert!(
        notices
            .iter()
            .all(|m| m.contains("From: \"Acme IT\" <it@example.com>"))
    );
    let key = l.key();
    for m in &notices {
        let joined = m.replace("=\r\n", "").replace("=\n", "");
        assert!(
            joined.contains("https://console.example.com/console/keep/k1."),
            "the configured console URL, one slash: {m}"
        );
        let token = keep_token(m).expect("a keep link");
        miro_sam_links::verify_keep_token(&key, &token, Utc::now()).expect("signed with the key");
    }
    // The digest: one message per admin address.
    let digests: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("digest/") && m.contains("@miro-sam>"))
        .collect();
    assert_eq!(digests.len(), 2, "{}", digests.len());
    assert!(digests.iter().any(|m| m.contains("To: boss@example.com")));

    // The same day again: no notice and no digest a second time (the digest is claimed once per org per day).
    let (code, out, err) = l.run(&["plan"], &vars).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        sink.messages().len(),
        messages.len(),
        "nothing sent twice: {out}"
    );
}
