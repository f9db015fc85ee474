//! The blend weight: how much of A's face replaces B's at each pixel, and the masks of what is
//! skin, beard, teeth or features that the colour stages read.

use super::cells::Cells;
use super::foreign;
use super::light;
use super::mask;
use super::place::Placed;
use super::pose::Pose;
use super::raster::{luma, ramp};
use super::shading::{Beards, SHADING_SIGMA};
use super::skin_tone::{self, ToneLine};
use super::{texture, WHITES_WIDENING};
use crate::landmarks::{EYE_A, EYE_B, LIPS_INNER, ORBIT_A, ORBIT_B};
use crate::parse::{FaceParse, Part};

/// How much the eye sockets' contours are widened about their centres where coldness is A's own.
const ORBIT_WIDENING: f32 = 1.3;

/// Levels by which green or blue exceed red from which a pixel starts to be too cold for hair or
/// skin, and at which it is surely neither (a carried beard's cell reaching into A's background).
/// In levels, not as a ratio: a black beard's near-black pixels have ratios far from 1 in noise.
const COLD_HUE: (f32, f32) = (10.0, 35.0);

/// The blend weight and what it is made of, per crop pixel unless said otherwise.
pub(super) struct Blend {
    /// How much of each cell is A's eye sockets: A's own, cold as their whites and make-up are.
    pub(super) sockets: Vec<f32>,
    /// A's beard carried onto a clean-shaven B, per cell.
    pub(super) carried: Vec<f32>,
    /// Where teeth and the whites of the eyes can be.
    pub(super) whites: Vec<bool>,
    /// A's carried beard, and A's skin (by its parse) without it.
    pub(super) beard_at: Vec<f32>,
    pub(super) bare_skin: Vec<f32>,
    /// B's uncovered skin by its parse, per cell.
    pub(super) b_skin: Vec<f32>,
    /// How much of each pixel is A's eyes, brows or lips.
    pub(super) feature_px: Vec<f32>,
    /// B's skin: uncovered by its parse, not a feature, not what B keeps in front.
    pub(super) b_skin_px: Vec<f32>,
    /// Both skins' tone lines and how they compare.
    pub(super) tones: Tones,
    /// The blend weight.
    pub(super) alpha: Vec<f32>,
}

/// B's skin's colour at each brightness, and how A's skin compares, before B's light tints it.
pub(super) struct Tones {
    /// B's skin's tone line, when B shows skin enough to fit one.
    pub(super) b: Option<ToneLine>,
    /// How colourful B's photo is, and A's (taken as 1 unless B's is less colourful than a
    /// colour photo).
    pub(super) b_colour: f32,
    pub(super) a_colour: f32,
    /// A's skin's saturation against B's ([`skin_tone::contrast`]).
    pub(super) contrast: f32,
}

