//! Finding faces, choosing one, the result's size and bytes, the pose and the report.

use super::*;

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
fn a_kept_analysis_gives_the_same_result_and_grows_for_a_later_face() {
    use faceswap_engine::{Analysis, FaceChoice};
    let (a, group) = (photo("obama_1.jpg"), photo("group_t1.jpg"));
    let opts = |k| SwapOptions {
        template_face: FaceChoice::Index(k),
        ..SwapOptions::default()
    };
    let (mut source, mut template) = (Analysis::default(), Analysis::default());
    let first = engine()
        .swap_analysed(&a, &mut source, &group, &mut template, &opts(0))
        .unwrap();
    // The largest face was wanted: the detection stopped there.
    assert_eq!(template.faces().len(), 1);
    assert_eq!(source.faces().len(), 1);
    let again = engine()
        .swap_analysed(&a, &mut source, &group, &mut template, &opts(0))
        .unwrap();
    assert_eq!(first.image, again.image);
    // Reused, no model ran: only the fusion's own time is left.
    assert!(again.times.detect_and_mesh < first.times.detect_and_mesh / 4);
    // A later face makes the kept analysis grow, and the result is the fresh one's.
    let third = engine()
        .swap_analysed(&a, &mut source, &group, &mut template, &opts(2))
        .unwrap();
    assert!(template.faces().len() >= 3);
    assert_eq!(
        third.image,
        engine().swap(&a, &group, &opts(2)).unwrap().image
    );
    // A face-less photo's analysis stays face-less.
    let mut horses = Analysis::default();
    let err = engine()
        .swap_analysed(
            &a,
            &mut source,
            &photo("noface_horses.jpg"),
            &mut horses,
            &opts(0),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        EngineError::NoFace {
            role: Role::Template
        }
    ));
    assert!(horses.faces().is_empty());
}

