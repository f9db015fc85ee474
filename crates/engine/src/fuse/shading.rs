//! Each face's beard, then the light read off its skin around the beard: the gain that gives A's
//! face B's shading and skin tone.

use super::beard::{self, Beard};
use super::cells::Cells;
use super::highlights::HighlightRemoval;
use super::light::{skin_weights, ShadingGain, SkinLight};
use super::mirror;
use super::place::Placed;
use super::pose::Pose;
use super::raster::{abs_laplacian, ramp};
use super::P2;
use crate::landmarks::{LIPS_OUTER, NOSE_BASE, UPPER_LIP_TOP};
use crate::report::{FusionReport, BEARD_SHARE};

/// Shading blur, in face widths.
pub(super) const SHADING_SIGMA: f32 = 0.1;
/// Width of the rim where the fine shading applies, as a blur in face widths.
const SHADING_RIM_SIGMA: f32 = 0.18;
/// Blur of the skin tint's transfer, in face widths: finer than the shading's, so A's local colour
/// casts (a coloured background's spill, a lens's tint) become B's skin tone.
pub(super) const TINT_SIGMA: f32 = 0.1;
/// Shading blur in the face's interior, in face widths.
pub(super) const INNER_SHADING_SIGMA: f32 = 0.24;
/// How much stronger A's directional light is than B's (in [`crate::lighting::Light::strength`]
/// units) from which the fine shading ratio starts to take over the inside of the face, and at
/// which it has fully.
const HARSHER_LIGHT: (f32, f32) = (0.1, 0.3);
/// Share of a cell that is B's face, uncovered, from which a beard may be mirrored into it, and at
/// which fully.
const B_FACE: (f32, f32) = (0.5, 0.9);
/// How far inside the oval (its share blurred over the rim, a half at its edge) a beard may be
/// mirrored into a cell, from and fully: mirrored up to the oval, a beard's cheek ran past B's
/// cheek where the mesh's oval lies outside it, a hard bump against B's background.
const MIRRORED_INSIDE: (f32, f32) = (0.75, 0.95);
/// How far B's mouth is widened about its centre where it is no beard of B's, and no skin texture
/// for a soft A to borrow.
const MOUTH_WIDENING: f32 = 1.15;

/// Each face's beard per cell, found before the light: A's beard is no light.
pub(super) struct Beards {
    pub(super) a: Beard,
    pub(super) b: Beard,
    /// How surely A has a beard, and B: its share of the lower face ramped over [`BEARD_SHARE`].
    pub(super) ka: f32,
    pub(super) kb: f32,
    /// B's mouth's share of each cell, widened: no beard of B's, and no skin texture to borrow.
    pub(super) b_mouth_low: Vec<f32>,
    /// Per cell of the fused shape, the cell at its mirror point ([`mirror::mirror_cells`]): A's
    /// beard was made whole on both sides with it, and a side light's shadows are lifted with it.
    pub(super) mirror: Vec<u32>,
}

