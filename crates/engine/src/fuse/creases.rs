//! Creases: the fine relief of skin (wrinkles, laugh lines, a smile's folds, the shading of pores),
//! between the pixel grain that [`super::detail`] matches and the mid-scale relief that
//! [`super::relief`] flattens. A retouched or softly lit template has little of it; carried over
//! from a sharply photographed A it reads as a face older and harsher than the photo it sits in,
//! grey streaks on a smooth cheek. A's is softened to B's depth where it is much deeper.

use super::raster::{luma, quantile, LowRes};

/// Blurs, in face widths, that bound the crease band: what is finer is grain and pores (matched by
/// [`super::detail`]), what is coarser is relief (flattened by [`super::relief`]).
const CREASE_FINE: f32 = 0.004;
const CREASE_COARSE: f32 = 0.015;
/// How much deeper than B's A's creases may be before they are softened (faces differ: a smile's
/// folds and an older face's lines are A's own).
const CREASE_TOLERANCE: f32 = 1.0;
/// The least of A's creases that is kept, however smooth B's skin.
const MIN_CREASE_GAIN: f32 = 0.35;
/// Share of the skin whose creases are shallower than its depth.
const DEPTH_QUANTILE: f32 = 0.9;
/// Brightness floor of the skin around: black pixels must not make bottomless creases.
const LUMA_FLOOR: f32 = 8.0;

/// Per cell of `low`, the crease band of a face: its brightness over its skin (`weights`, 0 to 1:
/// what is not skin, eyes and brows and lips, takes the band of the skin around it) averaged over
/// the cell (the fine scale: the cells are [`CREASE_FINE`] face widths), relative to that blurred
/// to the coarse scale, less one (-0.1: a tenth darker than the skin around); `face_width` in
/// cells. Zero where no skin is near.
fn band(rgb: &[f32], weights: &[f32], low: &LowRes, face_width: f32) -> Band {
    // Sums per cell of the weighted brightness and of the weights, then their block means.
    let mut fine = vec![0f32; low.w * low.h * 2];
    let (w, block) = (low.full_w, low.block);
    let column_cell: Vec<usize> = (0..w).map(|x| x / block * 2).collect();
    for (y, (pixels, row_weights)) in rgb
        .chunks_exact(w * 3)
        .zip(weights.chunks_exact(w))
        .enumerate()
    {
        let cells = &mut fine[(y / block) * low.w * 2..(y / block + 1) * low.w * 2];
        for ((p, &k), &c) in pixels.chunks_exact(3).zip(row_weights).zip(&column_cell) {
            if k > 0.0 {
                let cell = &mut cells[c..c + 2];
                cell[0] += luma([p[0], p[1], p[2]]) * k;
                cell[1] += k;
            }
        }
    }
    // (A cell's pixel count divides both sums: their ratio is the mean brightness of its skin.)
    let area = (block * block) as f32;
    fine.iter_mut().for_each(|v| *v /= area);
    let coarse = low.blur(&fine, 2, CREASE_COARSE * face_width);
    let relative = fine
        .chunks_exact(2)
        .zip(coarse.chunks_exact(2))
        .map(|(f, c)| {
            if f[1] > 1e-3 && c[1] > 1e-3 {
                (f[0] / f[1]) / (c[0] / c[1]).max(LUMA_FLOOR) - 1.0
            } else {
                0.0
            }
        })
        .collect();
    Band {
        relative,
        skin: fine.chunks_exact(2).map(|f| f[1]).collect(),
    }
}

/// A face's crease band per cell, and how much of each cell is its skin.
struct Band {
    relative: Vec<f32>,
    skin: Vec<f32>,
}

/// How deep a band's creases are over the cells where both faces are mostly skin: the magnitude
/// that [`DEPTH_QUANTILE`] of them stay under (creases are few: a mean would be the smooth skin's).
fn depth(band: &Band, other: &Band) -> Option<f32> {
    let mut v: Vec<f32> = band
        .relative
        .iter()
        .zip(band.skin.iter().zip(&other.skin))
        .filter(|(_, (&a, &b))| a.min(b) >= 0.5)
        .map(|(r, _)| r.abs())
        .collect();
    if v.len() < 100 {
        return None;
    }
    Some(quantile(&mut v, DEPTH_QUANTILE))
}

