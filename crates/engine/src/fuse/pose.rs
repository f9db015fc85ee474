//! The fusion's first stage: A's face posed over B's, the shape the fused face takes and the crop
//! of B's photo it covers.

use std::borrow::Cow;

use image::RgbImage;

use super::raster::Crop;
use super::shape::{mirror, neighbours, target_shape, trimmed_oval, turned_opposite, FaceFrame};
use super::{first_report, glasses, Side};
use crate::geometry::{triangulate, P2};
use crate::mesh::Mesh;
use crate::parse::FaceParse;
use crate::report::FusionReport;

/// A as it is fused, over B: A's photo, mesh and parse (its clear glasses seen through, mirrored
/// when the heads turn opposite ways), both meshes in the photos' plane and the fused face's shape
/// in B's photo.
pub(super) struct Pose<'a> {
    /// A's photo as fused: its own, or a copy with its glasses' frames painted out or mirrored.
    pub(super) a: Cow<'a, RgbImage>,
    /// A's mesh as fused, mirrored or not.
    pub(super) ma: Cow<'a, Mesh>,
    /// A's parse as fused, its cover grown.
    pub(super) pa: FaceParse,
    /// A's and B's mesh points in their photos.
    pub(super) a2: Vec<P2>,
    pub(super) b2: Vec<P2>,
    /// A Delaunay triangulation of B's mesh (three points a triangle), and each point's neighbours.
    pub(super) triangles: Vec<usize>,
    pub(super) neighbours: Vec<Vec<usize>>,
    /// The fused face's shape in B's photo, and its up direction.
    pub(super) target: Vec<P2>,
    pub(super) frame: FaceFrame,
    /// The fused face's oval, trimmed, and the crop of B's photo around it.
    pub(super) oval: Vec<P2>,
    pub(super) crop: Crop,
    /// B's face width, in pixels: the unit of the fusion's blurs and widths.
    pub(super) face_width: f32,
}

impl<'a> Pose<'a> {
    /// Poses A's face (`a_side`) over B's (`b_side`), its features moved by `degree` towards
    /// A's layout; returns it with the report's first figures. The crop is empty when the fused
    /// face is outside B's photo.
    pub(super) fn new(a_side: &Side<'a>, b_side: &Side, degree: u8) -> (Pose<'a>, FusionReport) {
        let (b, mb) = (b_side.img, b_side.mesh);
        // A's clear glasses are seen through: their frames painted out, A's eyes are A's.
        let seen = glasses::see_through(a_side.img, a_side.mesh, a_side.parse);
        let source_glasses = seen.as_ref().map_or(0.0, |s| s.frames);
        let (a_img, a_parse) = match seen {
            Some(s) => (Cow::Owned(s.img), Cow::Owned(s.parse)),
            None => (Cow::Borrowed(a_side.img), Cow::Borrowed(a_side.parse)),
        };
        let grown = a_parse.with_grown_cover(a_side.mesh);
        // When the heads turn opposite ways, B's wide cheek would be painted from A's
        // foreshortened one (hair and background smear in): take A's mirror image instead.
        let is_mirrored = turned_opposite(a_side.mesh, mb);
        let (a, ma, pa) = if is_mirrored {
            let (img, mesh) = mirror(&a_img, a_side.mesh);
            let parse = grown.mirrored(a_img.width() as f32);
            (Cow::Owned(img), Cow::Owned(mesh), parse)
        } else {
            (a_img, Cow::Borrowed(a_side.mesh), grown)
        };
        let mut report = first_report(a_side.mesh, &ma, mb, is_mirrored);
        report.source_glasses = source_glasses;
        let b2: Vec<P2> = mb.points.iter().map(|p| (p[0], p[1])).collect();
        let a2: Vec<P2> = ma.points.iter().map(|p| (p[0], p[1])).collect();
        let triangles = triangulate(&b2);
        let neighbours = neighbours(&triangles);
        let target = target_shape(&ma, mb, &neighbours, degree);

        let face_width = report.face_width[1];
        let frame = FaceFrame::new(&target);
        let oval = trimmed_oval(&target, &frame);
        let crop = Crop::around(&oval, b.width(), b.height());
        (
            Pose {
                a,
                ma,
                pa,
                a2,
                b2,
                triangles,
                neighbours,
                target,
                frame,
                oval,
                crop,
                face_width,
            },
            report,
        )
    }
}
