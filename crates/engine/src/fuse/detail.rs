//! Fine detail: how sharp and how grainy each face is, and A's brought towards B's, so that the new
//! face does not look pasted from another camera.

use super::raster::{
    abs_laplacian, box3, box_pass, coherence, luma, quantile, ramp, structure_tensor, LowRes,
};

/// Detail ratios of A's face to B's within which A's detail is left as it is.
const SHARPNESS_BAND: (f32, f32) = (0.75, 1.5);
/// Grain of B (levels) below which none is added, and how much grainier than A it must be.
const GRAIN_MIN: f32 = 1.5;
const GRAIN_RATIO: f32 = 1.3;
/// Largest gain of A's fine detail when sharpening a soft A (more shows its noise).
const MAX_SHARPEN: f32 = 2.5;
/// A's face width (pixels in its photo) up to which its fine detail is not sharpened at all, and
/// from which it may be by [`MAX_SHARPEN`]: in a face a few JPEG blocks across (8 pixels each, a
/// tenth of an 80-pixel face), the finest detail is mostly the blocks' edges and the noise, and
/// sharpened they became tiles and streaks over the cheeks.
const SHARPENED_FACE: (f32, f32) = (80.0, 160.0);

/// Sharpness ratio of A's face to B's, once sharpened, from which A's skin starts to take B's fine
/// texture, and at which it takes it whole.
const STILL_SOFT: (f32, f32) = (0.6, 0.25);

/// Blur, in B's face widths, over which A's fine detail is compared with B's skin by skin: a patch
/// of a cheek, under an eye.
const PATCH_SIGMA: f32 = 0.04;
/// Share of a pixel's surroundings (over [`PATCH_SIGMA`]) that both faces' skin must weigh for
/// their detail there to be compared, from and fully.
const PATCH_SKIN: (f32, f32) = (0.3, 0.6);

/// Share of the crop that soft patches must cover (taking at least [`PATCH_COUNTS`] of B's texture)
/// for A's face to take B's texture there: B's texture's maps over the crop cost 3–12 ms, not
/// spent on a few stray pixels.
const LEAST_PATCHES: f32 = 0.01;
/// Share of B's texture from which a pixel counts towards [`LEAST_PATCHES`].
const PATCH_COUNTS: f32 = 0.02;

/// Share of the crop where `patches` ([`soft_patches`]) take at least [`PATCH_COUNTS`].
fn patch_share(patches: &[f32]) -> f32 {
    patches.iter().filter(|&&p| p >= PATCH_COUNTS).count() as f32 / patches.len().max(1) as f32
}

/// Largest enlargement of A's face that widens the band of edges that are steepened.
const MAX_EDGE_SCALE: f32 = 4.0;

/// B's camera, which A's warped face takes so that it does not look pasted from another: its
/// sharpness, its edges, its skin's fine texture and its grain.
pub(super) struct Camera<'a> {
    /// The crop of B under the fused face, RGB, and its absolute Laplacian ([`abs_laplacian`]).
    pub(super) b: &'a [f32],
    pub(super) lap_b: &'a [f32],
    /// The blend weight per pixel.
    pub(super) alpha: &'a [f32],
    /// Per pixel, how much both faces are skin there, away from the features: where a soft A may
    /// take B's texture.
    pub(super) skin: &'a dyn Fn(usize) -> f32,
    /// The crop's width and height.
    pub(super) size: (usize, usize),
    /// A's face width and B's, in their photos' pixels.
    pub(super) face_widths: [f32; 2],
}