#[test]
fn a_group_source_whose_largest_face_is_seen_from_the_side_gives_a_face_seen_from_the_front() {
    use faceswap_engine::Analysis;
    // group_t1's largest face is a near profile; two faces beside it, nearly as large, look at the
    // camera. Fused, the profile's hidden half was its near half mirrored: eyes and nose misplaced
    // on a frontal template.
    let (group, b) = (photo("group_t1.jpg"), photo("alex_1.png"));
    let faces = engine().detect(&group).unwrap();
    // The report's turn of the largest face, fused as the template's: its nose is at its side.
    let turn = |k: usize| {
        let opts = SwapOptions {
            template_face: faceswap_engine::FaceChoice::Index(k),
            ..SwapOptions::default()
        };
        engine().swap(&b, &group, &opts).unwrap().report.yaw[1]
    };
    assert!(
        turn(0).abs() > 1.0,
        "the largest is seen from the side: {}",
        turn(0)
    );
    // The group as the source (through a kept analysis) into alex_1.
    let from_group = |analysis: &mut Analysis| {
        engine()
            .swap_analysed(
                &group,
                analysis,
                &b,
                &mut Analysis::default(),
                &SwapOptions::default(),
            )
            .unwrap()
    };
    let mut source = Analysis::default();
    let swapped = from_group(&mut source);
    let used = faces
        .iter()
        .position(|f| f.face.rect == swapped.source_face.rect)
        .expect("a face of the group");
    assert!(used > 0, "not the profile");
    assert!(faces[used].face.rect.w >= 0.5 * faces[0].face.rect.w);
    assert!(
        swapped.report.yaw[0].abs() < 0.3,
        "{:?}",
        swapped.report.yaw
    );
    assert_eq!(swapped.report.yaw[0], turn(used));
    assert!(
        swapped
            .report
            .warnings
            .iter()
            .any(|w| w.contains("seen from the side")),
        "{:?}",
        swapped.report.warnings
    );
    // The faces up to the one used were meshed, no more; kept, the analysis gives the same
    // result again.
    assert_eq!(source.faces().len(), used + 1);
    assert_eq!(from_group(&mut source).image, swapped.image);
    // An analysis first made for the group as a template (its largest face only, the profile)
    // grows to the stand-in when the group is the source, and gives the same result.
    let mut kept = Analysis::default();
    engine()
        .swap_analysed(
            &b,
            &mut Analysis::default(),
            &group,
            &mut kept,
            &SwapOptions::default(),
        )
        .unwrap();
    assert_eq!(kept.faces().len(), 1);
    assert_eq!(from_group(&mut kept).image, swapped.image);
    assert_eq!(kept.faces().len(), used + 1);
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

#[test]
fn the_report_tells_beards_mouths_and_a_soft_source() {
    let r = report("df_img20.jpg", "df_img61.jpg");
    assert!(
        r.beard[1] > 0.2 && r.beard[1] > 4.0 * r.beard[0],
        "B's full beard, A shaven: {:?}",
        r.beard
    );
    // A short, dark beard whose hairs are hardly more detailed in levels than the skin's grain
    // (kit_1.jpg, a small face in a wide shot) is a beard by its contrast: it counts whole (0.2
    // of the lower face, over the 0.17 from which a beard counts fully; about 0.11 when detail was
    // measured in levels).
    let r = report("kit_1.jpg", "obama_1.jpg");
    assert!(r.beard[0] > 0.17, "kit_1's short beard: {:?}", r.beard);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("the source has a beard")),
        "{:?}",
        r.warnings
    );
    // A side-lit, clean-shaven face's shadows are no beard.
    let r = report("poster_m1.jpg", "portrait_m1.jpg");
    assert!(r.beard[0] < 0.08, "poster_m1's shadows: {:?}", r.beard);
    let r = report("df_img39.jpg", "df_img35.jpg");
    use faceswap_engine::MouthState::{Closed, Open};
    assert_eq!(r.mouths, [Open, Closed]);
    assert!(
        r.warnings.iter().any(|w| w.contains("mouth")),
        "{:?}",
        r.warnings
    );
    let r = report("alex_1.png", "poster_m1.jpg");
    assert!(
        r.sharpness_ratio < 0.5,
        "a small, soft A: {}",
        r.sharpness_ratio
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("soft")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_large_phone_photo_fuses_at_the_template_size_but_the_api_limit_still_refuses_it() {
    let bytes = std::fs::read(faces_dir().join("df_img41.jpg")).unwrap();
    let err = decode(&bytes, Role::Image, &PhotoLimits::IMAGE).unwrap_err();
    assert!(matches!(err, EngineError::TooLarge { .. }), "{err:?}");
    let (a, b) = (
        photo_any_size("df_img41.jpg"),
        photo_any_size("df_img54.jpg"),
    );
    assert_eq!(a.dimensions(), (2500, 2070));
    let swapped = engine().swap(&a, &b, &SwapOptions::default()).unwrap();
    assert_eq!(swapped.image.dimensions(), b.dimensions());
    assert_ne!(swapped.image, b, "the face was fused");
}

#[test]
fn the_pose_of_a_face_follows_its_turn_and_its_tilt() {
    let pose = |img: &RgbImage| engine().detect(img).unwrap().swap_remove(0).mesh.pose();
    let img = photo("obama_1.jpg");
    let frontal = pose(&img);
    eprintln!("obama_1: {frontal:?}");
    assert!(frontal.yaw.abs() < 20.0 && frontal.pitch.abs() < 25.0 && frontal.roll.abs() < 15.0);
    // Mirrored: the turn and the tilt change sign, the nod stays.
    let flipped = pose(&image::imageops::flip_horizontal(&img));
    assert!((flipped.yaw + frontal.yaw).abs() < 4.0, "{flipped:?}");
    assert!((flipped.roll + frontal.roll).abs() < 4.0, "{flipped:?}");
    // Rotated a quarter turn: the tilt is about 90 degrees.
    let turned = pose(&image::imageops::rotate90(&img));
    assert!((turned.roll.abs() - 90.0).abs() < 15.0, "{turned:?}");
    // A head turned to one side (kit_2.jpg) has a clear yaw.
    let side = pose(&photo("kit_2.jpg"));
    assert!(side.yaw < -12.0, "{side:?}");
    let points = engine().detect(&img).unwrap()[0].mesh.five_points();
    assert!(points[0].0 < points[1].0 && points[3].0 < points[4].0);
    assert!(
        points[0].1 < points[2].1 && points[2].1 < points[3].1,
        "eyes, nose, mouth from top"
    );
}
