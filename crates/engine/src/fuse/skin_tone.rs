//! Skin colour by brightness. A face's skin is not one colour made lighter or darker: where it is in
//! shadow it is deeper and redder (its light went through skin), where it is lit it is paler, and
//! how much so depends on the skin and on the light (a tan under a warm light changes a lot, a pale
//! face in a flash hardly). The shading gain gives A's face B's mean colour; this gives it B's
//! colour at each brightness, so a pale, flat-lit A in a tanned, warm-lit B does not stay a grey
//! mask with B's mean tint, and a tanned A in a pale B does not keep its red-brown shadows.
//!
//! Each face's chromaticity (red and blue over brightness) is fitted as a straight line of its
//! brightness over its skin; A's skin pixels are then moved by the difference between B's line
//! and A's at their own brightness (brightness unchanged).
//!
//! The same line tells how colourful a photo is. Skin in a colour photo is never near grey, so a
//! template whose skin is (a black-and-white photo, a film still graded towards grey) takes A's
//! lips, irises, brows and make-up only as colourful as its own photo is: red lips in a grey still
//! are a colour patch.

use super::raster::{luma, median, quantile};

/// Brightness range of the pixels that are fitted: darker ones are noise and beard roots, brighter
/// ones may be burnt out in a channel (their colour is the sensor's, not the skin's).
const FIT_RANGE: (f32, f32) = (35.0, 240.0);
/// A pixel with a channel at or above this is burnt out and not fitted.
const BURNT: f32 = 250.0;
/// Least total weight of pixels for a fit.
const LEAST_WEIGHT: f32 = 60.0;
/// One pixel in this many is fitted: a face's skin has tens of thousands, the line needs far fewer.
const FIT_STEP: usize = 3;
/// Residual, in robust deviations, beyond which a pixel is left out of the second fit (a mole, a
/// lip's edge the parse calls skin, a spot of B's make-up).
const OUTLIER: f32 = 2.5;
/// Largest change of a chromaticity (red or blue over brightness) that the match makes.
const MAX_SHIFT: f32 = 0.25;
/// Distance of skin's chromaticity from grey ((red, blue) over brightness from (1, 1)) at and
/// above which a photo is taken for a full colour one: the palest skins in flash light measure
/// about 0.16–0.18, warm-lit and dark ones 0.3–0.6, graded film stills 0.07–0.13, black and white 0.
const COLOUR_PHOTO_SKIN: f32 = 0.16;

/// A face's skin chromaticity as a line of brightness, with the brightness range it was fitted
/// over (it is not extrapolated beyond).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ToneLine {
    /// Red over brightness: intercept and slope.
    red: (f32, f32),
    /// Blue over brightness: intercept and slope.
    blue: (f32, f32),
    /// The 5th and 95th percentiles of the fitted pixels' brightness.
    range: (f32, f32),
}

/// One pixel of a fit: brightness, red and blue over brightness, weight.
type Sample = (f32, f32, f32, f32);

impl ToneLine {
    /// Fits a face's line over the pixels of `rgb` (interleaved) weighted by `weight` (its skin);
    /// `None` when too little skin is seen.
    pub(super) fn fit(rgb: &[f32], weight: &dyn Fn(usize) -> f32) -> Option<ToneLine> {
        let mut samples: Vec<Sample> = (0..rgb.len() / 3)
            .step_by(FIT_STEP)
            .filter_map(|i| {
                let w = weight(i);
                if w <= 0.05 {
                    return None;
                }
                let p = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
                let y = luma(p);
                let burnt = p.iter().any(|&c| c >= BURNT);
                (!burnt && y >= FIT_RANGE.0 && y <= FIT_RANGE.1).then(|| (y, p[0] / y, p[2] / y, w))
            })
            .collect();
        let first = Self::least_squares(&samples)?;
        // Once more without the outliers.
        let residual = |s: &Sample| {
            let (r, b) = first.at_unclamped(s.0);
            (s.1 - r).abs().max((s.2 - b).abs())
        };
        let mut residuals: Vec<f32> = samples.iter().map(residual).collect();
        let spread = median(&mut residuals, 1)? * 1.4826 + 1e-3;
        samples.retain(|s| residual(s) <= OUTLIER * spread);
        let mut line = Self::least_squares(&samples)?;
        let mut levels: Vec<f32> = samples.iter().map(|s| s.0).collect();
        line.range = (quantile(&mut levels, 0.05), quantile(&mut levels, 0.95));
        Some(line)
    }

