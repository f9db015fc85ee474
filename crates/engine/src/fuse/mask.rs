//! Masks of the blend: the fade from the oval and from where A's face ends, what covers B's face
//! (hair, glasses, hands), which stays in front of the new face, and B's brows that would show
//! beside A's, with the skin that hides them. Beards are in [`super::beard`].

use image::RgbImage;

use super::glasses::FrameMask;
use super::light::SkinLight;
use super::raster::{ramp, Crop, LowRes};
use super::P2;
use crate::landmarks::{BROW_A, BROW_B, EYE_A, EYE_B};
use crate::parse::{FaceParse, Part};

/// How far the eye openings are widened, about their centres, to tell the lenses of B's glasses
/// (A's eyes show through them) from their frames (which stay B's).
const LENS_WIDENING: f32 = 1.25;
/// Probability of a cover on B (hair, glasses) from which it starts to stay in front, and at which
/// fully.
const B_COVER: (f32, f32) = (0.4, 0.7);

/// The blend's weight per low-res cell before what covers either face is taken out: 0 outside the
/// `region` (per crop pixel: the oval where A's photo did not end), ramping up inward from its edge
/// and from A's `outline` (per crop pixel: where what was taken is A's surroundings, an ear or the
/// background) over about 1.6 `feather`s (in cells).
///
/// On the side A's head turns away from, A's face ends in its photo well inside the oval: its last
/// strip of skin, lit by the background or falling into shadow as the cheek turns, met B's cheek at
/// the full weight and stayed as a pale or dark line.
pub(super) fn feathered(low: &LowRes, region: &[f32], outline: &[f32], feather: f32) -> Vec<f32> {
    let face: Vec<f32> = region
        .iter()
        .zip(outline)
        .map(|(r, o)| r * (1.0 - o.clamp(0.0, 1.0)))
        .collect();
    low.blur(&low.average(&face, 1), 1, feather)
        .iter()
        .map(|&v| ((v - 0.5) / 0.45).clamp(0.0, 1.0))
        .collect()
}

/// Stretch of A's texture (a length, against the face's scale: [`super::texture::stretch`]) from
/// which what is also dark starts to count as seen edge-on by A's camera, and at which it fully
/// does.
const OPENED_STRETCH: (f32, f32) = (1.4, 2.2);
/// Darkness against the light around (1 less brightness over the light's) from which a stretched
/// pixel starts to count as a shadow opened up, and at which it fully does.
const OPENED_DARK: (f32, f32) = (0.45, 0.7);
/// Blur of that mask, in face widths: its edge is soft, and a few scattered pixels do not count.
const OPENED_BLUR: f32 = 0.01;

/// Per pixel of a `w`×`h` crop, how much is left to B as opened up by the change of pose: where A's texture
/// is stretched far beyond the face's scale (`stretch`, per crop pixel) and dark against the light
/// around (`darkness` of a crop pixel, 0 where it cannot be: eyes' whites, teeth, features), A's
/// photo saw a surface edge-on and in shadow. A nose's underside seen from a little above is a
/// thin dark line there; stretched to B's pose it became a black, moustache-shaped band.
pub(super) fn opened_up(
    (w, h): (usize, usize),
    stretch: &[f32],
    darkness: &dyn Fn(usize) -> f32,
    face_width: f32,
) -> Vec<f32> {
    // The darkness is read only where the texture is stretched enough to count.
    let raw: Vec<f32> = stretch
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            if s <= OPENED_STRETCH.0 {
                return 0.0;
            }
            ramp(s, OPENED_STRETCH) * ramp(darkness(i), OPENED_DARK)
        })
        .collect();
    LowRes::new(w, h, 1)
        .blur(&raw, 1, (OPENED_BLUR * face_width).max(1.0))
        .iter()
        .map(|v| (2.0 * v).min(1.0))
        .collect()
}

/// Stretch of A's texture below which [`opened_up`] finds nothing.
pub(super) const LEAST_OPENED: f32 = OPENED_STRETCH.0;

