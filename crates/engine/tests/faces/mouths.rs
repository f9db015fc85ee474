//! Mouths: open or closed, teeth and lips.

use super::*;

/// The lips' inner contour, round the mouth's opening (points of the face mesh).
const LIPS_INNER: [usize; 20] = [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
];

/// The lips' outer contour.
const LIPS_OUTER: [usize; 20] = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
];

#[test]
fn a_closed_mouth_into_an_open_smile_is_the_source_s_closed_mouth() {
    // rose_1.jpg's closed lips into portrait_f1.jpg's wide smile, df_img35.jpg's closed, stubbled
    // mouth into df_img39.jpg's. B's opening used to be kept with A's lips wrapped around it: B's
    // teeth in a mouth that was neither face's, stubble squeezed around them. Now the mouth is
    // A's, closed: hardly a tooth is left between B's lip corners.
    for (a, b) in [
        ("rose_1.jpg", "portrait_f1.jpg"),
        ("df_img35.jpg", "df_img39.jpg"),
    ] {
        let Fused {
            b: tpl,
            swapped,
            face,
        } = fuse_into(a, b);
        use faceswap_engine::MouthState::{Closed, Open};
        assert_eq!(swapped.report.mouths, [Closed, Open], "{a} into {b}");
        // Bright, unsaturated pixels in B's opening: between its inner corners (78, 308) and its
        // inner lips (13, 14).
        let [x0, x1, y0, y1] = bounds(&face.mesh.points, [78, 308, 13, 14]);
        let teeth = |img: &RgbImage| {
            let mut n = 0;
            for y in y0 as u32..y1 as u32 {
                for x in x0 as u32..x1 as u32 {
                    let p = img.get_pixel(x, y);
                    n += (luma(p) > 140.0 && saturation(p) < 0.2) as u32;
                }
            }
            n
        };
        let (in_b, in_result) = (teeth(&tpl), teeth(&swapped.image));
        eprintln!("{a} into {b}: {in_result} teeth pixels (template: {in_b})");
        assert!(
            (in_result as f32) < TEETH_LEFT * in_b as f32,
            "{in_result} of {in_b}"
        );
    }
}

#[test]
fn a_bearded_template_s_open_smile_shows_no_teeth_beside_the_source_s_closed_lips() {
    // df_img26.jpg's closed red lips into df_img24.jpg's bearded smile. B's opening, dark, was
    // taken for B's beard and kept in front: B's teeth showed, half blended, beside A's lips.
    // Blended, they are no brighter than the lips, but their edges are B's: the result's
    // brightness steps along each row over B's teeth followed B's (correlation 0.3).
    let Fused {
        b: tpl,
        swapped,
        face,
    } = fuse_into("df_img26.jpg", "df_img24.jpg");
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, [61, 291, 0, 17]);
    let (mut in_b, mut in_result) = (Vec::new(), Vec::new());
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            let p = tpl.get_pixel(x, y);
            if luma(p) > 140.0 && saturation(p) < 0.2 {
                in_b.push(luma(p) - luma(tpl.get_pixel(x - 1, y)));
                in_result.push(
                    luma(swapped.image.get_pixel(x, y)) - luma(swapped.image.get_pixel(x - 1, y)),
                );
            }
        }
    }
    assert!(in_b.len() > 1000, "B's teeth: {} pixels", in_b.len());
    let r = correlation(&in_b, &in_result);
    eprintln!("edges over B's teeth follow B's by {r}");
    assert!(r < 0.15, "B's teeth show through: {r}");
}

/// Pearson correlation of two series of the same length.
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa * bb).sqrt().max(1e-6)
}

#[test]
fn a_smile_s_teeth_are_no_greyer_than_its_lips_under_a_much_brighter_template_s_light() {
    // alex_2.jpg's bearded open smile into df_img13.jpg's brightly lit face (a gain of about 1.6).
    // The lips and gums took the gain; the teeth, already near white, were held at their own
    // brightness so as not to burn, and came out greyer than the pale lips around them.
    let Fused { swapped, .. } = fuse_into("alex_2.jpg", "df_img13.jpg");
    // The result's own mouth: its opening (teeth: bright and unsaturated in it) and its lips.
    let fused = engine().detect(&swapped.image).unwrap().swap_remove(0);
    let (opening, mouth) = (
        widened_contour(&fused, &LIPS_INNER, 1.0),
        widened_contour(&fused, &LIPS_OUTER, 1.0),
    );
    let [x0, x1, y0, y1] = bounds(&fused.mesh.points, LIPS_OUTER);
    let (mut teeth, mut lips) = (Vec::new(), Vec::new());
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            let p = swapped.image.get_pixel(x, y);
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            if in_polygon(&opening, fx, fy) {
                if luma(p) > 120.0 && saturation(p) < 0.3 {
                    teeth.push(luma(p));
                }
            } else if in_polygon(&mouth, fx, fy) {
                lips.push(luma(p));
            }
        }
    }
    assert!(
        teeth.len() > 200 && lips.len() > 200,
        "{} {}",
        teeth.len(),
        lips.len()
    );
    let at = |v: &mut Vec<f32>, q: f32| {
        v.sort_by(f32::total_cmp);
        v[(v.len() as f32 * q) as usize]
    };
    // The greyest tenth of the teeth against the lips' median: 191.7 against 195.4 before, 204.5
    // against 199.4 since.
    let (t, l) = (at(&mut teeth, 0.1), at(&mut lips, 0.5));
    eprintln!(
        "teeth {t} against lips {l} ({} and {} pixels)",
        teeth.len(),
        lips.len()
    );
    assert!(t > l, "the teeth are greyer than the lips: {t} against {l}");
}

