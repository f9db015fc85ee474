//! Sensitive-content filter: NudeNet's `320n.onnx` (a YOLOv8n detector) run on a photo, its output
//! decoded, thresholded and non-maximum suppressed, and a verdict from configured per-label scores.
//!
//! The pipeline follows NudeNet 3.4.2 (`nudenet/nudenet.py`): the photo is padded with black on the
//! right or bottom to a square, resized to [`INPUT_SIZE`]² and fed as RGB in [0, 1]; every candidate of
//! the `1×22×N` output keeps its best class if that class scores at least [`BASE_THRESHOLD`]; boxes are
//! scaled back to the photo, clipped to it, and suppressed across classes at IoU [`NMS_IOU`].

mod decode;
mod preprocess;

use std::collections::BTreeMap;
use std::path::PathBuf;

use faceswap_models::{Model, ModelDir, ModelError, RUNTIME_LIBRARY};
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

/// The labels that make a photo sensitive by default (each at [`DEFAULT_SCORE`]). Exposed male
/// breasts are deliberately not among them.
pub const DEFAULT_SENSITIVE: [&str; 5] = [
    "FEMALE_GENITALIA_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
];

/// The score of a default sensitive label, and of a label given without `=SCORE` to
/// [`ModerationConfig::parse_labels`].
pub const DEFAULT_SCORE: f32 = 0.5;

/// The side of the square image the model sees, in pixels.
pub const INPUT_SIZE: usize = 320;

/// A candidate whose best class scores below this is dropped before NMS (NudeNet's threshold).
pub const BASE_THRESHOLD: f32 = 0.2;

/// Non-maximum suppression: of two boxes overlapping by more than this IoU, whatever their labels,
/// only the higher-scoring one is kept (NudeNet's value).
pub const NMS_IOU: f32 = 0.45;

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
    /// A fingerprint of everything a verdict depends on: the model file (path, size, modification
    /// time) and each sensitive label's score. A cached verdict is reused only under the same one.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.model.hash(&mut h);
        if let Ok(meta) = std::fs::metadata(&self.model) {
            meta.len().hash(&mut h);
            meta.modified().ok().hash(&mut h);
        }
        for (label, score) in &self.sensitive {
            label.hash(&mut h);
            score.to_bits().hash(&mut h);
        }
        h.finish()
    }

    /// The defaults: the fetched NudeNet model, one thread, and the exposed genitalia, breast,
    /// buttocks and anus labels at score 0.5.
    pub fn new(models: &ModelDir) -> Self {
        ModerationConfig {
            model: models.root().join(NUDENET_MODEL),
            threads: 1,
            sensitive: DEFAULT_SENSITIVE
                .iter()
                .map(|label| (label.to_string(), DEFAULT_SCORE))
                .collect(),
        }
    }

    /// Parses `LABEL=SCORE,LABEL=SCORE` (a bare `LABEL` uses 0.5) into [`ModerationConfig::sensitive`].
    ///
    /// Labels are those of [`LABELS`] (case does not matter; the result uses their canonical
    /// spelling); scores are within 0..=1; spaces around parts are ignored. An empty or all-blank
    /// spec gives an empty map (nothing is sensitive). An unknown label, a bad score, an empty part
    /// or a label given twice is an error that names the offending part.
    pub fn parse_labels(spec: &str) -> Result<BTreeMap<String, f32>, String> {
        let mut labels = BTreeMap::new();
        if spec.trim().is_empty() {
            return Ok(labels);
        }
        for part in spec.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("empty label in {spec:?}"));
            }
            let (name, score) = match part.split_once('=') {
                Some((name, score)) => {
                    let text = score.trim();
                    let score: f32 = text
                        .parse()
                        .map_err(|_| format!("{part:?}: {text:?} is not a number"))?;
                    if !(0.0..=1.0).contains(&score) {
                        return Err(format!("{part:?}: the score must be within 0..=1"));
                    }
                    (name.trim(), score)
                }
                None => (part, DEFAULT_SCORE),
            };
            let label = label_index(name).map(|i| LABELS[i]).ok_or_else(|| {
                format!(
                    "{part:?}: unknown label {name:?} (known: {})",
                    LABELS.join(", ")
                )
            })?;
            if labels.insert(label.to_string(), score).is_some() {
                return Err(format!("{part:?}: label {label} given twice"));
            }
        }
        Ok(labels)
    }
}

