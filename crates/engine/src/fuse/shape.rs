//! Shape: where the fused face's mesh points go in B, the face frame, the oval, and mesh helpers.

use image::RgbImage;

use super::P2;
use crate::align::fit_similarity;
use crate::landmarks::{
    BROWS_UPPER, EYE_A, EYE_B, FACE_OVAL, FACE_SIDES, LOWER_LIP_INNER, MIRROR, MOUTH_CORNERS,
    NOSE_TIP, UPPER_LIP_INNER,
};
use crate::mesh::{Mesh, MESH_POINTS};

/// Yaw difference (in half face widths) above which A is mirrored when the heads turn opposite ways.
pub(super) const MIRROR_YAW: f32 = 0.25;
/// Smoothing passes of the shape-follow weight over the mesh (how many rings of points the change
/// from B's contour to A's layout takes).
pub(super) const SMOOTHING_PASSES: usize = 2;
/// How far above the eyebrows the fused region may reach, in inter-ocular distances: the mesh's
/// forehead reaches into the hair line, and above this B's own forehead is kept.
pub(super) const FOREHEAD_LIMIT: f32 = 0.5;

/// The face oval of the fused shape with its top pulled down to at most [`FOREHEAD_LIMIT`] above the
/// eyebrows.
pub(super) fn trimmed_oval(p: &[P2], frame: &FaceFrame) -> Vec<P2> {
    let brow_top = BROWS_UPPER
        .iter()
        .map(|&i| frame.height(p[i]))
        .fold(f32::MIN, f32::max);
    let limit = brow_top + FOREHEAD_LIMIT * frame.iod;
    let up = frame.up;
    FACE_OVAL
        .iter()
        .map(|&i| {
            let q = p[i];
            let over = frame.height(q) - limit;
            if over > 0.0 {
                (q.0 - over * up.0, q.1 - over * up.1)
            } else {
                q
            }
        })
        .collect()
}

/// A face's own up direction, from its mesh points: perpendicular to the eye line, away from the
/// mouth.
pub(super) struct FaceFrame {
    /// One eye's centre, the origin of heights.
    pub(super) eye: P2,
    /// Unit vector towards the forehead.
    pub(super) up: P2,
    /// Distance between the eyes' centres.
    pub(super) iod: f32,
}

impl FaceFrame {
    pub(super) fn new(p: &[P2]) -> FaceFrame {
        let centre = |idx: &[usize]| {
            let n = idx.len() as f32;
            (
                idx.iter().map(|&i| p[i].0).sum::<f32>() / n,
                idx.iter().map(|&i| p[i].1).sum::<f32>() / n,
            )
        };
        let (ea, eb) = (centre(&EYE_A), centre(&EYE_B));
        let iod = dist(ea, eb).max(1.0);
        let u = ((eb.0 - ea.0) / iod, (eb.1 - ea.1) / iod);
        let mut up = (u.1, -u.0);
        let mouth = p[UPPER_LIP_INNER];
        if (mouth.0 - ea.0) * up.0 + (mouth.1 - ea.1) * up.1 > 0.0 {
            up = (-up.0, -up.1);
        }
        FaceFrame { eye: ea, up, iod }
    }

    /// How far up the face a point is.
    pub(super) fn height(&self, q: P2) -> f32 {
        (q.0 - self.eye.0) * self.up.0 + (q.1 - self.eye.1) * self.up.1
    }
}

/// The fused face's 2D points in B's image: A's aligned layout inside, B's at the oval. The mouth
/// is A's too, whatever B's does: pinned to B's open smile, A's closed lips were torn around it.
pub(super) fn target_shape(ma: &Mesh, mb: &Mesh, neighbours: &[Vec<usize>], degree: u8) -> Vec<P2> {
    let to64 = |m: &Mesh| {
        m.points
            .iter()
            .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
            .collect::<Vec<_>>()
    };
    let (a3, b3) = (to64(ma), to64(mb));
    let weights = vec![1.0; MESH_POINTS];
    let sim = fit_similarity(&a3, &b3, &weights);

    // Follow weight: 0 on the oval, 1 inside, smoothed over the mesh's neighbours so the change of
    // shape ramps in over a few rings of points.
    let mut fixed = vec![false; MESH_POINTS];
    for &i in FACE_OVAL.iter() {
        fixed[i] = true;
    }
    let mut w: Vec<f32> = fixed.iter().map(|&f| if f { 0.0 } else { 1.0 }).collect();
    smooth_over_mesh(&mut w, neighbours, &fixed);
    let d = degree as f32 / 100.0;
    (0..MESH_POINTS)
        .map(|i| {
            let q = sim.apply(a3[i]);
            let (p, b) = (
                (q[0] as f32, q[1] as f32),
                (mb.points[i][0], mb.points[i][1]),
            );
            let k = d * w[i];
            (b.0 + k * (p.0 - b.0), b.1 + k * (p.1 - b.1))
        })
        .collect()
}