/// What of B covers its face, per crop pixel.
pub(super) struct TemplateCover {
    /// How much of B stays in front of the fused face. Hair counts only where it reaches the face
    /// from the hair around it ([`FaceParse::without_stray_hair`]): the parser calls a small or
    /// stubbled template's mouth hair, and kept in front it cut through A's smile.
    pub(super) front: Vec<f32>,
    /// The same with all that the parse calls hair (stubble, a shadowed mouth): what B's skin is
    /// measured without.
    pub(super) parsed: Vec<f32>,
}

/// What of B covers its face: B's hair, hat and glasses. Of clear glasses whose frames were found
/// (`frames`), the frames stay whole and A's face shows through the lenses; otherwise the glasses'
/// region stays but for the new eyes' openings, so that A's eyes look through.
pub(super) fn template_cover(
    b: &RgbImage,
    parse: &FaceParse,
    crop: &Crop,
    region: &[bool],
    target: &[P2],
    frames: Option<&FrameMask>,
) -> TemplateCover {
    let eyes = inside_any(crop, target, &[&EYE_A, &EYE_B], LENS_WIDENING);
    let kept = parse.without_stray_hair();
    let mut front = vec![0f32; crop.w * crop.h];
    let mut parsed = vec![0f32; crop.w * crop.h];
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if !region[i] {
                continue;
            }
            let (px, py) = crop.pixel_centre(x, y);
            let (hair, glasses) = parse.hair_and_glasses(px, py);
            let frame = frames.map(|frames| {
                (
                    frames.searched((px, py)),
                    frames.keep_at(b, crop.x + x, crop.y + y),
                )
            });
            // Only what the parse is fairly sure of: its edges are soft (a grid of 32 cells
            // across the crop), and B's cover taken too wide eats into A's face.
            let keep = |hair: f32| {
                let face = 1.0 - hair - glasses;
                let cover = ramp(1.0 - face, B_COVER);
                match frame {
                    // Where frames were searched only what was found stays (the lenses are seen
                    // through); farther out the parse's glasses too (the temples), so that none
                    // is cut.
                    Some((true, frame)) => ramp(hair, B_COVER).max(frame),
                    Some((false, frame)) => cover.max(frame),
                    None if eyes[i] => cover * (1.0 - glasses.min(1.0)),
                    None => cover,
                }
            };
            parsed[i] = keep(hair);
            front[i] = keep(kept.hair_and_glasses(px, py).0);
        }
    }
    TemplateCover { front, parsed }
}

/// Per crop pixel, whether it lies inside any of the `contours` of the fused shape `target`, each
/// widened about its centre by `k`.
pub(super) fn inside_any(crop: &Crop, target: &[P2], contours: &[&[usize]], k: f32) -> Vec<bool> {
    let mut inside = vec![false; crop.w * crop.h];
    for idx in contours {
        let polygon = crate::geometry::widened(idx, k, &|i| target[i]);
        for (a, b) in inside.iter_mut().zip(crop.fill_polygon(&polygon)) {
            *a |= b;
        }
    }
    inside
}

/// How much the brows' (and eyes') contours are widened about their centres to make where a brow
/// is in the fused face.
const BROW_PLACE: f32 = 1.3;
/// The same for where B's own brow may be (wider: a drawn brow's tail runs past the mesh's).
pub(super) const TEMPLATE_BROW_PLACE: f32 = 1.6;

/// B's own brows where the fused face has none, or has one that is left to B (A's brow under its
/// hair): what of B shows through there (A's covered temple, the rim's feather) shows B's skin, so
/// that a template brow higher than A's does not double A's brow. Never over what of B stays in
/// front (`front`, its hair and glasses' frames; `parsed`, all the parse's cover), nor over the
/// photo's surroundings past a turned face's rim, where B's widened brow may reach.
pub(super) struct TemplateBrows<'a> {
    pub(super) crop: &'a Crop,
    /// B's mesh points and the fused face's, in the photo.
    pub(super) b_points: &'a [P2],
    pub(super) target: &'a [P2],
    pub(super) region: &'a [bool],
    pub(super) parse: &'a FaceParse,
    pub(super) front: &'a [f32],
    pub(super) parsed: &'a [f32],
}