/// The index in [`LABELS`] of `name`, compared without regard to case.
fn label_index(name: &str) -> Option<usize> {
    LABELS.iter().position(|l| l.eq_ignore_ascii_case(name))
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

/// The loaded filter. One run at a time per `Moderator` (runs are serialised inside); load one per
/// worker thread for parallel checks.
pub struct Moderator {
    model: Model,
    /// Per label index: the score at or above which it is sensitive, if it is configured.
    thresholds: [Option<f32>; LABELS.len()],
}

impl Moderator {
    /// Loads the model.
    ///
    /// ONNX Runtime comes from the model's own folder if `libonnxruntime.so` is there, else from the
    /// default model folder ([`ModelDir::locate`]`(None)`). Labels of [`ModerationConfig::sensitive`]
    /// that are not in [`LABELS`] never match.
    pub fn load(config: &ModerationConfig) -> Result<Moderator, ModelError> {
        let path = &config.model;
        if !path.is_file() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            return Err(ModelError::Missing {
                what: format!("model file {name}"),
                path: path.clone(),
            });
        }
        let dir = match path.parent() {
            Some(parent) if parent.join(RUNTIME_LIBRARY).is_file() => {
                ModelDir::locate(Some(parent))
            }
            _ => ModelDir::locate(None),
        };
        let model = Model::load_file(dir.runtime()?, path, config.threads)?;
        Ok(Moderator {
            model,
            thresholds: thresholds(&config.sensitive),
        })
    }

    /// Every detection above the model's base threshold, after NMS.
    ///
    /// Sorted by score, highest first; boxes are in `img`'s pixels and clipped to it.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, ModelError> {
        let (width, height) = img.dimensions();
        if width == 0 || height == 0 {
            return Ok(Vec::new());
        }
        let input = preprocess::input_tensor(img);
        let side = INPUT_SIZE as i64;
        let outputs = self.model.run(&[1, 3, side, side], &input)?;
        let output = outputs.first().ok_or_else(|| ModelError::Inference {
            name: self.model.name().to_string(),
            reason: "no output".into(),
        })?;
        decode::detections(&output.shape, &output.data, width, height).map_err(|reason| {
            ModelError::Inference {
                name: self.model.name().to_string(),
                reason,
            }
        })
    }

    /// The verdict on `img` under the configured labels.
    pub fn check(&self, img: &RgbImage) -> Result<Verdict, ModelError> {
        Ok(self.verdict(&self.detect(img)?))
    }

    /// The verdict on detections already made (by [`Moderator::detect`]) under the configured
    /// labels: the highest-scoring detection whose label is configured and whose score reaches the
    /// label's configured score makes the photo sensitive.
    pub fn verdict(&self, detections: &[Detection]) -> Verdict {
        verdict(&self.thresholds, detections)
    }
}

/// The configured labels as per-index thresholds; unknown labels are left out.
fn thresholds(sensitive: &BTreeMap<String, f32>) -> [Option<f32>; LABELS.len()] {
    let mut thresholds = [None; LABELS.len()];
    for (name, &score) in sensitive {
        if let Some(i) = label_index(name) {
            thresholds[i] = Some(score);
        }
    }
    thresholds
}

