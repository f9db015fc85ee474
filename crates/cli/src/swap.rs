//! `faceswap swap`.

use std::process::ExitCode;

/// Arguments of `faceswap swap`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `faceswap swap`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
