//! Light: each face's skin-weighted low-frequency light, the shading gain from A's to B's, and the
//! highlight guard.

use super::raster::{luma, LowRes};

/// Tolerance of the skin test, in median absolute deviations of the interior.
pub(super) const SKIN_SPREAD: f32 = 3.0;
/// Brightness that the 98th percentile of A's shaded face may reach before its highlights are
/// compressed.
pub(super) const HIGHLIGHT_CEILING: f32 = 240.0;
/// Limits of the brightness gain of the shading transfer.
pub(super) const BRIGHTNESS_RANGE: (f32, f32) = (0.3, 2.5);
/// Limits of the per-channel colour gain, against chroma blow-ups on desaturated sources.
pub(super) const TINT_RANGE: (f32, f32) = (0.6, 1.7);
/// A's low-frequency level is floored at this before dividing, so dark hair or shadows in A cannot
/// produce huge gains.
pub(super) const GAIN_FLOOR: f32 = 24.0;

/// Keeps A's brightest parts from burning out: when the shading gain lifts A's upper brightness
/// (its 98th percentile) past [`HIGHLIGHT_CEILING`], the levels above A's median are compressed
/// so that they end there (a strongly lit A brightened into a pale B would show flat white
/// patches). Otherwise it changes nothing.
pub(super) struct HighlightGuard {
    pub(super) median: f32,
    pub(super) slope: f32,
}

impl HighlightGuard {
    /// Fitted on the pixels that are mostly A's (blend weight at least a half).
    pub(super) fn fit(shaded: &[f32], alpha: &[f32]) -> HighlightGuard {
        let none = HighlightGuard {
            median: 255.0,
            slope: 1.0,
        };
        let mut levels: Vec<f32> = alpha
            .iter()
            .enumerate()
            .step_by(3)
            .filter(|(_, &w)| w >= 0.5)
            .map(|(i, _)| luma([shaded[i * 3], shaded[i * 3 + 1], shaded[i * 3 + 2]]))
            .collect();
        if levels.len() < 100 {
            return none;
        }
        // Two order statistics, without sorting all the levels.
        let last = (levels.len() - 1) as f32;
        let mut at = |q: f32| {
            *levels
                .select_nth_unstable_by((last * q) as usize, f32::total_cmp)
                .1
        };
        let (median, top) = (at(0.5), at(0.98));
        if top <= HIGHLIGHT_CEILING || median >= HIGHLIGHT_CEILING {
            return none;
        }
        HighlightGuard {
            median,
            slope: (HIGHLIGHT_CEILING - median) / (top - median),
        }
    }

    /// The pixel scaled to its compressed brightness (hue and saturation kept).
    pub(super) fn apply(&self, rgb: [f32; 3]) -> [f32; 3] {
        let y = luma(rgb);
        if y <= self.median {
            return rgb;
        }
        let k = (self.median + (y - self.median) * self.slope) / y;
        rgb.map(|v| v * k)
    }
}

