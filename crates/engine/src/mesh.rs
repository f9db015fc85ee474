//! MediaPipe's face mesh: 468 points (x, y in image pixels, z in the same scale) from a 192×192 crop
//! rotated so that the eyes are level.

use faceswap_models::{Model, ModelError};

use crate::detect::Face;
use crate::geometry::{to_nchw, Affine, Pyramid};

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