impl TemplateBrows<'_> {
    /// Per crop pixel, how much B's brow is astray there ([`template_brows_astray`], soft over
    /// `soften` pixels) given the fused face's weight `alpha`; `None` when nowhere.
    pub(super) fn astray(&self, soften: usize, alpha: &[f32]) -> Option<Vec<f32>> {
        let astray = template_brows_astray(self.crop, self.b_points, self.target, alpha, soften);
        astray.iter().any(|&e| e > 0.0).then_some(astray)
    }

    /// Blends B's skin colour (`skin` at a crop pixel, when known) into the fused face `warped`
    /// and raises its weight `alpha` where B's brows are `astray` and would show through.
    pub(super) fn hide(
        &self,
        astray: &[f32],
        warped: &mut [f32],
        alpha: &mut [f32],
        skin: &dyn Fn(usize, usize) -> Option<[f32; 3]>,
    ) {
        let crop = self.crop;
        for i in 0..crop.w * crop.h {
            let e = astray[i] * (1.0 - alpha[i]) * (1.0 - self.front[i].max(self.parsed[i]));
            if !self.region[i] || e <= 0.0 {
                continue;
            }
            let (x, y) = (i % crop.w, i / crop.w);
            let (px, py) = crop.pixel_centre(x, y);
            let e = e
                * (1.0 - self.parse.surroundings(px, py))
                * (1.0 - self.parse.at(px, py)[Part::Other as usize]);
            let Some(colour) = skin(x, y).filter(|_| e > 0.0) else {
                continue;
            };
            let total = alpha[i] + e;
            for c in 0..3 {
                warped[i * 3 + c] = (alpha[i] * warped[i * 3 + c] + e * colour[c]) / total;
            }
            alpha[i] = total;
        }
    }
}

/// A face's skin colour near each pixel: its colour averaged over its skin (`skin`, per pixel, 0 to
/// 1) within a blur, so that what is no skin (a brow, an eye) does not darken it.
pub(super) struct SkinNearby<'a> {
    low: &'a LowRes,
    weight: Vec<f32>,
    sums: Vec<f32>,
}

impl<'a> SkinNearby<'a> {
    /// Over the crop's `rgb`, blurred by `sigma` cells of `low`.
    pub(super) fn new(low: &'a LowRes, rgb: &[f32], skin: &[f32], sigma: f32) -> SkinNearby<'a> {
        let every_cell = vec![1.0; low.w * low.h];
        let (weight, sums) = SkinLight::over_pixels(low, rgb, skin, &every_cell).blur(low, sigma);
        SkinNearby { low, weight, sums }
    }

    /// The colour at crop pixel (x, y); `None` where there is no skin within reach.
    pub(super) fn at(&self, x: usize, y: usize) -> Option<[f32; 3]> {
        let w = self.low.sample::<1>(&self.weight, x, y)[0];
        (w >= 1e-4).then(|| self.low.sample::<3>(&self.sums, x, y).map(|v| v / w))
    }
}

/// The crop as the result will show it: B's pixels (`b`) with the fused face blended in by its
/// weight, and how much each pixel is skin there (A's `skins[0]` where blended in, B's `skins[1]`
/// beyond), but for what is `hidden`. What hides B's brow takes the colour on each of its sides.
pub(super) fn skin_as_shown(
    b: &[f32],
    fused: &[f32],
    alpha: &[f32],
    skins: [&[f32]; 2],
    hidden: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let mut shown = b.to_vec();
    let mut skin = vec![0f32; alpha.len()];
    for (i, &a) in alpha.iter().enumerate() {
        for c in 0..3 {
            shown[i * 3 + c] += a * (fused[i * 3 + c] - b[i * 3 + c]);
        }
        skin[i] = (1.0 - hidden[i]) * (a * skins[0][i] + (1.0 - a) * skins[1][i]);
    }
    (shown, skin)
}

/// A face's fine skin texture (pores, fine hairs: its pixels less their cell's smooth colour)
/// read a fixed `offset` away, where that is skin and nothing `hidden`: what hides B's brow takes
/// the texture of the skin beside it, so on a large face it is no flat patch.
pub(super) struct SkinTexture<'a> {
    low: &'a LowRes,
    rgb: &'a [f32],
    smooth: Vec<f32>,
    skin: &'a dyn Fn(usize, usize) -> f32,
    hidden: &'a [f32],
    offset: P2,
}

