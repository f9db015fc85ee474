//! Sensitive-content filter: NudeNet's `320n.onnx` (a YOLOv8n detector) run on a photo, its output
//! decoded, thresholded and non-maximum suppressed, and a verdict from configured per-label scores.
//!
//! API fixed for the server; implementation in progress.

use std::collections::BTreeMap;
use std::path::PathBuf;

use faceswap_models::{ModelDir, ModelError};
use image::RgbImage;

/// The model's file name in the model folder.
pub const NUDENET_MODEL: &str = "nudenet_320n.onnx";

/// NudeNet's 18 labels, in the model's output order.
pub const LABELS: [&str; 18] = [
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
];

/// Filter settings.
#[derive(Debug, Clone)]
pub struct ModerationConfig {
    /// The ONNX model file (default: `nudenet_320n.onnx` in the model folder).
    pub model: PathBuf,
    /// Intra-op threads.
    pub threads: usize,
    /// Label → the score at or above which the label makes a photo sensitive.
    pub sensitive: BTreeMap<String, f32>,
}

impl ModerationConfig {
    /// The defaults: the fetched NudeNet model, one thread, and the exposed genitalia, breast,
    /// buttocks and anus labels at score 0.5.
    pub fn new(models: &ModelDir) -> Self {
        let _ = models;
        todo!()
    }

    /// Parses `LABEL=SCORE,LABEL=SCORE` (a bare `LABEL` uses 0.5) into [`ModerationConfig::sensitive`].
    pub fn parse_labels(spec: &str) -> Result<BTreeMap<String, f32>, String> {
        let _ = spec;
        todo!()
    }
}

/// One detection of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// One of [`LABELS`].
    pub label: &'static str,
    /// 0–1.
    pub score: f32,
    /// Box in image pixels: x, y, width, height.
    pub rect: [f32; 4],
}

/// The filter's decision on one photo.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Nothing configured as sensitive reached its score.
    Clean,
    /// The highest-scoring detection of a sensitive label.
    Sensitive {
        /// The label.
        label: &'static str,
        /// Its score.
        score: f32,
    },
}

/// The loaded filter.
pub struct Moderator {}

impl Moderator {
    /// Loads the model.
    pub fn load(config: &ModerationConfig) -> Result<Moderator, ModelError> {
        let _ = config;
        todo!()
    }

    /// Every detection above the model's base threshold, after NMS.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, ModelError> {
        let _ = img;
        todo!()
    }

    /// The verdict on `img` under the configured labels.
    pub fn check(&self, img: &RgbImage) -> Result<Verdict, ModelError> {
        let _ = img;
        todo!()
    }
}
