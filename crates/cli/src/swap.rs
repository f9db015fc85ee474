//! `faceswap swap`: one fusion from the command line, through the same engine the service uses.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use faceswap_engine::{
    decode, encode, Engine, EngineConfig, EngineError, FaceChoice, OutputFormat, PhotoLimits, Rect,
    Role, SwapOptions,
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
    #[arg(long, conflicts_with = "face_rect")]
    pub face: Option<usize>,
    /// Replace the template face that overlaps this rectangle most: X,Y,WIDTH,HEIGHT in template
    /// pixels.
    #[arg(long, value_name = "X,Y,W,H", value_parser = parse_rect)]
    pub face_rect: Option<Rect>,
    /// Print the fusion report (pose, cover, mouths, beards, light, sharpness, warnings) as JSON.
    #[arg(long)]
    pub report: bool,
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
        template_face: match (args.face, args.face_rect) {
            (_, Some(r)) => FaceChoice::Region(r),
            (Some(k), None) => FaceChoice::Index(k),
            (None, None) => FaceChoice::Largest,
        },
    };
    let result = decode(&a_bytes, Role::Image, &PhotoLimits::LOCAL)
        .and_then(|a| Ok((a, decode(&b_bytes, Role::Template, &PhotoLimits::LOCAL)?)))
        .and_then(|(a, b)| engine.swap(&a, &b, &options));
    let swapped = match result {
        Ok(s) => s,
        Err(EngineError::Model(e)) => return Err(e.into()),
        Err(e) => {
            outln!("{}: {e}", faceswap_server::api::engine_error("", &e).code());
            return Ok(ExitCode::from(2));
        }
    };
    std::fs::write(&args.out, encode(&swapped.image, format)?)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if args.report {
        outln!("{}", serde_json::to_string_pretty(&swapped.report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let (s, t) = (swapped.source_face.rect, swapped.template_face.rect);
    outln!(
        "source face: {:.0}×{:.0} px at ({:.0}, {:.0}); template face {} (largest first): {:.0}×{:.0} px at ({:.0}, {:.0}); wrote {}",
        s.w, s.h, s.x, s.y, swapped.template_face_index, t.w, t.h, t.x, t.y,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `X,Y,W,H` as a rectangle with a positive size.
fn parse_rect(s: &str) -> Result<Rect, String> {
    let v: Vec<f32> = s
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e}: expected X,Y,W,H"))?;
    match v[..] {
        [x, y, w, h] if v.iter().all(|n| n.is_finite()) && w > 0.0 && h > 0.0 => {
            Ok(Rect { x, y, w, h })
        }
        _ => Err("expected four numbers X,Y,W,H with a positive width and height".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rect;

    #[test]
    fn face_rectangles_parse_and_bad_ones_are_refused() {
        let r = parse_rect("10, 20.5,30,40").unwrap();
        assert_eq!((r.x, r.y, r.w, r.h), (10.0, 20.5, 30.0, 40.0));
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "1,2,0,4",
            "a,b,c,d",
            "1,2,-3,4",
            "1,2,inf,4",
        ] {
            assert!(parse_rect(bad).is_err(), "{bad}");
        }
    }
}