impl Beards {
    /// Finds both faces' beards in the cells (A's detail in its warped colour, `warped`) and
    /// reports their shares of the lower face.
    pub(super) fn find(
        cells: &Cells,
        pose: &Pose,
        warped: &[f32],
        report: &mut FusionReport,
    ) -> Beards {
        let Cells {
            crop,
            low,
            region_f,
            lap_b,
            m_low,
            a_low,
            b_low,
            sample_a,
            sample_b,
            lips_low,
            ..
        } = cells;
        let (frame, target) = (&pose.frame, &pose.target);
        // The lower face starts under the nose: a moustache grows right below the nostrils, so
        // the ramp is full a third of the way from the nose's base to the upper lip.
        let (nose_base, lip_top) = (
            frame.height(target[NOSE_BASE]),
            frame.height(target[UPPER_LIP_TOP]),
        );
        let philtrum = (nose_base - lip_top).max(0.05 * frame.iod);
        let lower =
            |i: usize| ((nose_base - cells.height(frame, i)) / (philtrum / 3.0)).clamp(0.0, 1.0);
        // Fine detail per cell (hair is textured where skin and shadows are smooth), over the
        // region.
        let detail = |lap: &[f32]| {
            let masked: Vec<f32> = lap.iter().zip(region_f).map(|(d, r)| d * r).collect();
            low.average(&masked, 1)
        };
        // Each cell's place across the face, for the light across it.
        let side = (-frame.up.1, frame.up.0);
        let across: Vec<f32> = (0..low.w * low.h)
            .map(|i| {
                let c = cells.centre(i);
                (c.0 - frame.eye.0) * side.0 + (c.1 - frame.eye.1) * side.1
            })
            .collect();
        let beard = |colour: &[f32], lap: &[f32], sample: &[bool], lips: &[f32]| {
            let cues = beard::BeardCues {
                colour,
                detail: &detail(lap),
                m_low,
                sample,
                lips,
                across: &across,
            };
            beard::beard(&cues, &lower, cells.feather)
        };
        // B's own mouth is no beard either, wherever A's lips go: an open smile's teeth and dark
        // inside, kept in front as beard, would show beside A's closed lips (widened: the lips'
        // cells at the corners are half beard).
        let b_mouth = crate::geometry::widened(&LIPS_OUTER, MOUTH_WIDENING, &|i| pose.b2[i]);
        let b_mouth_low = cells.share_in(&b_mouth);
        let b_lips_low: Vec<f32> = b_mouth_low
            .iter()
            .zip(lips_low)
            .map(|(b, a)| b.max(*a))
            .collect();
        let (mut beard_a, mut beard_b) = (
            beard(
                a_low,
                &abs_laplacian(warped, crop.w, crop.h),
                sample_a,
                lips_low,
            ),
            beard(b_low, lap_b, sample_b, &b_lips_low),
        );
        let lower_cells: Vec<usize> = (0..low.w * low.h)
            .filter(|&i| m_low[i] > 0.5 && lower(i) > 0.5 && lips_low[i] < 0.5)
            .collect();
        let lower_share = |v: &[f32]| {
            lower_cells.iter().map(|&i| v[i]).sum::<f32>() / lower_cells.len().max(1) as f32
        };
        report.beard = [lower_share(&beard_a.hair), lower_share(&beard_b.hair)];
        // Only a beard counts (a real share of the lower face in dark, textured hair), not a light
        // stubble or the smooth shadow of a side light, which stay as they are.
        let (ka, kb) = (
            ramp(report.beard[0], BEARD_SHARE),
            ramp(report.beard[1], BEARD_SHARE),
        );
        // Each beard as whole on one side of the face as on the other (after the shares: they
        // tell whether a face has a beard, by what was found), in the lower face where B shows
        // its face (not past B's cheek into its background), inside the oval. A's beard is
        // mirrored through the fused shape, B's through B's own. Then its gaps are closed: a short
        // beard's cheeks between a darker jaw and mouth are beard too.
        let mirror =
            |points: &[P2]| mirror::mirror_cells(low, (crop.x, crop.y), points, &pose.triangles);
        let may = |lips: &[f32]| -> Vec<f32> {
            (0..low.w * low.h)
                .map(|i| {
                    if m_low[i] < 0.5 {
                        return 0.0;
                    }
                    let b_face = ramp(cells.b_face_low[i] / m_low[i], B_FACE);
                    let inside = ramp(cells.rim[i], MIRRORED_INSIDE);
                    b_face * inside * lower(i) * (1.0 - lips[i]).clamp(0.0, 1.0)
                })
                .collect()
        };
        let mirror_fused = mirror(&pose.target);
        let (may_a, may_b) = (may(lips_low), may(&b_lips_low));
        let cells_wide = cells.face_width / low.block as f32;
        beard_a.symmetric(&mirror_fused, &may_a);
        beard_a.close_gaps(low, cells_wide, &may_a);
        beard_b.symmetric(&mirror(&pose.b2), &may_b);
        beard_b.close_gaps(low, cells_wide, &may_b);
        Beards {
            a: beard_a,
            b: beard_b,
            mirror: mirror_fused,
            ka,
            kb,
            b_mouth_low,
        }
    }
}

/// B's light over A's per cell, and the skin tones that go with it ([`ShadingGain`]).
pub(super) struct Shading {
    /// B's shading over A's, tint included, three channels: fine near the rim, so the face's
    /// outline keeps B's light, coarse inside, so A's own modelling survives.
    pub(super) gain: Vec<f32>,
    /// A's skin brightness, one channel.
    pub(super) a_level: Vec<f32>,
    /// B's skin tone and A's, three channels.
    pub(super) tone: Vec<f32>,
    pub(super) a_tone: Vec<f32>,
}