/// How far each low-res cell of a warped face is from that face's own skin (the median of the
/// `sample` cells), in tolerances, from block averages `a_low` (sums weighted by `m_low`).
pub(super) fn skin_distance(a_low: &[f32], m_low: &[f32], sample: &[bool]) -> Vec<f32> {
    let colour = |i: usize| [0, 1, 2].map(|c| a_low[i * 3 + c] / m_low[i].max(1e-3));
    let interior: Vec<usize> = (0..m_low.len()).filter(|&i| sample[i]).collect();
    if interior.len() < 8 {
        return vec![0.0; m_low.len()];
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let centre = [0, 1, 2].map(|c| median(interior.iter().map(|&i| colour(i)[c]).collect()));
    let spread = [0, 1, 2].map(|c| {
        median(
            interior
                .iter()
                .map(|&i| (colour(i)[c] - centre[c]).abs())
                .collect(),
        )
    });
    (0..m_low.len())
        .map(|i| {
            if m_low[i] < 1e-3 {
                return f32::MAX;
            }
            let p = colour(i);
            let d2: f32 = (0..3)
                .map(|c| ((p[c] - centre[c]) / (SKIN_SPREAD * spread[c] + 8.0)).powi(2))
                .sum();
            (d2 / 3.0).sqrt()
        })
        .collect()
}

/// How much each low-res cell counts as skin (from 1 down to a small floor), by its colour's
/// distance to the face's own skin colour ([`skin_distance`]).
pub(super) fn skin_weights(distance: &[f32]) -> Vec<f32> {
    distance
        .iter()
        .map(|d| (2.5 - d).clamp(0.05, 1.0))
        .collect()
}

/// One face's low-res colour weighted by skin, ready to be blurred into its light: `weight` is each
/// cell's share inside the fused region times how much it counts as skin, `sums` the cell's mean
/// colour times that weight.
pub(super) struct SkinLight {
    pub(super) weight: Vec<f32>,
    pub(super) sums: Vec<f32>,
}

impl SkinLight {
    /// From the share of each cell inside the region (`mask`), the cells' mean colours times that
    /// share (`colour`) and how much each cell counts as skin.
    pub(super) fn new(mask: &[f32], colour: &[f32], skin: &[f32]) -> SkinLight {
        SkinLight {
            weight: mask.iter().zip(skin).map(|(m, s)| m * s).collect(),
            sums: colour
                .iter()
                .enumerate()
                .map(|(j, &v)| v * skin[j / 3])
                .collect(),
        }
    }

    /// Blurred weight and blurred colour sums.
    pub(super) fn blur(&self, low: &LowRes, sigma: f32) -> (Vec<f32>, Vec<f32>) {
        (
            low.blur(&self.weight, 1, sigma),
            low.blur(&self.sums, 3, sigma),
        )
    }
}

/// Per-channel gain that gives A's warped face B's low-frequency shading at blur `sigma` (low-res
/// pixels): brightness and colour separately, each within limits. Each side's shading is a blur
/// weighted by skin, so hair and beards do not count as light.
pub(super) fn shading_gain(low: &LowRes, a: &SkinLight, b: &SkinLight, sigma: f32) -> Vec<f32> {
    let (wa, a_blur) = a.blur(low, sigma);
    let (wb, b_blur) = b.blur(low, sigma);
    let mut gain = vec![1f32; low.w * low.h * 3];
    for i in 0..low.w * low.h {
        if wa[i] < 1e-4 || wb[i] < 1e-4 {
            continue;
        }
        let la = [0, 1, 2].map(|c| a_blur[i * 3 + c] / wa[i]);
        let lb = [0, 1, 2].map(|c| b_blur[i * 3 + c] / wb[i]);
        // Brightness follows B's shading within limits (so A's beard or brows are not lifted to
        // skin level), colour follows B's skin tone.
        let (ya, yb) = (luma(la).max(GAIN_FLOOR), luma(lb).max(1.0));
        let brightness = (yb / ya).clamp(BRIGHTNESS_RANGE.0, BRIGHTNESS_RANGE.1);
        for c in 0..3 {
            let tint =
                ((lb[c].max(1.0) / yb) / (la[c].max(1.0) / ya)).clamp(TINT_RANGE.0, TINT_RANGE.1);
            gain[i * 3 + c] = brightness * tint;
        }
    }
    gain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beard_in_b_is_not_taken_for_shadow() {
        // A: even grey skin. B: brighter skin with a dark beard over the lower third.
        let (w, h) = (60, 60);
        let low = LowRes::new(w, h, 1);
        let mask = vec![1f32; w * h];
        let a = vec![100f32; w * h * 3];
        let beard = |i: usize| i / w >= 40;
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| if beard(j / 3) { 40.0 } else { 150.0 })
            .collect();
        let skin_a = vec![1f32; w * h];
        let skin_b: Vec<f32> = (0..w * h)
            .map(|i| if beard(i) { 0.05 } else { 1.0 })
            .collect();
        let light_a = SkinLight::new(&mask, &a, &skin_a);
        // Four cells into the beard (two thirds of the blur's sigma): the skin light above still
        // dominates.
        let at = (44 * w + 30) * 3;
        let gain = shading_gain(&low, &light_a, &SkinLight::new(&mask, &b, &skin_b), 6.0);
        assert!(
            gain[at] > 1.25,
            "A's chin takes B's skin light, not its beard: gain {}",
            gain[at]
        );
        // Counted as skin, the beard would darken A's chin.
        let all_skin = vec![1f32; w * h];
        let naive = shading_gain(&low, &light_a, &SkinLight::new(&mask, &b, &all_skin), 6.0);
        assert!(naive[at] < 0.9, "naive gain {}", naive[at]);
    }

    #[test]
    fn highlights_are_compressed_only_when_they_would_burn_out() {
        let grey = |v: f32| [v, v, v];
        let face = |levels: &dyn Fn(usize) -> f32| -> Vec<f32> {
            (0..3000).flat_map(|i| grey(levels(i))).collect()
        };
        let alpha = vec![1f32; 3000];

        let moderate = HighlightGuard::fit(&face(&|i| 80.0 + (i % 100) as f32), &alpha);
        assert_eq!(moderate.apply(grey(179.0)), grey(179.0));

        // Levels 100..300: median 200, 98th percentile about 296.
        let bright = HighlightGuard::fit(&face(&|i| 100.0 + (i % 200) as f32), &alpha);
        assert_eq!(
            bright.apply(grey(150.0)),
            grey(150.0),
            "below the median: kept"
        );
        let top = bright.apply(grey(296.0))[0];
        assert!(
            (top - HIGHLIGHT_CEILING).abs() < 2.0,
            "98th percentile to the ceiling: {top}"
        );
        let (a, b) = (bright.apply(grey(220.0))[0], bright.apply(grey(260.0))[0]);
        assert!(200.0 < a && a < b && b < top, "order kept: {a} {b} {top}");
        let tinted = bright.apply([280.0, 250.0, 200.0]);
        assert!(
            (tinted[0] / tinted[2] - 1.4).abs() < 1e-3,
            "hue kept: {tinted:?}"
        );
    }
}