    /// Weighted least squares of both chromaticities on brightness.
    fn least_squares(samples: &[Sample]) -> Option<ToneLine> {
        let w: f32 = samples.iter().map(|s| s.3).sum();
        if w < LEAST_WEIGHT {
            return None;
        }
        let mean = |f: &dyn Fn(&Sample) -> f32| samples.iter().map(|s| f(s) * s.3).sum::<f32>() / w;
        let (my, mr, mb) = (mean(&|s| s.0), mean(&|s| s.1), mean(&|s| s.2));
        let var = mean(&|s| (s.0 - my) * (s.0 - my));
        if var < 1.0 {
            return None;
        }
        let slope = |m: f32, f: &dyn Fn(&Sample) -> f32| {
            samples
                .iter()
                .map(|s| (s.0 - my) * (f(s) - m) * s.3)
                .sum::<f32>()
                / w
                / var
        };
        let (sr, sb) = (slope(mr, &|s| s.1), slope(mb, &|s| s.2));
        Some(ToneLine {
            red: (mr - sr * my, sr),
            blue: (mb - sb * my, sb),
            range: FIT_RANGE,
        })
    }

    fn at_unclamped(&self, y: f32) -> (f32, f32) {
        (self.red.0 + self.red.1 * y, self.blue.0 + self.blue.1 * y)
    }

    /// Red and blue over brightness at brightness `y`, within the fitted range.
    pub(super) fn at(&self, y: f32) -> (f32, f32) {
        self.at_unclamped(y.clamp(self.range.0, self.range.1))
    }

    /// How colourful the photo of this skin is, as the share of its colours' saturation left: 1 for
    /// a colour photo, less as its skin nears grey, 0 for black and white. The skin's distance from
    /// grey (at the middle of its brightness range) against a colour photo's palest skin, squared:
    /// a graded photo's skin was seldom the palest, so the grading took more than that ratio (half
    /// the palest skin's colour left is more likely a quarter of a typical skin's).
    pub(super) fn colourfulness(&self) -> f32 {
        (self.saturation() / COLOUR_PHOTO_SKIN).min(1.0).powi(2)
    }

    /// The skin's distance from grey at the middle of its brightness range: (red, blue) over
    /// brightness from (1, 1).
    pub(super) fn saturation(&self) -> f32 {
        let (r, b) = self.at((self.range.0 + self.range.1) / 2.0);
        (r - 1.0).hypot(b - 1.0)
    }
}

/// How much of A's colour differences within its skin (a shaded socket's deeper tone, a paler
/// forehead, what a lens or a frame left) are kept on B's skin: B's skin saturation over A's, at
/// most 1. A deep-toned skin's differences are as large as its colour is strong; kept whole on a
/// pale skin they would turn the parts of A's face less red than its mean into grey patches.
pub(super) fn contrast(a: &ToneLine, b: &ToneLine) -> f32 {
    (b.saturation() / a.saturation().max(1e-3)).min(1.0)
}

/// Scales each pixel's colour difference from `b`'s skin colour at its brightness by `scale`
/// (brightness kept), where `inside(i)`: skin already of B's colour stays, what differs from it
/// (lips, irises, brows, make-up) keeps `scale` of its difference.
pub(super) fn scale_colour(
    rgb: &mut [f32],
    b: &ToneLine,
    scale: f32,
    inside: &dyn Fn(usize) -> bool,
) {
    for i in 0..rgb.len() / 3 {
        if !inside(i) {
            continue;
        }
        let p = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
        let y = luma(p);
        if y < 1.0 {
            continue;
        }
        let (rb, bb) = b.at(y);
        let red = (y * (rb + scale * (p[0] / y - rb))).max(0.0);
        let blue = (y * (bb + scale * (p[2] / y - bb))).max(0.0);
        set_keeping_brightness(&mut rgb[i * 3..i * 3 + 3], y, red, blue);
    }
}