impl Camera<'_> {
    /// Brings A's face (`rgb`) to B's camera. Returns the sharpness ratio of A's face to B's as
    /// warped (before any change) and the grain of each (A's once sharpened and given B's texture
    /// where it took it), for the report.
    pub(super) fn apply(&self, rgb: &mut [f32]) -> (f32, [f32; 2]) {
        let Camera {
            b,
            lap_b,
            alpha,
            skin,
            size: (w, h),
            face_widths: [a_width, b_width],
        } = *self;
        let lap_a = abs_laplacian(rgb, w, h);
        let ratio = sharpness_ratio(&lap_a, lap_b, alpha, w, h);
        // A soft A's lost edges (lids, irises, the lips' line) are a pixel or two wide, wider by
        // as much as A's face was enlarged.
        let enlarged = (b_width / a_width.max(1.0)).clamp(1.0, MAX_EDGE_SCALE);
        // A face at least as finely detailed as B's is not soft.
        if ratio < 1.0 {
            match_edges(rgb, b, alpha, w, h, enlarged);
        }
        let lap_a = if match_sharpness(rgb, w, h, ratio, most_sharpening(a_width)) {
            abs_laplacian(rgb, w, h)
        } else {
            lap_a
        };
        // Still much softer than B (a small or blurred A: sharpening cannot bring back pores that
        // are not there), A's skin takes B's own fine texture where both are skin, away from the
        // features.
        // A patch of A's skin as much softer than B's skin there takes it too, however sharp the
        // rest of A is: skin seen through a lens, an airbrushed cheek, a smooth band where frames
        // were painted out, plastic beside A's pores.
        let softer = ramp(sharpness_ratio(&lap_a, lap_b, alpha, w, h), STILL_SOFT);
        let patches = soft_patches(&lap_a, lap_b, skin, (w, h), PATCH_SIGMA * b_width);
        let lap_a = if softer > 0.0 || patch_share(&patches) >= LEAST_PATCHES {
            let weight =
                |i: usize| softer.max(patches[i]) * skin(i) * (alpha[i] > 0.0) as u8 as f32;
            borrow_texture(rgb, b, &weight, (w, h), TEXTURE_SIGMA * b_width);
            abs_laplacian(rgb, w, h)
        } else {
            lap_a
        };
        let grains = [grain(&lap_a, alpha, w, h), grain(lap_b, alpha, w, h)];
        add_grain(rgb, alpha, grains[0], grains[1]);
        (ratio, grains)
    }
}

/// Per pixel, how much of B's texture A's skin there takes. The fine detail `lap_a` and `lap_b`,
/// each weighted by `skin` (both faces' skin per pixel), is averaged over a blur of `sigma`
/// pixels; A's there is compared by [`STILL_SOFT`] with the smaller of B's there and A's own mean
/// over the face (softer than both: a patch, not A's ordinary skin beside a more textured part of
/// B's), times how much of the surroundings is skin ([`PATCH_SKIN`]), times A's mean against B's
/// there (at most 1): a patch takes texture about as strong as A's own skin has, not B's (B's
/// pores in its own glare, borrowed whole where A's highlight had been taken out, were a textured
/// band down a smooth forehead). The texture is borrowed as a relative change of brightness, so
/// "as strong" holds in levels where A and B are about as bright.
fn soft_patches(
    lap_a: &[f32],
    lap_b: &[f32],
    skin: &dyn Fn(usize) -> f32,
    (w, h): (usize, usize),
    sigma: f32,
) -> Vec<f32> {
    let weights: Vec<f32> = (0..w * h).map(skin).collect();
    let weighted =
        |lap: &[f32]| -> Vec<f32> { lap.iter().zip(&weights).map(|(l, s)| l * s).collect() };
    let (weighted_a, weighted_b) = (weighted(lap_a), weighted(lap_b));
    let total = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>();
    let a_skin = (total(&weighted_a) / total(&weights).max(1e-6)) as f32;
    // Measured on cells an eighth to a quarter of the blur across: the patches are as smooth as
    // the blur.
    let block = ((sigma / 4.0) as usize).max(1);
    let low = LowRes::new(w, h, block);
    let sigma = (sigma / block as f32).max(1.0);
    let mean = |v: &[f32]| low.blur(&low.average(v, 1), 1, sigma);
    let (a, b, share) = (mean(&weighted_a), mean(&weighted_b), mean(&weights));
    let cells: Vec<f32> = (0..low.w * low.h)
        .map(|i| {
            if b[i] <= 1e-3 || share[i] <= 1e-3 {
                return 0.0;
            }
            // Softer than B's skin there and than A's own elsewhere: a patch, not A's skin beside
            // a more textured part of B's (a stubble, B's wrinkles).
            let typical = a_skin * share[i];
            let as_strong = (typical / b[i]).min(1.0);
            ramp(share[i], PATCH_SKIN)
                * ramp(a[i] / b[i].min(typical).max(1e-3), STILL_SOFT)
                * as_strong
        })
        .collect();
    if block == 1 {
        cells
    } else {
        low.upsample(&cells)
    }
}

