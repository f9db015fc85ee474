//! B's light on A's warped face, pixel by pixel: the shading gain of the cell around, one gain for
//! an open mouth's teeth, a carried beard's own darkness on a paler skin, and B's tone on A's lips
//! only as far as the two skins' contrast allows.

use super::light::{hair_gain, pixel_gain, toward_tone, whiteness};
use super::raster::{luma, quantile, Crop, LowRes};
use super::{mask, P2, WHITES_WIDENING};
use crate::landmarks::LIPS_INNER;

/// Brightness under which the brightest teeth of A's open mouth are kept by their gain.
const TEETH_CEILING: f32 = 235.0;
/// Least number of white pixels in a mouth's opening for its teeth to take one gain.
const TEETH_PIXELS: usize = 20;

/// What B's light on A's face is made of, per low-resolution cell unless said otherwise.
pub(super) struct Relight<'a> {
    /// The cells.
    pub(super) low: &'a LowRes,
    /// B's light over A's, tint included, three channels.
    pub(super) gain: &'a [f32],
    /// Per pixel, where teeth and the whites of the eyes can be.
    pub(super) whites: &'a [bool],
    /// Per pixel, the parse's probability of A's skin.
    pub(super) a_skin: &'a [f32],
    /// Per pixel, A's carried beard (0 to 1).
    pub(super) beard: &'a [f32],
    /// A's skin brightness, one channel: what a carried beard's hair is darker than.
    pub(super) a_level: &'a [f32],
    /// How much of each cell is lips, and how far B's skin tone reaches them (the two skins'
    /// [`super::skin_tone::contrast`]).
    pub(super) lips: &'a [f32],
    pub(super) contrast: f32,
    /// B's skin tone and A's, three channels.
    pub(super) tone: &'a [f32],
    pub(super) a_tone: &'a [f32],
}

/// An open mouth's teeth: where its opening is (per pixel) and the one gain they share.
pub(super) struct Teeth {
    opening: Vec<bool>,
    gain: [f32; 3],
}

impl Relight<'_> {
    /// How white a pixel of A's warped face is. Only in the eyes and the mouth can a bright,
    /// unsaturated pixel be white (teeth, an eye's white); elsewhere it is skin the parse is unsure
    /// of (above a brow, the parse's soft edge), and left untinted it would be a grey band.
    fn skin_for_whiteness(&self, i: usize) -> f32 {
        if self.whites[i] {
            self.a_skin[i]
        } else {
            1.0
        }
    }

    /// One gain for the teeth of A's open mouth: the mean of the shading gain over its white
    /// pixels in the `region` (of `crop`, in the fused shape `target`), lowered (never under 1) so
    /// that the brightest teeth stay under [`TEETH_CEILING`]. Sampled per pixel, the change of
    /// light across the mouth left the upper teeth grey and burnt the lower ones to a flat white
    /// (a dark A into a pale B: obama_2 into portrait_f1). `None` when too few teeth show.
    pub(super) fn teeth(
        &self,
        crop: &Crop,
        target: &[P2],
        region: &[bool],
        warped: &[f32],
    ) -> Option<Teeth> {
        let opening = mask::inside_any(crop, target, &[&LIPS_INNER], WHITES_WIDENING);
        let pixel = |i: usize| [warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]];
        let white = |i: usize| whiteness(pixel(i), self.skin_for_whiteness(i));
        let (mut sum, mut lumas) = ([0f32; 3], Vec::new());
        for i in (0..crop.w * crop.h).filter(|&i| opening[i] && region[i] && white(i) > 0.5) {
            let g = self.low.sample::<3>(self.gain, i % crop.w, i / crop.w);
            for c in 0..3 {
                sum[c] += g[c];
            }
            lumas.push(luma(pixel(i)));
        }
        if lumas.len() < TEETH_PIXELS {
            return None;
        }
        let mean = sum.map(|s| s / lumas.len() as f32);
        let level = luma(mean);
        let brightest = quantile(&mut lumas, 0.98).max(1.0);
        let most = (TEETH_CEILING / brightest).max(level.min(1.0));
        let scale = if level > most { most / level } else { 1.0 };
        Some(Teeth {
            opening,
            gain: mean.map(|g| g * scale),
        })
    }

    /// Puts B's light on A's warped face (`warped`, RGB over the crop) wherever it is blended in
    /// (`alpha` above 0); `teeth` from [`Relight::teeth`].
    pub(super) fn apply(&self, warped: &mut [f32], alpha: &[f32], teeth: Option<&Teeth>) {
        let low = self.low;
        for (i, &a) in alpha.iter().enumerate() {
            if a <= 0.0 {
                continue;
            }
            let (x, y) = (i % low.full_w, i / low.full_w);
            let p = [warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]];
            let skin = self.skin_for_whiteness(i);
            let local = low.sample::<3>(self.gain, x, y);
            let g = match teeth {
                Some(t) if t.opening[i] => {
                    // A tooth's edge, half white, takes the teeth's gain whole.
                    let w = (2.0 * whiteness(p, skin)).min(1.0);
                    [0, 1, 2].map(|c| local[c] + w * (t.gain[c] - local[c]))
                }
                _ => local,
            };
            let g = pixel_gain(p, g, skin);
            // A carried beard's hair keeps its own darkness on a paler skin.
            let g = if self.beard[i] > 0.0 {
                let level = low.sample::<1>(self.a_level, x, y)[0];
                hair_gain(p, g, self.beard[i], level)
            } else {
                g
            };
            // A's skin tone matters only on the lips (most pixels are not).
            let lips = (2.0 * low.sample::<1>(self.lips, x, y)[0]).min(1.0) * self.contrast;
            let a_tone = if lips > 0.0 {
                low.sample::<3>(self.a_tone, x, y)
            } else {
                [1.0; 3]
            };
            let shaded = toward_tone(
                p,
                [0, 1, 2].map(|c| p[c] * g[c]),
                low.sample::<3>(self.tone, x, y),
                a_tone,
                lips,
            );
            warped[i * 3..i * 3 + 3].copy_from_slice(&shaded);
        }
    }
}
