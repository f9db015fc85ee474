//! What covers a face: the parse of hair, ears and background, and objects in front.

use super::*;

#[test]
fn the_parse_of_a_face_with_strands_over_an_eye_covers_them_and_not_the_cheeks() {
    // df_img3: blond strands fall over the brow and the outer cheek on the image's left.
    let (img, face) = only_face("df_img3.jpg");
    let parse = engine().parse(&img, &face).unwrap();
    let cover = |pts: &[usize]| mean_over(&face, pts, |x, y| 1.0 - parse.face(x, y));
    let (strands, cheeks, clear_side) = (
        cover(&[105, 111, 50]),
        cover(INNER_CHEEKS),
        cover(&[334, 280, 346]),
    );
    eprintln!("df_img3 cover: strands {strands}, inner cheeks {cheeks}, other side {clear_side}");
    assert!(strands > 0.5, "strands over the eye: {strands}");
    assert!(
        cheeks < 0.25 && clear_side < 0.25,
        "skin: {cheeks} {clear_side}"
    );
}

#[test]
fn the_parse_of_a_face_with_glasses_covers_the_frames_and_not_the_cheeks() {
    let glasses = |name: &str, pts: &[usize]| {
        let (img, face) = only_face(name);
        let parse = engine().parse(&img, &face).unwrap();
        mean_over(&face, pts, |x, y| {
            parse.at(x, y)[faceswap_engine::Part::Glasses as usize]
        })
    };
    // The bridge over the nose, beside the inner eye corners, and the rim under an eye.
    const FRAMES: &[usize] = &[168, 193, 417, 119];
    let (frames, cheeks) = (
        glasses("df_img24.jpg", FRAMES),
        glasses("df_img24.jpg", INNER_CHEEKS),
    );
    let without = glasses("df_img30.jpg", FRAMES);
    eprintln!("glasses: df_img24 frames {frames}, cheeks {cheeks}; df_img30 {without}");
    assert!(frames > 0.5, "frames: {frames}");
    assert!(cheeks < 0.1, "cheeks: {cheeks}");
    assert!(without < 0.1, "no glasses on df_img30: {without}");
}

#[test]
fn a_covered_sideburn_takes_no_mirrored_ear_from_the_far_side() {
    // df_img61's sideburn covers its near cheek by the ear, so that part is taken from the mirror
    // side, whose rim on this turned face is its ear and the wall: into group_t1's strongly turned
    // face it came as a red and pale streak by the ear, 52 pixels more than 35 levels redder (red
    // minus green) than the template there.
    let fused = fuse_into("df_img61.jpg", "group_t1.jpg");
    let redness = |p: &image::Rgb<u8>| p[0] as f32 - p[1] as f32;
    // A's brows and eyes are left out: they take the skin's colour shift, and on this warm print
    // A's brows come redder than the template's own.
    let features: Vec<Vec<(f32, f32)>> = [&BROW_A[..], &BROW_B[..], &EYE_A[..], &EYE_B[..]]
        .iter()
        .map(|idx| widened_contour(&fused.face, idx, 1.5))
        .collect();
    let feature = |x: u32, y: u32| {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        features.iter().any(|poly| in_polygon(poly, fx, fy))
    };
    let redder = fused
        .swapped
        .image
        .enumerate_pixels()
        .zip(fused.b.pixels())
        .filter(|((x, y, out), tpl)| redness(out) - redness(tpl) > 35.0 && !feature(*x, *y))
        .count();
    eprintln!("pixels much redder than the template: {redder}");
    assert!(
        redder < 15,
        "pixels much redder than the template: {redder}"
    );
}

#[test]
fn a_turned_template_s_far_cheek_takes_no_pale_spot_of_the_source_s_background() {
    // group_t1.jpg's face (92 px) is turned far away; df_img18.jpg's frontal face is fused into it,
    // and its far cheek comes from A's mirror side, whose outline the parse draws a few pixels into
    // A's pale background: sampled there, a pale round spot sat on the far cheek (at mesh point
    // 366).
    let Fused { b, swapped, face } = fuse_into("df_img18.jpg", "group_t1.jpg");
    let palest = FAR_CHEEK
        .iter()
        .flat_map(|&i| samples_around(&face, i))
        .map(|(x, y)| luma(swapped.image.get_pixel(x, y)) - luma(b.get_pixel(x, y)))
        .fold(f32::MIN, f32::max);
    eprintln!("the far cheek at most {palest} levels paler than the template's");
    assert!(palest < PALE_SPOT, "{palest}");
}

/// Mesh points over the cheek on the image's right, near the face's outline.
const FAR_CHEEK: &[usize] = &[366, 447, 352, 323, 401, 345, 376, 454, 361];

