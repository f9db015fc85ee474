//! `faceswap moderate`: what the sensitive-content filter sees in one photo, with the same model,
//! decoding and rule the service uses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use faceswap_engine::{decode, PhotoLimits, Role};
use faceswap_models::ModelDir;
use faceswap_moderation::{ModerationConfig, Moderator, Verdict};

/// Arguments of `faceswap moderate`. Prints every detection (label, score, box in pixels) and the
/// verdict. Exit status: 0 when the photo is clean, 3 when it is sensitive, 1 when the photo or the
/// model cannot be read, 2 for bad arguments (e.g. an unknown label in `--labels`).
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 clean, 3 sensitive, 1 photo or model unreadable, 2 bad arguments."
)]
pub struct Args {
    /// The photo to check (jpg, png, webp, bmp or gif).
    pub photo: PathBuf,
    /// Sensitive labels as `LABEL=SCORE,LABEL` (a bare label means 0.5), replacing the defaults
    /// (FEMALE_GENITALIA_EXPOSED, FEMALE_BREAST_EXPOSED, BUTTOCKS_EXPOSED, ANUS_EXPOSED,
    /// MALE_GENITALIA_EXPOSED at 0.5).
    #[arg(long, value_name = "SPEC", value_parser = parse_labels)]
    pub labels: Option<BTreeMap<String, f32>>,
    /// The ONNX model file (default: nudenet_320n.onnx in $FACESWAP_MODELS or ~/.cache/faceswap/models).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
}

fn parse_labels(spec: &str) -> Result<BTreeMap<String, f32>, String> {
    ModerationConfig::parse_labels(spec)
}

/// Runs `faceswap moderate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = ModerationConfig::new(&ModelDir::locate(None));
    if let Some(model) = args.model {
        config.model = model;
    }
    if let Some(labels) = args.labels {
        config.sensitive = labels;
    }
    let bytes = std::fs::read(&args.photo)
        .with_context(|| format!("cannot read {}", args.photo.display()))?;
    let img = decode(&bytes, Role::Image, &PhotoLimits::TEMPLATE)?;
    let moderator = Moderator::load(&config)?;
    let detections = moderator.detect(&img)?;
    outln!(
        "{}: {}×{} px, {} detection(s)",
        args.photo.display(),
        img.width(),
        img.height(),
        detections.len()
    );
    for d in &detections {
        let [x, y, w, h] = d.rect;
        let mark = match config.sensitive.get(d.label) {
            Some(&at) if d.score >= at => format!("  sensitive (≥ {at:.2})"),
            Some(&at) => format!("  below {at:.2}"),
            None => String::new(),
        };
        outln!(
            "  {:<24} {:.3}  x {x:.0} y {y:.0} w {w:.0} h {h:.0}{mark}",
            d.label,
            d.score
        );
    }
    let checked = if config.sensitive.is_empty() {
        "no labels".to_string()
    } else {
        config
            .sensitive
            .iter()
            .map(|(label, at)| format!("{label}≥{at:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match moderator.verdict(&detections) {
        Verdict::Clean => {
            outln!("verdict: clean (checked {checked})");
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Sensitive { label, score } => {
            outln!("verdict: sensitive: {label} {score:.3} (checked {checked})");
            Ok(ExitCode::from(3))
        }
    }
}
