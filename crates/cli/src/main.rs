//! `rbg`: the operator's command line for rds-bluegreen. Each command starts (or reads) an
//! execution of the deployed state machines through the Step Functions API and reports it;
//! `rbg --help` lists the commands and the exit codes.

mod awsctx;
mod cli;
mod commands;
mod discover;
mod exit;
mod follow;
mod history;
mod phase;
mod render;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args).await {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("rbg: {}", e.message);
            e.exit.into()
        }
    }
}