/// How much paler than the template a sample of the far cheek may be, in levels: 35 with the spot,
/// 9 without.
const PALE_SPOT: f32 = 20.0;

#[test]
fn a_small_group_face_s_short_hair_is_cover_and_not_copied() {
    // pascal_2women.jpg's lower woman: a face 78 px wide in a group photo, whose short dark hair
    // ends inside the parser's crop (the other woman's arms are above it). Not reaching the
    // crop's edge, all of it was taken for a stray patch: nothing of A counted as covered, and
    // the hair at her temple was copied onto rose_2.jpg's forehead as a dark smudge.
    let Fused { b, swapped, face } = fuse_into("pascal_2women.jpg", "rose_2.jpg");
    let covered = swapped.report.source_covered;
    // The forehead, from the brows up: its darkest pixels against B's own.
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, FOREHEAD);
    let darkest = |img: &RgbImage| {
        let mut levels = Vec::new();
        for y in y0 as u32..y1 as u32 {
            for x in x0 as u32..x1 as u32 {
                levels.push(luma(img.get_pixel(x, y)));
            }
        }
        levels.sort_by(f32::total_cmp);
        levels[levels.len() / 50]
    };
    let (in_b, in_result) = (darkest(&b), darkest(&swapped.image));
    eprintln!("covered {covered}; the forehead's darkest 2%: {in_result} (template {in_b})");
    assert!(covered > 0.1, "{covered}");
    assert!(
        in_result > in_b * SMUDGE_DARKER,
        "{in_result} against {in_b}"
    );
}

/// Mesh points around the forehead, from the brows' tops up.
const FOREHEAD: [usize; 11] = [67, 109, 10, 338, 297, 66, 105, 334, 296, 107, 336];

/// How dark against the template's the forehead's darkest pixels may be: 0.60 with the smudge,
/// 0.87 without.
const SMUDGE_DARKER: f32 = 0.8;

#[test]
fn the_parser_s_doubt_on_a_blond_face_is_no_cover() {
    // df_img3: a blond face framed by blond hair. The parser gives a third of hair to the nose
    // (0.36 to 0.40 along it) and to scattered cells of the cheeks; grown, that doubt left 44% of
    // the face to the template (D01: B's nose, brows and eye make-up showed through A's). Doubt is
    // no cover now: the nose is A's (grown cover 0.48 along it, under 0.01 now), the strands over the
    // brow and outer cheek are still cover, and 29% of the face is left to B (the hair down both
    // of A's cheeks).
    let (img, face) = only_face("df_img3.jpg");
    let grown = engine()
        .parse(&img, &face)
        .unwrap()
        .with_grown_cover(&face.mesh);
    let cover = |pts: &[usize]| mean_over(&face, pts, |x, y| 1.0 - grown.face(x, y));
    let (nose, strands) = (cover(&[197, 195, 5, 4, 1]), cover(&[105, 111, 50]));
    eprintln!("df_img3 grown cover: nose {nose}, strands {strands}");
    assert!(nose < 0.25, "the nose taken for hair: {nose}");
    assert!(strands > 0.5, "strands over the eye: {strands}");
    let Fused { swapped, .. } = fuse_into("df_img3.jpg", "df_img5.jpg");
    let missing = swapped.report.source_missing;
    eprintln!("df_img3 into df_img5: {missing} of the face left to the template");
    assert!(missing < 0.36, "left to the template: {missing}");
}

#[test]
fn the_ear_and_background_beside_a_face_s_outline_are_its_surroundings_and_its_skin_is_not() {
    // df_img13, turned a little, against a white background: its mesh's oval on the image's left
    // takes in the ear and a sliver of background along the cheek's outline, which warped onto
    // df_img41's frontal face made a pale band down its cheek. The parser's "other" reaching in
    // from the crop's edge at the rim is the surroundings; the inner face never is (hanks_112, a
    // black-and-white photo whose shaded cheek the parser calls background up to the mouth).
    let beyond_outline = |face: &faceswap_engine::FoundFace, parse: &FaceParse, pts: &[usize]| {
        let p = &face.mesh.points;
        let c = mean_point(face, &[1, 4, 5]);
        pts.iter()
            .map(|&i| {
                let (x, y) = (
                    p[i][0] + 0.1 * (p[i][0] - c.0),
                    p[i][1] + 0.1 * (p[i][1] - c.1),
                );
                parse.surroundings(x, y)
            })
            .sum::<f32>()
            / pts.len() as f32
    };
    let (img, face) = only_face("df_img13.jpg");
    let grown = engine()
        .parse(&img, &face)
        .unwrap()
        .with_grown_cover(&face.mesh);
    let (ear, cheeks) = (
        beyond_outline(&face, &grown, &[234, 93, 132]),
        mean_over(&face, INNER_CHEEKS, |x, y| grown.surroundings(x, y)),
    );
    eprintln!("df_img13 surroundings: beside the outline by the ear {ear}, inner cheeks {cheeks}");
    assert!(ear > 0.5, "the ear: {ear}");
    assert_eq!(cheeks, 0.0);
    let (img, face) = only_face("hanks_112.png");
    let grown = engine()
        .parse(&img, &face)
        .unwrap()
        .with_grown_cover(&face.mesh);
    let mouth = mean_over(&face, &[13, 14, 82, 87, 178, 179], |x, y| {
        grown.surroundings(x, y)
    });
    eprintln!("hanks_112 surroundings over the mouth {mouth}");
    assert!(mouth < 0.05, "the mouth: {mouth}");
}