/// Fine detail of A's warped face over B's where A's face goes (alpha at least a half, with its four
/// neighbours): the ratio of the mean of their absolute Laplacians ([`abs_laplacian`]).
pub(super) fn sharpness_ratio(a: &[f32], b: &[f32], alpha: &[f32], w: usize, h: usize) -> f32 {
    let (mut da, mut db) = (0f64, 0f64);
    for row in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = row * w + x;
            if alpha[i] < 0.5 || [i - 1, i + 1, i - w, i + w].iter().any(|&j| alpha[j] < 0.5) {
                continue;
            }
            da += a[i] as f64;
            db += b[i] as f64;
        }
    }
    if db < 1.0 {
        return 1.0;
    }
    (da / db) as f32
}

/// The largest gain of the fine detail of a face `width` pixels wide in its photo
/// ([`SHARPENED_FACE`]).
fn most_sharpening(width: f32) -> f32 {
    1.0 + (MAX_SHARPEN - 1.0) * ramp(width, SHARPENED_FACE)
}

/// Brings A's fine detail towards B's: a soft A (a small or blurred face) is sharpened with an
/// unsharp mask, a much sharper A is softened, each in proportion to the measured `ratio` (the
/// Laplacian's energy scales with the detail's gain) and within limits, so that the face does not
/// look pasted from another camera; sharpened by at most `most`. Whether it changed anything.
pub(super) fn match_sharpness(rgb: &mut [f32], w: usize, h: usize, ratio: f32, most: f32) -> bool {
    let gain = if ratio < SHARPNESS_BAND.0 {
        let gain = (SHARPNESS_BAND.0 / ratio.max(0.05)).min(most);
        // Capped at 1 (a face a few JPEG blocks across), nothing changes.
        if gain <= 1.0 {
            return false;
        }
        gain
    } else if ratio > SHARPNESS_BAND.1 {
        SHARPNESS_BAND.1 / ratio
    } else {
        return false;
    };
    let blurred = box3(rgb, w, h);
    for (v, b) in rgb.iter_mut().zip(&blurred) {
        *v = b + gain * (*v - b);
    }
    true
}

/// Share of the face's pixels whose mid-scale edges are weaker than the edge strength compared
/// between the faces: the strongest edges are the features' (lids, irises, brows, the lips' line),
/// which both faces have whatever their skin.
const EDGE_QUANTILE: f32 = 0.95;
/// Edge strength ratio of A to B under which A's mid-scale edges are steepened, and the largest
/// gain.
const EDGE_SOFT: f32 = 0.8;
const MAX_EDGE_GAIN: f32 = 2.0;
/// Mid-scale band magnitudes (levels) under which a pixel's band is left as it is (smooth skin,
/// JPEG blocks, noise), and from which it takes the whole gain.
const EDGE_CORING: (f32, f32) = (1.5, 5.0);

/// Per pixel, the brightness's mid-scale band: a 3-box blur less a wider one (about 0.8 and 2
/// pixels), where a soft face's lids, irises and lip lines lose most against a sharp one's.
fn mid_band(rgb: &[f32], w: usize, h: usize, scale: f32) -> Vec<f32> {
    let y: Vec<f32> = rgb
        .chunks_exact(3)
        .map(|p| luma([p[0], p[1], p[2]]))
        .collect();
    let blur = |width: usize, times: usize| {
        let (mut cur, mut tmp) = (y.clone(), vec![0f32; y.len()]);
        for _ in 0..times {
            box_pass::<1>(&cur, &mut tmp, w, h, width, true);
            box_pass::<1>(&tmp, &mut cur, w, h, width, false);
        }
        cur
    };
    let width = |base: f32| ((base * scale).round() as usize).max(1) | 1;
    let (fine, coarse) = (blur(width(3.0), 1), blur(width(5.0), 2));
    fine.iter().zip(&coarse).map(|(f, c)| f - c).collect()
}

/// The mid-scale edge strength of a face where `alpha` is at least a half, away from the crop's
/// border: what [`EDGE_QUANTILE`] of its band's magnitudes stay under.
fn edge_strength(band: &[f32], alpha: &[f32], w: usize, h: usize) -> Option<f32> {
    // Every other pixel of every other row: the quantile is the same, for a quarter of the cost.
    let mut v: Vec<f32> = (4..h.saturating_sub(4))
        .step_by(2)
        .flat_map(|y| (4..w.saturating_sub(4)).step_by(2).map(move |x| y * w + x))
        .filter(|&i| alpha[i] >= 0.5)
        .map(|i| band[i].abs())
        .collect();
    if v.len() < 100 {
        return None;
    }
    Some(quantile(&mut v, EDGE_QUANTILE))
}

