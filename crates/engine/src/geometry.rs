//! Small geometry: rectangles, 2D affine maps and resampling an image through an affine map.

use image::RgbImage;

/// A point in pixels: x, y.
pub type P2 = (f32, f32);

/// A Delaunay triangulation of `points`: index triples, one per triangle.
pub fn triangulate(points: &[P2]) -> Vec<usize> {
    let pts: Vec<delaunator::Point> = points
        .iter()
        .map(|&(x, y)| delaunator::Point {
            x: x as f64,
            y: y as f64,
        })
        .collect();
    delaunator::triangulate(&pts).triangles
}

/// The contour `idx` of the points `at` widened about its centre by `k` (shrunk below 1).
pub fn widened(idx: &[usize], k: f32, at: &dyn Fn(usize) -> P2) -> Vec<P2> {
    let points: Vec<P2> = idx.iter().map(|&i| at(i)).collect();
    scaled(&points, k)
}

/// `points` scaled about their centroid by `k`.
pub fn scaled(points: &[P2], k: f32) -> Vec<P2> {
    let c = centroid(points);
    points
        .iter()
        .map(|p| (c.0 + (p.0 - c.0) * k, c.1 + (p.1 - c.1) * k))
        .collect()
}

/// The mean of a set of points.
pub fn centroid(points: &[P2]) -> P2 {
    let n = points.len() as f32;
    (
        points.iter().map(|p| p.0).sum::<f32>() / n,
        points.iter().map(|p| p.1).sum::<f32>() / n,
    )
}

/// Whether point `p` lies inside polygon `poly` (even-odd rule).
pub fn inside(poly: &[P2], p: P2) -> bool {
    let mut inside = false;
    for k in 0..poly.len() {
        let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
        if (a.1 <= p.1) != (b.1 <= p.1) && p.0 < a.0 + (p.1 - a.1) / (b.1 - a.1) * (b.0 - a.0) {
            inside = !inside;
        }
    }
    inside
}

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

    /// The inverse map (the identity for a degenerate map, which no caller builds).
    pub fn inverse(&self) -> Affine {
        let [a, b, c, d, e, f] = self.0;
        let det = a * e - b * d;
        if det.abs() < 1e-12 {
            return Affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Affine([ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)])
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
#[cfg(test)]
pub fn sample_affine(img: &RgbImage, out_w: usize, out_h: usize, map: &Affine) -> Vec<f32> {
    sample_affine_n(
        img,
        out_w,
        out_h,
        map,
        (map.scale().ceil() as usize).clamp(1, 4),
    )
}

/// `sample_affine` (the tests' entry) with `n`×`n` bilinear samples per output pixel.
fn sample_affine_n(img: &RgbImage, out_w: usize, out_h: usize, map: &Affine, n: usize) -> Vec<f32> {
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

/// An image with its successive 2× box-filtered reductions, so that resampling it to a small size
/// reads a few pixels of a reduced copy instead of many of the original.
pub struct Pyramid<'a> {
    base: &'a RgbImage,
    /// `levels[k]` is the image reduced by `2^(k+1)`.
    levels: Vec<RgbImage>,
}

impl<'a> Pyramid<'a> {
    /// Builds the reductions down to a longest side of about 128 pixels.
    pub fn new(base: &'a RgbImage) -> Pyramid<'a> {
        let mut levels: Vec<RgbImage> = Vec::new();
        loop {
            let last = levels.last().unwrap_or(base);
            if last.width().max(last.height()) < 256 || last.width() < 2 || last.height() < 2 {
                break;
            }
            let half = halve(last);
            levels.push(half);
        }
        Pyramid { base, levels }
    }

    /// The full-resolution image.
    pub fn base(&self) -> &RgbImage {
        self.base
    }

    /// Like `sample_affine` on the base image, but reading from the reduction that matches the
    /// map's scale.
    pub fn sample(&self, out_w: usize, out_h: usize, map: &Affine) -> Vec<f32> {
        let scale = map.scale();
        let (mut level, mut factor) = (0, 1.0f32);
        while factor * 2.0 <= scale && level < self.levels.len() {
            factor *= 2.0;
            level += 1;
        }
        let img = if level == 0 {
            self.base
        } else {
            &self.levels[level - 1]
        };
        // A point of the base image is at `p / factor` in the reduction, where the map shrinks by
        // less than 2: one bilinear read per output pixel then sees every input pixel.
        let m = map.0.map(|v| v / factor);
        sample_affine_n(img, out_w, out_h, &Affine(m), 1)
    }
}

/// Halves an image with a 2×2 box filter (an odd last row or column is dropped).
fn halve(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width() / 2, img.height() / 2);
    let src = img.as_raw();
    let stride = img.width() as usize * 3;
    let mut out = vec![0u8; w as usize * h as usize * 3];
    for y in 0..h as usize {
        let (r0, r1) = (2 * y * stride, (2 * y + 1) * stride);
        let row = &mut out[y * w as usize * 3..(y + 1) * w as usize * 3];
        for x in 0..w as usize {
            for c in 0..3 {
                let i = 6 * x + c;
                let sum = src[r0 + i] as u32
                    + src[r0 + i + 3] as u32
                    + src[r1 + i] as u32
                    + src[r1 + i + 3] as u32;
                row[3 * x + c] = ((sum + 2) / 4) as u8;
            }
        }
    }
    RgbImage::from_raw(w, h, out).expect("buffer has the image's size")
}

/// Bilinear read at pixel coordinates (pixel centres on integers); black outside.
pub fn bilinear(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (floor(x), floor(y));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let raw = img.as_raw();
    let mut r = [0f32; 3];
    if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
        // The common case: all four neighbours inside, no per-tap checks.
        let o = ((y0 * w + x0) * 3) as usize;
        let below = o + (w * 3) as usize;
        for (c, v) in r.iter_mut().enumerate() {
            let (a, b) = (raw[o + c] as f32, raw[o + 3 + c] as f32);
            let (cc, d) = (raw[below + c] as f32, raw[below + 3 + c] as f32);
            let top = a + (b - a) * fx;
            let bot = cc + (d - cc) * fx;
            *v = top + (bot - top) * fy;
        }
        return r;
    }
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
    for i in 0..3 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bot = c[i] + (d[i] - c[i]) * fx;
        r[i] = top + (bot - top) * fy;
    }
    r
}

/// `v.floor()` as an integer. The float method is a library call on the baseline x86-64 target,
/// and this runs for every pixel that is resampled.
#[inline]
fn floor(v: f32) -> i64 {
    let t = v as i64;
    t - ((t as f32) > v) as i64
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
    fn pyramid_sampling_matches_direct_sampling_on_a_smooth_image() {
        let img = RgbImage::from_fn(800, 600, |x, y| {
            image::Rgb([(x / 4) as u8, (y / 3) as u8, 100])
        });
        let pyr = Pyramid::new(&img);
        let map = Affine([8.0, 0.0, 0.0, 0.0, 8.0, 0.0]);
        let (direct, reduced) = (
            sample_affine(&img, 100, 75, &map),
            pyr.sample(100, 75, &map),
        );
        let worst = direct
            .iter()
            .zip(&reduced)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 2.0, "worst difference {worst}");
    }

    #[test]
    fn an_affine_map_and_its_inverse_compose_to_the_identity() {
        let m = Affine([2.0, 0.5, 10.0, -0.3, 1.5, -4.0]);
        let (x, y) = m.apply(3.0, 7.0);
        let (u, v) = m.inverse().apply(x, y);
        assert!((u - 3.0).abs() < 1e-4 && (v - 7.0).abs() < 1e-4, "{u} {v}");
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
