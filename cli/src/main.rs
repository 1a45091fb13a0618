//! `miro-sam`: thin entry point. Parses the command line, sets up logging to stderr, runs the command, and turns
//! its outcome into a message and an exit code scripts can rely on.

use miro_sam_cli::{args::Cli, commands, exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse_env();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.global.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::code(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => exit::code(exit::OK),
        Err(f) => {
            eprintln!("error: {}", f.message);
            exit::code(f.code)
        }
    }
}