/// Steepens a soft A's mid-scale edges (`rgb`, the warped face) to B's (`b`, the same crop of B):
/// the fine unsharp mask of [`match_sharpness`] lifts only the finest detail, while a face from a
/// soft or small photo has lost its lids', irises' and lips' edges a pixel or two wide. Only the
/// band's clear edges are steepened (coring), so smooth skin and compression blocks are not.
/// Returns the gain (1 when A's edges are B's already).
pub(super) fn match_edges(
    rgb: &mut [f32],
    b: &[f32],
    alpha: &[f32],
    w: usize,
    h: usize,
    scale: f32,
) -> f32 {
    let band_a = mid_band(rgb, w, h, scale);
    let (Some(ea), Some(eb)) = (
        edge_strength(&band_a, alpha, w, h),
        edge_strength(&mid_band(b, w, h, scale), alpha, w, h),
    ) else {
        return 1.0;
    };
    if ea >= EDGE_SOFT * eb || ea < 1e-3 {
        return 1.0;
    }
    let gain = (eb / ea).min(MAX_EDGE_GAIN);
    for (i, &d) in band_a.iter().enumerate() {
        if alpha[i] <= 0.0 {
            continue;
        }
        let t = ((d.abs() - EDGE_CORING.0) / (EDGE_CORING.1 - EDGE_CORING.0)).clamp(0.0, 1.0);
        let lift = (gain - 1.0) * t * d;
        for v in &mut rgb[i * 3..i * 3 + 3] {
            *v += lift;
        }
    }
    gain
}

/// Largest relative change of brightness that B's texture brings to a pixel: pores and fine lines
/// pass, B's moles, freckles and deep creases (B's, not skin texture) come only faintly.
const TEXTURE_DEPTH: f32 = 0.1;
/// Blur, in face widths, whose residue is the texture a soft A borrows from B: pores, not only
/// the finest grain (a 3×3 mean's residue left a soft face plastic, without B's pores).
pub(super) const TEXTURE_SIGMA: f32 = 0.008;

/// Gives A's face (`rgb`) B's own skin texture (`b`, the same crop of B): each pixel's brightness
/// changes by B's there relative to B's mean over a blur of `sigma` pixels, times `weight` (0 to
/// 1: where both faces are skin and A is soft). A multiplicative change keeps A's colour and B's
/// pores.
pub(super) fn borrow_texture(
    rgb: &mut [f32],
    b: &[f32],
    weight: &dyn Fn(usize) -> f32,
    (w, h): (usize, usize),
    sigma: f32,
) {
    let luma_b: Vec<f32> = b
        .chunks_exact(3)
        .map(|p| luma([p[0], p[1], p[2]]))
        .collect();
    let full = LowRes::new(w, h, 1);
    let mean_b = full.blur(&luma_b, 1, sigma.max(0.5));
    let lines = line_likeness(&luma_b, &full, 2.0 * sigma.max(0.5));
    for i in 0..w * h {
        let k = weight(i) * (1.0 - ramp(lines[i], LINE_LIKE));
        if k <= 0.0 {
            continue;
        }
        let mean = mean_b[i].max(8.0);
        let detail = ((luma_b[i] - mean) / mean).clamp(-TEXTURE_DEPTH, TEXTURE_DEPTH);
        for v in &mut rgb[i * 3..i * 3 + 3] {
            *v *= 1.0 + k * detail;
        }
    }
}

/// How much the texture around a pixel runs one way (its structure tensor's coherence, from 0 for
/// pores, which have no direction, to 1 for a line) from which it starts to count as a crease of
/// B's (a smile's, a frown's: B's expression and age, not skin), and at which it fully does.
const LINE_LIKE: (f32, f32) = (0.15, 0.35);

/// Per pixel of a brightness map, the [`coherence`] of its gradients over a blur of `sigma` pixels.
fn line_likeness(y: &[f32], full: &LowRes, sigma: f32) -> Vec<f32> {
    full.blur(&structure_tensor(y, full.w, full.h), 3, sigma)
        .chunks_exact(3)
        .map(|t| coherence([t[0], t[1], t[2]]))
        .collect()
}

