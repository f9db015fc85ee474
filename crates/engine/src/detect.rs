//! Face detection with MediaPipe's two BlazeFace models (short range for close faces, full range for
//! small and distant ones), merged by weighted non-maximum suppression.

use faceswap_models::{Model, ModelError};

use crate::geometry::{to_nchw, Affine, Pyramid, Rect};

/// The short-range detector's file (128×128 input, 896 anchors).
pub const SHORT_RANGE_MODEL: &str = "face_detection_short_range.onnx";
/// The full-range detector's file (192×192 input, 2304 anchors).
pub const FULL_RANGE_MODEL: &str = "face_detection_full_range.onnx";

const MIN_SCORE: f32 = 0.5;
const NMS_IOU: f32 = 0.3;
const RAW_SCORE_LIMIT: f32 = 80.0;

/// A detected face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    /// Its box in image pixels.
    pub rect: Rect,
    /// Detector confidence, 0–1.
    pub score: f32,
    /// Six keypoints in image pixels: the eye on the image's left, the other eye, nose tip, mouth
    /// centre, and the two ear tragions.
    pub keypoints: [(f32, f32); 6],
}

struct Blazeface {
    model: Model,
    size: usize,
    anchors: Vec<(f32, f32)>,
}

/// Both detectors.
pub struct Detector {
    short: Blazeface,
    full: Blazeface,
}

impl Detector {
    /// Wraps the two loaded models.
    pub fn new(short: Model, full: Model) -> Detector {
        Detector {
            short: Blazeface {
                model: short,
                size: 128,
                anchors: anchors(128, &[8, 16, 16, 16], true),
            },
            full: Blazeface {
                model: full,
                size: 192,
                anchors: anchors(192, &[4], false),
            },
        }
    }

    /// Every face either model finds, merged, largest first.
    pub fn detect(&self, img: &Pyramid) -> Result<Vec<Face>, ModelError> {
        let mut candidates = self.short.candidates(img)?;
        candidates.extend(self.full.candidates(img)?);
        let mut faces = weighted_nms(candidates, NMS_IOU);
        faces.sort_by(|a, b| b.rect.area().total_cmp(&a.rect.area()));
        Ok(faces)
    }
}

impl Blazeface {
    /// Raw detections above the score threshold, in image pixels.
    fn candidates(&self, img: &Pyramid) -> Result<Vec<Face>, ModelError> {
        let s = self.size as f32;
        let (w, h) = (img.base().width() as f32, img.base().height() as f32);
        // Letterbox: fit the whole image into the square input, centred, padded with black.
        let scale = s / w.max(h);
        let (off_x, off_y) = ((s - w * scale) / 2.0, (s - h * scale) / 2.0);
        let to_src = Affine([
            1.0 / scale,
            0.0,
            -off_x / scale,
            0.0,
            1.0 / scale,
            -off_y / scale,
        ]);
        let rgb = img.sample(self.size, self.size, &to_src);
        // Padding is black in the source range, i.e. -1 after normalisation, as MediaPipe pads.
        let input = to_nchw(&rgb, self.size, self.size, 2.0 / 255.0, -1.0);
        let outputs = self
            .model
            .run(&[1, 3, self.size as i64, self.size as i64], &input)?;
        let (boxes, scores) = split_outputs(&outputs, self.anchors.len(), self.model.name())?;
        let mut found = Vec::new();
        for (i, &(ax, ay)) in self.anchors.iter().enumerate() {
            let score = sigmoid(scores[i].clamp(-RAW_SCORE_LIMIT, RAW_SCORE_LIMIT));
            if score < MIN_SCORE {
                continue;
            }
            let r = &boxes[i * 16..i * 16 + 16];
            // Offsets are in input pixels relative to the anchor centre; map tensor pixels to the image.
            let pt = |dx: f32, dy: f32| to_src.apply((dx / s + ax) * s, (dy / s + ay) * s);
            let (cx, cy) = pt(r[0], r[1]);
            let (bw, bh) = (r[2] / scale, r[3] / scale);
            if bw <= 0.0 || bh <= 0.0 {
                continue;
            }
            let mut keypoints = [(0.0, 0.0); 6];
            for (k, kp) in keypoints.iter_mut().enumerate() {
                *kp = pt(r[4 + 2 * k], r[5 + 2 * k]);
            }
            found.push(Face {
                rect: Rect {
                    x: cx - bw / 2.0,
                    y: cy - bh / 2.0,
                    w: bw,
                    h: bh,
                },
                score,
                keypoints,
            });
        }
        Ok(found)
    }
}

