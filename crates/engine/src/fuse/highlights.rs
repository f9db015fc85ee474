//! A's own highlights: its burnt-out specular spots taken out of its colour before B's light is
//! put on, and its brightest parts kept from burning out once it is.

use super::light::SkinLight;
use super::raster::{luma, quantile, ramp, LowRes};

/// Brightness that the 98th percentile of A's shaded face may reach before its highlights are
/// compressed.
pub(super) const HIGHLIGHT_CEILING: f32 = 240.0;

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
        let (median, top) = (quantile(&mut levels, 0.5), quantile(&mut levels, 0.98));
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

/// The white part of a pixel `p` over the local diffuse skin colour `d` at which it starts to count
/// as a highlight of A's light: a floor plus a share of the skin's brightness (noise and pores stay
/// under it), and the further amount over which it comes to count fully.
pub(super) const SPECULAR_START: (f32, f32) = (8.0, 0.08);
pub(super) const SPECULAR_RANGE: f32 = 30.0;
/// Brightest channel from which a pixel can be a highlight, and at which it fully can: a highlight
/// that turns into a patch is one that burnt out (nearly) in A's photo; a fainter sheen is A's
/// modelling and stays.
pub(super) const SPECULAR_BURNT: (f32, f32) = (215.0, 245.0);
/// Spread of the local skin colour's channels (sum of squared deviations from their mean) under
/// which a face is too grey to tell a highlight's white from its skin, and over which it fully can.
pub(super) const SPECULAR_CHROMA: (f32, f32) = (150.0, 600.0);
/// Blur of the skin colour that replaces a highlight, against that of the skin colour it is told
/// from.
const FILL_SCALE: f32 = 0.3;
/// How much brighter than the skin around it a highlight stays once its white is taken out.
const SPECULAR_LIFT: f32 = 1.3;

/// How much of a pixel `p` is a specular highlight of A's own light, 0–1, against `d`, the local
/// colour of the skin around it. The pixel is modelled as `t·d + w·(1, 1, 1)` (the dichromatic
/// model: the surface's own colour plus the light's, taken as white), fitted by least squares over
/// its three channels; a large `w` is a highlight. Shadows, redness and freckles keep `w` near or
/// under zero.
pub(super) fn specular(p: [f32; 3], d: [f32; 3]) -> f32 {
    let mean = |v: [f32; 3]| (v[0] + v[1] + v[2]) / 3.0;
    let (dm, pm) = (mean(d), mean(p));
    let spread: f32 = d.iter().map(|v| (v - dm).powi(2)).sum();
    let chroma = ramp(spread, SPECULAR_CHROMA);
    if chroma <= 0.0 {
        return 0.0;
    }
    // A paler patch that did not burn out (make-up, a lit cheek of a fair face) is the skin's own.
    let burnt = ramp(p[0].max(p[1]).max(p[2]), SPECULAR_BURNT);
    if burnt <= 0.0 {
        return 0.0;
    }
    let cov: f32 = (0..3).map(|c| (d[c] - dm) * (p[c] - pm)).sum();
    let white = pm - cov / spread * dm;
    let start = SPECULAR_START.0 + SPECULAR_START.1 * luma(d);
    chroma * burnt * ((white - start) / SPECULAR_RANGE).clamp(0.0, 1.0)
}

/// Removal of A's specular highlights from A's warped face ([`specular`]).
pub(super) struct HighlightRemoval<'a> {
    pub(super) low: &'a LowRes,
    /// Per pixel, 1 inside the fused region.
    pub(super) region: &'a [f32],
    /// Per pixel, the parse's probability of skin (eyes, teeth and hair are never highlights).
    pub(super) skin: &'a [f32],
    /// Per low-res cell, how much it counts as skin for the light.
    pub(super) skin_weights: &'a [f32],
    /// Blur of the local skin colour, in low-res pixels.
    pub(super) sigma: f32,
}

