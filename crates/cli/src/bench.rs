//! `faceswap bench`.

use std::process::ExitCode;

/// Arguments of `faceswap bench`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `faceswap bench`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
