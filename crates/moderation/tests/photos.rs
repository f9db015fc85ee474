//! The filter on the shared real photos (`../shared/faces`, or `$FACESWAP_FACES`), through the real
//! model (`scripts/fetch-models.sh`). None of them is sensitive.

use std::path::PathBuf;
use std::time::Instant;

use faceswap_models::ModelDir;
use faceswap_moderation::{ModerationConfig, Moderator, Verdict};
use image::RgbImage;

fn faces_dir() -> PathBuf {
    std::env::var_os("FACESWAP_FACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/faces"
            ))
        })
}

/// Every photo of the folder (JPEG, PNG, WebP), by name, decoded to RGB (alpha dropped).
fn photos() -> Vec<(String, RgbImage)> {
    let dir = faces_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            let lower = name.to_ascii_lowercase();
            [".jpg", ".jpeg", ".png", ".webp"]
                .iter()
                .any(|ext| lower.ends_with(ext))
        })
        .collect();
    names.sort();
    // The folder grows; the 47 photos of today must all be there.
    assert!(names.len() >= 47, "photos in {}: {names:?}", dir.display());
    names
        .into_iter()
        .map(|name| {
            let img = image::open(dir.join(&name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .to_rgb8();
            (name, img)
        })
        .collect()
}

fn moderator(config: &ModerationConfig) -> Moderator {
    Moderator::load(config).expect("the NudeNet model and ONNX Runtime (scripts/fetch-models.sh)")
}

#[test]
fn no_shared_photo_is_refused_by_default() {
    let config = ModerationConfig::new(&ModelDir::locate(None));
    let moderator = moderator(&config);
    let photos = photos();
    let mut highest: Option<(String, &'static str, f32)> = None;
    let mut times = Vec::new();
    for (name, img) in &photos {
        let detections = moderator.detect(img).unwrap();
        for d in &detections {
            eprintln!(
                "{name}: {} {:.3} [{:.0}, {:.0}, {:.0}, {:.0}]",
                d.label, d.score, d.rect[0], d.rect[1], d.rect[2], d.rect[3]
            );
            assert!(d.rect[0] >= 0.0 && d.rect[0] + d.rect[2] <= img.width() as f32 + 1e-3);
            assert!(d.rect[1] >= 0.0 && d.rect[1] + d.rect[3] <= img.height() as f32 + 1e-3);
            if config.sensitive.contains_key(d.label)
                && highest.as_ref().is_none_or(|h| d.score > h.2)
            {
                highest = Some((name.clone(), d.label, d.score));
            }
        }
        let start = Instant::now();
        let verdict = moderator.check(img).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(verdict, Verdict::Clean, "{name}");
        assert_eq!(moderator.verdict(&detections), Verdict::Clean, "{name}");
    }
    match highest {
        Some((name, label, score)) => {
            eprintln!("highest sensitive-label score: {score:.3} ({label} in {name})")
        }
        None => eprintln!("highest sensitive-label score: none at or above the base threshold"),
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "check on one thread: median {:.1} ms over {} photos (min {:.1}, max {:.1}; test build)",
        times[times.len() / 2],
        times.len(),
        times[0],
        times[times.len() - 1]
    );
}

#[test]
fn a_female_face_is_sensitive_when_configured() {
    let mut config = ModerationConfig::new(&ModelDir::locate(None));
    config.sensitive = ModerationConfig::parse_labels("FACE_FEMALE=0.3").unwrap();
    let moderator = moderator(&config);
    let img = image::open(faces_dir().join("portrait_f1.jpg"))
        .unwrap()
        .to_rgb8();
    match moderator.check(&img).unwrap() {
        Verdict::Sensitive { label, score } => {
            eprintln!("portrait_f1.jpg: {label} {score:.3}");
            assert_eq!(label, "FACE_FEMALE");
            assert!(score >= 0.3);
        }
        Verdict::Clean => panic!("portrait_f1.jpg should be sensitive under FACE_FEMALE=0.3"),
    }
}
