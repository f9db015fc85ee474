//! Beards: a source's carried to the template's jaw, a template's kept around the new face.

use super::*;

/// How much darker than the shaven template a full moustache is when carried, at least, in levels.
const MOUSTACHE_DARKER: f32 = 40.0;

/// How much darker than the shaven template a carried beard is at least just above B's jaw line.
const CHIN_BEARD_DARKER: f32 = 20.0;

#[test]
fn a_bearded_source_s_beard_is_carried_down_to_a_shaven_template_s_jaw() {
    // df_img61.jpg has a full beard and moustache, df_img20.jpg is shaven. The beard used to be
    // shaved off (left to B's skin): A's mouth then sat in B's bare skin and the result looked
    // like B (identity distance to A 0.62 on the scorer). Carried, the moustache is A's and the
    // beard reaches B's chin instead of fading into B's skin above it (a floating beard).
    // Carried: 96 levels darker than B above the lip, 62 at the chin; shaved, 0-8 at both.
    beard_carried("df_img61.jpg", "df_img20.jpg", 0.2, MOUSTACHE_DARKER);
    // df_img24.jpg's trimmed beard around an open smile, into a pale, freckled face: its
    // moustache is thin over the middle of the lip (9 levels), its chin beard full (62).
    beard_carried("df_img24.jpg", "df_img14.jpg", 0.17, 0.0);
}

#[test]
fn a_carried_beard_s_slanted_strands_are_not_mirrored_into_a_fern_along_the_jaw() {
    // kit_2.jpg's beard runs in curls slanted across its jaw line; portrait_f1.jpg is shaven. The
    // beard's continuation past the oval mirrors it about a line along the jaw, and mirrored,
    // slanted strands fold back into chevrons: a fern down each side of the jaw. Where the strands
    // run slanted across that line the continuation gives way (the beard ends at the oval there).
    let Fused { b, swapped, face } = fuse_into("kit_2.jpg", "portrait_f1.jpg");
    let p = |i: usize| (face.mesh.points[i][0], face.mesh.points[i][1]);
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, 0..468);
    let (centre, width) = (((x0 + x1) / 2.0, (y0 + y1) / 2.0), x1 - x0);
    // Just outside the oval at the lower sides of the jaw: how much of it the strands changed.
    let mut changed = Vec::new();
    for i in JAW_SIDES {
        let (x, y) = p(i);
        let d = ((x - centre.0), (y - centre.1));
        let n = d.0.hypot(d.1);
        let q = (x + 0.04 * width * d.0 / n, y + 0.04 * width * d.1 / n);
        let r = 0.025 * width;
        for yy in (q.1 - r) as u32..(q.1 + r) as u32 {
            for xx in (q.0 - r) as u32..(q.0 + r) as u32 {
                let (o, t) = (swapped.image.get_pixel(xx, yy), b.get_pixel(xx, yy));
                changed.push((luma(o) - luma(t)).abs());
            }
        }
    }
    let strands = changed.iter().filter(|&&c| c > 25.0).count() as f32 / changed.len() as f32;
    eprintln!("just below the jaw's sides: {strands} of the pixels more than 25 levels off B");
    assert!(strands < FERN_SHARE, "{strands}");
}

/// Mesh points along the lower sides of the jaw, both sides.
const JAW_SIDES: [usize; 6] = [172, 136, 150, 397, 365, 379];

/// Share of the pixels just outside the oval at the jaw's sides (0.04 face widths out, within 0.025)
/// that may differ from the template by more than 25 levels: 0.070 with the strands mirrored into
/// a fern, 0.017 with the continuation giving way to them (0.023 later), 0.045 mirrored about a
/// line past the carried beard's fade (the beard at the jaw's sides goes on a little further).
const FERN_SHARE: f32 = 0.055;

