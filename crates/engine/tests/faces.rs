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