impl Blend {
    /// The blend weight of A's face as placed (`warped`, its colour) over B's (`pb`, B's parse).
    pub(super) fn new(
        cells: &Cells,
        pose: &Pose,
        placed: &Placed,
        beards: &Beards,
        pb: &FaceParse,
        warped: &[f32],
    ) -> Blend {
        let (crop, low) = (&cells.crop, &cells.low);
        let region = &placed.region;
        let CellWeights {
            alpha_low,
            sockets,
            carried,
        } = CellWeights::new(cells, pose, placed, beards);
        // Where teeth and the whites of the eyes can be: the eyes' contours, a little widened, and
        // the mouth's opening.
        let whites = mask::inside_any(
            crop,
            &pose.target,
            &[&EYE_A, &EYE_B, &LIPS_INNER],
            WHITES_WIDENING,
        );
        let (beard_at, bare_skin) = carried_beard(cells, &carried, warped, &placed.a_skin);
        // B's uncovered skin by its parse, per low-resolution cell.
        let b_skin: Vec<f32> = (0..low.w * low.h)
            .map(|i| {
                let (x, y) = cells.centre(i);
                let parts = pb.at(x, y);
                let skin = 1.0 - parts[Part::Features as usize] - parts[Part::Hair as usize];
                (skin - parts[Part::Glasses as usize]).clamp(0.0, 1.0) * cells.b_face_low[i]
            })
            .collect();
        // B's colour at each brightness: its shadows' deeper tone and its lit skin's paler one,
        // over the skin of both faces (not the eyes, brows, lips, teeth, hair or B's beard).
        let feature_px: Vec<f32> = low
            .upsample(&cells.features)
            .iter()
            .map(|f| (2.0 * f).min(1.0))
            .collect();
        // B's skin per pixel: uncovered by its parse, not a feature, not what B keeps in front.
        let b_parse_cover = &placed.b_parse_cover;
        let b_skin_px: Vec<f32> = low
            .upsample(&b_skin)
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if !region[i] || whites[i] || b_parse_cover[i] >= 1.0 {
                    return 0.0;
                }
                s.clamp(0.0, 1.0) * (1.0 - feature_px[i]) * (1.0 - b_parse_cover[i])
            })
            .collect();
        let tones = Tones::fit(&cells.b_crop, &b_skin_px, warped, &|i| {
            if region[i] && !whites[i] {
                bare_skin[i]
            } else {
                0.0
            }
        });
        let opened = opened(cells, pose, warped, &whites, &feature_px);
        // The blend weight per pixel.
        let mut alpha = vec![0f32; crop.w * crop.h];
        for y in 0..crop.h {
            for x in 0..crop.w {
                let i = y * crop.w + x;
                if region[i] {
                    alpha[i] = low.sample::<1>(&alpha_low, x, y)[0].max(beard_at[i])
                        * placed.a_face[i]
                        * (1.0 - placed.b_keep[i])
                        * (1.0 - opened[i]);
                }
            }
        }
        Blend {
            sockets,
            carried,
            whites,
            beard_at,
            bare_skin,
            b_skin,
            feature_px,
            b_skin_px,
            tones,
            alpha,
        }
    }

    /// How much pixel `i` is A's skin by `skin` (A's parse's, or without the carried beard), where
    /// A is blended in by `least_alpha` at least and is no white or feature.
    pub(super) fn a_skin_at(&self, i: usize, least_alpha: f32, skin: &[f32]) -> f32 {
        let alpha = &self.alpha;
        if alpha[i] < least_alpha || alpha[i] <= 0.0 || self.whites[i] || skin[i] <= 0.0 {
            return 0.0;
        }
        skin[i] * (1.0 - self.feature_px[i])
    }
}

/// The blend weight per cell, and what of it the colour stages read again.
struct CellWeights {
    /// The blend weight.
    alpha_low: Vec<f32>,
    /// How much of each cell is A's eye sockets.
    sockets: Vec<f32>,
    /// A's beard carried onto a clean-shaven B.
    carried: Vec<f32>,
}

impl CellWeights {
    /// Blend mask: feathered inward from the edge of the region (the oval, and wherever A's photo
    /// ended) and from where A's face ends in its photo, zero outside them; less what of A's face
    /// is not A's and what of B's beard stays in front.
    fn new(cells: &Cells, pose: &Pose, placed: &Placed, beards: &Beards) -> CellWeights {
        let Cells {
            low,
            region_f,
            m_low,
            a_low,
            sample_a,
            feather,
            ..
        } = cells;
        let feather = *feather;
        let mut alpha_low = mask::feathered(low, region_f, &placed.a_outline, feather);
        // What of A's face is not A's (hair or background at the rim, something in front of it)
        // is left to B; A's eye sockets are A's own, cold as their whites and make-up are.
        let orbit = |contour: &[usize]| {
            cells.share_in(&crate::geometry::widened(contour, ORBIT_WIDENING, &|i| {
                pose.target[i]
            }))
        };
        let orbits = [orbit(&ORBIT_A), orbit(&ORBIT_B)];
        let sockets: Vec<f32> = (0..low.w * low.h)
            .map(|i| (2.0 * (orbits[0][i] + orbits[1][i])).min(1.0))
            .collect();
        let feature = |i: usize| cells.feature(i);
        let own_part = |i: usize| feature(i).max(sockets[i]);
        let foreign::Kept {
            face: kept_face,
            not_foreign,
        } = foreign::SkinTest {
            low,
            distance: &cells.distance_a,
            coldness: &light::coldness(a_low, m_low, sample_a),
            feature: &feature,
            own_part: &own_part,
            feather,
        }
        .weights(&cells.rim);
        for (a, k) in alpha_low.iter_mut().zip(&kept_face) {
            *a *= k;
        }
        // Beards: B's beard stays in front of A's face. A's beard on a clean-shaven B is carried
        // over whole, down to B's jaw line: shaved off, A's mouth loses the beard it sits in (and
        // most of who A is), and faded in from the rim like skin it would float over B's chin.
        let (ka, kb) = (beards.ka, beards.kb);
        let kept = beards.b.softened(low);
        for (a, bb) in alpha_low.iter_mut().zip(&kept) {
            *a *= 1.0 - kb * bb;
        }
        // Grown by a cell, the beard may reach past A's jaw into A's background at the rim: only
        // what is not wildly unlike skin comes (a beard is dark, not blue), per cell here and per
        // pixel by its hue ([`carried_beard`]).
        let carried: Vec<f32> = beards
            .a
            .carried(low, m_low, feather, ka * (1.0 - kb))
            .iter()
            .zip(&not_foreign)
            .map(|(c, f)| c * f)
            .collect();
        CellWeights {
            alpha_low,
            sockets,
            carried,
        }
    }
}

