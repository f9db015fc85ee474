//! The engine on the shared real photos (`../shared/faces`), through the real models: one test
//! binary (the models load once), one module per topic, the photos and measures they share here.

use std::path::PathBuf;
use std::sync::OnceLock;

use faceswap_engine::{
    decode, Engine, EngineConfig, EngineError, FaceParse, PhotoLimits, Role, SwapOptions,
};
use faceswap_models::ModelDir;
use image::RgbImage;

mod beards;
mod cover;
mod detection;
mod features;
mod glasses;
mod light;
mod mouths;

fn faces_dir() -> PathBuf {
    std::env::var_os("FACESWAP_FACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/faces"))
}

fn photo(name: &str) -> RgbImage {
    let bytes = std::fs::read(faces_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    decode(&bytes, Role::Template, &PhotoLimits::TEMPLATE).unwrap()
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(&EngineConfig::new(ModelDir::locate(None)))
            .expect("models (scripts/fetch-models.sh)")
    })
}

fn only_face(name: &str) -> (RgbImage, faceswap_engine::FoundFace) {
    let img = photo_any_size(name);
    let mut faces = engine().detect(&img).unwrap();
    assert!(!faces.is_empty(), "{name}: no face");
    (img, faces.swap_remove(0))
}

/// A photo of any size that fits the local pixel budget.
fn photo_any_size(name: &str) -> RgbImage {
    let bytes = std::fs::read(faces_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    decode(&bytes, Role::Image, &PhotoLimits::LOCAL).unwrap()
}

/// Photo `a` fused into photo `b` with the default options.
struct Fused {
    /// The template.
    b: RgbImage,
    /// The result and its report.
    swapped: faceswap_engine::Swapped,
    /// The template's face that was replaced (its largest).
    face: faceswap_engine::FoundFace,
}

fn fuse_into(a: &str, b: &str) -> Fused {
    let (a, b) = (photo_any_size(a), photo_any_size(b));
    let swapped = engine().swap(&a, &b, &SwapOptions::default()).unwrap();
    let face = engine().detect(&b).unwrap().swap_remove(0);
    Fused { b, swapped, face }
}

/// The box around the mesh points `idx`: left, right, top, bottom.
fn bounds(points: &[[f32; 3]], idx: impl IntoIterator<Item = usize>) -> [f32; 4] {
    idx.into_iter().fold(
        [f32::MAX, f32::MIN, f32::MAX, f32::MIN],
        |[x0, x1, y0, y1], i| {
            let [x, y, _] = points[i];
            [x0.min(x), x1.max(x), y0.min(y), y1.max(y)]
        },
    )
}

/// Brightness of a pixel (Rec. 601).
fn luma(p: &image::Rgb<u8>) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// Saturation of a pixel: (max − min) / max of its channels (0 for black).
fn saturation(p: &image::Rgb<u8>) -> f32 {
    let (max, min) = (*p.0.iter().max().unwrap(), *p.0.iter().min().unwrap());
    (max - min) as f32 / max.max(1) as f32
}

/// Mean of `f` over points between a mesh point and the point `up` inter-ocular distances above it.
fn mean_over(
    face: &faceswap_engine::FoundFace,
    points: &[usize],
    f: impl Fn(f32, f32) -> f32,
) -> f32 {
    let p = &face.mesh.points;
    points.iter().map(|&i| f(p[i][0], p[i][1])).sum::<f32>() / points.len() as f32
}

/// The mesh's contour of the eye on the image's left (the engine's landmarks::EYE_A: corners 33 and
/// 133), and of the other eye.
const EYE_A: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
];

const EYE_B: [usize; 16] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
];

/// The mesh's brow outlines.
const BROW_A: [usize; 10] = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46];
const BROW_B: [usize; 10] = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276];

/// Mesh points of the middle of the cheeks, beside the nose.
const INNER_CHEEKS: &[usize] = &[36, 205, 266, 425];

fn report(a: &str, b: &str) -> faceswap_engine::FusionReport {
    let swapped = engine()
        .swap(
            &photo_any_size(a),
            &photo_any_size(b),
            &SwapOptions::default(),
        )
        .unwrap();
    eprintln!("{a} into {b}: {:?}", swapped.report);
    swapped.report
}

/// Mean brightness of `img` around each of `points` of the mesh of `face` ([`samples_around`]).
fn brightness_around(
    img: &RgbImage,
    face: &faceswap_engine::FoundFace,
    points: &[usize],
) -> Vec<f32> {
    points
        .iter()
        .map(|&i| {
            let samples = samples_around(face, i);
            samples
                .iter()
                .map(|&(x, y)| luma(img.get_pixel(x, y)))
                .sum::<f32>()
                / samples.len() as f32
        })
        .collect()
}

/// The 5×5 pixels a fortieth of the face's width apart around mesh point `i` of `face`.
fn samples_around(face: &faceswap_engine::FoundFace, i: usize) -> Vec<(u32, u32)> {
    let step = face.face.rect.w / 40.0;
    let [x, y, _] = face.mesh.points[i];
    (-2..=2)
        .flat_map(|dy| (-2..=2).map(move |dx| (dx, dy)))
        .map(|(dx, dy)| ((x + dx as f32 * step) as u32, (y + dy as f32 * step) as u32))
        .collect()
}

/// Mesh points on the cheeks and forehead, both sides.
const SKIN_POINTS: &[usize] = &[
    50, 101, 118, 117, 205, 280, 330, 347, 346, 425, 108, 337, 67, 297, 151, 36, 266, 187, 411,
];

/// Whether the point (x, y) is inside `poly` (even-odd rule).
fn in_polygon(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut c = false;
    for k in 0..poly.len() {
        let (p, q) = (poly[k], poly[(k + 1) % poly.len()]);
        if (p.1 > y) != (q.1 > y) && x < p.0 + (y - p.1) / (q.1 - p.1) * (q.0 - p.0) {
            c = !c;
        }
    }
    c
}

/// A face's contour `idx` widened by `k` about its centre.
fn widened_contour(face: &faceswap_engine::FoundFace, idx: &[usize], k: f32) -> Vec<(f32, f32)> {
    let n = idx.len() as f32;
    let c = idx.iter().fold((0.0, 0.0), |(x, y), &i| {
        (
            x + face.mesh.points[i][0] / n,
            y + face.mesh.points[i][1] / n,
        )
    });
    idx.iter()
        .map(|&i| {
            let [x, y, _] = face.mesh.points[i];
            (c.0 + k * (x - c.0), c.1 + k * (y - c.1))
        })
        .collect()
}
