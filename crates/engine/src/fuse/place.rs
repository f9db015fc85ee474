//! The fusion's second stage: A's face warped onto the fused shape over B, the region it may fill
//! and what of B stays in front of it.

use super::pose::Pose;
use super::texture::{
    own_side_weights, smoothed_sources, turned_away, warp_triangle, SkinMap, Source, WarpedFace,
    SOURCE_SMOOTHING,
};
use super::{glasses, mask, texture, Side};
use crate::landmarks::MIRROR;
use crate::lighting::{fit_light, vertex_normals, Light};
use crate::report::FusionReport;

/// A's face warped over B, per pixel of the crop (but its colour, which the stages after change
/// and which is kept apart): what of it is A's face, covered, A's surroundings or skin, where the
/// fused face may go and what of B stays in front of it.
pub(super) struct Placed {
    /// How much of what was taken is A's face; -1 where A's photo gave nothing.
    pub(super) a_face: Vec<f32>,
    /// How much of A's own side is covered.
    pub(super) a_cover: Vec<f32>,
    /// How much of what was taken is A's surroundings at the rim (an ear, the background).
    pub(super) a_outline: Vec<f32>,
    /// The parse's probability that what was taken is A's skin.
    pub(super) a_skin: Vec<f32>,
    /// Inside the fused face's oval, where A's photo gave something.
    pub(super) region: Vec<bool>,
    /// How much of B stays in front of the fused face, and all that B's parse calls cover
    /// ([`mask::TemplateCover`]).
    pub(super) b_keep: Vec<f32>,
    pub(super) b_parse_cover: Vec<f32>,
    /// How much of A's light is a side light that B's does not share
    /// ([`Light::unshared_strength`]): how far A's one-sided shadows are lifted.
    pub(super) side_light: f32,
}

impl Placed {
    /// Warps A (as posed) onto the fused shape over B's photo, and fills in the report's lights
    /// and the shares of the region covered and missing. Returns A's warped colour (RGB) apart.
    pub(super) fn new(pose: &Pose, b_side: &Side, report: &mut FusionReport) -> (Vec<f32>, Placed) {
        let (b, pb) = (b_side.img, b_side.parse);
        let (crop, target) = (&pose.crop, &pose.target);
        // A warped onto the target shape, in crop coordinates. Where A's own side of the face is
        // seen much more obliquely than the other side, the other side's texture (mirrored) is
        // taken.
        let own = own_side_weights(&pose.a2, &pose.triangles, &pose.neighbours);
        let away = turned_away(&pose.a2, &pose.triangles, &pose.neighbours);
        let side_light = fit_lights(pose, b_side, report);
        let mirror_reach = texture::MIRROR_REACH * report.face_width[0];
        let WarpedFace {
            colour: warped,
            face: a_face,
            cover: a_cover,
            outline: a_outline,
            skin: a_skin,
        } = warp(pose, &own, &away, mirror_reach);
        let inside_oval = crop.fill_polygon(&pose.oval);
        let region: Vec<bool> = inside_oval
            .iter()
            .zip(&a_face)
            .map(|(&o, &f)| o && f >= 0.0)
            .collect();
        // What covers B's face stays in front of the new face.
        // B's clear glasses: their frames stay whole in front of A's face, A's face shows through
        // the lenses.
        let b_frames = glasses::frames(b, b_side.mesh, pb);
        let mask::TemplateCover {
            front: b_keep,
            parsed: b_parse_cover,
        } = mask::template_cover(b, pb, crop, &region, target, b_frames.as_ref());
        let in_region = region.iter().filter(|&&r| r).count().max(1) as f32;
        let share = |v: &[f32]| {
            v.iter()
                .zip(&region)
                .filter(|(_, &r)| r)
                .map(|(x, _)| x)
                .sum::<f32>()
                / in_region
        };
        report.source_covered = share(&a_cover);
        report.source_missing = 1.0 - share(&a_face);
        report.template_covered = share(&b_keep);
        let placed = Placed {
            a_face,
            a_cover,
            a_outline,
            a_skin,
            region,
            b_keep,
            b_parse_cover,
            side_light,
        };
        (warped, placed)
    }
}

/// Each face's light, for the report: their strengths and the angle between them. Returns how
/// much of A's light B's does not share ([`Placed::side_light`]).
fn fit_lights(pose: &Pose, b_side: &Side, report: &mut FusionReport) -> f32 {
    let (b, mb, pb) = (b_side.img, b_side.mesh, b_side.parse);
    let (normals_a, normals_b) = (
        vertex_normals(&pose.ma, &pose.triangles),
        vertex_normals(mb, &pose.triangles),
    );
    let (light_a, light_b) = (
        fit_light(&pose.a, &pose.ma, &normals_a, &pose.pa),
        fit_light(b, mb, &normals_b, pb),
    );
    report.light_strength = [&light_a, &light_b].map(|l| l.map_or(0.0, |l| l.strength()));
    if let (Some(la), Some(lb)) = (&light_a, &light_b) {
        let angle = |l: &Light| l.direction[1].atan2(l.direction[0]);
        let d = (angle(la) - angle(lb)).abs().to_degrees();
        report.light_angle = if d > 180.0 { 360.0 - d } else { d };
    }
    match (&light_a, &light_b) {
        (Some(la), Some(lb)) => la.unshared_strength(lb),
        _ => 0.0,
    }
}

/// A's pixels warped triangle by triangle onto the fused shape, in crop coordinates: `own` and
/// `away` are, per mesh point, how much of its texture comes from its own side of the face and how
/// far that side is turned away; `mirror_reach`, how far round a mirror point (in A's pixels) the
/// photo's surroundings are looked for.
fn warp(pose: &Pose, own: &[f32], away: &[f32], mirror_reach: f32) -> WarpedFace {
    let (a, pa, a2, target, crop) = (&pose.a, &pose.pa, &pose.a2, &pose.target, &pose.crop);
    let skin_map = SkinMap::new(a, pa, a2);
    let sources = smoothed_sources(
        &pose.triangles,
        target,
        a2,
        crop,
        SOURCE_SMOOTHING * pose.face_width,
    );
    let mut warp = WarpedFace::new(crop.w * crop.h);
    for t in pose.triangles.chunks_exact(3) {
        let dst = [target[t[0]], target[t[1]], target[t[2]]];
        let src = Source {
            parse: pa,
            light: &skin_map,
            own: &sources,
            mirrored: [t[0], t[1], t[2]].map(|i| a2[MIRROR[i] as usize]),
            weight: [own[t[0]], own[t[1]], own[t[2]]],
            turned_away: [away[t[0]], away[t[1]], away[t[2]]],
            mirror_reach,
        };
        warp_triangle(a, &src, &dst, crop, &mut warp);
    }
    warp
}
