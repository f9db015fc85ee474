//! From the model's `1×(4+18)×N` output to detections in image pixels: best class per candidate,
//! the base threshold, scaling back through the square padding, clipping, and NMS (as NudeNet does).

use crate::{Detection, BASE_THRESHOLD, INPUT_SIZE, LABELS, NMS_IOU};

/// Rows of the output per candidate: box centre x, centre y, width, height, then the class scores.
const ROWS: usize = 4 + LABELS.len();

/// Decodes the output tensor for an image of `width`×`height` pixels. Sorted by score, highest first.
pub(crate) fn detections(
    shape: &[i64],
    data: &[f32],
    width: u32,
    height: u32,
) -> Result<Vec<Detection>, String> {
    let n = match *shape {
        [1, rows, n] if rows == ROWS as i64 && n >= 0 => n as usize,
        _ => return Err(format!("output shape {shape:?}, expected [1, {ROWS}, N]")),
    };
    if data.len() != ROWS * n {
        return Err(format!(
            "output has {} values for shape {shape:?}",
            data.len()
        ));
    }
    let (w_img, h_img) = (width as f32, height as f32);
    // The image was padded to a square of its longer side, then resized to INPUT_SIZE.
    let scale = width.max(height) as f32 / INPUT_SIZE as f32;
    let row = |r: usize| &data[r * n..(r + 1) * n];
    let mut candidates = Vec::new();
    for i in 0..n {
        let mut best = 0;
        let mut best_score = f32::NEG_INFINITY;
        for class in 0..LABELS.len() {
            let s = row(4 + class)[i];
            if s > best_score {
                best = class;
                best_score = s;
            }
        }
        if best_score < BASE_THRESHOLD {
            continue;
        }
        let (cx, cy, w, h) = (row(0)[i], row(1)[i], row(2)[i], row(3)[i]);
        // Corners in image pixels, clipped to the image (which also cuts off the padding).
        let x0 = ((cx - w / 2.0) * scale).clamp(0.0, w_img);
        let y0 = ((cy - h / 2.0) * scale).clamp(0.0, h_img);
        let x1 = ((cx + w / 2.0) * scale).clamp(0.0, w_img);
        let y1 = ((cy + h / 2.0) * scale).clamp(0.0, h_img);
        if !(x0.is_finite() && y0.is_finite() && x1 >= x0 && y1 >= y0) {
            continue;
        }
        let (x, y, w, h) = (x0, y0, x1 - x0, y1 - y0);
        candidates.push(Detection {
            label: LABELS[best],
            score: best_score,
            rect: [x, y, w, h],
        });
    }
    Ok(nms(candidates, NMS_IOU))
}

/// Greedy non-maximum suppression over all boxes whatever their label, like OpenCV's
/// `cv2.dnn.NMSBoxes`: by descending score (ties keep their order), a box is kept unless it
/// overlaps an already kept box by an IoU above `iou`.
pub(crate) fn nms(mut boxes: Vec<Detection>, iou: f32) -> Vec<Detection> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| overlap(&k.rect, &b.rect) <= iou) {
            kept.push(b);
        }
    }
    kept
}