#[test]
fn a_carried_beard_brings_no_background_from_beside_a_s_jaw() {
    // df_img24.jpg's beard, against a blue background, into df_img39.jpg: the beard's low-res
    // cells at the rim reach past A's jaw, and a strip of A's blue background came along down
    // B's right jaw: 131 more pixels bluer than red by 20 levels than B's, none more now.
    let Fused { b, swapped, face } = fuse_into("df_img24.jpg", "df_img39.jpg");
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, 0..face.mesh.points.len());
    let blue = |img: &RgbImage| {
        let mut n = 0;
        for y in y0 as u32..y1 as u32 {
            for x in x0 as u32..x1 as u32 {
                let p = img.get_pixel(x, y);
                n += (p[2] as f32 > p[0] as f32 + 20.0) as u32;
            }
        }
        n
    };
    let (in_b, in_result) = (blue(&b), blue(&swapped.image));
    eprintln!("blue pixels over the face: {in_result} (template: {in_b})");
    assert!(
        in_result <= in_b + BLUE_PIXELS,
        "{in_result} against {in_b}"
    );
}

#[test]
fn a_carried_beard_takes_the_template_s_light_and_is_not_lifted_to_skin_level() {
    // df_img61.jpg's full dark beard into df_img14.jpg's flash-lit pale face. A's light inside a
    // beard used to be read off the beard itself (its weight is small, but so is every weight
    // around it): the beard's gain came out as skin-level over beard-level and hit its limit, a
    // khaki beard 2.3 times as bright as A's while A's skin took 1.15 (1.4 now). The beard is lit as the
    // skin around it is: it takes the skin's gain, B's light over A's.
    let (a, face_a) = only_face("df_img61.jpg");
    let Fused { swapped, face, .. } = fuse_into("df_img61.jpg", "df_img14.jpg");
    let mean = |v: Vec<f32>| v.iter().sum::<f32>() / v.len() as f32;
    let gain = |points: &[usize]| {
        mean(brightness_around(&swapped.image, &face, points))
            / mean(brightness_around(&a, &face_a, points))
    };
    let (skin, beard) = (gain(FOREHEAD_AND_UPPER_CHEEKS), gain(CHIN));
    eprintln!("brightness gain: skin {skin}, carried beard {beard}");
    assert!(
        beard < skin * BEARD_GAIN,
        "beard {beard} against skin {skin}"
    );
}

#[test]
fn a_deep_toned_source_s_dark_beard_stays_dark_on_a_pale_template() {
    // df_img24.jpg's black beard on deep-toned skin into df_img14.jpg's pale, flash-lit face: the
    // skin's gain is B's skin over A's, the light's change times the skins' difference. The beard
    // took it whole, and A's black hairs came out an ashy grey, as pale relative to the skin as
    // A's beard was to A's brown skin. Hair keeps its own darkness: only part of the gain is its.
    let (a, face_a) = only_face("df_img24.jpg");
    let Fused { swapped, face, .. } = fuse_into("df_img24.jpg", "df_img14.jpg");
    let quantile = |mut v: Vec<f32>, q: f32| {
        v.sort_by(f32::total_cmp);
        v[((v.len() - 1) as f32 * q) as usize]
    };
    // The beard's hairs (the darker fifth of the pixels between the mouth's corners, from the
    // lower lip to the chin) over the skin of the forehead and upper cheeks, in A and in the
    // result.
    let darkness = |img: &RgbImage, face: &faceswap_engine::FoundFace| {
        let p = |i: usize| face.mesh.points[i];
        let (x0, x1) = (p(61)[0].min(p(291)[0]), p(61)[0].max(p(291)[0]));
        let mut chin = Vec::new();
        for y in p(17)[1] as u32..p(152)[1] as u32 {
            for x in x0 as u32..x1 as u32 {
                chin.push(luma(img.get_pixel(x, y)));
            }
        }
        quantile(chin, 0.2) / quantile(brightness_around(img, face, FOREHEAD_AND_UPPER_CHEEKS), 0.5)
    };
    let (own, result) = (darkness(&a, &face_a), darkness(&swapped.image, &face));
    eprintln!("the chin's hairs over the skin's brightness: A {own}, result {result}");
    assert!(result < HAIR_DARKNESS, "{result} against A's {own}");
}