/// Head turn: the nose tip's offset from the middle of the face's sides, in half face widths
/// (positive when the nose is towards the image's right).
pub(crate) fn yaw(m: &Mesh) -> f32 {
    let p = |i: usize| (m.points[i][0], m.points[i][1]);
    let (l, r, nose) = (p(FACE_SIDES[0]), p(FACE_SIDES[1]), p(NOSE_TIP));
    let half = dist(l, r).max(1.0) / 2.0;
    let u = ((r.0 - l.0) / (2.0 * half), (r.1 - l.1) / (2.0 * half));
    let mid = ((l.0 + r.0) / 2.0, (l.1 + r.1) / 2.0);
    ((nose.0 - mid.0) * u.0 + (nose.1 - mid.1) * u.1) / half
}

/// Tilt of the eye line, in degrees (positive when the eye on the image's right is lower).
pub(super) fn roll(m: &Mesh) -> f32 {
    let centre = |idx: &[usize]| {
        let n = idx.len() as f32;
        (
            idx.iter().map(|&i| m.points[i][0]).sum::<f32>() / n,
            idx.iter().map(|&i| m.points[i][1]).sum::<f32>() / n,
        )
    };
    let (l, r) = (centre(&EYE_A), centre(&EYE_B));
    (r.1 - l.1).atan2(r.0 - l.0).to_degrees()
}

/// Whether A and B look clearly to opposite sides.
pub(super) fn turned_opposite(ma: &Mesh, mb: &Mesh) -> bool {
    let (ya, yb) = (yaw(ma), yaw(mb));
    ya * yb < 0.0 && (ya - yb).abs() > MIRROR_YAW
}

/// A's photo flipped left to right, with its mesh re-indexed so each point keeps its meaning.
pub(super) fn mirror(a: &RgbImage, ma: &Mesh) -> (RgbImage, Mesh) {
    let w = a.width() as f32;
    let points = (0..MESH_POINTS)
        .map(|i| {
            let p = ma.points[MIRROR[i] as usize];
            [w - p[0], p[1], p[2]]
        })
        .collect();
    (
        image::imageops::flip_horizontal(a),
        Mesh {
            points,
            presence: ma.presence,
        },
    )
}

/// Inner-lip gap over mouth width.
pub(super) fn mouth_opening(p: &[P2]) -> f32 {
    dist(p[UPPER_LIP_INNER], p[LOWER_LIP_INNER])
        / dist(p[MOUTH_CORNERS[0]], p[MOUTH_CORNERS[1]]).max(1.0)
}

pub(super) fn dist(a: P2, b: P2) -> f32 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

pub(super) fn neighbours(triangles: &[usize]) -> Vec<Vec<usize>> {
    let mut n = vec![Vec::new(); MESH_POINTS];
    for t in triangles.chunks_exact(3) {
        for (i, j) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
            if !n[i].contains(&j) {
                n[i].push(j);
            }
            if !n[j].contains(&i) {
                n[j].push(i);
            }
        }
    }
    n
}

/// [`SMOOTHING_PASSES`] passes that move each mesh point's value halfway to the mean of its
/// neighbours', except at `fixed` points.
pub(super) fn smooth_over_mesh(values: &mut [f32], neighbours: &[Vec<usize>], fixed: &[bool]) {
    for _ in 0..SMOOTHING_PASSES {
        let prev = values.to_vec();
        for (i, n) in neighbours.iter().enumerate() {
            if fixed[i] || n.is_empty() {
                continue;
            }
            let mean = n.iter().map(|&j| prev[j]).sum::<f32>() / n.len() as f32;
            values[i] = 0.5 * prev[i] + 0.5 * mean;
        }
    }
}
