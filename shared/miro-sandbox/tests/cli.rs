//! `miro-sandbox` / `miro-sam sandbox` print `export` lines for exactly the variables `miro-sam` reads, so
//! `eval "$(miro-sam sandbox)"` points the CLI at the sandbox.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use miro_sandbox::cli::{EXPORTED_NAMES, exports};
use miro_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxConfig};

/// The module where the CLI names its environment variables.
fn cli_sources() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../cli/src/env.rs");
    std::fs::read_to_string(path).expect("CLI source")
}

/// Evaluates `script` in sh and prints each exported variable, one per line.
fn eval_in_sh(script: &str) -> Vec<String> {
    let printf: String = EXPORTED_NAMES
        .iter()
        .map(|n| format!("printf '%s\\n' \"${n}\"; "))
        .collect();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("eval \"$1\"; {printf}"))
        .arg("sh")
        .arg(script)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_exported_name_is_one_the_cli_reads() {
    let sources = cli_sources();
    for name in EXPORTED_NAMES {
        // The CLI still reads a few names of earlier builds, with a warning: the sandbox prints the current ones.
        assert!(
            name.starts_with("MIRO_SAM_"),
            "{name} is not a current name"
        );
        assert!(
            sources.contains(&format!("\"{name}\"")),
            "{name} is printed but miro-sam does not read it"
        );
    }
    for must in [
        "MIRO_SAM_MIRO_OAUTH_BASE_URL",
        "MIRO_SAM_MIRO_API_BASE_URL",
        "MIRO_SAM_MIRO_SCIM_BASE_URL",
    ] {
        assert!(EXPORTED_NAMES.contains(&must), "{must} is not printed");
    }
}

#[tokio::test]
async fn the_exports_evaluate_to_the_sandbox_in_sh() {
    let sb = Sandbox::start(SandboxConfig::with_members(3))
        .await
        .unwrap();
    let ctl = sb.control();
    let org = ctl.org_ids()[0].clone();
    let script = exports(&sb);
    assert_eq!(script.lines().count(), EXPORTED_NAMES.len());
    assert!(script.lines().all(|l| l.starts_with("export ")), "{script}");
    let values = eval_in_sh(&script);
    assert_eq!(
        values,
        vec![
            sb.base_url(),
            sb.base_url(),
            sb.scim_base_url(),
            org.clone(),
            DEFAULT_CLIENT_ID.to_string(),
            DEFAULT_CLIENT_SECRET.to_string(),
            ctl.scim_token(&org),
        ]
    );
}

#[test]
fn the_binary_prints_exports_that_eval_and_point_at_a_live_server() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_miro-sandbox"))
        .args(["--port", "0", "--members", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sandbox binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut script = String::new();
    for _ in EXPORTED_NAMES {
        stdout.read_line(&mut script).expect("a line");
    }
    let values = eval_in_sh(&script);
    let api = url::Url::parse(&values[1]).expect("MIRO_SAM_MIRO_API_BASE_URL is a URL");
    let reachable =
        std::net::TcpStream::connect((api.host_str().unwrap(), api.port().expect("a port")));
    // Stop the child we started, by its own handle, before asserting.
    let _ = child.kill();
    let _ = child.wait();
    assert!(reachable.is_ok(), "nothing listens at {api}");
    assert_eq!(
        values[2],
        format!("{}/api/v1/scim", values[1].trim_end_matches('/'))
    );
    assert!(values.iter().all(|v| !v.is_empty()), "{values:?}");
    assert!(!script.contains("MIRO_BASE_URL="), "{script}");
}
