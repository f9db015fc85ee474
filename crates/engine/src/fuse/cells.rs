//! The fusion's low-resolution cells: the crop in blocks of about a sixty-fourth of the face, over
//! which both faces' light, skin and beards are read.

use image::RgbImage;

use super::light::skin_distance;
use super::place::Placed;
use super::pose::Pose;
use super::raster::{abs_laplacian, Crop, LowRes};
use super::shape::FaceFrame;
use crate::geometry::P2;
use crate::landmarks::{BROW_A, BROW_B, EYE_A, EYE_B, LIPS_OUTER, NOSE_TIP};

/// Face width in pixels at which the low-frequency maps are computed.
const LOW_RES_FACE: f32 = 64.0;
/// Width of the face's rim where only skin-like pixels of A are kept, as a blur in face widths.
const RIM_SIGMA: f32 = 0.12;
/// Inward feather of the face oval, in face widths (the ramp reaches 1 at about 1.6 of these).
const FEATHER_SIGMA: f32 = 0.07;

/// Low-frequency maps at reduced scale, per cell of [`Cells::low`] unless said otherwise.
pub(super) struct Cells {
    /// The crop of B's photo under the fused face, and its cells.
    pub(super) crop: Crop,
    pub(super) low: LowRes,
    /// B's face width, in pixels.
    pub(super) face_width: f32,
    /// Per pixel, the region as 0 or 1.
    pub(super) region_f: Vec<f32>,
    /// Per pixel, B's colour under the crop (RGB) and its fine detail ([`abs_laplacian`]),
    /// measured once for the beard, the sharpness and the grain.
    pub(super) b_crop: Vec<f32>,
    pub(super) lap_b: Vec<f32>,
    /// The region's share of each cell.
    pub(super) m_low: Vec<f32>,
    /// How much of each cell is A's face, and B's uncovered by its parse, in the region.
    pub(super) a_face_low: Vec<f32>,
    pub(super) b_face_low: Vec<f32>,
    /// A's warped colour and B's, averaged over the region.
    pub(super) a_low: Vec<f32>,
    pub(super) b_low: Vec<f32>,
    /// The region's share blurred over the rim's width: 1 well inside, a half at its edge.
    pub(super) rim: Vec<f32>,
    /// The cells that sample A's skin and B's, and each cell's colour distance to that skin
    /// ([`skin_distance`]).
    pub(super) sample_a: Vec<bool>,
    pub(super) sample_b: Vec<bool>,
    pub(super) distance_a: Vec<f32>,
    pub(super) distance_b: Vec<f32>,
    /// The share of each cell that is A's lips, and A's eyes, brows and lips together, in the
    /// fused shape.
    pub(super) lips_low: Vec<f32>,
    pub(super) features: Vec<f32>,
    /// The blend mask's inward feather, in cells.
    pub(super) feather: f32,
}