/// Finds the (N, 16) box output and the (N, 1) score output, whatever their order.
fn split_outputs<'a>(
    outputs: &'a [faceswap_models::Output],
    n: usize,
    name: &str,
) -> Result<(&'a [f32], &'a [f32]), ModelError> {
    let boxes = outputs.iter().find(|o| o.data.len() == n * 16);
    let scores = outputs.iter().find(|o| o.data.len() == n);
    match (boxes, scores) {
        (Some(b), Some(s)) => Ok((&b.data, &s.data)),
        _ => Err(ModelError::Inference {
            name: name.to_string(),
            reason: format!("expected outputs of {n}×16 and {n} values"),
        }),
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// SSD anchor centres as MediaPipe's SsdAnchorsCalculator makes them for BlazeFace (fixed size 1,
/// so only the centres matter): layers with the same stride share a grid, two anchors per layer when
/// the interpolated aspect ratio is on.
fn anchors(size: usize, strides: &[usize], interpolated: bool) -> Vec<(f32, f32)> {
    let mut out = Vec::new();
    let mut layer = 0;
    while layer < strides.len() {
        let mut last = layer;
        let mut repeats = 0;
        while last < strides.len() && strides[last] == strides[layer] {
            last += 1;
            repeats += if interpolated { 2 } else { 1 };
        }
        let grid = size / strides[layer];
        for y in 0..grid {
            for x in 0..grid {
                let c = (
                    (x as f32 + 0.5) / grid as f32,
                    (y as f32 + 0.5) / grid as f32,
                );
                out.extend(std::iter::repeat_n(c, repeats));
            }
        }
        layer = last;
    }
    out
}

/// MediaPipe's weighted NMS: each cluster of boxes overlapping the best remaining one by more than
/// `iou` becomes one face, its box and keypoints the score-weighted mean of the cluster.
pub(crate) fn weighted_nms(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    // Boxes have positive area, so the best box always falls in its own cluster and the loop ends.
    while !faces.is_empty() {
        let best = faces[0];
        let (cluster, rest): (Vec<Face>, Vec<Face>) = faces
            .into_iter()
            .partition(|f| f.rect.iou(&best.rect) > iou);
        faces = rest;
        let total: f32 = cluster.iter().map(|f| f.score).sum();
        let mut merged = best;
        if cluster.len() > 1 && total > 0.0 {
            let mut r = [0f32; 4];
            let mut kps = [(0f32, 0f32); 6];
            for f in &cluster {
                let wgt = f.score / total;
                r[0] += f.rect.x * wgt;
                r[1] += f.rect.y * wgt;
                r[2] += f.rect.w * wgt;
                r[3] += f.rect.h * wgt;
                for (k, kp) in kps.iter_mut().enumerate() {
                    kp.0 += f.keypoints[k].0 * wgt;
                    kp.1 += f.keypoints[k].1 * wgt;
                }
            }
            merged.rect = Rect {
                x: r[0],
                y: r[1],
                w: r[2],
                h: r[3],
            };
            merged.keypoints = kps;
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, size: f32, score: f32) -> Face {
        Face {
            rect: Rect {
                x,
                y,
                w: size,
                h: size,
            },
            score,
            keypoints: [(x, y); 6],
        }
    }

    #[test]
    fn anchor_counts_match_the_models() {
        assert_eq!(anchors(128, &[8, 16, 16, 16], true).len(), 896);
        assert_eq!(anchors(192, &[4], false).len(), 2304);
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_faces() {
        let faces = vec![
            face(0.0, 0.0, 10.0, 0.9),
            face(1.0, 0.0, 10.0, 0.6),
            face(50.0, 50.0, 10.0, 0.7),
        ];
        let out = weighted_nms(faces, 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // Weighted by 0.9 and 0.6: x = 0.4.
        assert!((out[0].rect.x - 0.4).abs() < 1e-5, "{:?}", out[0].rect);
        assert_eq!(out[1].rect.x, 50.0);
    }
}
