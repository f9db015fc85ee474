//! The model's input: the photo padded with black on the right or bottom to a square, resized to
//! `INPUT_SIZE`², as planar RGB floats in [0, 1] (NCHW).
//!
//! The padding is never built: the resize reads the photo and treats everything past its edges as
//! black. Shrinking averages the covered area (each input pixel is the mean of the photo pixels it
//! covers, by fractional coverage), so large photos are not aliased; enlarging (photos under
//! `INPUT_SIZE` pixels on their long side) interpolates bilinearly. Both are separable: rows first
//! (contiguous, vectorisable), then columns of the few rows left.

use image::RgbImage;

use crate::INPUT_SIZE;

/// Source taps of each output index along one axis: `(first source index, weights)`, flattened.
struct Taps {
    /// Per output index: first source index, offset into `weights`, number of weights.
    spans: Vec<(usize, usize, usize)>,
    weights: Vec<f32>,
}

impl Taps {
    /// Maps `side` source pixels (of which only the first `len` are image, the rest black padding)
    /// onto `out` output pixels. Taps into the padding are left out: they would add zero.
    fn new(len: usize, side: usize, out: usize) -> Taps {
        let scale = side as f64 / out as f64;
        let mut spans = Vec::with_capacity(out);
        let mut weights = Vec::new();
        for o in 0..out {
            let offset = weights.len();
            let first;
            if scale >= 1.0 {
                // Area: output pixel o covers source interval [o·scale, (o+1)·scale).
                let (a, b) = (o as f64 * scale, (o + 1) as f64 * scale);
                first = a.floor() as usize;
                let end = (b.ceil() as usize).min(len);
                for i in first..end {
                    let covered = b.min((i + 1) as f64) - a.max(i as f64);
                    weights.push((covered / scale) as f32);
                }
            } else {
                // Bilinear, pixel centres aligned; clamped at the square's edges.
                let centre = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (side - 1) as f64);
                let i0 = centre.floor() as usize;
                let f = centre - i0 as f64;
                first = i0;
                if i0 < len {
                    weights.push((1.0 - f) as f32);
                    if i0 + 1 < len {
                        weights.push(f as f32);
                    }
                }
            }
            let count = weights.len() - offset;
            spans.push((first, offset, count));
        }
        Taps { spans, weights }
    }

    fn get(&self, o: usize) -> (usize, &[f32]) {
        let (first, offset, count) = self.spans[o];
        (first, &self.weights[offset..offset + count])
    }
}