/// Writes `red` and `blue` into the pixel, green taking up what keeps its brightness `y`.
fn set_keeping_brightness(p: &mut [f32], y: f32, red: f32, blue: f32) {
    p[0] = red;
    p[1] = ((y - 0.299 * red - 0.114 * blue) / 0.587).max(0.0);
    p[2] = blue;
}

/// Moves each pixel of `rgb` by `amount(i)` of the way from `a`'s skin colour at its brightness to
/// `b`'s (brightness kept), its difference from `a`'s skin scaled by `contrast` (see
/// [`contrast`]).
pub(super) fn match_tone(
    rgb: &mut [f32],
    a: &ToneLine,
    b: &ToneLine,
    contrast: f32,
    amount: &dyn Fn(usize) -> f32,
) {
    for i in 0..rgb.len() / 3 {
        let k = amount(i);
        if k <= 0.0 {
            continue;
        }
        let p = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
        let y = luma(p);
        if y < 1.0 {
            continue;
        }
        // Beyond B's fitted range both lines are read at its end: B's is not extrapolated, and A's
        // shadows deeper than any of B's skin keep their own deepening from there.
        let at = y.clamp(b.range.0, b.range.1);
        let ((ra, ba), (rb, bb)) = (a.at(at), b.at(at));
        // The pixel's own difference from A's skin at its brightness, of which `contrast` stays.
        let (own_r, own_b) = a.at(y);
        let (dr, db) = (p[0] / y - own_r, p[2] / y - own_b);
        let shift = |d: f32| (k * d).clamp(-MAX_SHIFT, MAX_SHIFT);
        let red = (p[0] + shift(rb - ra + (contrast - 1.0) * dr) * y).max(0.0);
        let blue = (p[2] + shift(bb - ba + (contrast - 1.0) * db) * y).max(0.0);
        set_keeping_brightness(&mut rgb[i * 3..i * 3 + 3], y, red, blue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A skin whose red over brightness falls from `deep` at brightness 60 to `pale` at 220, blue
    /// rising as red falls, over 400 pixels.
    fn skin(deep: f32, pale: f32) -> Vec<f32> {
        (0..400)
            .flat_map(|i| {
                let y = 60.0 + 160.0 * (i as f32 / 399.0);
                let r = deep + (pale - deep) * (y - 60.0) / 160.0;
                let b = 2.0 - r;
                let (red, blue) = (r * y, b * y);
                [red, (y - 0.299 * red - 0.114 * blue) / 0.587, blue]
            })
            .collect()
    }

    /// The line fitted over all of a skin.
    fn line(skin: &[f32]) -> ToneLine {
        ToneLine::fit(skin, &|_| 1.0).unwrap()
    }

    #[test]
    fn a_line_is_fitted_through_a_skin_s_colours() {
        let fitted = line(&skin(1.5, 1.1));
        let (r, b) = fitted.at(60.0 + 160.0 * 0.25);
        assert!((r - 1.4).abs() < 0.01 && (b - 0.6).abs() < 0.01, "{r} {b}");
    }

    #[test]
    fn a_flat_skin_s_shadows_take_the_template_s_deeper_colour() {
        // A: the same colour at every brightness (a pale face in a flash); B: a tan, redder in
        // its shadows.
        let (a, b) = (skin(1.2, 1.2), skin(1.5, 1.1));
        let (la, lb) = (line(&a), line(&b));
        let mut out = a.clone();
        match_tone(&mut out, &la, &lb, 1.0, &|_| 1.0);
        let red =
            |rgb: &[f32], i: usize| rgb[i * 3] / luma([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]);
        // A shadow pixel (brightness ~80) now as red as B's at that brightness, a lit one as pale.
        let (shadow, lit) = (50, 350);
        assert!((red(&out, shadow) - red(&b, shadow)).abs() < 0.02);
        assert!((red(&out, lit) - red(&b, lit)).abs() < 0.02);
        // Brightness is kept.
        for i in [shadow, lit] {
            let (ya, yo) = (
                luma([a[i * 3], a[i * 3 + 1], a[i * 3 + 2]]),
                luma([out[i * 3], out[i * 3 + 1], out[i * 3 + 2]]),
            );
            assert!((ya - yo).abs() < 0.5);
        }
    }

    #[test]
    fn a_shadow_deeper_than_any_of_the_template_s_skin_keeps_its_own_deepening() {
        // A spans brightness 60 to 220; B, flash-lit, only its brighter half.
        let (a, b) = (skin(1.5, 1.1), skin(1.3, 1.1));
        let la = line(&a);
        let lb = line(&b[b.len() / 2..]);
        let mut out = a.clone();
        match_tone(&mut out, &la, &lb, 1.0, &|_| 1.0);
        let red =
            |rgb: &[f32], i: usize| rgb[i * 3] / luma([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]);
        // A's deepest pixel is moved by the lines' gap at B's darkest fitted brightness, so it
        // stays redder than A's skin there moved by the same gap (not made as pale as B's).
        let edge = (lb.range.0 - 60.0) / 160.0 * 399.0;
        let (deep, at_edge) = (0, edge as usize);
        let gap = red(&out, at_edge) - red(&a, at_edge);
        assert!((red(&out, deep) - (red(&a, deep) + gap)).abs() < 0.02);
        assert!(red(&out, deep) > red(&out, at_edge) + 0.05);
    }

    #[test]
    fn a_grey_photo_s_skin_makes_red_lips_grey_and_a_colour_photo_s_leaves_them() {
        let colour = line(&skin(1.5, 1.1));
        let grey = line(&skin(1.0, 1.0));
        assert_eq!(colour.colourfulness(), 1.0);
        assert!(grey.colourfulness() < 0.01, "{}", grey.colourfulness());
        // A red lip, brightness 100.
        let lip = [180.0, 62.0, 70.0];
        let y = luma(lip);
        let mut out = lip.to_vec();
        scale_colour(&mut out, &grey, grey.colourfulness(), &|_| true);
        assert!(out.iter().all(|&c| (c - y).abs() < 1.0), "{out:?}");
        let mut out = lip.to_vec();
        scale_colour(&mut out, &colour, colour.colourfulness(), &|_| true);
        assert!(
            out.iter().zip(lip).all(|(o, l)| (o - l).abs() < 0.01),
            "{out:?}"
        );
    }

    #[test]
    fn a_deep_toned_skin_s_greyer_patch_stays_only_as_much_greyer_on_a_pale_skin() {
        // A: a deep, saturated tone (red over brightness 1.4 at 140); B: a pale one (1.1).
        let (a, b) = (skin(1.5, 1.3), skin(1.15, 1.05));
        let (la, lb) = (line(&a), line(&b));
        let kept = contrast(&la, &lb);
        assert!((kept - 0.25).abs() < 0.02, "{kept}");
        // A patch of A's skin 0.2 less red (and bluer) than its skin at brightness 140: what a
        // lens or a frame painted out leaves.
        let y = 140.0;
        let (red, blue) = ((1.4 - 0.2) * y, (0.6 + 0.2) * y);
        let mut out = vec![red, (y - 0.299 * red - 0.114 * blue) / 0.587, blue];
        match_tone(&mut out, &la, &lb, kept, &|_| 1.0);
        // On B it is less red than B's skin by a quarter of that, not by all of it (a grey patch).
        let (b_red, _) = lb.at(y);
        let got = out[0] / luma([out[0], out[1], out[2]]);
        assert!((got - (b_red - kept * 0.2)).abs() < 0.02, "{got} {b_red}");
    }

    #[test]
    fn too_little_skin_gives_no_line() {
        assert_eq!(ToneLine::fit(&skin(1.5, 1.1)[..90], &|_| 1.0), None);
    }
}
