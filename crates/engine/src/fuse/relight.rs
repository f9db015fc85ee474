//! B's light on A's warped face, pixel by pixel: the shading gain of the cell around, one gain for
//! an open mouth's teeth, a carried beard's own darkness on a paler skin, and B's tone on A's lips
//! only as far as the two skins' contrast allows.

use super::light::{hair_gain, pixel_gain, toward_tone, whiteness};
use super::raster::{luma, quantile, Crop, LowRes};
use super::{mask, P2, WHITES_WIDENING};
use crate::landmarks::LIPS_INNER;

/// Brightness under which the brightest teeth of A's open mouth are kept by their gain.
const TEETH_CEILING: f32 = 235.0;
/// Brightest channel that the rest of the gain brings teeth to, never reached, and the level from
/// which they are bent towards it.
const TEETH_WHITE: f32 = 245.0;
const TEETH_KNEE: f32 = 190.0;
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

/// An open mouth's teeth: where its opening is (per pixel), the one gain they share, and the
/// brightness that gain holds back from the light around (1 when it holds back none).
pub(super) struct Teeth {
    opening: Vec<bool>,
    gain: [f32; 3],
    held_back: f32,
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
    /// (a dark A into a pale B: obama_2 into portrait_f1). What the lowering holds back is given
    /// back through a shoulder ([`lifted_teeth`]). `None` when too few teeth show.
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
            held_back: 1.0 / scale,
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
            // The teeth, and how much this pixel is one (a tooth's edge, half white, is a tooth
            // whole).
            let tooth = teeth
                .filter(|t| t.opening[i])
                .map(|t| (t, (2.0 * whiteness(p, skin)).min(1.0)))
                .filter(|&(_, w)| w > 0.0);
            let g = match tooth {
                Some((t, w)) => [0, 1, 2].map(|c| local[c] + w * (t.gain[c] - local[c])),
                None => local,
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
            let shaded = match tooth {
                Some((t, w)) if t.held_back > 1.0 => {
                    let lifted = lifted_teeth(shaded, t.held_back);
                    [0, 1, 2].map(|c| shaded[c] + w * (lifted[c] - shaded[c]))
                }
                _ => shaded,
            };
            warped[i * 3..i * 3 + 3].copy_from_slice(&shaded);
        }
    }
}

/// A tooth `p` (under the teeth's lowered gain) given back the brightness `held_back` from it,
/// with its brightest channel bent smoothly from [`TEETH_KNEE`] towards [`TEETH_WHITE`] and the
/// other channels scaled with it; never darker than `p`. Held at their own brightness while the
/// lips and gums around took a much brighter B's light, a smile's teeth were greyer than its gums
/// (alex_2 into df_img13); given it all back, the brightest would burn to a flat white.
fn lifted_teeth(p: [f32; 3], held_back: f32) -> [f32; 3] {
    let m = p[0].max(p[1]).max(p[2]);
    let full = m * held_back;
    if full <= TEETH_KNEE {
        return p.map(|v| v * held_back);
    }
    let room = TEETH_WHITE - TEETH_KNEE;
    let bent = TEETH_KNEE + room * (1.0 - (-(full - TEETH_KNEE) / room).exp());
    if bent <= m {
        return p;
    }
    p.map(|v| v * bent / m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teeth_get_back_what_their_gain_held_back_bent_under_white_with_their_hue() {
        let tooth = [200.0, 180.0, 160.0];
        assert_eq!(lifted_teeth(tooth, 1.0), tooth, "nothing held back");
        assert_eq!(
            lifted_teeth([100.0, 90.0, 80.0], 1.5),
            [150.0, 135.0, 120.0]
        );
        let mut last = 0.0;
        for held_back in [1.2, 1.6, 2.5, 4.0] {
            let p = lifted_teeth(tooth, held_back);
            assert!(p[0] > last && p[0] < TEETH_WHITE, "{held_back}: {p:?}");
            assert!((p[1] / p[0] - 0.9).abs() < 1e-4 && (p[2] / p[0] - 0.8).abs() < 1e-4);
            last = p[0];
        }
        // A tooth already brighter than its bent level stays as it is.
        let bright = [240.0, 238.0, 236.0];
        assert_eq!(lifted_teeth(bright, 1.05), bright);
        // A darker gap between teeth stays darker than the teeth.
        assert!(lifted_teeth([120.0, 100.0, 90.0], 1.6)[0] < lifted_teeth(tooth, 1.6)[0]);
    }
}
