//! Progress bars on a terminal, silence otherwise (pipes, CI, tests).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

pub fn spinner(message: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, target());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    pb.set_message(message.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

pub fn bar(len: u64, message: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), target());
    pb.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed}, {eta} left]")
            .expect("static template"),
    );
    pb.set_message(message.to_owned());
    pb
}