/// The mean image point of the mesh points `pts`.
fn mean_point(face: &faceswap_engine::FoundFace, pts: &[usize]) -> (f32, f32) {
    let n = pts.len() as f32;
    let p = &face.mesh.points;
    (
        pts.iter().map(|&i| p[i][0]).sum::<f32>() / n,
        pts.iter().map(|&i| p[i][1]).sum::<f32>() / n,
    )
}

#[test]
fn hair_that_does_not_reach_the_face_from_outside_is_no_cover() {
    // df_img28, a platinum bob: the parser calls the nose hair (0.54 to 0.67 along it), a patch cut
    // off from the hair around the face. Taken as cover, the nose was the template's (its mirror
    // point is itself): df_img28 into df_img3 showed df_img3's nose, distance to A 0.51. Only hair
    // that reaches the face from the crop's edge covers it now: the nose is A's (0.31).
    let (img, face) = only_face("df_img28.jpg");
    let grown = engine()
        .parse(&img, &face)
        .unwrap()
        .with_grown_cover(&face.mesh);
    let nose = mean_over(&face, &[197, 195, 5, 4, 1], |x, y| 1.0 - grown.face(x, y));
    eprintln!("df_img28 grown cover along the nose: {nose}");
    assert!(nose < 0.2, "the nose taken for hair: {nose}");
}

#[test]
fn a_template_s_mouth_read_as_hair_stays_no_cover_over_the_new_one() {
    // The parser calls a small or stubbled template's mouth hair, alone inside the face:
    // poster_m1's (a 178-px face) and df_img30's. Kept in front as a strand would be, B's lips and
    // teeth cut through A's smile (0.037 and 0.016 of the face kept as the template's).
    for (source, template) in [
        ("cruise.jpg", "poster_m1.jpg"),
        ("df_img3.jpg", "df_img30.jpg"),
    ] {
        let Fused { swapped, .. } = fuse_into(source, template);
        let kept = swapped.report.template_covered;
        eprintln!("{source} into {template}: {kept} of the face kept as the template's");
        assert!(kept < 0.01, "{source} into {template}: {kept}");
    }
}

#[test]
fn a_microphone_in_front_of_the_source_s_chin_is_not_copied() {
    // lin.png sings into a microphone whose head covers the bottom of his chin: grey metal with a
    // white glint under a warm stage light, about as bright as his skin. The skin distance kept
    // it, and it came onto the template's chin as a dark bump with a pale spot. Much colder than
    // his skin, it is left to the template: its chin shows there.
    for b in ["biden_1.jpg", "obama_3.jpg"] {
        let Fused {
            b: tpl,
            swapped,
            face,
        } = fuse_into("lin.png", b);
        let p = |i: usize| (face.mesh.points[i][0], face.mesh.points[i][1]);
        // Where the microphone's head lands: a disk round the mesh's point 199, between the lower
        // lip and the chin's bottom, of radius MIC_REACH of the distance between them.
        let (lip, chin, centre) = (p(17), p(152), p(199));
        let r = MIC_REACH * (chin.0 - lip.0).hypot(chin.1 - lip.1);
        let (mut off, mut all) = (0, 0);
        for y in (centre.1 - r) as u32..(centre.1 + r) as u32 {
            for x in (centre.0 - r) as u32..(centre.0 + r) as u32 {
                if (x as f32 - centre.0).hypot(y as f32 - centre.1) < r {
                    let (o, t) = (swapped.image.get_pixel(x, y), tpl.get_pixel(x, y));
                    off += (0..3).any(|c| (o[c] as i32 - t[c] as i32).abs() > 25) as u32;
                    all += 1;
                }
            }
        }
        let share = off as f32 / all as f32;
        eprintln!("{b}: {share} of the chin's pixels more than 25 levels off the template's");
        assert!(share < MIC_OFF, "{b}: {share}");
    }
}

/// Radius of the disk where lin.png's microphone lands, in lengths from the lower lip to the chin.
const MIC_REACH: f32 = 0.35;

/// Share of that disk that may differ from the template by more than 25 levels in a channel.
const MIC_OFF: f32 = 0.2;
