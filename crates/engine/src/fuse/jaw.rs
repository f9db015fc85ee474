//! A carried beard continued past the fused face's oval down to B's visible chin. The mesh's jaw
//! line often sits above the chin's edge that a photo shows (a chin seen from a little above, a
//! head tilted down), and a beard carried only as far as the oval ended across B's bare chin, a
//! floating beard. Below the oval, where B's parse sees skin, the beard's texture is continued by
//! mirroring the result about a line just inside the oval, fading out within a band of the face's
//! width. Where the beard's strands run slanted across that line, the continuation gives way:
//! mirrored, they fold back into chevrons, a fern along the jaw.

use image::RgbImage;

use super::raster::{coherence, luma, ramp, structure_tensor, Crop, LowRes};
use super::P2;
use crate::geometry::centroid;
use crate::parse::{FaceParse, Part};

/// Depth of the band below the oval that a carried beard may reach, in face widths.
const BELOW: f32 = 0.12;
/// B's parse's probability of skin below the oval from which the beard starts to reach there, and
/// at which fully.
const SKIN: (f32, f32) = (0.3, 0.6);
/// Saturation of B's pixel below the oval, as a share of B's skin's at the mirror point, from which
/// the beard starts to reach there, and at which fully: the parse's soft edge takes in a white or
/// grey background beside the jaw.
const TINTED: (f32, f32) = (0.3, 0.6);
/// How far inside the oval the beard is mirrored about, in face widths: past the carried beard's
/// fade at the oval.
const INSET: f32 = 0.03;
/// How far from straight down (in the face's own frame) the band reaches round the jaw, as the
/// cosine of the angle: the chin and the jaw's lower half, not the cheeks beside the ears.
const LOWEST: f32 = 0.5;

/// Blur, in face widths, over which the strands' direction is read at the mirror line: a few
/// strands.
const STRANDS: f32 = 0.02;
/// Face width, in pixels, above which the strands' direction is read at a lower resolution.
const STRAND_GRID: f32 = 300.0;
/// How strongly the texture at the mirror line runs slanted across it (its coherence times the
/// sine of twice the strands' angle to the line), from which the continuation gives way, and at
/// which it is gone: mirrored, slanted strands fold back into chevrons, a fern along the jaw.
const SLANTED: (f32, f32) = (0.1, 0.3);

/// What the continuation needs: the fused face's oval (image pixels), its down direction, the face's
/// width, the carried beard per crop pixel, B's parse and B's photo.
pub(super) struct Jaw<'a> {
    pub(super) oval: &'a [P2],
    pub(super) down: P2,
    pub(super) face_width: f32,
    pub(super) crop: &'a Crop,
    pub(super) carried: &'a [f32],
    pub(super) parse: &'a FaceParse,
    /// B's photo.
    pub(super) template: &'a RgbImage,
}

