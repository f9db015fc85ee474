//! Fusion of A's face into B's head.
//!
//! 1. Shape: A's mesh is aligned onto B's with a 3D similarity; the fused face takes A's aligned
//!    positions in the inner face and B's at the face oval, with a smooth ramp between, so the head
//!    keeps B's contour while the features keep A's layout (`degree` scales how far they move).
//! 2. Texture: A's pixels are warped triangle by triangle (a Delaunay triangulation of B's mesh) onto
//!    those positions. Where A's head is turned so far that one side of the face is seen at a grazing
//!    angle, that side's texture is taken from the other side, mirrored (it would smear otherwise).
//! 3. Colour: A's warped face is multiplied by B's low-frequency shading over A's (blur(B)/blur(A),
//!    masked to the face, weighted by skin so beards do not count as shadow, and computed at
//!    reduced scale), so lighting and skin tone become B's while A's detail stays. A's burnt-out
//!    specular highlights lose their white first (B's light would tint it into a pale patch), and
//!    highlights that the gain would burn white are compressed.
//! 4. Blend: a mask that is exactly zero outside B's face oval and ramps up inside it, and from
//!    where A's face ends in its photo (the outline of a turned head, well inside the oval). The
//!    mouth is always A's, open or closed: B's open smile kept around A's closed lips tore them and
//!    left a blotchy mouth that was neither, and A's mouth is much of who A is.
//! 5. A beard carried onto a shaven B goes on past the oval to B's visible chin (`jaw`).
//!
//! `fuse` runs these as stages, each in its own module: A posed over B ([`pose`]), warped onto the
//! fused shape with what of B stays in front ([`place`]), the low-resolution cells ([`cells`]),
//! the beards and the shading gain ([`shading`]), the blend weight ([`blend`]), the colour
//! ([`colour`]), B's camera and B's astray brows ([`finish`]); then the composite and the jaw.

use image::RgbImage;

mod beard;
mod blend;
mod cells;
mod colour;
mod creases;
mod detail;
mod finish;
mod foreign;
mod glasses;
mod highlights;
mod jaw;
mod light;
mod mask;
mod mirror;
mod morphology;
mod place;
mod pose;
mod raster;
mod relief;
mod relight;
mod shading;
mod shape;
mod side_shadows;
mod skin_tone;
mod texture;

pub(crate) use shape::yaw as head_turn;

use crate::geometry::P2;
use crate::landmarks::FACE_OVAL;
use crate::mesh::Mesh;
use crate::parse::FaceParse;
use crate::report::{FusionReport, MouthState, PoseDifference};
use blend::Blend;
use cells::Cells;
use colour::Recolour;
use finish::AstrayBrows;
use highlights::HighlightGuard;
use place::Placed;
use pose::Pose;
use raster::Crop;
use shading::{Beards, Shading};
use shape::{dist, mouth_opening, roll, yaw};

/// Mouth opening (inner-lip gap over mouth width) above which B's mouth counts as open.
const MOUTH_OPEN: f32 = 0.08;

/// How far the eyes' and the mouth's contours are widened about their centres to hold every white
/// of an eye and every tooth.
const WHITES_WIDENING: f32 = 1.2;

/// One face of a fusion: its photo, its mesh and its parse.
pub struct Side<'a> {
    /// The photo.
    pub img: &'a RgbImage,
    /// The face's mesh.
    pub mesh: &'a Mesh,
    /// What in the photo is the face and what covers it.
    pub parse: &'a FaceParse,
}

