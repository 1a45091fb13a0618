//! The demo's arguments as the tests run it (a small synthetic org, no console), and a child process that dies with
//! the test.

use std::path::Path;

use miro_sam_cli::args::DemoArgs;
use miro_sam_cli::commands::demo::{DemoOutcome, run_demo};

/// The demo of `members` members from `seed`, writing into `out`, without `--serve`.
pub fn demo_args(out: &Path, members: usize, seed: u64, dry_run: bool) -> DemoArgs {
    DemoArgs {
        members,
        seed,
        out: out.to_owned(),
        seat_price: 10.0,
        dry_run,
        serve: false,
        port: 0,
    }
}

/// The demo of [`demo_args`] run in a fresh directory: the directory (its files stay while the test holds it) and
/// what the demo did.
pub async fn ran(members: usize, seed: u64, dry_run: bool) -> (tempfile::TempDir, DemoOutcome) {
    let out = tempfile::tempdir().unwrap();
    let o = run_demo(&demo_args(out.path(), members, seed, dry_run))
        .await
        .expect("the demo runs");
    (out, o)
}

/// Kills the child when the test ends, pass or fail.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `miro-sam serve --port 0` on the data directory `data` and waits for the first line of its output that
/// `pick` takes (the address, a login link). Reading is the wait: the line is printed once the listener is bound.
/// The thread keeps reading afterwards, as a closed pipe would make the server's next line of output fail.
pub async fn serve(
    data: &Path,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> (Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_miro-sam"))
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--port", "0"])
            .env_remove("MIRO_SAM_ORG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(picked) = pick(&line) {
                let _ = tx.send(picked);
            }
        }
    });
    let picked = tokio::task::spawn_blocking(move || {
        rx.recv().expect("serve prints the line the test waits for")
    })
    .await
    .unwrap();
    (child, picked)
}