impl Shading {
    /// Reads both faces' light off their skin (A's around its beard), takes A's specular
    /// highlights out of its warped colour `warped` (their share goes in the report), and makes
    /// the gain.
    pub(super) fn new(
        cells: &Cells,
        beards: &Beards,
        placed: &Placed,
        warped: &mut [f32],
        report: &mut FusionReport,
    ) -> Shading {
        let Cells {
            low,
            m_low,
            a_low,
            b_low,
            ..
        } = cells;
        // A's beard is no light either, however close its colour comes to skin: taken for a
        // shadow, the gain would lift it to a pale ginger on a carried beard. (Only a beard: a
        // side light's shadow on a shaven face, partly taken for one, is light.) Inside a full
        // beard, where there is no skin to read A's light off, it is read off the skin around the
        // beard.
        let (light_a, a_skin_weights) = light_around_beard(
            cells,
            a_low,
            cells.only_face(&skin_weights(&cells.distance_a), &cells.a_face_low),
            &beards.a,
            beards.ka,
        );
        // B's beard is no light of B's either: read as B's light, a full beard darkened it over
        // the lower cheeks, and A's face came out darker than B's skin beside the beard (23
        // levels beside the nose, df_img20 into df_img61).
        let (light_b, _) = light_around_beard(
            cells,
            b_low,
            cells.only_face(&skin_weights(&cells.distance_b), &cells.b_face_low),
            &beards.b,
            beards.kb,
        );
        // A's specular highlights are A's light, not its skin: carried over and tinted by B's
        // light they turn into pale patches. They take A's local skin colour instead, and A's
        // light is then measured without them.
        let highlights = HighlightRemoval {
            low,
            region: &cells.region_f,
            skin: &placed.a_skin,
            skin_weights: &a_skin_weights,
            sigma: cells.in_cells(SHADING_SIGMA),
        };
        let light_a = match highlights.remove(warped, &light_a) {
            Some((cleaned, share)) => {
                report.source_highlights = share;
                cleaned
            }
            None => light_a,
        };
        // Shading at two scales: fine near the rim, so the face's outline keeps B's light and the
        // jaw line reads as B's; coarse inside, so A's own modelling of eyes, nose and cheeks
        // survives.
        let shading_rim = low.blur(m_low, 1, cells.in_cells(SHADING_RIM_SIGMA));
        let shading = |sigma: f32| ShadingGain::new(low, &light_a, &light_b, cells.in_cells(sigma));
        let (fine, coarse) = (shading(SHADING_SIGMA), shading(INNER_SHADING_SIGMA));
        let ShadingGain {
            tint, tone, a_tone, ..
        } = shading(TINT_SIGMA);
        // The harsher A's light than B's, the more of A's own shading inside the face is B's too:
        // a strong side light's shadows are too sharp for the coarse ratio, and kept they make
        // the face look like a mask lit from elsewhere.
        let harsher = ramp(
            report.light_strength[0] - report.light_strength[1],
            HARSHER_LIGHT,
        );
        let gain: Vec<f32> = (0..low.w * low.h * 3)
            .map(|j| {
                let i = j / 3;
                let inner = ((shading_rim[i] - 0.5) / 0.45).clamp(0.0, 1.0) * (1.0 - harsher);
                let (f, c) = (fine.brightness[i], coarse.brightness[i]);
                (f + inner * (c - f)) * tint[j]
            })
            .collect();
        Shading {
            gain,
            a_level: fine.a_level,
            tone,
            a_tone,
        }
    }
}

/// A face's light read off its cells' colours (`colour`) over its skin weights per cell
/// (`weights`), its beard left out as far as the face surely has one (`sure`, 0 to 1); and the
/// weights with the beard left out.
fn light_around_beard(
    cells: &Cells,
    colour: &[f32],
    weights: Vec<f32>,
    beard: &Beard,
    sure: f32,
) -> (SkinLight, Vec<f32>) {
    let kept: Vec<f32> = beard
        .hiding(&cells.low)
        .iter()
        .map(|b| (1.0 - sure * b.clamp(0.0, 1.0)).max(0.05))
        .collect();
    let weights: Vec<f32> = weights.into_iter().zip(&kept).map(|(w, k)| w * k).collect();
    let light = SkinLight::new(&cells.m_low, colour, &weights).hiding(&kept);
    (light, weights)
}
