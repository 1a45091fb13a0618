//! Running the `miro-sam` binary the way a script does: arguments, environment, exit code, stdout, stderr.
#![allow(dead_code)]

use std::process::Command;

#[cfg(feature = "sandbox")]
pub mod demo;
pub mod org;

/// Runs the binary with `env` set (and `MIRO_SAM_ORG` removed, so the caller's shell cannot choose the org).
pub fn miro_sam<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, String)],
) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miro-sam"));
    cmd.args(args).env_remove("MIRO_SAM_ORG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`miro_sam`] on a blocking thread, so that a sandbox serving on the test's runtime keeps answering meanwhile.
pub async fn miro_sam_blocking<S: AsRef<str>>(
    args: &[S],
    env: Vec<(&'static str, String)>,
) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.as_ref().to_owned()).collect();
    tokio::task::spawn_blocking(move || miro_sam(&args, &env))
        .await
        .unwrap()
}