/// The model input for `img`: `3 × INPUT_SIZE × INPUT_SIZE` floats, R then G then B planes.
pub(crate) fn input_tensor(img: &RgbImage) -> Vec<f32> {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let side = width.max(height);
    let n = INPUT_SIZE;
    let plane = n * n;
    let mut out = vec![0.0f32; 3 * plane];
    if side == 0 {
        return out;
    }
    let rows = Taps::new(height, side, n);
    let cols = Taps::new(width, side, n);
    let raw: &[u8] = img.as_raw();
    let stride = width * 3;
    // One output row at a time: blend the source rows it covers into `acc` (interleaved RGB, the
    // photo's full width), then blend columns of `acc` into the output pixels.
    let mut acc = vec![0.0f32; stride];
    for oy in 0..n {
        let (first, weights) = rows.get(oy);
        if weights.is_empty() {
            continue; // all padding: stays black
        }
        acc.fill(0.0);
        for (k, &w) in weights.iter().enumerate() {
            let row = &raw[(first + k) * stride..(first + k + 1) * stride];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += w * p as f32;
            }
        }
        for ox in 0..n {
            let (first, weights) = cols.get(ox);
            let (mut r, mut g, mut b) = (0.0f32, 0.0f32, 0.0f32);
            for (k, &w) in weights.iter().enumerate() {
                let px = &acc[(first + k) * 3..(first + k) * 3 + 3];
                r += w * px[0];
                g += w * px[1];
                b += w * px[2];
            }
            let at = oy * n + ox;
            out[at] = r / 255.0;
            out[plane + at] = g / 255.0;
            out[2 * plane + at] = b / 255.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn pixel(t: &[f32], x: usize, y: usize) -> [f32; 3] {
        let (n, plane) = (INPUT_SIZE, INPUT_SIZE * INPUT_SIZE);
        [t[y * n + x], t[plane + y * n + x], t[2 * plane + y * n + x]]
    }

    fn near(a: [f32; 3], b: [f32; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
    }

    #[test]
    fn uniform_wide_photo_is_padded_at_the_bottom() {
        // 640×320 of one colour: the top half of the input is that colour, the bottom half black.
        let img = RgbImage::from_pixel(640, 320, Rgb([255, 128, 0]));
        let t = input_tensor(&img);
        assert_eq!(t.len(), 3 * INPUT_SIZE * INPUT_SIZE);
        let colour = [1.0, 128.0 / 255.0, 0.0];
        for (x, y) in [(0, 0), (319, 0), (100, 159), (319, 159)] {
            assert!(
                near(pixel(&t, x, y), colour),
                "({x},{y}) {:?}",
                pixel(&t, x, y)
            );
        }
        for (x, y) in [(0, 160), (319, 319), (100, 200)] {
            assert!(near(pixel(&t, x, y), [0.0; 3]), "({x},{y})");
        }
    }

    #[test]
    fn tall_photo_is_padded_on_the_right_and_averaged() {
        // 960×1280 with alternating black/white columns averages to mid-grey; padding on the right.
        let img = RgbImage::from_fn(960, 1280, |x, _| {
            if x % 2 == 0 {
                Rgb([255, 255, 255])
            } else {
                Rgb([0, 0, 0])
            }
        });
        let t = input_tensor(&img);
        // 4 photo pixels per input pixel: exactly half white.
        assert!(near(pixel(&t, 10, 10), [0.5; 3]), "{:?}", pixel(&t, 10, 10));
        assert!(near(pixel(&t, 239, 319), [0.5; 3]));
        assert!(near(pixel(&t, 240, 0), [0.0; 3]));
        assert!(near(pixel(&t, 319, 319), [0.0; 3]));
    }

    #[test]
    fn fractional_coverage_at_the_padding_edge() {
        // 500×1000: scale 3.125; input column 160 covers photo columns 500..503.125, all padding;
        // column 159 covers 496.875..500: 3.125 photo pixels, fully white.
        let img = RgbImage::from_pixel(500, 1000, Rgb([255, 255, 255]));
        let t = input_tensor(&img);
        assert!(near(pixel(&t, 159, 5), [1.0; 3]), "{:?}", pixel(&t, 159, 5));
        assert!(near(pixel(&t, 160, 5), [0.0; 3]));
        // 501 wide: column 160 covers 500..503.125, one white pixel of 3.125.
        let img = RgbImage::from_pixel(501, 1000, Rgb([255, 255, 255]));
        let t = input_tensor(&img);
        assert!(
            near(pixel(&t, 160, 5), [1.0 / 3.125; 3]),
            "{:?}",
            pixel(&t, 160, 5)
        );
    }

    #[test]
    fn small_photo_is_enlarged_bilinearly_and_keeps_channels() {
        // 2×1 red|blue, side 2: the left input columns red, the right blue, a blend in between;
        // the bottom half (padding row) black with a blend at the seam.
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, Rgb([255, 0, 0]));
        img.put_pixel(1, 0, Rgb([0, 0, 255]));
        let t = input_tensor(&img);
        assert!(near(pixel(&t, 0, 0), [1.0, 0.0, 0.0]));
        assert!(near(pixel(&t, 319, 0), [0.0, 0.0, 1.0]));
        let mid = pixel(&t, 160, 0);
        assert!(
            mid[0] > 0.3 && mid[0] < 0.7 && mid[1] == 0.0 && (mid[0] + mid[2] - 1.0).abs() < 1e-4
        );
        assert!(near(pixel(&t, 0, 319), [0.0; 3]));
        assert!(near(pixel(&t, 319, 319), [0.0; 3]));
    }
}