/// The darkest fifth of a carried dark beard's pixels over the skin's brightness that a much paler
/// template may show at most: 0.724 when the hairs took the skin's whole gain, 0.659 with hair
/// taking half of it. (A's own, 0.22, is out of reach at a quarter of A's size: the hairs blur into
/// the skin between them.)
const HAIR_DARKNESS: f32 = 0.69;

#[test]
fn a_carried_beard_reaches_the_template_s_visible_chin_below_its_mesh_jaw() {
    // df_img24's beard into df_img39, whose smiling chin is seen from a little above: the mesh's
    // chin sits above the chin's edge in the photo, and the beard carried only as far as the mesh
    // ended across B's bare chin, a floating beard. Below the mesh's chin, where B's parse sees
    // skin, the beard goes on.
    let Fused { b, swapped, face } = fuse_into("df_img24.jpg", "df_img39.jpg");
    let p = |i: usize| face.mesh.points[i];
    let (lower_lip, chin) = (p(17)[1], p(152)[1]);
    let (x0, x1) = (p(61)[0].min(p(291)[0]), p(61)[0].max(p(291)[0]));
    // Hair is rough: the mean brightness step between neighbouring pixels.
    let roughness = |img: &RgbImage| {
        let (mut sum, mut n) = (0.0, 0.0);
        let below = |k: f32| (chin + k * (chin - lower_lip)) as u32;
        for y in below(0.05)..below(0.2) {
            for x in (x0 + 0.3 * (x1 - x0)) as u32..(x1 - 0.3 * (x1 - x0)) as u32 {
                let here = luma(img.get_pixel(x, y));
                sum += (here - luma(img.get_pixel(x + 1, y))).abs()
                    + (here - luma(img.get_pixel(x, y + 1))).abs();
                n += 2.0;
            }
        }
        sum / n
    };
    let (in_b, in_result) = (roughness(&b), roughness(&swapped.image));
    eprintln!("below the mesh's chin, roughness {in_result} (template: {in_b})");
    assert!(
        in_result > in_b * BELOW_CHIN_ROUGHER,
        "{in_result} against {in_b}"
    );
    // df_img61's full beard into df_img14's pale, flash-lit face: the carried beard fades out at
    // the oval, and continued from there it left a pale band along the mesh's jaw line under a
    // goatee. Across the jaw line the beard is about as dark as on the chin above it.
    let Fused { swapped, face, .. } = fuse_into("df_img61.jpg", "df_img14.jpg");
    let p = |i: usize| face.mesh.points[i];
    let (lower_lip, chin) = (p(17)[1], p(152)[1]);
    let (x0, x1) = (p(61)[0].min(p(291)[0]), p(61)[0].max(p(291)[0]));
    let band = |from: f32, to: f32| {
        let (mut sum, mut n) = (0.0, 0.0);
        let at = |k: f32| (lower_lip + k * (chin - lower_lip)) as u32;
        for y in at(from)..at(to) {
            for x in (x0 + 0.3 * (x1 - x0)) as u32..(x1 - 0.3 * (x1 - x0)) as u32 {
                sum += luma(swapped.image.get_pixel(x, y));
                n += 1.0;
            }
        }
        sum / n
    };
    let paler = band(0.9, 1.1) - band(0.4, 0.6);
    eprintln!("df_img61 into df_img14: the jaw line {paler} levels paler than the chin's beard");
    assert!(paler < JAW_LINE_PALER, "{paler}");
}

/// How much paler than the beard on the chin a carried beard may be across the mesh's jaw line, in
/// levels: 104 when the beard was continued from the oval itself, 29.8 from a line a fixed inset
/// inside it (on this small face the carried beard's fade is wider, and came back pale), 14.7 with
/// the fade filled first.
const JAW_LINE_PALER: f32 = 22.0;

/// How much rougher than the shaven template's chin a carried beard is just below the mesh's chin,
/// at least: 1.40 measured (1.23 later), 1.12 mirrored about a line past the carried beard's fade
/// (from finer hair under the lip), 1.0 when the beard stopped at the mesh.
const BELOW_CHIN_ROUGHER: f32 = 1.07;