/// The verdict rule (see [`Moderator::verdict`]).
fn verdict(thresholds: &[Option<f32>; LABELS.len()], detections: &[Detection]) -> Verdict {
    let mut best: Option<&Detection> = None;
    for d in detections {
        let Some(threshold) = label_index(d.label).and_then(|i| thresholds[i]) else {
            continue;
        };
        if d.score >= threshold && best.is_none_or(|b| d.score > b.score) {
            best = Some(d);
        }
    }
    match best {
        Some(d) => Verdict::Sensitive {
            label: d.label,
            score: d.score,
        },
        None => Verdict::Clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(label: &'static str, score: f32) -> Detection {
        Detection {
            label,
            score,
            rect: [0.0, 0.0, 10.0, 10.0],
        }
    }

    #[test]
    fn defaults() {
        let config = ModerationConfig::new(&ModelDir::locate(Some("/m".as_ref())));
        assert_eq!(config.model, PathBuf::from("/m/nudenet_320n.onnx"));
        assert_eq!(config.threads, 1);
        assert_eq!(config.sensitive.len(), 5);
        assert!(config.sensitive.values().all(|&s| s == 0.5));
        assert!(!config.sensitive.contains_key("MALE_BREAST_EXPOSED"));
        assert!(config.sensitive.contains_key("MALE_GENITALIA_EXPOSED"));
    }

    #[test]
    fn parse_labels_accepts_scores_and_bare_labels() {
        let parsed = ModerationConfig::parse_labels("FACE_FEMALE=0.6,BELLY_EXPOSED").unwrap();
        assert_eq!(
            parsed.into_iter().collect::<Vec<_>>(),
            vec![
                ("BELLY_EXPOSED".to_string(), 0.5),
                ("FACE_FEMALE".to_string(), 0.6)
            ]
        );
        let parsed = ModerationConfig::parse_labels(" face_male = 1 , ANUS_EXPOSED=0 ").unwrap();
        assert_eq!(parsed["FACE_MALE"], 1.0);
        assert_eq!(parsed["ANUS_EXPOSED"], 0.0);
        assert!(ModerationConfig::parse_labels("").unwrap().is_empty());
        assert!(ModerationConfig::parse_labels("  ").unwrap().is_empty());
    }

    #[test]
    fn parse_labels_names_the_bad_part() {
        let err = ModerationConfig::parse_labels("FACE_FEMALE=0.6,NOSE_EXPOSED=0.4").unwrap_err();
        assert!(err.contains("NOSE_EXPOSED"), "{err}");
        assert!(!err.contains("\"FACE_FEMALE=0.6\""), "{err}");
        let err = ModerationConfig::parse_labels("FACE_FEMALE=1.5").unwrap_err();
        assert!(
            err.contains("FACE_FEMALE=1.5") && err.contains("0..=1"),
            "{err}"
        );
        let err = ModerationConfig::parse_labels("FACE_FEMALE=-0.1").unwrap_err();
        assert!(err.contains("FACE_FEMALE=-0.1"), "{err}");
        let err = ModerationConfig::parse_labels("FACE_FEMALE=high").unwrap_err();
        assert!(err.contains("high"), "{err}");
        let err = ModerationConfig::parse_labels("FACE_FEMALE=NaN").unwrap_err();
        assert!(err.contains("NaN"), "{err}");
        let err = ModerationConfig::parse_labels("FACE_FEMALE,,FACE_MALE").unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = ModerationConfig::parse_labels("FACE_FEMALE,face_female=0.3").unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn verdict_takes_the_highest_configured_detection_at_its_score() {
        let sensitive =
            ModerationConfig::parse_labels("BUTTOCKS_EXPOSED=0.5,FACE_FEMALE=0.3").unwrap();
        let t = thresholds(&sensitive);
        assert_eq!(verdict(&t, &[]), Verdict::Clean);
        // Unconfigured labels never count, however high.
        assert_eq!(verdict(&t, &[det("FACE_MALE", 0.99)]), Verdict::Clean);
        // Below its own score: clean, even though another label's score would be reached.
        assert_eq!(
            verdict(&t, &[det("BUTTOCKS_EXPOSED", 0.45)]),
            Verdict::Clean
        );
        // At the score exactly: sensitive.
        assert_eq!(
            verdict(&t, &[det("BUTTOCKS_EXPOSED", 0.5)]),
            Verdict::Sensitive {
                label: "BUTTOCKS_EXPOSED",
                score: 0.5
            }
        );
        // The highest-scoring qualifying detection wins, whatever the order.
        let detections = [
            det("FACE_MALE", 0.9),
            det("FACE_FEMALE", 0.35),
            det("BUTTOCKS_EXPOSED", 0.45),
            det("BUTTOCKS_EXPOSED", 0.6),
            det("FACE_FEMALE", 0.4),
        ];
        assert_eq!(
            verdict(&t, &detections),
            Verdict::Sensitive {
                label: "BUTTOCKS_EXPOSED",
                score: 0.6
            }
        );
        // An unknown configured label is ignored.
        let mut odd = BTreeMap::new();
        odd.insert("NOSE".to_string(), 0.1);
        assert_eq!(verdict(&thresholds(&odd), &detections), Verdict::Clean);
    }

    #[test]
    fn moderator_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Moderator>();
    }

    #[test]
    fn missing_model_names_the_fetch_command() {
        let mut config =
            ModerationConfig::new(&ModelDir::locate(Some("/nonexistent/models".as_ref())));
        config.model = PathBuf::from("/nonexistent/models/nudenet_320n.onnx");
        let err = Moderator::load(&config).err().expect("no model there");
        assert!(matches!(err, ModelError::Missing { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(faceswap_models::FETCH_COMMAND),
            "{message}"
        );
        assert!(message.contains("nudenet_320n.onnx"), "{message}");
    }
}