/// Intersection over union of two `[x, y, w, h]` boxes (0 if either is empty).
pub(crate) fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let ix = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let iy = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    let inter = ix.max(0.0) * iy.max(0.0);
    let union = a[2].max(0.0) * a[3].max(0.0) + b[2].max(0.0) * b[3].max(0.0) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `1×22×N` tensor (row-major) from candidates of (cx, cy, w, h, class, score) in input pixels.
    fn tensor(candidates: &[(f32, f32, f32, f32, usize, f32)]) -> (Vec<i64>, Vec<f32>) {
        let n = candidates.len();
        let mut data = vec![0.0; ROWS * n];
        for (i, &(cx, cy, w, h, class, score)) in candidates.iter().enumerate() {
            data[i] = cx;
            data[n + i] = cy;
            data[2 * n + i] = w;
            data[3 * n + i] = h;
            // Every other class gets a little score, as the real model gives.
            for c in 0..LABELS.len() {
                data[(4 + c) * n + i] = 0.01;
            }
            data[(4 + class) * n + i] = score;
        }
        (vec![1, ROWS as i64, n as i64], data)
    }

    fn index(label: &str) -> usize {
        LABELS.iter().position(|l| *l == label).unwrap()
    }

    fn close(a: [f32; 4], b: [f32; 4]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-3)
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_and_separate_ones() {
        let belly = index("BELLY_EXPOSED");
        let face = index("FACE_FEMALE");
        let (shape, data) = tensor(&[
            (100.0, 100.0, 40.0, 40.0, belly, 0.6),
            (104.0, 102.0, 40.0, 40.0, belly, 0.8), // overlaps the first by IoU ~0.75
            (250.0, 60.0, 30.0, 50.0, face, 0.7),
            (250.0, 250.0, 30.0, 30.0, face, 0.15), // below the base threshold
        ]);
        let found = detections(&shape, &data, 320, 320).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].label, "BELLY_EXPOSED");
        assert_eq!(found[0].score, 0.8);
        assert!(close(found[0].rect, [84.0, 82.0, 40.0, 40.0]), "{found:?}");
        assert_eq!(found[1].label, "FACE_FEMALE");
        assert_eq!(found[1].score, 0.7);
        assert!(close(found[1].rect, [235.0, 35.0, 30.0, 50.0]), "{found:?}");
    }

    #[test]
    fn nms_is_across_labels_and_keeps_boxes_at_the_threshold() {
        let a = index("FACE_FEMALE");
        let b = index("FACE_MALE");
        // Same box, two labels: only the better label survives.
        let (shape, data) = tensor(&[
            (50.0, 50.0, 20.0, 20.0, a, 0.5),
            (50.0, 50.0, 20.0, 20.0, b, 0.55),
        ]);
        let found = detections(&shape, &data, 320, 320).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].label, "FACE_MALE");
        // Overlapping by exactly 1/3 (< 0.45): both are kept.
        let (shape, data) = tensor(&[
            (50.0, 50.0, 20.0, 20.0, a, 0.5),
            (60.0, 50.0, 20.0, 20.0, a, 0.4),
        ]);
        assert_eq!(detections(&shape, &data, 320, 320).unwrap().len(), 2);
        // A score exactly at the base threshold is kept.
        let (shape, data) = tensor(&[(50.0, 50.0, 20.0, 20.0, a, BASE_THRESHOLD)]);
        assert_eq!(detections(&shape, &data, 320, 320).unwrap().len(), 1);
    }

    #[test]
    fn boxes_scale_back_through_the_padding() {
        let face = index("FACE_MALE");
        // 800×400 (wide): padded at the bottom to 800×800, so 1 input pixel = 2.5 image pixels.
        let (shape, data) = tensor(&[
            (160.0, 80.0, 64.0, 32.0, face, 0.9),
            // Reaches into the bottom padding (y 120..200 in input = 300..500 in the image): clipped.
            (40.0, 160.0, 40.0, 80.0, face, 0.5),
            // Hangs over the left edge: cut at x = 0 (its right edge stays where it was).
            (5.0, 20.0, 20.0, 20.0, face, 0.4),
        ]);
        let found = detections(&shape, &data, 800, 400).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            close(found[0].rect, [320.0, 160.0, 160.0, 80.0]),
            "{found:?}"
        );
        assert!(
            close(found[1].rect, [50.0, 300.0, 100.0, 100.0]),
            "{found:?}"
        );
        assert!(close(found[2].rect, [0.0, 25.0, 37.5, 50.0]), "{found:?}");
        // 300×600 (tall): padded on the right; 1 input pixel = 1.875 image pixels.
        let (shape, data) = tensor(&[(100.0, 200.0, 32.0, 64.0, face, 0.9)]);
        let found = detections(&shape, &data, 300, 600).unwrap();
        assert!(
            close(found[0].rect, [157.5, 315.0, 60.0, 120.0]),
            "{found:?}"
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(detections(&[1, 21, 5], &[0.0; 105], 10, 10).is_err());
        assert!(detections(&[1, 22, 5], &[0.0; 100], 10, 10).is_err());
        assert!(detections(&[2, 22, 5], &[0.0; 220], 10, 10).is_err());
        assert!(detections(&[1, 22, 0], &[], 10, 10).unwrap().is_empty());
    }

    #[test]
    fn overlap_of_boxes() {
        assert_eq!(
            overlap(&[0.0, 0.0, 10.0, 10.0], &[0.0, 0.0, 10.0, 10.0]),
            1.0
        );
        assert_eq!(
            overlap(&[0.0, 0.0, 10.0, 10.0], &[20.0, 0.0, 10.0, 10.0]),
            0.0
        );
        assert!(
            (overlap(&[0.0, 0.0, 10.0, 10.0], &[5.0, 0.0, 10.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6
        );
        assert_eq!(overlap(&[0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 0.0]), 0.0);
    }
}
