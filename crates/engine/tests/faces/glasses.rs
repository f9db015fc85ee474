//! Glasses: a source's painted out or seen through, a template's kept whole in front.

use super::*;

#[test]
fn a_source_s_clear_glasses_are_seen_through_and_their_frames_not_copied() {
    // df_img24.jpg wears dark frames with clear lenses. The parser calls frames and lenses one
    // region; taken as cover, A's eyes were left to B (48% of A's face covered, 9% now) and the
    // frames' soft edges ghosted under B's eyes as dark bands.
    let (a, b) = (photo("df_img24.jpg"), photo("df_img14.jpg"));
    let swapped = engine().swap(&a, &b, &SwapOptions::default()).unwrap();
    let r = &swapped.report;
    eprintln!("df_img24 into df_img14: {r:?}");
    assert!(r.source_glasses > 0.3, "frames found: {}", r.source_glasses);
    assert!(
        r.source_covered < 0.2,
        "A's eyes used: {}",
        r.source_covered
    );
    // Turned a quarter, the parser sees the frames more weakly (less than half glasses over the
    // eyes), and they are still found.
    let turned = image::imageops::rotate90(&a);
    let r = engine()
        .swap(&turned, &b, &SwapOptions::default())
        .unwrap()
        .report;
    assert!(r.source_glasses > 0.3, "turned: {}", r.source_glasses);
    assert_eq!(report("df_img30.jpg", "df_img24.jpg").source_glasses, 0.0);
}

#[test]
fn a_small_source_s_lens_glare_and_coated_reflections_are_not_copied() {
    // pascal_3men.jpg's man with glasses: a face 94 px wide in a flash-lit group photo. The parser
    // calls his lenses skin; the flash's violet glare on them stayed as streaks beside the eyes
    // and glowed in the irises, and the frames' fill took the photo's noise as dotted rows.
    let Fused { swapped, face, .. } = fuse_into("pascal_3men.jpg", "df_img39.jpg");
    let p = |i: usize| face.mesh.points[i];
    let [x0, x1, y0, y1] = bounds(&face.mesh.points, EYE_A.iter().chain(&EYE_B).copied());
    let iod = (p(EYE_A[0])[0] - p(EYE_B[0])[0]).abs();
    let (mut violet, mut count) = (0, 0);
    for y in (y0 - 0.3 * iod) as u32..(y1 + 0.3 * iod) as u32 {
        for x in (x0 - 0.2 * iod) as u32..(x1 + 0.2 * iod) as u32 {
            let q = swapped.image.get_pixel(x, y).0.map(f32::from);
            let max = q[0].max(q[1]).max(q[2]).max(1.0);
            if (q[0].min(q[2]) - q[1]) / max > 0.12 {
                violet += 1;
            }
            count += 1;
        }
    }
    let share = violet as f32 / count as f32;
    eprintln!("violet around the eyes: {violet} of {count}");
    assert!(share < 0.002, "violet share {share}");
}

#[test]
fn a_template_s_clear_glasses_stay_whole_in_front_of_the_source_s_eyes() {
    // df_img24.jpg wears dark frames with clear lenses. The parse's glasses, soft and weak over
    // one lens, were kept in part: the frames came out faded, the top rims half gone. Found as
    // frames, they stay B's whole, and A's face shows through the lenses.
    let Fused { b, swapped, face } = fuse_into("df_img30.jpg", "df_img24.jpg");
    let band = GlassesBand::of(&face);
    let (mut off, mut n) = (0.0, 0.0);
    for (x, y) in band.pixels() {
        let q = b.get_pixel(x, y);
        if luma(q) < 45.0 {
            off += (luma(q) - luma(swapped.image.get_pixel(x, y))).abs();
            n += 1.0;
        }
    }
    let off = off / n;
    eprintln!("over {n} frame pixels of B, the result is {off} levels off B");
    assert!(n > 1000.0, "{n}");
    assert!(off < 6.0, "the frames faded: {off} levels off");
}

#[test]
fn the_skin_beside_a_template_s_frames_is_the_source_s_without_a_halo() {
    // df_img26.jpg's pale face into df_img24.jpg's glasses. The frames' mask is grown by their
    // soft edge and shadow; kept whole, the skin it took in stayed B's: a brown halo around the
    // frames on A's face (three quarters of B's skin pixels beside the frames unchanged). Only
    // what is darker than B's skin stays now. B's pixels that stay are B's to the level (rounding
    // apart); A's skin relit to B's skin tone lands within a few levels of B's skin too, and counted
    // within 8 levels (as at first) it took this share from 0.26 to 0.41 as A's light came nearer
    // B's, with no more of B's skin kept.
    let Fused { b, swapped, face } = fuse_into("df_img26.jpg", "df_img24.jpg");
    let band = GlassesBand::of(&face);
    let frame = |x: u32, y: u32| luma(b.get_pixel(x, y)) < 45.0;
    let (mut kept, mut n) = (0, 0);
    for (x, y) in band.pixels() {
        // B's skin (not frame, not shadow) within 5 px of a frame pixel.
        if frame(x, y) || luma(b.get_pixel(x, y)) <= 90.0 {
            continue;
        }
        let beside = (x.saturating_sub(5)..=x + 5)
            .any(|fx| (y.saturating_sub(5)..=y + 5).any(|fy| frame(fx, fy)));
        if beside {
            let (q, r) = (b.get_pixel(x, y), swapped.image.get_pixel(x, y));
            kept += (0..3).all(|c| q[c].abs_diff(r[c]) <= 1) as u32;
            n += 1;
        }
    }
    let share = kept as f32 / n.max(1) as f32;
    eprintln!("{kept} of {n} skin pixels beside B's frames are B's");
    assert!(n > 2000, "{n}");
    assert!(share < 0.4, "a halo of B's skin: {share}");
}

