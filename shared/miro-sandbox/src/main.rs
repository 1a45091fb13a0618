//! `miro-sandbox`: run the sandbox by hand and print what a client needs to talk to it.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "miro-sandbox",
    about = "Miro (OAuth, REST v2 orgs, SCIM 2.0), played locally"
)]
struct Args {
    #[command(flatten)]
    serve: miro_sandbox::cli::ServeArgs,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    miro_sandbox::cli::serve(Args::parse().serve).await
}