/// Share of the template's teeth pixels that may be left when a closed mouth is fused into an
/// open one.
const TEETH_LEFT: f32 = 0.1;

/// The pixels of the lips of the largest face of `img`: inside the lips' outer edge, outside the
/// inner one.
fn lip_pixels(img: &RgbImage) -> Vec<image::Rgb<u8>> {
    const INNER: [usize; 20] = [
        78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
    ];
    let face = engine().detect(img).unwrap().swap_remove(0);
    let polygon = |idx: &[usize]| -> Vec<(f32, f32)> {
        idx.iter()
            .map(|&i| (face.mesh.points[i][0], face.mesh.points[i][1]))
            .collect()
    };
    let (outer, inner) = (polygon(&LIPS_OUTER), polygon(&INNER));
    let inside = in_polygon;
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, LIPS_OUTER);
    let mut lips = Vec::new();
    for y in y0.max(0.0) as u32..(y1 as u32 + 1).min(img.height()) {
        for x in x0.max(0.0) as u32..(x1 as u32 + 1).min(img.width()) {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            if inside(&outer, fx, fy) && !inside(&inner, fx, fy) {
                lips.push(*img.get_pixel(x, y));
            }
        }
    }
    lips
}

#[test]
fn a_source_s_pink_lips_stay_redder_than_a_tanned_template_s_skin() {
    // df_img13.jpg's pale, flash-lit face has pink lips; df_img41.jpg's skin is a deep, warm tan.
    // The tint that gives A's skin B's tone stopped the lips at B's skin colour: they came out
    // skin-coloured, only darker, a grey-brown smear where a mouth should be.
    let (a, b) = (
        photo_any_size("df_img13.jpg"),
        photo_any_size("df_img41.jpg"),
    );
    let swapped = engine().swap(&a, &b, &SwapOptions::default()).unwrap();
    // Red over brightness, the lips' median against the cheeks'.
    let redness = |img: &RgbImage| {
        let face = engine().detect(img).unwrap().swap_remove(0);
        let red = |q: &image::Rgb<u8>| q[0] as f32 / luma(q).max(1.0);
        // The median: the lips' dark parting line is red in any case.
        let mut lips: Vec<f32> = lip_pixels(img).iter().map(red).collect();
        lips.sort_by(f32::total_cmp);
        let lips = lips[lips.len() / 2];
        let cheeks = mean_over(&face, SKIN_POINTS, |x, y| {
            red(img.get_pixel(x as u32, y as u32))
        });
        lips - cheeks
    };
    let (own, result) = (redness(&a), redness(&swapped.image));
    eprintln!("lips' red over brightness above the cheeks': A {own}, result {result}");
    assert!(own > 0.1, "{own}");
    assert!(result > 0.5 * own, "{result} against A's {own}");
}

#[test]
fn when_both_mouths_are_open_the_result_has_the_source_s_whole() {
    // df_img1.jpg laughs wide open with pale lips, df_img51.jpg's red lips part a little. B's
    // opening was kept with A's lips wrapped around it: B's red lips showed inside A's pale ones,
    // doubled. Now the mouth is A's, teeth and all: the result's lips are as pale as A's.
    let (a, b) = (photo("df_img1.jpg"), photo("df_img51.jpg"));
    let swapped = engine().swap(&a, &b, &SwapOptions::default()).unwrap();
    use faceswap_engine::MouthState::Open;
    assert_eq!(swapped.report.mouths, [Open, Open]);
    // Saturation ((max - min) / max) over the lips.
    let lip_saturation = |img: &RgbImage| {
        let lips = lip_pixels(img);
        lips.iter().map(saturation).sum::<f32>() / lips.len() as f32
    };
    let (own, template, result) = (
        lip_saturation(&a),
        lip_saturation(&b),
        lip_saturation(&swapped.image),
    );
    eprintln!("lip saturation: A {own}, B {template}, result {result}");
    assert!(template > own + 0.15, "{own} {template}");
    assert!(
        (result - own).abs() < (result - template).abs(),
        "the result's lips ({result}) are nearer B's ({template}) than A's ({own})"
    );
}

#[test]
fn an_open_mouth_s_teeth_are_not_burnt_white_by_a_paler_template_s_light() {
    // obama_2.jpg speaks, its lower teeth lit; into the pale portrait_f1.jpg the gain sampled per
    // pixel lifted them to a flat white blob while the upper teeth went grey.
    let Fused { swapped, face, .. } = fuse_into("obama_2.jpg", "portrait_f1.jpg");
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, LIPS_OUTER);
    let mut burnt = 0;
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            let p = swapped.image.get_pixel(x, y);
            burnt += (p.0.iter().all(|&v| v >= 250)) as u32;
        }
    }
    eprintln!("burnt white pixels in the mouth: {burnt}");
    assert!(burnt < 20, "{burnt}");
}