/// Mesh points on the forehead and the upper cheeks, away from any beard.
const FOREHEAD_AND_UPPER_CHEEKS: &[usize] = &[50, 101, 118, 280, 330, 347, 108, 337, 67, 297, 151];

/// Mesh points on the chin right below the lower lip (lower, B's chin fades in under the carried
/// beard).
const CHIN: &[usize] = &[18, 200, 83, 313, 201, 421];

/// How much more than the skin's a carried beard's brightness gain may be: 1.2 measured, 2.0
/// before the beard's light was read from the skin around it.
const BEARD_GAIN: f32 = 1.5;

/// How many more blue pixels than the template's the result's face may have.
const BLUE_PIXELS: u32 = 40;

/// Fuses bearded `a` into shaven `b` and asserts that A's beard counted (`beard` at least), that
/// the band above the result's upper lip is more than `moustache` levels darker than B's there,
/// and the chin just above B's jaw line more than [`CHIN_BEARD_DARKER`] levels darker.
fn beard_carried(a: &str, b: &str, beard: f32, moustache_darker: f32) {
    let Fused { b, swapped, face } = fuse_into(a, b);
    let p = |i: usize| face.mesh.points[i];
    // Mean brightness over a box between two heights (shares of the way from `top` to `bottom`)
    // and the middle of the mouth's width (corners 61 and 291).
    let (left, right) = (p(61)[0].min(p(291)[0]), p(61)[0].max(p(291)[0]));
    let mean = |img: &RgbImage, top: f32, bottom: f32, from: f32, to: f32| {
        let (mut sum, mut n) = (0.0, 0.0);
        for y in (top + from * (bottom - top)) as u32..(top + to * (bottom - top)) as u32 {
            for x in (left + 0.3 * (right - left)) as u32..(right - 0.3 * (right - left)) as u32 {
                sum += luma(img.get_pixel(x, y));
                n += 1.0;
            }
        }
        sum / n
    };
    // Above the lip: from the nose's base (point 2) to the top of the upper lip (point 0).
    let (nose, lip) = (p(2)[1], p(0)[1]);
    let moustache = mean(&b, nose, lip, 0.25, 0.85) - mean(&swapped.image, nose, lip, 0.25, 0.85);
    // Low on the chin: three quarters to nineteen twentieths of the way from the lower lip's
    // bottom (point 17) to the chin (point 152).
    let (lower_lip, chin) = (p(17)[1], p(152)[1]);
    let at_jaw =
        mean(&b, lower_lip, chin, 0.75, 0.95) - mean(&swapped.image, lower_lip, chin, 0.75, 0.95);
    eprintln!(
        "{a}: darker than the template above the lip by {moustache}, at the chin by {at_jaw}"
    );
    assert!(
        swapped.report.beard[0] > beard,
        "{:?}",
        swapped.report.beard
    );
    assert!(moustache > moustache_darker, "moustache: {moustache}");
    assert!(at_jaw > CHIN_BEARD_DARKER, "beard at the jaw: {at_jaw}");
}

#[test]
fn a_carried_beard_lit_on_one_side_is_carried_on_both_sides_of_the_jaw() {
    // df_img24.jpg's short beard is lit from its left: on that side of the jaw it is as bright as
    // the face's median skin, and found by its darkness alone it was carried on the shaded side
    // only, the lit side left to df_img14.jpg's pale skin (a beard on one side of the jaw).
    let Fused { b, swapped, face } = fuse_into("df_img24.jpg", "df_img14.jpg");
    let p = |i: usize| (face.mesh.points[i][0], face.mesh.points[i][1]);
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, 0..468);
    let (centre, width) = (((x0 + x1) / 2.0, (y0 + y1) / 2.0), x1 - x0);
    // How much darker than B the result is just inside the jaw's lower sides, on each side.
    let darker = |side: &[usize]| {
        let (mut sum, mut n) = (0.0, 0.0);
        for &i in side {
            let (x, y) = p(i);
            let d = (centre.0 - x, centre.1 - y);
            let l = d.0.hypot(d.1);
            let q = (x + 0.08 * width * d.0 / l, y + 0.08 * width * d.1 / l);
            let r = 0.03 * width;
            for yy in (q.1 - r) as u32..(q.1 + r) as u32 {
                for xx in (q.0 - r) as u32..(q.0 + r) as u32 {
                    sum += luma(b.get_pixel(xx, yy)) - luma(swapped.image.get_pixel(xx, yy));
                    n += 1.0;
                }
            }
        }
        sum / n
    };
    let (one, other) = (darker(&JAW_SIDES[..3]), darker(&JAW_SIDES[3..]));
    eprintln!("darker than B just inside the jaw's sides: {one:.1} and {other:.1} levels");
    // Carried at all: the darker side well darker than B's pale skin.
    assert!(one.max(other) > 40.0, "{one:.1} and {other:.1}");
    assert!(
        one.min(other) > EVEN_BEARD * one.max(other),
        "{one:.1} and {other:.1}"
    );
}

