//! `faceswap`: one binary for the service and its tools.

/// `println!` that returns the write's error instead of panicking: a command's output piped into
/// `head` is cut short, and the command ends quietly (see `main`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?;
    }};
}

mod bench;
mod keys;
mod memory;
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
    memory::keep_freed_buffers();
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
        // The reader went away (`faceswap swap ... | head`): nothing more to say to it.
        Err(e)
            if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