impl Jaw<'_> {
    /// Continues the carried beard of `out` (the fused result) below the oval.
    pub(super) fn continue_beard(&self, out: &mut RgbImage) {
        let c = centroid(self.oval);
        let (depth, inset) = (BELOW * self.face_width, INSET * self.face_width);
        let radii: Vec<f32> = self
            .oval
            .iter()
            .map(|p| ((p.0 - c.0).powi(2) + (p.1 - c.1).powi(2)).sqrt())
            .collect();
        // Well inside the oval nothing changes: only the ring around its edge is searched.
        let inside = 0.9 * radii.iter().fold(f32::MAX, |m, &r| m.min(r)) - inset;
        let reach = radii.iter().fold(0f32, |m, &r| m.max(r)) + depth;
        let (w, h) = (out.width() as i64, out.height() as i64);
        // Only the sector round `down` is searched: its box, from its centre and points along its
        // arc (a little widened for the arc's bulge between them).
        let half = LOWEST.acos();
        let (mut x0, mut x1, mut y0, mut y1) = (c.0, c.0, c.1, c.1);
        for k in 0..=12 {
            let a = -half + 2.0 * half * k as f32 / 12.0;
            let (sin, cos) = a.sin_cos();
            let u = (
                self.down.0 * cos - self.down.1 * sin,
                self.down.0 * sin + self.down.1 * cos,
            );
            let (x, y) = (c.0 + reach * u.0, c.1 + reach * u.1);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let margin = 0.02 * reach + 1.0;
        let (x0, x1) = ((x0 - margin).floor() as i64, (x1 + margin).ceil() as i64);
        let (y0, y1) = ((y0 - margin).floor() as i64, (y1 + margin).ceil() as i64);
        let strands = self.strands(out, [x0.max(0), y0.max(0), x1.min(w), y1.min(h)]);
        for y in y0.max(0)..y1.min(h) {
            for x in x0.max(0)..x1.min(w) {
                let p = (x as f32 + 0.5, y as f32 + 0.5);
                let d = (p.0 - c.0, p.1 - c.1);
                let r = (d.0 * d.0 + d.1 * d.1).sqrt();
                if r < inside || r > reach || (d.0 * self.down.0 + d.1 * self.down.1) < LOWEST * r {
                    continue;
                }
                let u = (d.0 / r, d.1 / r);
                let Some(edge) = boundary(self.oval, c, u) else {
                    continue;
                };
                // Mirrored about a line a little inside the oval: the carried beard fades out at
                // the oval itself, and mirrored there the fade would come back as a pale band.
                let line = edge - inset;
                let past = r - edge;
                if r <= line || past >= depth {
                    continue;
                }
                let q = (c.0 + u.0 * (2.0 * line - r), c.1 + u.1 * (2.0 * line - r));
                let foot = (c.0 + u.0 * line, c.1 + u.1 * line);
                let folds = strands(foot).map_or(0.0, |o| folding(o, u));
                let Some(beard) = self.carried_at(q).map(|b| b * (1.0 - folds)) else {
                    continue;
                };
                let k = if past <= 0.0 {
                    beard
                } else {
                    // Past the oval only onto B's skin: the parse says so, and the pixel has a
                    // skin's colour, not a white or grey background's beside the jaw.
                    let skin = ramp(self.parse.at(p.0, p.1)[Part::Skin as usize], SKIN);
                    let tinted = ramp(
                        saturation(self.template.get_pixel(x as u32, y as u32))
                            / saturation(self.template.get_pixel(q.0 as u32, q.1 as u32)).max(0.02),
                        TINTED,
                    );
                    beard * skin * tinted * ramp(past, (depth, 0.75 * depth))
                };
                if k <= 0.0 {
                    continue;
                }
                // Nearer the centre than the mirror line: never a pixel this pass changes.
                let from = *out.get_pixel(q.0 as u32, q.1 as u32);
                let px = out.get_pixel_mut(x as u32, y as u32);
                for ch in 0..3 {
                    let (b, a) = (px[ch] as f32, from[ch] as f32);
                    px[ch] = (b + k * (a - b) + 0.5).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    /// The structure tensor of `out` at an image point of the box `[x0, y0, x1, y1]` (the searched
    /// sector's), blurred over [`STRANDS`] of the face's width; `None` outside the box.
    fn strands(
        &self,
        out: &RgbImage,
        [x0, y0, x1, y1]: [i64; 4],
    ) -> impl Fn(P2) -> Option<[f32; 3]> {
        let (w, h) = ((x1 - x0).max(0) as usize, (y1 - y0).max(0) as usize);
        let y: Vec<f32> = (0..w * h)
            .map(|i| {
                let p = out.get_pixel((x0 as usize + i % w) as u32, (y0 as usize + i / w) as u32);
                luma(p.0.map(f32::from))
            })
            .collect();
        // A large face's strands are several pixels wide: its gradients are read at a lower
        // resolution, a face of about [`STRAND_GRID`] pixels' width.
        let block = ((self.face_width / STRAND_GRID) as usize).max(1);
        let low = LowRes::new(w, h, block);
        let tensor = low.blur(
            &structure_tensor(&low.average(&y, 1), low.w, low.h),
            3,
            STRANDS * self.face_width / block as f32,
        );
        move |q: P2| {
            let (x, y) = (q.0 - x0 as f32, q.1 - y0 as f32);
            if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                return None;
            }
            Some(low.sample::<3>(&tensor, x as usize, y as usize))
        }
    }

    /// The carried beard at image point `q`; `None` outside the crop.
    fn carried_at(&self, q: P2) -> Option<f32> {
        let (x, y) = (q.0 - self.crop.x as f32, q.1 - self.crop.y as f32);
        if x < 0.0 || y < 0.0 || x >= self.crop.w as f32 || y >= self.crop.h as f32 {
            return None;
        }
        Some(self.carried[y as usize * self.crop.w + x as usize])
    }
}

/// How much texture of the blurred structure tensor `t` folds into chevrons when mirrored about a
/// line across the unit direction `u` (0 to 1): its coherence times |sin 2φ|, φ the angle of its
/// lines to `u`. Nothing for texture with no direction, or for lines along `u` or along the mirror
/// line (mirrored, they run on); most for lines slanted at 45° to it.
fn folding(t: [f32; 3], u: P2) -> f32 {
    let [xx, xy, yy] = t;
    let spread = ((xx - yy).powi(2) + 4.0 * xy * xy).sqrt();
    if spread <= 1e-6 {
        return 0.0;
    }
    // The gradients' doubled angle against `u`'s (cos 2α, sin 2α): the lines run across the
    // gradients, which turns the sine's sign only.
    let (cos2, sin2) = (u.0 * u.0 - u.1 * u.1, 2.0 * u.0 * u.1);
    let slant = (2.0 * xy * cos2 - (xx - yy) * sin2).abs() / spread;
    ramp(coherence(t) * slant, SLANTED)
}

/// A pixel's saturation: its channels' spread over its brightest.
fn saturation(p: &image::Rgb<u8>) -> f32 {
    let (hi, lo) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
    (hi - lo) as f32 / (*hi as f32).max(1.0)
}

/// Distance from `c` along the unit direction `u` to where it leaves the polygon `poly` (its
/// farthest crossing); `None` when it crosses no edge.
fn boundary(poly: &[P2], c: P2, u: P2) -> Option<f32> {
    let mut far: Option<f32> = None;
    for k in 0..poly.len() {
        let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
        let e = (b.0 - a.0, b.1 - a.1);
        let det = u.0 * (-e.1) - u.1 * (-e.0);
        if det.abs() < 1e-9 {
            continue;
        }
        let ac = (a.0 - c.0, a.1 - c.1);
        // c + t·u = a + s·e
        let t = (ac.0 * (-e.1) - ac.1 * (-e.0)) / det;
        let s = (u.0 * ac.1 - u.1 * ac.0) / det;
        if (0.0..=1.0).contains(&s) && t > 0.0 {
            far = Some(far.map_or(t, |f: f32| f.max(t)));
        }
    }
    far
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strands_slanted_across_the_mirror_line_fold() {
        let down = (0.0, 1.0);
        // The tensor of lines along unit direction `d`: gradients across them, and `k` times as
        // much in every direction.
        let lines = |d: P2, k: f32| {
            let g = (-d.1, d.0);
            let iso = k * 0.5;
            [g.0 * g.0 + iso, g.0 * g.1, g.1 * g.1 + iso].map(|v| v * 100.0)
        };
        let r = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(folding(lines((r, r), 0.0), down), 1.0, "slanted at 45°");
        assert_eq!(
            folding(lines((r, -r), 0.0), down),
            1.0,
            "slanted the other way"
        );
        assert_eq!(folding(lines((0.0, 1.0), 0.0), down), 0.0, "along the ray");
        assert_eq!(folding(lines((1.0, 0.0), 0.0), down), 0.0, "along the line");
        assert_eq!(
            folding(lines((r, r), 4.0), down),
            0.0,
            "stubble, no direction"
        );
    }

    #[test]
    fn a_ray_from_inside_a_square_leaves_it_at_its_edge() {
        let square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
        let t = boundary(&square, (5.0, 5.0), (0.0, 1.0)).unwrap();
        assert!((t - 5.0).abs() < 1e-4, "{t}");
        let d = std::f32::consts::FRAC_1_SQRT_2;
        let t = boundary(&square, (5.0, 5.0), (d, d)).unwrap();
        assert!((t - 5.0 * 2f32.sqrt()).abs() < 1e-3, "{t}");
    }
}
