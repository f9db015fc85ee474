//! `faceswap`: one binary for the service and its tools.

mod bench;
mod keys;
mod moderate;
mod serve;
mod swap;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "faceswap",
    version,
    about = "Self-hosted face fusion service and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (POST /v1/faceswap).
    Serve(Box<serve::Args>),
    /// Create, list, credit and revoke API keys.
    Keys(keys::Args),
    /// Fuse the face of one photo into another and write the result.
    Swap(swap::Args),
    /// Print what the sensitive-content filter sees in a photo.
    Moderate(moderate::Args),
    /// Measure per-stage and end-to-end medians on photo pairs.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Keys(args) => keys::run(args),
        Command::Swap(args) => swap::run(args),
        Command::Moderate(args) => moderate::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
