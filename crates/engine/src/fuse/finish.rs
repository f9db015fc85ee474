//! The fusion's last touches before the composite: A's face takes B's camera, and B's brows that
//! would show through as a second brow are hidden.

use std::cell::OnceCell;

use super::blend::Blend;
use super::cells::Cells;
use super::place::Placed;
use super::pose::Pose;
use super::shading::Beards;
use super::{detail, mask};
use crate::geometry::widened;
use crate::landmarks::{BROW_A, BROW_B, EYE_A, EYE_B};
use crate::parse::{FaceParse, Part};
use crate::report::FusionReport;

/// Soft edge of B's brows hidden where the fused face has none, in face widths.
const BROW_SOFTEN: f32 = 0.02;
/// How far above B's hidden brow, in face widths, the skin whose texture it takes is: past the
/// brow and its soft edge.
const BROW_TEXTURE_OFFSET: f32 = 0.12;
/// Blur, in face widths, of the skin colour that hides them (the result's skin around them): near
/// enough to be the brow's own surroundings (at the shading's scale, a pale lit temple took the
/// face's darker mean, a flat brown crescent).
const BROW_SKIN_SIGMA: f32 = 0.03;

/// How far B's eyes' contours are widened about their centres to take in their lashes and liner,
/// which are no skin texture to borrow.
const B_EYE_WIDENING: f32 = 1.6;

/// A's face (`warped`) takes B's camera: its sharpness, its edges, its skin's texture and its
/// grain; the sharpness ratio and both grains go in the report.
///
/// B's own eyes, brows and lips are no skin texture either, past their contours too (lashes,
/// liner, a lip's edge): where A's features lie elsewhere, borrowed they drew a second lash line
/// under A's eye. Found only if a soft A borrows B's texture.
pub(super) fn take_camera(
    cells: &Cells,
    pose: &Pose,
    beards: &Beards,
    blend: &Blend,
    warped: &mut [f32],
    report: &mut FusionReport,
) {
    let (crop, low) = (&cells.crop, &cells.low);
    let b_features = OnceCell::new();
    let b_feature_at = |x: usize, y: usize| {
        let shares: &Vec<f32> = b_features.get_or_init(|| {
            let share =
                |contour: &[usize], k: f32| cells.share_in(&widened(contour, k, &|i| pose.b2[i]));
            let shares = [
                share(&EYE_A, B_EYE_WIDENING),
                share(&EYE_B, B_EYE_WIDENING),
                share(&BROW_A, mask::TEMPLATE_BROW_PLACE),
                share(&BROW_B, mask::TEMPLATE_BROW_PLACE),
            ];
            (0..low.w * low.h)
                .map(|i| {
                    let mouth = beards.b_mouth_low[i];
                    (2.0 * (shares.iter().map(|s| s[i]).sum::<f32>() + mouth)).min(1.0)
                })
                .collect()
        });
        low.sample::<1>(shares, x, y)[0].clamp(0.0, 1.0)
    };
    let both_skin_at = |i: usize| {
        let (x, y) = (i % crop.w, i / crop.w);
        let b_skin = low.sample::<1>(&blend.b_skin, x, y)[0].clamp(0.0, 1.0);
        blend.bare_skin[i] * b_skin * (1.0 - blend.feature_px[i]) * (1.0 - b_feature_at(x, y))
    };
    let camera = detail::Camera {
        b: &cells.b_crop,
        lap_b: &cells.lap_b,
        alpha: &blend.alpha,
        skin: &both_skin_at,
        size: (crop.w, crop.h),
        face_widths: report.face_width,
    };
    (report.sharpness_ratio, report.grain) = camera.apply(warped);
}

/// B's own brow where the fused face has none, or has one left to B (B's brow higher than A's, its
/// tail under A's covered temple or in the rim's feather, A's brow under its hair) shows through
/// what is left to B as a second brow: there the result shows skin instead, the colour of its skin
/// around and the texture of B's skin above (a smooth colour was a flat patch on a large face).
pub(super) struct AstrayBrows<'a> {
    pub(super) pose: &'a Pose<'a>,
    pub(super) placed: &'a Placed,
    pub(super) cells: &'a Cells,
    /// B's parse.
    pub(super) pb: &'a FaceParse,
}

impl AstrayBrows<'_> {
    /// Hides B's astray brows in A's face (`warped`), raising its weight `alpha` there; `skins` is
    /// A's skin and B's per pixel.
    pub(super) fn hide(&self, skins: [&[f32]; 2], warped: &mut [f32], alpha: &mut [f32]) {
        let AstrayBrows {
            pose,
            placed,
            cells,
            pb,
        } = *self;
        let (crop, face_width) = (&cells.crop, cells.face_width);
        let brows = mask::TemplateBrows {
            crop,
            b_points: &pose.b2,
            target: &pose.target,
            region: &placed.region,
            parse: pb,
            front: &placed.b_keep,
            parsed: &placed.b_parse_cover,
        };
        let Some(astray) = brows.astray((BROW_SOFTEN * face_width).ceil() as usize, alpha) else {
            return;
        };
        let (shown, shown_skin) = mask::skin_as_shown(&cells.b_crop, warped, alpha, skins, &astray);
        let near = mask::SkinNearby::new(
            &cells.low,
            &shown,
            &shown_skin,
            cells.in_cells(BROW_SKIN_SIGMA),
        );
        let up = BROW_TEXTURE_OFFSET * face_width;
        let offset = (pose.frame.up.0 * up, pose.frame.up.1 * up);
        // B's skin as its parse sees it, past the oval too (a brow's tail reaches the temple).
        let b_parse_skin = |x: usize, y: usize| {
            let (px, py) = crop.pixel_centre(x, y);
            pb.at(px, py)[Part::Skin as usize]
        };
        let texture =
            mask::SkinTexture::new(&cells.low, &cells.b_crop, &b_parse_skin, &astray, offset);
        brows.hide(&astray, warped, alpha, &|x, y| {
            let (colour, grain) = (near.at(x, y)?, texture.at(x, y));
            Some(std::array::from_fn(|c| colour[c] + grain[c]))
        });
    }
}