/// Where a template's glasses sit: from the brows down to under the eyes, between the face's
/// sides, away from the eyes themselves.
struct GlassesBand {
    eyes: [(f32, f32); 2],
    iod: f32,
    bounds: [u32; 4],
}

impl GlassesBand {
    fn of(face: &faceswap_engine::FoundFace) -> GlassesBand {
        let p = |i: usize| face.mesh.points[i];
        let centre = |idx: &[usize]| {
            let n = idx.len() as f32;
            (
                idx.iter().map(|&i| p(i)[0]).sum::<f32>() / n,
                idx.iter().map(|&i| p(i)[1]).sum::<f32>() / n,
            )
        };
        let eyes = [centre(&EYE_A), centre(&EYE_B)];
        let iod = (eyes[1].0 - eyes[0].0).hypot(eyes[1].1 - eyes[0].1);
        let (top, bottom) = (
            eyes[0].1.min(eyes[1].1) - 0.3 * iod,
            eyes[0].1.max(eyes[1].1) + 0.35 * iod,
        );
        let (left, right) = (p(234)[0].min(p(454)[0]), p(234)[0].max(p(454)[0]));
        GlassesBand {
            eyes,
            iod,
            bounds: [left as u32, right as u32, top as u32, bottom as u32],
        }
    }

    /// The band's pixels away from the eyes.
    fn pixels(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let [left, right, top, bottom] = self.bounds;
        (top..bottom)
            .flat_map(move |y| (left..right).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                !self.eyes.iter().any(|e| {
                    ((x as f32 - e.0) / (0.35 * self.iod)).powi(2)
                        + ((y as f32 - e.1) / (0.16 * self.iod)).powi(2)
                        < 1.0
                })
            })
    }
}

#[test]
fn a_small_template_face_keeps_its_glasses_in_front() {
    // pascal_3men.jpg's largest face is 94 pixels wide. The parser's glasses there are little more
    // than the frames, so no bare lens was left to tell clear from tinted, the frames were not
    // found, and the new face erased them (0.016 of the face kept as B's; 0.077 at twice the size).
    let Fused { swapped, .. } = fuse_into("kit_3.jpg", "pascal_3men.jpg");
    let kept = swapped.report.template_covered;
    eprintln!("pascal_3men's glasses: {kept} of the face kept as the template's");
    assert!(kept > 0.05, "{kept}");
}

#[test]
fn a_source_s_painted_out_frames_take_the_skin_s_texture() {
    // df_img24.jpg's frames painted out: their fill was smooth, a plastic band under each eye
    // where the lower rims had been (H03: df_img24 into df_img39).
    let Fused { swapped, face, .. } = fuse_into("df_img24.jpg", "df_img39.jpg");
    let img = &swapped.image;
    let p = |i: usize| face.mesh.points[i];
    // The eyes' outer corners are about 1.4 inter-ocular distances apart.
    let iod = (p(33)[0] - p(263)[0]).hypot(p(33)[1] - p(263)[1]) / 1.4;
    // Fine texture: mean distance of each pixel's brightness from its 5×5 neighbourhood's mean,
    // over a box between the eye's corners, `from` to `to` inter-ocular distances below its lower
    // lid.
    let texture = |corners: [usize; 2], lid: usize, from: f32, to: f32| {
        let (x0, x1) = (
            p(corners[0])[0].min(p(corners[1])[0]),
            p(corners[0])[0].max(p(corners[1])[0]),
        );
        let (y0, y1) = (p(lid)[1] + from * iod, p(lid)[1] + to * iod);
        let (mut sum, mut n) = (0.0, 0.0);
        for y in y0 as u32..y1 as u32 {
            for x in x0 as u32..x1 as u32 {
                let mut mean = 0.0;
                for dy in 0..5 {
                    for dx in 0..5 {
                        mean += luma(img.get_pixel(x + dx - 2, y + dy - 2)) / 25.0;
                    }
                }
                sum += (luma(img.get_pixel(x, y)) - mean).abs();
                n += 1.0;
            }
        }
        sum / n
    };
    for (corners, lid) in [([33, 133], 145), ([362, 263], 374)] {
        let (rim, cheek) = (
            texture(corners, lid, 0.1, 0.3),
            texture(corners, lid, 0.45, 0.65),
        );
        eprintln!("under the eye {lid}: texture {rim} against the cheek's {cheek}");
        assert!(rim > 0.6 * cheek, "{rim} against {cheek}");
    }
}
