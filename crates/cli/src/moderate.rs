//! `faceswap moderate`.

use std::process::ExitCode;

/// Arguments of `faceswap moderate`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `faceswap moderate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
