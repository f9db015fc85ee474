//! The engine on the shared real photos (`../shared/faces`), through the real models.

use std::path::PathBuf;
use std::sync::OnceLock;

use faceswap_engine::{decode, Engine, EngineConfig, EngineError, PhotoLimits, Role, SwapOptions};
use faceswap_models::ModelDir;
use image::RgbImage;

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

const FACE_PHOTOS: &[&str] = &[
    "alex_1.png",
    "alex_2.jpg",
    "biden_1.jpg",
    "biden_2.jpg",
    "cruise.jpg",
    "group_obama_biden.jpg",
    "group_t1.jpg",
    "hanks_112.png",
    "kit_1.jpg",
    "kit_2.jpg",
    "kit_3.jpg",
    "lin.png",
    "obama_1.jpg",
    "obama_2.jpg",
    "obama_3.jpg",
    "pascal_2women.jpg",
    "pascal_3men.jpg",
    "portrait_f1.jpg",
    "portrait_m1.jpg",
    "poster_m1.jpg",
    "rose_1.jpg",
    "rose_2.jpg",
];

#[test]
fn finds_a_face_in_every_face_photo_with_its_mesh_inside_the_box() {
    for name in FACE_PHOTOS {
        let img = photo(name);
        let faces = engine().detect(&img).unwrap();
        eprintln!(
            "{name}: {} face(s), largest {:?}",
            faces.len(),
            faces.first().map(|f| f.face.rect)
        );
        assert!(!faces.is_empty(), "no face found in {name}");
        let (face, mesh) = (&faces[0].face, &faces[0].mesh);
        assert_eq!(mesh.points.len(), 468);
        // The mesh covers the face; allow the box a margin for forehead and chin the detector trims.
        let (m, r) = (0.35, face.rect);
        for p in &mesh.points {
            assert!(
                p[0] >= r.x - m * r.w
                    && p[0] <= r.x + (1.0 + m) * r.w
                    && p[1] >= r.y - m * r.h
                    && p[1] <= r.y + (1.0 + m) * r.h,
                "{name}: mesh point {p:?} outside the face box {r:?}"
            );
        }
    }
}

#[test]
fn finds_no_face_among_horses() {
    assert!(engine()
        .detect(&photo("noface_horses.jpg"))
        .unwrap()
        .is_empty());
}

#[test]
fn finds_at_least_five_faces_in_the_group_photo() {
    let n = engine().detect(&photo("group_t1.jpg")).unwrap().len();
    assert!(n >= 5, "found {n}");
}

#[test]
fn a_face_less_template_is_no_face_detected_in_template() {
    let err = engine()
        .swap(
            &photo("obama_1.jpg"),
            &photo("noface_horses.jpg"),
            &SwapOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::NoFace {
                role: Role::Template
            }
        ),
        "{err:?}"
    );
}

#[test]
fn the_result_has_the_template_size_and_is_untouched_outside_the_face() {
    let (a, b) = (photo("obama_1.jpg"), photo("biden_2.jpg"));
    let swapped = engine().swap(&a, &b, &SwapOptions::default()).unwrap();
    assert_eq!(swapped.image.dimensions(), b.dimensions());
    // Outside the template face's box (with a margin for the forehead and jaw) nothing changes.
    let r = swapped.template_face.rect;
    let (x0, y0) = (
        (r.x - 0.5 * r.w).max(0.0) as u32,
        (r.y - 0.6 * r.h).max(0.0) as u32,
    );
    let (x1, y1) = ((r.x + 1.5 * r.w) as u32, (r.y + 1.5 * r.h) as u32);
    let mut changed_inside = 0;
    for (x, y, p) in swapped.image.enumerate_pixels() {
        let inside = x >= x0 && x < x1 && y >= y0 && y < y1;
        if !inside {
            assert_eq!(
                p,
                b.get_pixel(x, y),
                "pixel ({x}, {y}) outside the face changed"
            );
        } else if p != b.get_pixel(x, y) {
            changed_inside += 1;
        }
    }
    // And the face itself did change, substantially.
    assert!(
        changed_inside as f32 > 0.2 * r.w * r.h,
        "only {changed_inside} pixels changed"
    );
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let (a, b) = (photo("rose_1.jpg"), photo("portrait_f1.jpg"));
    let first = engine()
        .swap(&a, &b, &SwapOptions::default())
        .unwrap()
        .image;
    let second = engine()
        .swap(&a, &b, &SwapOptions::default())
        .unwrap()
        .image;
    let png =
        |img: &RgbImage| faceswap_engine::encode(img, faceswap_engine::OutputFormat::Png).unwrap();
    assert_eq!(png(&first), png(&second));
}

#[test]
fn a_face_under_fifty_pixels_is_no_face_detected_in_image() {
    // hanks_112.png's face is about 90 px wide; at 40% it is about 36 px.
    let small = image::imageops::resize(
        &photo("hanks_112.png"),
        45,
        45,
        image::imageops::FilterType::Triangle,
    );
    assert!(engine().detect(&photo("hanks_112.png")).unwrap().len() == 1);
    let err = engine()
        .swap(&small, &photo("biden_2.jpg"), &SwapOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NoFace { role: Role::Image }),
        "{err:?}"
    );
}

#[test]
fn a_template_face_can_be_chosen_by_index_and_a_missing_one_is_refused() {
    let (a, group) = (photo("obama_1.jpg"), photo("group_t1.jpg"));
    let opts = |k| SwapOptions {
        template_face: faceswap_engine::FaceChoice::Index(k),
        ..SwapOptions::default()
    };
    let second = engine().swap(&a, &group, &opts(1)).unwrap();
    assert_eq!(second.template_face_index, 1);
    let err = engine().swap(&a, &group, &opts(99)).unwrap_err();
    assert!(matches!(err, EngineError::NoSuchTemplateFace(_)), "{err:?}");
}
