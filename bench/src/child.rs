//! A benchmark run in a child process of this binary (`download-run`, `plan-run`), so that the peak RSS and CPU
//! time it reports are its own: the child prints one `RESULT {json}` line, the parent reads it back.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;
use serde::de::DeserializeOwned;

const PREFIX: &str = "RESULT ";

/// The child's side: prints `result` as the one line the parent looks for.
pub fn print_result<T: Serialize>(result: &T) -> Result<(), String> {
    let json = serde_json::to_string(result).map_err(|e| e.to_string())?;
    println!("{PREFIX}{json}");
    Ok(())
}

/// The parent's side: runs `exe` with `args` (the first is the subcommand) and reads its result line.
pub fn run<T: DeserializeOwned>(exe: &Path, args: &[String]) -> Result<T, String> {
    let what = args.first().map_or("the child", String::as_str);
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{what} failed ({}): {stdout}", out.status));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(PREFIX))
        .ok_or_else(|| format!("{what} printed no result: {stdout}"))?;
    serde_json::from_str(line).map_err(|e| format!("bad {what} result {line:?}: {e}"))
}