/// Sensor grain of a face where A's face goes (alpha at least a half), as a standard deviation in
/// levels, from its absolute Laplacian `lap` ([`abs_laplacian`]): the median absolute Laplacian of the brightness (robust to the face's edges, which are
/// few) over that of white noise of deviation 1 (0.6745 · √20).
pub(super) fn grain(lap: &[f32], alpha: &[f32], w: usize, h: usize) -> f32 {
    let mut laps = Vec::new();
    for row in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = row * w + x;
            if alpha[i] >= 0.5 {
                laps.push(lap[i]);
            }
        }
    }
    if laps.len() < 100 {
        return 0.0;
    }
    let mid = laps.len() / 2;
    *laps.select_nth_unstable_by(mid, f32::total_cmp).1 / (0.6745 * 20f32.sqrt())
}

/// Gives A's face the grain of a noisier B: brightness noise of the missing deviation
/// (√(B² − A²)), from a fixed-seed generator so that the same photos give the same result. A
/// clean face pasted into a grainy photo looks like a sticker.
pub(super) fn add_grain(rgb: &mut [f32], alpha: &[f32], a: f32, b: f32) {
    if b < GRAIN_MIN || b < a * GRAIN_RATIO {
        return;
    }
    let sigma = (b * b - a * a).sqrt();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    };
    for (i, &w) in alpha.iter().enumerate() {
        if w <= 0.0 {
            continue;
        }
        // The sum of four uniforms, near enough a Gaussian, of unit deviation.
        let n = (uniform() + uniform() + uniform() + uniform() - 2.0) * 3f32.sqrt();
        for v in &mut rgb[i * 3..i * 3 + 3] {
            *v += sigma * n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::raster::abs_laplacian;

    #[test]
    fn a_face_a_few_jpeg_blocks_across_is_not_sharpened_and_a_larger_one_is() {
        // pascal_2women's 78-pixel face: its finest detail is its JPEG blocks' edges.
        assert_eq!(most_sharpening(78.0), 1.0);
        assert_eq!(most_sharpening(171.0), MAX_SHARPEN);
        let between = most_sharpening(120.0);
        assert!(between > 1.0 && between < MAX_SHARPEN, "{between}");
        // Capped at 1, a soft face's detail stays as it is.
        let (w, h) = (16, 16);
        let mut rgb: Vec<f32> = (0..w * h * 3)
            .map(|j| if (j / 3) % 5 == 0 { 180.0 } else { 120.0 })
            .collect();
        let before = rgb.clone();
        match_sharpness(&mut rgb, w, h, 0.3, most_sharpening(78.0));
        assert!(rgb.iter().zip(&before).all(|(a, b)| (a - b).abs() < 1e-3));
        match_sharpness(&mut rgb, w, h, 0.3, most_sharpening(171.0));
        assert!(rgb.iter().zip(&before).any(|(a, b)| (a - b).abs() > 10.0));
    }

    #[test]
    fn a_soft_face_takes_the_template_s_fine_texture_where_weighted() {
        // A flat A, a B with a fine checker of pores (±10 levels on 120); the left half weighted.
        let (w, h) = (40, 40);
        let mut a = vec![100f32; w * h * 3];
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| {
                let i = j / 3;
                if (i % w + i / w) % 2 == 0 {
                    130.0
                } else {
                    110.0
                }
            })
            .collect();
        borrow_texture(&mut a, &b, &|i| (i % w < w / 2) as u8 as f32, (w, h), 1.0);
        let lap = abs_laplacian(&a, w, h);
        let mean = |x0: usize, x1: usize| {
            let v: Vec<f32> = (5..35)
                .flat_map(|y| (x0..x1).map(move |x| y * w + x))
                .map(|i| lap[i])
                .collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        assert!(mean(5, 15) > 20.0, "textured: {}", mean(5, 15));
        assert_eq!(mean(25, 35), 0.0, "unweighted: untouched");
        // Colour stays A's: a change of brightness only.
        assert!((a[(20 * w + 5) * 3] - a[(20 * w + 5) * 3 + 1]).abs() < 1e-3);
    }

    #[test]
    fn a_soft_patch_of_a_sharp_face_takes_texture_as_strong_as_its_own_skin() {
        // 60×60, all skin. A's fine detail is 10 everywhere but a flat patch, columns 10–49 of
        // rows 20–39; B's is 10 on the left half, 30 on the right.
        let (w, h) = (60, 60);
        let patch = |i: usize| (10..50).contains(&(i % w)) && (20..40).contains(&(i / w));
        let lap_a: Vec<f32> = (0..w * h)
            .map(|i| if patch(i) { 0.0 } else { 10.0 })
            .collect();
        let lap_b: Vec<f32> = (0..w * h)
            .map(|i| if i % w < 30 { 10.0 } else { 30.0 })
            .collect();
        let weight = soft_patches(&lap_a, &lap_b, &|_| 1.0, (w, h), 2.0);
        let at = |x: usize, y: usize| weight[y * w + x];
        // The patch takes texture as strong as A's skin has (its mean detail, 7.8): 0.78 of B's
        // on the left, a third of that where B's is three times as strong. A's own textured
        // skin takes none, even beside B's more textured half.
        let (left, right) = (at(16, 30), at(44, 30));
        assert!((left - 0.78).abs() < 0.05, "{left}");
        assert!((left / right - 3.0).abs() < 0.3, "{left} {right}");
        assert_eq!(at(2, 30), 0.0);
        assert_eq!(at(30, 8), 0.0);
        assert_eq!(at(45, 8), 0.0);
        // Where little of the surroundings is skin, nothing is compared.
        let none = soft_patches(&lap_a, &lap_b, &|_| 0.0, (w, h), 2.0);
        assert!(none.iter().all(|&v| v == 0.0));
        // Skin on the top half only: the patch's lower rows, whose surroundings are not skin,
        // take none.
        let top = soft_patches(&lap_a, &lap_b, &|i| (i / w < 30) as u8 as f32, (w, h), 2.0);
        assert!(top[24 * w + 16] > 0.5, "{}", top[24 * w + 16]);
        assert_eq!(top[38 * w + 16], 0.0);
    }

    #[test]
    fn soft_patches_measured_on_cells_match_those_measured_per_pixel() {
        // The same scene three times larger, with a blur of 12 pixels (cells of 3), against a blur
        // of 4 pixels at its own size (no cells): the same patch weights, a pixel's width apart.
        let scene = |k: usize| {
            let (w, h) = (60 * k, 60 * k);
            let patch = |i: usize| {
                (10 * k..50 * k).contains(&(i % w)) && (20 * k..40 * k).contains(&(i / w))
            };
            let lap_a: Vec<f32> = (0..w * h)
                .map(|i| if patch(i) { 0.0 } else { 10.0 })
                .collect();
            let lap_b: Vec<f32> = (0..w * h)
                .map(|i| if i % w < 30 * k { 10.0 } else { 30.0 })
                .collect();
            soft_patches(&lap_a, &lap_b, &|_| 1.0, (w, h), 4.0 * k as f32)
        };
        let (small, large) = (scene(1), scene(3));
        for (x, y) in [(16, 30), (44, 30), (2, 30), (30, 8), (30, 21)] {
            let (s, l) = (small[y * 60 + x], large[(3 * y + 1) * 180 + 3 * x + 1]);
            assert!(
                (s - l).abs() < 0.08,
                "({x}, {y}): {s} per pixel, {l} on cells"
            );
        }
    }

    #[test]
    fn a_soft_face_takes_the_template_s_pores_whole_not_only_their_edges() {
        // A flat A, a B with pores four pixels across (blocks of ±6 levels on 120). A 3×3 mean's
        // residue is zero inside each block: only the blocks' edges came, a faint grid.
        let (w, h) = (48, 48);
        let block = |i: usize| ((i % w) / 4 + (i / w) / 4).is_multiple_of(2);
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| if block(j / 3) { 126.0 } else { 114.0 })
            .collect();
        let mut a = vec![100f32; w * h * 3];
        borrow_texture(&mut a, &b, &|_| 1.0, (w, h), 0.008 * 400.0);
        // The centres of the blocks, away from the borders: lighter where B's are.
        let (mut lit, mut dark) = (Vec::new(), Vec::new());
        for by in 2..10 {
            for bx in 2..10 {
                let i = (by * 4 + 1) * w + bx * 4 + 1;
                if block(i) {
                    lit.push(a[i * 3])
                } else {
                    dark.push(a[i * 3])
                }
            }
        }
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!(
            mean(&lit) - mean(&dark) > 5.0,
            "lit {} dark {}",
            mean(&lit),
            mean(&dark)
        );
    }

    #[test]
    fn a_template_s_creases_are_not_borrowed_with_its_pores() {
        // B: pores (blocks of ±6 levels on 120, four pixels across) on the left half, a dark
        // crease (two rows, 20 levels deep) across a smooth right half. A smile's or a frown's
        // lines are B's expression and age, not skin.
        let (w, h) = (64, 48);
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| {
                let (x, y) = ((j / 3) % w, (j / 3) / w);
                if x < w / 2 {
                    if (x / 4 + y / 4) % 2 == 0 {
                        126.0
                    } else {
                        114.0
                    }
                } else if y == 24 || y == 25 {
                    100.0
                } else {
                    120.0
                }
            })
            .collect();
        let mut a = vec![100f32; w * h * 3];
        borrow_texture(&mut a, &b, &|_| 1.0, (w, h), 2.4);
        let at = |x: usize, y: usize| a[(y * w + x) * 3];
        // The crease stays out: A's brightness on it is within a level of A's own.
        for x in 40..56 {
            assert!(
                (at(x, 24) - 100.0).abs() < 1.0,
                "crease at {x}: {}",
                at(x, 24)
            );
        }
        // The pores come.
        let spread = (10..22)
            .map(|y| (at(9, y) - 100.0).abs())
            .fold(0.0, f32::max);
        assert!(spread > 3.0, "pores: {spread}");
    }

    #[test]
    fn a_soft_edge_is_steepened_to_the_template_s_and_smooth_skin_is_not() {
        // Vertical edges every 16 pixels (60 to 180), blurred in A; and a faint ripple of ±1 level
        // on A's flat parts (compression, noise), which coring leaves alone.
        let (w, h) = (64, 64);
        let step = |x: usize| {
            if (x / 16).is_multiple_of(2) {
                60.0
            } else {
                180.0
            }
        };
        let sharp: Vec<f32> = (0..w * h * 3).map(|j| step(j / 3 % w)).collect();
        let mut soft = sharp.clone();
        for _ in 0..3 {
            let mut tmp = soft.clone();
            box_pass::<3>(&soft, &mut tmp, w, h, 5, true);
            soft = tmp;
        }
        for (j, v) in soft.iter_mut().enumerate() {
            let (x, y) = (j / 3 % w, j / 3 / w);
            if x % 16 > 4 && x % 16 < 12 {
                *v += if (x + y).is_multiple_of(2) { 1.0 } else { -1.0 };
            }
        }
        let alpha = vec![1f32; w * h];
        let before = soft.clone();
        // The edge's gradient energy across it, on one row.
        let steepness = |rgb: &[f32]| {
            (8..24)
                .map(|x| (rgb[(32 * w + x + 1) * 3] - rgb[(32 * w + x) * 3]).powi(2))
                .sum::<f32>()
        };
        let gain = match_edges(&mut soft, &sharp, &alpha, w, h, 1.0);
        assert!(gain > 1.5, "{gain}");
        assert!(
            steepness(&soft) > 1.2 * steepness(&before),
            "{} against {}",
            steepness(&soft),
            steepness(&before)
        );
        let flat = (32 * w + 24) * 3;
        assert_eq!(soft[flat], before[flat], "the ripple is not amplified");
        // As sharp as B already: nothing changes.
        let mut same = sharp.clone();
        assert_eq!(match_edges(&mut same, &sharp, &alpha, w, h, 1.0), 1.0);
        assert_eq!(same, sharp);
    }

    #[test]
    fn grain_is_measured_and_added_to_match_a_noisier_template() {
        let (w, h) = (80, 80);
        let alpha = vec![1f32; w * h];
        let flat = vec![128f32; w * h * 3];
        assert!(grain(&abs_laplacian(&flat, w, h), &alpha, w, h) < 0.01);
        let mut noisy = flat.clone();
        add_grain(&mut noisy, &alpha, 0.0, 6.0);
        let g = grain(&abs_laplacian(&noisy, w, h), &alpha, w, h);
        assert!((g - 6.0).abs() < 1.0, "measured {g} for 6 added");
        let mut clean = flat.clone();
        add_grain(&mut clean, &alpha, 5.0, 5.5);
        assert_eq!(clean, flat, "B not grainier than A: nothing added");
    }
}