/// Least share of the darker side's darkening (against B) that a carried beard brings to the jaw's
/// other side: df_img24.jpg's beard into df_img14.jpg 0.18 found by its darkness alone (92 and 16
/// levels), 0.34 under the light across the face and made whole on both sides (71 and 24: the lit
/// side's hairs are greyer than the shaded side's, and stay so).
const EVEN_BEARD: f32 = 0.25;

#[test]
fn the_bare_skin_inside_a_thin_beard_is_not_lifted_to_a_white_patch() {
    // alex_2.jpg's moustache and goatee are thin bands of hair round lit skin. Softened, the beard
    // hid only part of its own hair from A's light: under the lip that light read darker than the
    // skin there, and rose_1.jpg's bright chin lifted the bare skin to a white patch.
    let Fused { b, swapped, .. } = fuse_into("alex_2.jpg", "rose_1.jpg");
    let result = &swapped.image;
    let fused = engine().detect(result).unwrap().swap_remove(0);
    let [x0, x1, _, _] = bounds(&fused.mesh.points, [61, 291]);
    let [_, _, _, lip] = bounds(&fused.mesh.points, [17]);
    let [_, _, _, chin] = bounds(&fused.mesh.points, [152]);
    // Under the lower lip, the upper half of the way to the chin, between the mouth's corners.
    let (mut white, mut n, mut b_white) = (0, 0, 0);
    for y in lip as u32..((lip + chin) / 2.0) as u32 {
        for x in x0 as u32..x1 as u32 {
            let near_white = |p: &image::Rgb<u8>| p.0.iter().all(|&c| c >= NEAR_WHITE);
            white += near_white(result.get_pixel(x, y)) as u32;
            b_white += near_white(b.get_pixel(x, y)) as u32;
            n += 1;
        }
    }
    let share = white as f32 / n as f32;
    eprintln!("near-white under the lip: {share:.4} of {n} pixels (B: {b_white})");
    assert!(share < 0.01, "{share:.4}");
}

/// Level of every channel from which a pixel of skin reads as white.
const NEAR_WHITE: u8 = 235;

#[test]
fn a_bearded_template_s_cheeks_are_not_darkened_by_its_beard() {
    // df_img61.jpg's full beard is no light of B's: read as B's light, it darkened B's light over
    // the lower cheeks, and df_img20.jpg's face beside the nose came out 23 levels darker than B's
    // skin there (on average over the points; 7 with the beard read round).
    let Fused { b, swapped, face } = fuse_into("df_img20.jpg", "df_img61.jpg");
    assert!(swapped.report.beard[1] > 0.3, "{:?}", swapped.report);
    let mean = |v: Vec<f32>| v.iter().sum::<f32>() / v.len() as f32;
    let darker = mean(brightness_around(&b, &face, INNER_CHEEKS))
        - mean(brightness_around(&swapped.image, &face, INNER_CHEEKS));
    eprintln!("the cheeks beside the nose {darker:.1} levels darker than B's");
    assert!(darker.abs() < BEARDED_CHEEKS_DARKER, "{darker:.1}");
}

/// How much darker (or paler) than a bearded template's own the result's cheeks beside the nose
/// may be, in levels: 23 with B's beard read as B's light, 7 without.
const BEARDED_CHEEKS_DARKER: f32 = 12.0;
