//! `faceswap swap`: one fusion from the command line, through the same engine the service uses.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use faceswap_engine::{
    decode, encode, Engine, EngineConfig, EngineError, FaceChoice, OutputFormat, PhotoLimits, Role,
    SwapOptions,
};
use faceswap_models::ModelDir;

/// Arguments of `faceswap swap`. On failure it prints the code the HTTP API would answer with and
/// exits with status 2.
#[derive(clap::Args)]
pub struct Args {
    /// Photo A: the face that is wanted.
    #[arg(long)]
    pub image: PathBuf,
    /// Photo B: the head, body and scene that are kept.
    #[arg(long)]
    pub template: PathBuf,
    /// Where to write the result; the format follows the extension (.png, .jpg/.jpeg, .webp).
    #[arg(long)]
    pub out: PathBuf,
    /// Fusion degree 0–100 (100: A's features fully; lower keeps more of B's shape).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub degree: u8,
    /// Which template face to replace, largest first, counting from 0 (default: the largest).
    #[arg(long)]
    pub face: Option<usize>,
    /// Model folder (default: $FACESWAP_MODELS or ~/.cache/faceswap/models).
    #[arg(long, env = "FACESWAP_MODELS")]
    pub models: Option<PathBuf>,
}

/// Runs `faceswap swap`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let format = OutputFormat::from_extension(ext).with_context(|| {
        format!(
            "cannot tell the output format from {:?}: use .png, .jpg or .webp",
            args.out
        )
    })?;
    let engine = Engine::load(&EngineConfig::new(ModelDir::locate(args.models.as_deref())))?;
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let (a_bytes, b_bytes) = (read(&args.image)?, read(&args.template)?);
    let options = SwapOptions {
        degree: args.degree,
        template_face: args.face.map(FaceChoice::Index).unwrap_or_default(),
    };
    let result = decode(&a_bytes, Role::Image, &PhotoLimits::IMAGE)
        .and_then(|a| Ok((a, decode(&b_bytes, Role::Template, &PhotoLimits::TEMPLATE)?)))
        .and_then(|(a, b)| engine.swap(&a, &b, &options));
    let swapped = match result {
        Ok(s) => s,
        Err(EngineError::Model(e)) => return Err(e.into()),
        Err(e) => {
            println!("{}: {e}", faceswap_server::api::engine_error("", &e).code());
            return Ok(ExitCode::from(2));
        }
    };
    std::fs::write(&args.out, encode(&swapped.image, format)?)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let (s, t) = (swapped.source_face.rect, swapped.template_face.rect);
    println!(
        "source face: {:.0}×{:.0} px at ({:.0}, {:.0}); template face {} (largest first): {:.0}×{:.0} px at ({:.0}, {:.0}); wrote {}",
        s.w, s.h, s.x, s.y, swapped.template_face_index, t.w, t.h, t.x, t.y,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