/// Fuses A's face into B's face; returns the result and the report.
pub fn fuse(a_side: &Side, b_side: &Side, degree: u8) -> (RgbImage, FusionReport) {
    let b = b_side.img;
    let (pose, mut report) = Pose::new(a_side, b_side, degree);
    let crop = pose.crop;
    if crop.w == 0 || crop.h == 0 {
        return (b.clone(), report.with_warnings());
    }
    // A warped onto the fused shape (its colour apart: the stages below change it), and what of B
    // stays in front of it.
    let (mut warped, placed) = Placed::new(&pose, b_side, &mut report);
    // The low-resolution cells; both faces' beards, then B's shading over A's read off their skin.
    let cells = Cells::new(&pose, b, &placed, &warped);
    let beards = Beards::find(&cells, &pose, &warped, &mut report);
    let shading = Shading::new(&cells, &beards, &placed, &mut warped, &mut report);
    // The blend weight, and the masks of skin, beard, teeth and features that the colour reads.
    let mut blend = Blend::new(&cells, &pose, &placed, &beards, b_side.parse, &warped);
    // A's face takes B's light, relief, skin tone and colourfulness; its creases are softened.
    let recolour = Recolour {
        pose: &pose,
        placed: &placed,
        cells: &cells,
        beards: &beards,
        shading: &shading,
        blend: &blend,
    };
    let mouth_open = report.mouths[0] == MouthState::Open;
    let (relief, a_skin_px) = recolour.apply(&mut warped, mouth_open);
    report.relief = relief;
    // B's camera; B's brows that would show through as a second brow are hidden.
    finish::take_camera(&cells, &pose, &beards, &blend, &mut warped, &mut report);
    let brows = AstrayBrows {
        pose: &pose,
        placed: &placed,
        cells: &cells,
        pb: b_side.parse,
    };
    brows.hide(
        [&a_skin_px, &blend.b_skin_px],
        &mut warped,
        &mut blend.alpha,
    );
    // Blended into B, past the oval too for a carried beard (down to B's visible chin).
    let highlights = HighlightGuard::fit(&warped, &blend.alpha);
    let mut out = composite(b, &cells.b_crop, &crop, &warped, &blend.alpha, &highlights);
    if blend.beard_at.iter().any(|&c| c > 0.0) {
        let frame = &pose.frame;
        jaw::Jaw {
            oval: &pose.oval,
            down: (-frame.up.0, -frame.up.1),
            face_width: pose.face_width,
            crop: &crop,
            carried: &blend.beard_at,
            alpha: &blend.alpha,
            parse: b_side.parse,
            template: b,
        }
        .continue_beard(&mut out);
    }
    (out, report.with_warnings())
}

/// The report's figures known before the fusion: both heads' turn, their pose difference (A as
/// fused: `ma`, mirrored or not), both mouths and both face widths; the rest is filled in as the
/// fusion measures it.
fn first_report(a_mesh: &Mesh, ma: &Mesh, mb: &Mesh, mirrored: bool) -> FusionReport {
    FusionReport {
        yaw: [yaw(a_mesh), yaw(mb)],
        pose_difference: PoseDifference {
            yaw: (yaw(ma) - yaw(mb)).abs(),
            roll: (roll(ma) - roll(mb)).abs(),
        },
        mirrored,
        source_covered: 0.0,
        source_missing: 0.0,
        source_highlights: 0.0,
        source_glasses: 0.0,
        template_covered: 0.0,
        beard: [0.0; 2],
        mouths: [ma, mb].map(|m| {
            let p: Vec<P2> = m.points.iter().map(|p| (p[0], p[1])).collect();
            if mouth_opening(&p) > MOUTH_OPEN {
                MouthState::Open
            } else {
                MouthState::Closed
            }
        }),
        light_strength: [0.0; 2],
        light_angle: 0.0,
        sharpness_ratio: 1.0,
        grain: [0.0; 2],
        relief: [0.0; 2],
        face_width: [face_width(ma), face_width(mb)],
        warnings: Vec::new(),
    }
}

/// B with A's shaded face (`warped`, over `crop`, its highlights kept from burning out) blended in
/// by `alpha`; B's own pixels (`b_crop`) everywhere else.
fn composite(
    b: &RgbImage,
    b_crop: &[f32],
    crop: &Crop,
    warped: &[f32],
    alpha: &[f32],
    highlights: &HighlightGuard,
) -> RgbImage {
    let mut out = b.clone();
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if alpha[i] <= 0.0 {
                continue;
            }
            let av = highlights.apply([warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]]);
            let px = out.get_pixel_mut((crop.x + x) as u32, (crop.y + y) as u32);
            for c in 0..3 {
                let bv = b_crop[i * 3 + c];
                // Clamped first, so adding a half and truncating rounds to nearest.
                px[c] = ((bv + alpha[i] * (av[c] - bv)).clamp(0.0, 255.0) + 0.5) as u8;
            }
        }
    }
    out
}

/// Width of a face at eye level (or three quarters of its height, for a face seen from the side).
fn face_width(m: &Mesh) -> f32 {
    let p = |i: usize| (m.points[i][0], m.points[i][1]);
    dist(p(FACE_OVAL[8]), p(FACE_OVAL[28])).max(dist(p(FACE_OVAL[0]), p(FACE_OVAL[18])) * 0.75)
}