impl<'a> SkinTexture<'a> {
    /// Over the crop's `rgb` with its `skin` at a crop pixel (0 to 1); `offset` in crop pixels.
    pub(super) fn new(
        low: &'a LowRes,
        rgb: &'a [f32],
        skin: &'a dyn Fn(usize, usize) -> f32,
        hidden: &'a [f32],
        offset: P2,
    ) -> SkinTexture<'a> {
        SkinTexture {
            low,
            rgb,
            smooth: low.average(rgb, 3),
            skin,
            hidden,
            offset,
        }
    }

    /// The texture for crop pixel (x, y), to add to a smooth colour; none off the crop or skin.
    pub(super) fn at(&self, x: usize, y: usize) -> [f32; 3] {
        let (sx, sy) = (
            (x as f32 + self.offset.0).round(),
            (y as f32 + self.offset.1).round(),
        );
        let (w, h) = (self.low.full_w, self.low.full_h);
        if sx < 0.0 || sy < 0.0 || sx >= w as f32 || sy >= h as f32 {
            return [0.0; 3];
        }
        let (sx, sy) = (sx as usize, sy as usize);
        let j = sy * w + sx;
        let weight = (self.skin)(sx, sy) * (1.0 - self.hidden[j]);
        let smooth = self.low.sample::<3>(&self.smooth, sx, sy);
        std::array::from_fn(|c| weight * (self.rgb[j * 3 + c] - smooth[c]))
    }
}