/// Softens A's creases (`rgb`, the warped face, its skin `a_skin`: where A's face goes) towards
/// B's depth (`b`, the same crop of B, its skin `b_skin`), measured where both are skin; the crop
/// is `w` by `h` pixels, the face `face_width` pixels wide. Each of A's skin pixels keeps the share
/// of its crease band that brings A's depth to B's (within [`CREASE_TOLERANCE`]), never less than
/// [`MIN_CREASE_GAIN`]; brightness only, so A's colours stay. Returns that share (1 when A's
/// creases are not deeper than B's). A smoother A borrows none of B's: B's lines are B's age and
/// who B is (borrowed, the scorer's identity distance to A went from 0.522 to 0.530 on the
/// development pairs).
pub(super) fn soften(
    rgb: &mut [f32],
    b: &[f32],
    a_skin: &[f32],
    b_skin: &[f32],
    (w, h): (usize, usize),
    face_width: f32,
) -> f32 {
    let block = ((CREASE_FINE * face_width).round() as usize).max(1);
    let low = LowRes::new(w, h, block);
    let cells = face_width / block as f32;
    let band_b = band(b, b_skin, &low, cells);
    let band_a = band(rgb, a_skin, &low, cells);
    let (Some(depth_a), Some(depth_b)) = (depth(&band_a, &band_b), depth(&band_b, &band_a)) else {
        return 1.0;
    };
    if depth_a <= CREASE_TOLERANCE * depth_b {
        return 1.0;
    }
    let gain = (CREASE_TOLERANCE * depth_b / depth_a).max(MIN_CREASE_GAIN);
    for (y, (pixels, weights)) in rgb
        .chunks_exact_mut(w * 3)
        .zip(a_skin.chunks_exact(w))
        .enumerate()
    {
        for (x, (p, &k)) in pixels.chunks_exact_mut(3).zip(weights).enumerate() {
            if k > 0.0 {
                let factor = 1.0 + (gain - 1.0) * low.sample::<1>(&band_a.relative, x, y)[0] * k;
                p.iter_mut().for_each(|v| *v *= factor);
            }
        }
    }
    gain
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey face `w` pixels square with a dark line of `depth` (a share of its brightness) two
    /// pixels wide every twelve rows, in the colour `tint`.
    fn lined(w: usize, depth: f32, tint: [f32; 3]) -> Vec<f32> {
        (0..w * w * 3)
            .map(|j| {
                let y = j / 3 / w;
                let shade = if y % 12 < 2 { 1.0 - depth } else { 1.0 };
                tint[j % 3] * shade
            })
            .collect()
    }

    /// How much darker the lines are than the skin between them, at the middle column.
    fn line_depth(rgb: &[f32], w: usize) -> f32 {
        let g = |y: usize| rgb[(y * w + w / 2) * 3 + 1];
        1.0 - g(48) / g(54)
    }

    #[test]
    fn deep_creases_on_a_smooth_template_are_softened_and_keep_their_colour() {
        let w = 120;
        let tint = [180.0, 140.0, 120.0];
        let skin = vec![1f32; w * w];
        let mut a = lined(w, 0.3, tint);
        let b = lined(w, 0.05, tint);
        let before = line_depth(&a, w);
        let gain = soften(&mut a, &b, &skin, &skin, (w, w), 400.0);
        let after = line_depth(&a, w);
        assert!(gain < 0.5, "{gain}");
        assert!(after < 0.7 * before, "{after} against {before}");
        assert!(after > 0.0, "softened, not erased: {after}");
        // Brightness only: the skin's red over green stays.
        let i = (49 * w + w / 2) * 3;
        assert!((a[i] / a[i + 1] - tint[0] / tint[1]).abs() < 1e-3);
    }

    #[test]
    fn creases_no_deeper_than_the_template_s_or_off_the_skin_stay() {
        let w = 120;
        let tint = [180.0, 140.0, 120.0];
        let skin = vec![1f32; w * w];
        let a = lined(w, 0.2, tint);
        let mut same = a.clone();
        assert_eq!(soften(&mut same, &a, &skin, &skin, (w, w), 400.0), 1.0);
        assert_eq!(same, a);
        // Where A's face is no skin (its weight zero), nothing moves.
        let none = vec![0f32; w * w];
        let mut off = a.clone();
        soften(&mut off, &lined(w, 0.02, tint), &none, &skin, (w, w), 400.0);
        assert_eq!(off, a);
    }
}
