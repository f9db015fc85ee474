//! The fusion's colour: A's face takes B's light, B's softer relief, B's skin tone and B's
//! photo's colourfulness, and its creases no deeper than B's skin shows them.

use super::blend::Blend;
use super::cells::Cells;
use super::light::whiteness;
use super::place::Placed;
use super::pose::Pose;
use super::raster::{luma, ramp};
use super::shading::{Beards, Shading};
use super::{creases, relief, relight, side_shadows, skin_tone};

/// What A's face is recoloured with: all that the stages before found.
pub(super) struct Recolour<'a> {
    pub(super) pose: &'a Pose<'a>,
    pub(super) placed: &'a Placed,
    pub(super) cells: &'a Cells,
    pub(super) beards: &'a Beards,
    pub(super) shading: &'a Shading,
    pub(super) blend: &'a Blend,
}

impl Recolour<'_> {
    /// Recolours A's face (`warped`) in order: B's light (with one gain for the teeth when A's
    /// mouth is open, `mouth_open`), the relief, the skin tone, the colourfulness and the creases.
    /// Returns the relief's depths (A's and B's) and A's skin per pixel as the creases read it.
    pub(super) fn apply(&self, warped: &mut [f32], mouth_open: bool) -> ([f32; 2], Vec<f32>) {
        self.relight(warped, mouth_open);
        let relief = self.flatten_relief(warped);
        self.match_tone(warped);
        self.scale_colour(warped);
        (relief, self.soften_creases(warped))
    }

    /// A's face with B's shading, in place of the warped face. An open mouth's teeth share one
    /// gain, capped so that lit teeth do not burn.
    fn relight(&self, warped: &mut [f32], mouth_open: bool) {
        let Recolour {
            pose,
            placed,
            cells,
            shading,
            blend,
            ..
        } = self;
        let relight = relight::Relight {
            low: &cells.low,
            gain: &shading.gain,
            whites: &blend.whites,
            a_skin: &placed.a_skin,
            beard: &blend.beard_at,
            a_level: &shading.a_level,
            lips: &cells.lips_low,
            contrast: blend.tones.contrast,
            tone: &shading.tone,
            a_tone: &shading.a_tone,
        };
        let teeth = if mouth_open {
            relight.teeth(&cells.crop, &pose.target, &placed.region, warped)
        } else {
            None
        };
        relight.apply(warped, &blend.alpha, teeth.as_ref());
    }

    /// A hard light's deep shadows (eye sockets, beside the nose) flattened towards B's softer
    /// ones; B's relief is measured on B's uncovered skin by its parse (`b_skin`). Returns both
    /// depths.
    fn flatten_relief(&self, warped: &mut [f32]) -> [f32; 2] {
        let Recolour {
            placed,
            cells,
            beards,
            blend,
            ..
        } = self;
        let Cells {
            low, m_low, b_low, ..
        } = cells;
        let b_luma: Vec<f32> = (0..low.w * low.h)
            .map(|i| luma([b_low[i * 3], b_low[i * 3 + 1], b_low[i * 3 + 2]]) / m_low[i].max(1e-3))
            .collect();
        let template = relief::Template {
            luma: &b_luma,
            skin: &blend.b_skin,
        };
        let side_shadows = side_shadows::SideShadows::new(
            &beards.mirror,
            ramp(placed.side_light, side_shadows::SIDE_LIGHT),
        );
        relief::flatten(
            low,
            warped,
            &relief::Source {
                alpha: &blend.alpha,
                skin: &blend.bare_skin,
                // A carried beard has its own light (`relight`); a stubble or a short beard that
                // is not carried is A's face's and stays as dark as it is.
                hair: &beards
                    .a
                    .hairy(low)
                    .iter()
                    .zip(&blend.carried)
                    .map(|(h, c)| h * (1.0 - c.clamp(0.0, 1.0)))
                    .collect::<Vec<f32>>(),
            },
            &template,
            &side_shadows,
            cells.face_width / low.block as f32,
        )
    }

    /// A's skin: what is fitted is mostly A's (half blended in at least), what moves is all of
    /// it. A carried beard is not fitted (it is no skin) but moves with it, B's colour cast and
    /// all.
    fn match_tone(&self, warped: &mut [f32]) {
        let Recolour {
            placed,
            cells,
            blend,
            ..
        } = self;
        let a_tone =
            skin_tone::ToneLine::fit(warped, &|i| blend.a_skin_at(i, 0.5, &blend.bare_skin));
        if let (Some(a_tone), Some(b_tone)) = (a_tone, blend.tones.b) {
            skin_tone::match_tone(warped, &a_tone, &b_tone, blend.tones.contrast, &|i| {
                blend.a_skin_at(i, 0.0, &placed.a_skin)
            });
            // The eye sockets (lids, and the skin round the brows and under the eyes) take the
            // same shift wherever the mesh puts no eye or brow and nothing covers them, however
            // unsure a soft face's parse is of their skin: left out, a warm print's lids kept its
            // colour, brown rings round the eyes on a cool B. Only the shift: their own colour
            // against the skin (a make-up's) is kept as it is.
            let crop = &cells.crop;
            skin_tone::match_tone(warped, &a_tone, &b_tone, 1.0, &|i| {
                if blend.alpha[i] <= 0.0 || blend.whites[i] {
                    return 0.0;
                }
                let socket = cells
                    .low
                    .sample::<1>(&blend.sockets, i % crop.w, i / crop.w)[0]
                    * (1.0 - blend.feature_px[i])
                    * (1.0 - placed.a_cover[i]);
                (socket - blend.a_skin_at(i, 0.0, &placed.a_skin)).max(0.0)
            });
            // A's brows, lids, lashes and irises take the same shift as the skin at their
            // brightness, their own colour against the skin kept as the skin's own differences
            // are (`contrast`): left as they were, a warm print's brows and eyes stayed orange on
            // a cool B's skin. Not what is white (teeth, the eyes' whites: the skin's shift would
            // tint them), nor the lips (B's tone reaches them in the light already).
            let features: Vec<f32> = (0..crop.w * crop.h)
                .map(|i| {
                    if blend.alpha[i] <= 0.0 || blend.feature_px[i] <= 0.0 {
                        return 0.0;
                    }
                    let white = if blend.whites[i] {
                        let p = [warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]];
                        whiteness(p, placed.a_skin[i])
                    } else {
                        0.0
                    };
                    let lips = cells
                        .low
                        .sample::<1>(&cells.lips_low, i % crop.w, i / crop.w)[0];
                    let feature = blend.feature_px[i]
                        * (1.0 - white)
                        * (1.0 - (2.0 * lips).min(1.0))
                        * (1.0 - placed.a_cover[i]);
                    (feature - blend.a_skin_at(i, 0.0, &placed.a_skin)).max(0.0)
                })
                .collect();
            skin_tone::match_tone(warped, &a_tone, &b_tone, blend.tones.contrast, &|i| {
                features[i]
            });
        }
    }

    /// A black-and-white or grey-graded B takes A's colours away from its skin (lips, irises,
    /// brows) only as colourful as B's photo is against A's.
    fn scale_colour(&self, warped: &mut [f32]) {
        let tones = &self.blend.tones;
        if let Some(b_tone) = tones.b {
            let scale = (tones.b_colour / tones.a_colour.max(1e-3)).min(1.0);
            if scale < 1.0 {
                skin_tone::scale_colour(warped, &b_tone, scale, &|i| self.blend.alpha[i] > 0.0);
            }
        }
    }

    /// A's creases (wrinkles, laugh lines) no deeper than B's skin shows them, over the skin of
    /// both faces. Returns A's skin per pixel.
    fn soften_creases(&self, warped: &mut [f32]) -> Vec<f32> {
        let (cells, blend) = (self.cells, self.blend);
        let crop = &cells.crop;
        let a_skin_px: Vec<f32> = (0..crop.w * crop.h)
            .map(|i| blend.a_skin_at(i, 0.0, &blend.bare_skin))
            .collect();
        creases::soften(
            warped,
            &cells.b_crop,
            &a_skin_px,
            &blend.b_skin_px,
            (crop.w, crop.h),
            cells.face_width,
        );
        a_skin_px
    }
}
