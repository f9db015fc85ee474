//! Small geometry: rectangles, 2D affine maps and resampling an image through an affine map.

use image::RgbImage;

/// An axis-aligned rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// Area in square pixels (0 for an empty rectangle).
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Area shared with `other`.
    pub fn intersection_area(&self, other: &Rect) -> f32 {
        let w = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let h = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        w.max(0.0) * h.max(0.0)
    }

    /// Intersection over union.
    pub fn iou(&self, other: &Rect) -> f32 {
        let i = self.intersection_area(other);
        let u = self.area() + other.area() - i;
        if u <= 0.0 {
            0.0
        } else {
            i / u
        }
    }

    /// Centre point.
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

/// A 2D affine map `p ↦ (a·x + b·y + c, d·x + e·y + f)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [f32; 6]);

impl Affine {
    /// Applies the map to a point.
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.0;
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }

    /// How much the map stretches lengths at most (largest singular value, roughly).
    pub fn scale(&self) -> f32 {
        let m = &self.0;
        (m[0].hypot(m[3])).max(m[1].hypot(m[4]))
    }
}

/// Samples `img` into an `out_w`×`out_h` RGB buffer of f32 in 0–255, where output pixel centre
/// `(u+0.5, v+0.5)` comes from source point `map(u+0.5, v+0.5)`. When the map shrinks the image,
/// several bilinear samples per output pixel are averaged so that small outputs do not alias.
/// Points outside the source read as black.
pub fn sample_affine(img: &RgbImage, out_w: usize, out_h: usize, map: &Affine) -> Vec<f32> {
    let n = (map.scale().ceil() as usize).clamp(1, 4);
    let mut out = vec![0f32; out_w * out_h * 3];
    let inv = 1.0 / (n * n) as f32;
    for v in 0..out_h {
        for u in 0..out_w {
            let mut acc = [0f32; 3];
            for sy in 0..n {
                for sx in 0..n {
                    let fu = u as f32 + (sx as f32 + 0.5) / n as f32;
                    let fv = v as f32 + (sy as f32 + 0.5) / n as f32;
                    let (x, y) = map.apply(fu, fv);
                    let p = bilinear(img, x - 0.5, y - 0.5);
                    acc[0] += p[0];
                    acc[1] += p[1];
                    acc[2] += p[2];
                }
            }
            let o = (v * out_w + u) * 3;
            out[o] = acc[0] * inv;
            out[o + 1] = acc[1] * inv;
            out[o + 2] = acc[2] * inv;
        }
    }
    out
}

/// Bilinear read at pixel coordinates (pixel centres on integers); black outside.
pub fn bilinear(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = x - x0;
    let fy = y - y0;
    let (x0, y0) = (x0 as i64, y0 as i64);
    let raw = img.as_raw();
    let px = |xx: i64, yy: i64| -> [f32; 3] {
        if xx < 0 || yy < 0 || xx >= w || yy >= h {
            return [0.0; 3];
        }
        let o = ((yy * w + xx) * 3) as usize;
        [raw[o] as f32, raw[o + 1] as f32, raw[o + 2] as f32]
    };
    let (a, b, c, d) = (
        px(x0, y0),
        px(x0 + 1, y0),
        px(x0, y0 + 1),
        px(x0 + 1, y0 + 1),
    );
    let mut r = [0f32; 3];
    for i in 0..3 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bot = c[i] + (d[i] - c[i]) * fx;
        r[i] = top + (bot - top) * fy;
    }
    r
}

/// Planar NCHW tensor from an interleaved RGB f32 buffer, with `v ↦ v·scale + offset`.
pub fn to_nchw(rgb: &[f32], w: usize, h: usize, scale: f32, offset: f32) -> Vec<f32> {
    let plane = w * h;
    let mut out = vec![0f32; plane * 3];
    for i in 0..plane {
        for c in 0..3 {
            out[c * plane + i] = rgb[i * 3 + c] * scale + offset;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_and_disjoint_rectangles() {
        let a = Rect {
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
        };
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&Rect { x: 20.0, ..a }), 0.0);
        assert!((a.iou(&Rect { x: 5.0, ..a }) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn identity_sampling_reproduces_pixels() {
        let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 7]));
        let out = sample_affine(&img, 4, 3, &Affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
        for y in 0..3 {
            for x in 0..4 {
                let o = (y * 4 + x) * 3;
                assert_eq!(
                    [out[o], out[o + 1], out[o + 2]],
                    [x as f32 * 10.0, y as f32 * 20.0, 7.0]
                );
            }
        }
    }
}
