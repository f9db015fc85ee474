//! MediaPipe's face mesh: 468 points (x, y in image pixels, z in the same scale) from a 192×192 crop
//! rotated so that the eyes are level.

use faceswap_models::{Model, ModelError};

use crate::detect::Face;
use crate::geometry::{to_nchw, triangulate, Affine, Pyramid};

/// The mesh model's file.
pub const MESH_MODEL: &str = "face_landmark.onnx";
/// Points in the mesh.
pub const MESH_POINTS: usize = 468;

const CROP: usize = 192;
/// The crop is the detection box's longer side times this, as MediaPipe does.
const ROI_SCALE: f32 = 1.5;
/// Below this face-presence probability the crop holds no real face.
const MIN_PRESENCE: f32 = 0.5;

/// A fitted mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// 468 points: x, y in image pixels; z depth in pixels (smaller is nearer the camera).
    pub points: Vec<[f32; 3]>,
    /// Face-presence probability from the model.
    pub presence: f32,
}

impl Mesh {
    /// The triangles the fusion warps by and the light is fitted over: a Delaunay triangulation of
    /// the points in the image plane, as index triples.
    pub fn triangles(&self) -> Vec<usize> {
        triangulate(&self.points.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())
    }
}

/// The mesh model.
pub struct Mesher {
    model: Model,
}

impl Mesher {
    /// Wraps the loaded model.
    pub fn new(model: Model) -> Mesher {
        Mesher { model }
    }

    /// Fits the mesh to `face`; `None` when the model says the crop shows no face.
    pub fn mesh(&self, img: &Pyramid, face: &Face) -> Result<Option<Mesh>, ModelError> {
        let (cx, cy) = face.rect.center();
        let side = face.rect.w.max(face.rect.h) * ROI_SCALE;
        let (l, r) = (face.keypoints[0], face.keypoints[1]);
        let angle = -((l.1 - r.1).atan2(r.0 - l.0));
        let (sin, cos) = angle.sin_cos();
        let k = side / CROP as f32;
        // Crop pixel (u, v) ↦ image point: centre + R(angle) · ((u, v) − 96) · side/192.
        let half = CROP as f32 / 2.0;
        let to_img = Affine([
            k * cos,
            -k * sin,
            cx - k * (cos * half - sin * half),
            k * sin,
            k * cos,
            cy - k * (sin * half + cos * half),
        ]);
        let rgb = img.sample(CROP, CROP, &to_img);
        let input = to_nchw(&rgb, CROP, CROP, 1.0 / 255.0, 0.0);
        let outputs = self.model.run(&[1, 3, CROP as i64, CROP as i64], &input)?;
        let fail = |reason: &str| ModelError::Inference {
            name: self.model.name().into(),
            reason: reason.into(),
        };
        let coords = outputs
            .iter()
            .find(|o| o.data.len() >= MESH_POINTS * 3)
            .ok_or_else(|| fail("no mesh output"))?;
        let flag = outputs
            .iter()
            .find(|o| o.data.len() == 1)
            .ok_or_else(|| fail("no face-presence output"))?;
        let presence = 1.0 / (1.0 + (-flag.data[0]).exp());
        if presence < MIN_PRESENCE {
            return Ok(None);
        }
        let points = coords.data[..MESH_POINTS * 3]
            .chunks_exact(3)
            .map(|p| {
                let (x, y) = to_img.apply(p[0], p[1]);
                [x, y, p[2] * k]
            })
            .collect();
        Ok(Some(Mesh { points, presence }))
    }
}

/// The chin-to-forehead line of a face looking straight at the camera leans back by about this
/// many degrees in the mesh's space (the mean over the shared test photos, nearly all facing the
/// camera): added, so that such a face has a pitch near 0.
const PITCH_AT_REST: f32 = 8.0;

/// A head's orientation in degrees, from a mesh's 3D points.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pose {
    /// Turn left or right: positive when the face looks towards the image's right.
    pub yaw: f32,
    /// Nod: positive when the face looks up.
    pub pitch: f32,
    /// Tilt of the eye line: positive when the eye on the image's right is lower.
    pub roll: f32,
}

impl Mesh {
    /// The head's orientation: the face's axes are its eye line (outer eye corners) and the line
    /// from chin to forehead, in the mesh's 3D space (z has the scale of x and y).
    pub fn pose(&self) -> Pose {
        let p = |i: usize| self.points[i];
        let sub = |a: [f32; 3], b: [f32; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        let unit = |v: [f32; 3]| {
            let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-6);
            v.map(|c| c / n)
        };
        // Outer eye corners (image left, image right), forehead top and chin.
        let across = unit(sub(p(263), p(33)));
        let up = sub(p(10), p(152));
        // Up, made perpendicular to the eye line.
        let along = across[0] * up[0] + across[1] * up[1] + across[2] * up[2];
        let up = unit([
            up[0] - along * across[0],
            up[1] - along * across[1],
            up[2] - along * across[2],
        ]);
        // Towards the camera (negative z) for a frontal face.
        let forward = [
            across[1] * up[2] - across[2] * up[1],
            across[2] * up[0] - across[0] * up[2],
            across[0] * up[1] - across[1] * up[0],
        ];
        Pose {
            yaw: forward[0].atan2(-forward[2]).to_degrees(),
            pitch: (-forward[1])
                .atan2(forward[0].hypot(forward[2]))
                .to_degrees()
                + PITCH_AT_REST,
            roll: across[1].atan2(across[0]).to_degrees(),
        }
    }

    /// The five landmarks face APIs give: the centres of the eye on the image's left and of the
    /// other eye, the nose tip, and the mouth corners on the image's left and right.
    pub fn five_points(&self) -> [(f32, f32); 5] {
        let centre = |idx: &[usize]| {
            let n = idx.len() as f32;
            (
                idx.iter().map(|&i| self.points[i][0]).sum::<f32>() / n,
                idx.iter().map(|&i| self.points[i][1]).sum::<f32>() / n,
            )
        };
        let at = |i: usize| (self.points[i][0], self.points[i][1]);
        let [m0, m1] = crate::landmarks::MOUTH_CORNERS.map(at);
        let (left_mouth, right_mouth) = if m0.0 <= m1.0 { (m0, m1) } else { (m1, m0) };
        let (ea, eb) = (
            centre(&crate::landmarks::EYE_A),
            centre(&crate::landmarks::EYE_B),
        );
        let (left_eye, right_eye) = if ea.0 <= eb.0 { (ea, eb) } else { (eb, ea) };
        [
            left_eye,
            right_eye,
            at(crate::landmarks::NOSE_TIP),
            left_mouth,
            right_mouth,
        ]
    }
}