/// Per crop pixel, how much it is B's own brow (B's mesh, `b_points`) where the fused face
/// (`target`) has neither a brow nor an eye: there B's brow must not show through what is left to
/// B (A's covered temple, the rim's feather), or it doubles A's brow (a higher brow's tail above
/// A's). Where the fused face has a brow but shows little of it (`alpha`, its weight per crop
/// pixel: A's brow under its hair is left to B), B's brow is astray by as much as is left to B
/// (hidden by that much of what shows of it, [`TemplateBrows::hide`]: none left where A's face is
/// wholly left to B, a quarter at half weight, where B's brow still carries the feathered edge of
/// A's): it showed there as a grey stroke above A's brow. Soft-edged by a box of `soften` pixels.
fn template_brows_astray(
    crop: &Crop,
    b_points: &[P2],
    target: &[P2],
    alpha: &[f32],
    soften: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; crop.w * crop.h];
    // Only the box around B's brows, with room for the soft edge, is searched.
    let b_brows: Vec<Vec<P2>> = [&BROW_A[..], &BROW_B[..]]
        .iter()
        .map(|idx| crate::geometry::widened(idx, TEMPLATE_BROW_PLACE, &|i| b_points[i]))
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in b_brows.iter().flatten() {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let margin = 2.0 * soften as f32 + 1.0;
    let clip = |v: f32, lo: usize, hi: usize| (v.max(lo as f32) as usize).min(hi);
    let (bx0, by0) = (
        clip(x0 - margin, crop.x, crop.x + crop.w),
        clip(y0 - margin, crop.y, crop.y + crop.h),
    );
    let (bx1, by1) = (
        clip(x1 + margin + 1.0, crop.x, crop.x + crop.w),
        clip(y1 + margin + 1.0, crop.y, crop.y + crop.h),
    );
    if bx1 <= bx0 || by1 <= by0 {
        return out;
    }
    let bx = Crop {
        x: bx0,
        y: by0,
        w: bx1 - bx0,
        h: by1 - by0,
    };
    let mut in_b = vec![false; bx.w * bx.h];
    for poly in &b_brows {
        for (a, b) in in_b.iter_mut().zip(bx.fill_polygon(poly)) {
            *a |= b;
        }
    }
    let fused = inside_any(&bx, target, &[&BROW_A, &BROW_B, &EYE_A, &EYE_B], BROW_PLACE);
    let astray: Vec<f32> = (0..in_b.len())
        .map(|k| match (in_b[k], fused[k]) {
            (false, _) => 0.0,
            (true, false) => 1.0,
            (true, true) => {
                let (x, y) = (bx.x - crop.x + k % bx.w, bx.y - crop.y + k / bx.w);
                1.0 - alpha[y * crop.w + x].clamp(0.0, 1.0)
            }
        })
        .collect();
    if !astray.iter().any(|&a| a > 0.0) {
        return out;
    }
    let soft = LowRes::new(bx.w, bx.h, 1).blur(&astray, 1, soften as f32);
    for y in 0..bx.h {
        for x in 0..bx.w {
            let k = y * bx.w + x;
            out[(bx.y - crop.y + y) * crop.w + bx.x - crop.x + x] =
                (2.0 * soft[k]).min(1.0).max(astray[k]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::MESH_POINTS;
    use crate::parse::{Part, PARTS};

    /// A target shape with each eye's contour a small circle, at (30, 40) and (70, 40).
    fn target() -> Vec<P2> {
        let mut t = vec![(50.0, 80.0); MESH_POINTS];
        for (eye, cx) in [(&EYE_A, 30.0), (&EYE_B, 70.0)] {
            for (k, &i) in eye.iter().enumerate() {
                let a = k as f32 / eye.len() as f32 * std::f32::consts::TAU;
                t[i] = (cx + 6.0 * a.cos(), 40.0 + 4.0 * a.sin());
            }
        }
        t
    }

    /// `points` with each brow's contour a flat ellipse about its centre.
    fn with_brows(mut points: Vec<P2>, a: P2, b: P2) -> Vec<P2> {
        for (brow, c) in [(&BROW_A, a), (&BROW_B, b)] {
            for (k, &i) in brow.iter().enumerate() {
                let t = k as f32 / brow.len() as f32 * std::f32::consts::TAU;
                points[i] = (c.0 + 8.0 * t.cos(), c.1 + 2.0 * t.sin());
            }
        }
        points
    }

    #[test]
    fn a_template_brow_higher_than_the_fused_one_is_hidden_where_b_shows_through() {
        // The fused brows at height 28; B's first brow there too, its second higher, at 16.
        let target = with_brows(target(), (30.0, 28.0), (70.0, 28.0));
        let b_points = with_brows(target.clone(), (30.0, 28.0), (70.0, 16.0));
        let crop = Crop {
            x: 0,
            y: 0,
            w: 100,
            h: 100,
        };
        let n = crop.w * crop.h;
        let parse = FaceParse::uniform(0.0, 0.0, 100.0, [1.0, 0.0, 0.0, 0.0, 0.0]);
        let (region, none) = (vec![true; n], vec![0.0; n]);
        // `shown`: the fused face's weight at a crop pixel; A's colour is black, B's skin grey.
        let hidden = |front: &[f32], shown: &dyn Fn(usize) -> f32| {
            let brows = TemplateBrows {
                crop: &crop,
                b_points: &b_points,
                target: &target,
                region: &region,
                parse: &parse,
                front,
                parsed: &none,
            };
            let (mut warped, mut alpha) = (vec![0.0; n * 3], (0..n).map(shown).collect::<Vec<_>>());
            let astray = brows.astray(1, &alpha).expect("B's higher brow is astray");
            brows.hide(&astray, &mut warped, &mut alpha, &|_, _| Some([128.0; 3]));
            (warped, alpha)
        };
        let at = |x: usize, y: usize| y * 100 + x;
        // The fused face shows on the image's left half, and is left to B on its right half.
        let (warped, alpha) = hidden(&none, &|i| (i % 100 < 50) as u8 as f32);
        // B's higher brow shows B's skin; its brow in the fused brow's place, where the fused face
        // shows, is not painted over, and the rest of B neither.
        assert_eq!(alpha[at(70, 16)], 1.0);
        assert_eq!(warped[at(70, 16) * 3], 128.0);
        assert_eq!((alpha[at(30, 28)], warped[at(30, 28) * 3]), (1.0, 0.0));
        assert_eq!(alpha[at(60, 60)], 0.0);
        // Where the fused face is left to B there too (A's brow under its hair), B's brow in the
        // fused brow's place is hidden.
        let (warped, alpha) = hidden(&none, &|_| 0.0);
        assert!(alpha[at(30, 28)] > 0.9, "{}", alpha[at(30, 28)]);
        assert!(warped[at(30, 28) * 3] > 120.0, "{}", warped[at(30, 28) * 3]);
        assert_eq!(alpha[at(60, 60)], 0.0);
        // What of B stays in front (its hair over the brow) is never painted over.
        let (_, alpha) = hidden(&vec![1.0; n], &|_| 0.0);
        assert!(alpha.iter().all(|&a| a == 0.0));
    }

    /// What of B stays over a 100×100 crop whose parse is `parts` everywhere, with B's `frames`.
    fn cover_of(parts: [f32; PARTS], frames: Option<&FrameMask>) -> Vec<f32> {
        let crop = Crop {
            x: 0,
            y: 0,
            w: 100,
            h: 100,
        };
        let parse = FaceParse::uniform(0.0, 0.0, 100.0, parts);
        // A black B: every pixel of a frame's grown edge is darker than the skin.
        let b = RgbImage::new(100, 100);
        template_cover(&b, &parse, &crop, &vec![true; 100 * 100], &target(), frames).front
    }

    fn keep_at(parts: [f32; PARTS], x: usize, y: usize) -> f32 {
        cover_of(parts, None)[y * 100 + x]
    }

    #[test]
    fn only_what_is_both_stretched_and_dark_is_left_to_b_as_opened_up() {
        // Three bands of a 90×30 crop: stretched and dark, stretched and lit, dark in place.
        let (w, h) = (90, 30);
        let band = |i: usize| (i % w) / 30;
        let stretch: Vec<f32> = (0..w * h).map(|i| [3.0, 3.0, 1.0][band(i)]).collect();
        let darkness: Vec<f32> = (0..w * h).map(|i| [0.8, 0.1, 0.8][band(i)]).collect();
        let opened = opened_up((w, h), &stretch, &|i| darkness[i], 100.0);
        let at = |x: usize| opened[15 * w + x];
        assert_eq!(opened.len(), w * h);
        assert!(at(12) > 0.99, "stretched and dark: {}", at(12));
        assert!(at(45) < 0.01, "stretched, lit: {}", at(45));
        assert!(at(78) < 0.01, "dark, in place: {}", at(78));
    }

    #[test]
    fn the_blend_fades_in_from_where_a_s_face_ends_in_its_photo_as_from_the_oval() {
        // A region 200 px wide (two-pixel cells); in its right half A's photo shows an ear.
        let (w, h) = (200, 40);
        let low = LowRes::new(w, h, 2);
        let region = vec![1.0; w * h];
        let outline: Vec<f32> = (0..w * h)
            .map(|i| if i % w >= 100 { 1.0 } else { 0.0 })
            .collect();
        let alpha = feathered(&low, &region, &outline, 5.0);
        let at = |x: usize| alpha[(h / 4) * low.w + x / 2];
        // Nothing of the ear, a ramp before it, full weight well inside.
        assert!(at(120) < 0.01, "on the ear: {}", at(120));
        assert!(at(96) < 0.3, "just inside A's outline: {}", at(96));
        assert!(at(60) > 0.95, "well inside: {}", at(60));
        // Without an outline, the same place is at full weight.
        let plain = feathered(&low, &region, &vec![0.0; w * h], 5.0);
        assert!(plain[(h / 4) * low.w + 48] > 0.95);
    }

    #[test]
    fn of_b_s_clear_glasses_only_the_frames_stay_where_they_were_searched_and_the_temples_beyond() {
        // The parse's glasses everywhere, no frame found: the lenses (and what the search found
        // not to be frame) are seen through, the temples beyond the search stay B's.
        let mut glasses = [0.0; PARTS];
        glasses[Part::Glasses as usize] = 1.0;
        let frames = FrameMask::none_found([(30.0, 40.0), (70.0, 40.0)]);
        let keep = cover_of(glasses, Some(&frames));
        assert_eq!(keep[40 * 100 + 30], 0.0, "A's eye through B's lens");
        assert_eq!(keep[52 * 100 + 40], 0.0, "A's cheek through B's lens");
        assert_eq!(keep[40 * 100 + 1], 1.0, "B's temple");
    }

    #[test]
    fn b_glasses_stay_but_not_over_the_new_eyes_and_b_hair_stays_everywhere() {
        let mut glasses = [0.0; PARTS];
        glasses[Part::Glasses as usize] = 1.0;
        assert_eq!(keep_at(glasses, 50, 40), 1.0, "the bridge of the frames");
        assert_eq!(keep_at(glasses, 30, 40), 0.0, "A's eye through B's lens");
        let mut hair = [0.0; PARTS];
        hair[Part::Hair as usize] = 1.0;
        assert_eq!(keep_at(hair, 30, 40), 1.0, "B's fringe over the eye");
        let mut skin = [0.0; PARTS];
        skin[Part::Skin as usize] = 1.0;
        assert_eq!(keep_at(skin, 50, 60), 0.0, "B's skin is replaced");
    }

    #[test]
    fn the_skin_nearby_is_the_skin_s_own_colour_there_not_the_brow_s_nor_the_face_s() {
        // A pale lit temple (200) on the right, darker skin (120) on the left, and a dark brow (40,
        // no skin) across both; cells of four pixels, a blur of two cells.
        let (w, h) = (64, 32);
        let low = LowRes::new(w, h, 4);
        let brow = |i: usize| (14..18).contains(&(i / w));
        let rgb: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let v = if brow(i) {
                    40.0
                } else if i % w >= 32 {
                    200.0
                } else {
                    120.0
                };
                [v; 3]
            })
            .collect();
        let skin: Vec<f32> = (0..w * h)
            .map(|i| if brow(i) { 0.0 } else { 1.0 })
            .collect();
        let near = SkinNearby::new(&low, &rgb, &skin, 2.0);
        let temple = near.at(56, 16).expect("skin within reach")[0];
        assert!(
            (temple - 200.0).abs() < 10.0,
            "the lit temple's own: {temple}"
        );
        let cheek = near.at(8, 16).expect("skin within reach")[0];
        assert!(
            (cheek - 120.0).abs() < 10.0,
            "the darker skin's own: {cheek}"
        );
    }

    #[test]
    fn the_skin_texture_is_the_skin_s_fine_detail_above_and_none_from_hidden_or_no_skin() {
        // Skin at 150 with a checkerboard of ±10 above row 24, a hidden band (a brow) at rows 24
        // to 31, hair (no skin) in the left half's top rows; cells of four pixels, texture read
        // eight pixels up.
        let (w, h) = (32, 40);
        let low = LowRes::new(w, h, 4);
        let rgb: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let v = if (24..32).contains(&y) {
                    40.0
                } else {
                    150.0 + if (x + y) % 2 == 0 { 10.0 } else { -10.0 }
                };
                [v; 3]
            })
            .collect();
        let hidden: Vec<f32> = (0..w * h)
            .map(|i| ((24..32).contains(&(i / w))) as u8 as f32)
            .collect();
        let skin = |x: usize, y: usize| if x < 16 && y < 20 { 0.0 } else { 1.0 };
        let texture = SkinTexture::new(&low, &rgb, &skin, &hidden, (0.0, -8.0));
        // In the band's right half, the checkerboard from eight pixels up (rows 16 to 23).
        for (x, y) in [(20, 26), (21, 26), (25, 29)] {
            let t = texture.at(x, y)[0];
            let want = if (x + y - 8) % 2 == 0 { 10.0 } else { -10.0 };
            assert!((t - want).abs() < 1.0, "({x}, {y}): {t} for {want}");
        }
        // Its left half reads hair above: no texture. Below the band, the band itself: none.
        assert_eq!(texture.at(8, 26), [0.0; 3]);
        assert_eq!(texture.at(20, 34), [0.0; 3]);
        // Off the crop: none.
        assert_eq!(texture.at(20, 3), [0.0; 3]);
    }
}