impl HighlightRemoval<'_> {
    /// Replaces highlights in `warped` by the local skin colour; returns A's light measured again
    /// without them (hiding what `light` hides) and the share of the region they took, or `None`
    /// when A showed none. Two passes: the local skin colour is measured again without the first
    /// pass's highlights, which would otherwise lighten it.
    pub(super) fn remove(&self, warped: &mut [f32], light: &SkinLight) -> Option<(SkinLight, f32)> {
        let found = self.find(warped, light);
        if found.iter().all(|&k| k == 0.0) {
            return None;
        }
        // The skin colour is measured again without them: they lighten it, and hide the fainter
        // rim of each highlight. (Once: measured again and again, the skin colour would darken
        // until lit skin passed for highlights.)
        let cleaner = self.without(warped, &found);
        let found = self.find(warped, &cleaner);
        // The colour put in their place is the skin right around them (a coarser blur would
        // darken a highlight on a well-lit forehead), the coarser one where they are wide.
        let (fine, near) = self.skin_colour(&cleaner, self.sigma * FILL_SCALE);
        let (coarse, _) = self.skin_colour(&cleaner, self.sigma);
        let colour: Vec<f32> = (0..fine.len())
            .map(|j| {
                let f = ramp(near[j / 3], (0.1, 0.4));
                coarse[j] + f * (fine[j] - coarse[j])
            })
            .collect();
        for (i, &k) in found.iter().enumerate() {
            if k > 0.0 {
                let d = self
                    .low
                    .sample::<3>(&colour, i % self.low.full_w, i / self.low.full_w);
                // The skin's colour, at the pixel's brightness up to a limit: the sheen of lit
                // skin stays, its white (which B's light would tint into a patch) goes.
                let p = [warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]];
                let lift = (luma(p) / luma(d).max(1.0)).min(SPECULAR_LIFT);
                for c in 0..3 {
                    warped[i * 3 + c] += k * (d[c] * lift - p[c]);
                }
            }
        }
        let share = found.iter().sum::<f32>() / self.region.iter().sum::<f32>().max(1.0);
        Some((self.light_over(warped, self.region).hiding_as(light), share))
    }

    /// A's skin light without the pixels in `highlights` (by how much each is one).
    fn without(&self, warped: &[f32], highlights: &[f32]) -> SkinLight {
        let keep: Vec<f32> = self
            .region
            .iter()
            .zip(highlights)
            .map(|(r, k)| r * (1.0 - k))
            .collect();
        self.light_over(warped, &keep)
    }

    /// A's skin light over the pixels weighted by `weights`.
    fn light_over(&self, warped: &[f32], weights: &[f32]) -> SkinLight {
        SkinLight::over_pixels(self.low, warped, weights, self.skin_weights)
    }

    /// Per low-res cell, the local skin colour of `light` at blur `sigma` (0 where there is no
    /// skin near), and how much skin it was measured on.
    fn skin_colour(&self, light: &SkinLight, sigma: f32) -> (Vec<f32>, Vec<f32>) {
        let (w, sums) = light.blur(self.low, sigma);
        let colour = (0..sums.len())
            .map(|j| {
                if w[j / 3] < 1e-3 {
                    0.0
                } else {
                    sums[j] / w[j / 3]
                }
            })
            .collect();
        (colour, w)
    }

    /// Per pixel, how much of it is a highlight against the local skin colour of `light`.
    fn find(&self, warped: &[f32], light: &SkinLight) -> Vec<f32> {
        let (colour, _) = self.skin_colour(light, self.sigma);
        (0..self.region.len())
            .map(|i| {
                let skin = ramp(self.skin[i], (0.5, 0.9));
                if self.region[i] <= 0.0 || skin <= 0.0 {
                    return 0.0;
                }
                let p = [warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]];
                // Most pixels are far from burnt out: no need to look at the skin around them.
                if p[0].max(p[1]).max(p[2]) <= SPECULAR_BURNT.0 {
                    return 0.0;
                }
                let (x, y) = (i % self.low.full_w, i / self.low.full_w);
                let d = self.low.sample::<3>(&colour, x, y);
                if d.iter().all(|&v| v <= 0.0) {
                    return 0.0;
                }
                skin * specular(p, d)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specular_highlight_is_told_from_shadow_redness_and_noise() {
        let skin = [200.0, 150.0, 120.0];
        assert_eq!(specular(skin, skin), 0.0);
        // Shaded, or lit brighter, with the skin's own colour: not a highlight.
        assert_eq!(specular(skin.map(|v| v * 0.6), skin), 0.0);
        assert_eq!(specular(skin.map(|v| v * 1.2), skin), 0.0);
        // A red cheek, a dark freckle, sensor noise: not either.
        assert_eq!(specular([225.0, 135.0, 112.0], skin), 0.0);
        assert_eq!(specular([150.0, 100.0, 80.0], skin), 0.0);
        assert_eq!(specular([204.0, 147.0, 123.0], skin), 0.0);
        // The light's white over the skin, even burnt out in red: a highlight.
        assert!(specular([255.0, 235.0, 210.0], skin) > 0.9);
        assert!(specular([250.0, 225.0, 205.0], skin) > 0.5);
        // Paler, not burnt out (make-up, a fair lit cheek): the skin's own.
        assert_eq!(specular([205.0, 172.0, 150.0], skin), 0.0);
        assert_eq!(specular([210.0, 190.0, 175.0], skin), 0.0);
        // On a grey face (a black-and-white photo) white cannot be told from skin.
        assert_eq!(specular([250.0, 250.0, 250.0], [150.0, 150.0, 150.0]), 0.0);
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