/// A's carried beard per pixel, only where it has a hair's or skin's colour (warm or grey, not
/// blue or green: A's background where the beard's cell reaches past A's jaw), and A's skin
/// (`a_skin`) without it: the beard takes B's light but is neither skin colour nor shadow. Most
/// pairs carry none and skip the per-pixel pass.
fn carried_beard(
    cells: &Cells,
    carried: &[f32],
    warped: &[f32],
    a_skin: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let (crop, low) = (&cells.crop, &cells.low);
    if carried.iter().any(|&c| c > 0.0) {
        let beard_at: Vec<f32> = (0..crop.w * crop.h)
            .map(|i| {
                let c = low.sample::<1>(carried, i % crop.w, i / crop.w)[0].clamp(0.0, 1.0);
                if c <= 0.0 {
                    return 0.0;
                }
                let p = &warped[i * 3..i * 3 + 3];
                c * (1.0 - ramp(p[1].max(p[2]) - p[0], COLD_HUE))
            })
            .collect();
        let bare_skin: Vec<f32> = a_skin
            .iter()
            .zip(&beard_at)
            .map(|(s, b)| s * (1.0 - b))
            .collect();
        (beard_at, bare_skin)
    } else {
        (vec![0.0; crop.w * crop.h], a_skin.to_vec())
    }
}

impl Tones {
    /// B's tone line over its skin (`b_skin`, per pixel of `b_crop`), and A's skin colour before
    /// B's light tints it (`a_skin`, per pixel of `warped`): how colourful A's photo is (needed
    /// only when B's photo is less colourful than a colour photo), and how saturated A's skin is
    /// against B's.
    fn fit(b_crop: &[f32], b_skin: &[f32], warped: &[f32], a_skin: &dyn Fn(usize) -> f32) -> Tones {
        let b_tone = ToneLine::fit(b_crop, &|i| b_skin[i]);
        let a_before = ToneLine::fit(warped, a_skin);
        let b_colour = b_tone.map_or(1.0, |line| line.colourfulness());
        let a_colour = match a_before {
            Some(line) if b_colour < 1.0 => line.colourfulness(),
            _ => 1.0,
        };
        let contrast = match (a_before, b_tone) {
            (Some(a), Some(b)) => skin_tone::contrast(&a, &b),
            _ => 1.0,
        };
        Tones {
            b: b_tone,
            b_colour,
            a_colour,
            contrast,
        }
    }
}

/// What A's photo saw edge-on and in shadow, opened up by B's pose (a nose's underside, a thin
/// dark line in a photo taken from a little above), is left to B, whose photo sees it as the
/// result's pose does: how much, per pixel.
fn opened(
    cells: &Cells,
    pose: &Pose,
    warped: &[f32],
    whites: &[bool],
    feature_px: &[f32],
) -> Vec<f32> {
    let (crop, low, target) = (&cells.crop, &cells.low, &pose.target);
    let stretch = texture::stretch(&pose.a2, target, &pose.triangles);
    if stretch.iter().any(|&s| s > mask::LEAST_OPENED) {
        let light = low.blur(&cells.a_low, 3, cells.in_cells(SHADING_SIGMA));
        let darkness = |i: usize| {
            if whites[i] {
                return 0.0;
            }
            let here = luma(low.sample::<3>(&light, i % crop.w, i / crop.w)).max(1.0);
            let p = luma([warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]]);
            (1.0 - p / here) * (1.0 - feature_px[i])
        };
        let stretch = texture::paint(&stretch, mask::LEAST_OPENED, &pose.triangles, target, crop);
        mask::opened_up((crop.w, crop.h), &stretch, &darkness, cells.face_width)
    } else {
        vec![0.0; crop.w * crop.h]
    }
}