impl Cells {
    /// The cells of the crop under A's face as placed (`warped`, its colour) over B's photo `b`.
    pub(super) fn new(pose: &Pose, b: &RgbImage, placed: &Placed, warped: &[f32]) -> Cells {
        let (crop, frame, target) = (pose.crop, &pose.frame, &pose.target);
        let face_width = pose.face_width;
        let block = ((face_width / LOW_RES_FACE).round() as usize).max(1);
        let low = LowRes::new(crop.w, crop.h, block);
        let region_f: Vec<f32> = placed.region.iter().map(|&r| r as u8 as f32).collect();
        let b_crop = crop.read(b);
        let m_low = low.average(&region_f, 1);
        let a_face_low = low.average(
            &placed
                .a_face
                .iter()
                .zip(&region_f)
                .map(|(f, r)| f.max(0.0) * r)
                .collect::<Vec<_>>(),
            1,
        );
        let b_face_low = low.average(
            &region_f
                .iter()
                .zip(&placed.b_parse_cover)
                .map(|(r, k)| r * (1.0 - k))
                .collect::<Vec<_>>(),
            1,
        );
        let a_low = low.average_masked(warped, &region_f);
        let b_low = low.average_masked(&b_crop, &region_f);
        let rim = low.blur(&m_low, 1, RIM_SIGMA * face_width / block as f32);
        // Light is estimated from skin only, on both sides: B's beard or A's is not light, and
        // taken for it, B's beard would be printed as a dark patch on A's chin.
        // Skin colours are sampled above the nose tip and away from the rim: forehead and cheeks,
        // where beards, lips and hair are rare.
        let nose = frame.height(target[NOSE_TIP]);
        // Only cells that are the face itself on that side count (not A's fringe, not B's
        // glasses).
        let skin_sample = |face: &[f32]| -> Vec<bool> {
            (0..low.w * low.h)
                .map(|i| {
                    m_low[i] > 0.99
                        && rim[i] > 0.97
                        && face[i] > 0.9 * m_low[i]
                        && frame.height(centre(&crop, &low, i)) > nose
                })
                .collect()
        };
        let (sample_a, sample_b) = (skin_sample(&a_face_low), skin_sample(&b_face_low));
        let distance_a = skin_distance(&a_low, &m_low, &sample_a);
        let distance_b = skin_distance(&b_low, &m_low, &sample_b);
        // The lips' share of each cell, in the fused shape.
        let share_of = |contour: &[usize]| {
            share_in(
                &crop,
                &low,
                &contour.iter().map(|&i| target[i]).collect::<Vec<_>>(),
            )
        };
        let lips_low = share_of(&LIPS_OUTER);
        // A's own eyes, brows and mouth are unlike skin but no cover: left to B near the rim (an
        // eye close to the oval of a turned head) or as foreign (a dark pupil, an open mouth's
        // inside), B's eye or lips would show through A's.
        let shares = [&EYE_A[..], &EYE_B, &BROW_A, &BROW_B].map(share_of);
        let features: Vec<f32> = (0..low.w * low.h)
            .map(|i| shares.iter().map(|s| s[i]).sum::<f32>() + lips_low[i])
            .collect();
        let feather = FEATHER_SIGMA * face_width / block as f32;
        let lap_b = abs_laplacian(&b_crop, crop.w, crop.h);
        Cells {
            crop,
            low,
            face_width,
            region_f,
            b_crop,
            lap_b,
            m_low,
            a_face_low,
            b_face_low,
            a_low,
            b_low,
            rim,
            sample_a,
            sample_b,
            distance_a,
            distance_b,
            lips_low,
            features,
            feather,
        }
    }

    /// A blur or width of `widths` face widths, in cells.
    pub(super) fn in_cells(&self, widths: f32) -> f32 {
        widths * self.face_width / self.low.block as f32
    }

    /// Cell `i`'s centre, in the photo.
    pub(super) fn centre(&self, i: usize) -> P2 {
        centre(&self.crop, &self.low, i)
    }

    /// How far up the face (`frame`) cell `i`'s centre is.
    pub(super) fn height(&self, frame: &FaceFrame, i: usize) -> f32 {
        frame.height(self.centre(i))
    }

    /// A polygon's share of each cell.
    pub(super) fn share_in(&self, polygon: &[P2]) -> Vec<f32> {
        share_in(&self.crop, &self.low, polygon)
    }

    /// How much of cell `i` is A's eyes, brows or lips (their share doubled, at most 1).
    pub(super) fn feature(&self, i: usize) -> f32 {
        (2.0 * self.features[i]).min(1.0)
    }

    /// Skin weights `w` (per cell) kept only where the cell is `face` and no feature.
    ///
    /// Eyes, brows and lips are no skin, however close their colour comes (grey brows, pale
    /// lips): counted as light, a brow would darken A's light above the eye and the gain would
    /// paint a pale band over it.
    pub(super) fn only_face(&self, w: &[f32], face: &[f32]) -> Vec<f32> {
        w.iter()
            .zip(face.iter().zip(&self.m_low))
            .enumerate()
            .map(|(i, (w, (f, m)))| {
                w * (f / m.max(1e-3)).clamp(0.05, 1.0) * (1.0 - self.feature(i)).max(0.05)
            })
            .collect()
    }
}

/// Cell `i`'s centre in the photo, of the cells `low` over `crop`.
fn centre(crop: &Crop, low: &LowRes, i: usize) -> P2 {
    (
        crop.x as f32 + ((i % low.w) as f32 + 0.5) * low.block as f32,
        crop.y as f32 + ((i / low.w) as f32 + 0.5) * low.block as f32,
    )
}

/// A polygon's share of each of the cells `low` over `crop`.
fn share_in(crop: &Crop, low: &LowRes, polygon: &[P2]) -> Vec<f32> {
    let inside: Vec<f32> = crop
        .fill_polygon(polygon)
        .iter()
        .map(|&l| l as u8 as f32)
        .collect();
    low.average(&inside, 1)
}
