//! A carried beard continued past the fused face's oval down to B's visible chin. The mesh's jaw
//! line often sits above the chin's edge that a photo shows (a chin seen from a little above, a
//! head tilted down), and a beard carried only as far as the oval ended across B's bare chin, a
//! floating beard. Below the oval, where B's parse sees skin, the beard's texture is continued by
//! mirroring the result about a line inside the oval, past the carried beard's fade there (which
//! it also fills), fading out within a band of the face's width. Where the beard's strands run slanted across that line, the continuation gives way:
//! mirrored, they fold back into chevrons, a fern along the jaw.

use image::RgbImage;

use super::raster::{coherence, luma, median, ramp, structure_tensor, Crop, LowRes};
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
/// How far inside the oval the beard is mirrored about, in face widths, at the least: past the
/// carried beard's fade at the oval.
const INSET: f32 = 0.03;
/// How far inside the oval the mirror line may go, in face widths, to where the carried beard is
/// [`WHOLE`]: on a small face its fade is wider than [`INSET`], and mirrored, the fade's pale band
/// came back below the oval, a pale stripe across a dense beard's chin.
const DEEPEST: f32 = 0.1;
/// The carried beard's share at which it counts as whole, past its fade at the oval.
const WHOLE: f32 = 0.95;
/// How far the carried beard has faded at a pixel inside the oval (1 less its share there) from
/// which the continuation replaces it, and at which wholly.
const FADED: (f32, f32) = (0.02, 0.15);
/// How far from straight down (in the face's own frame) the band reaches round the jaw, as the
/// cosine of the angle: the chin and the jaw's lower half, not the cheeks beside the ears.
const LOWEST: f32 = 0.5;
/// The cosine from which the band is whole; from [`LOWEST`] up to it, the continuation fades in:
/// cut off at once, its mirrored texture ended in a hard slanted edge on the cheek.
const LOWEST_WHOLE: f32 = 0.7;

/// Blur, in face widths, over which the strands' direction is read at the mirror line: a few
/// strands.
const STRANDS: f32 = 0.02;
/// Face width, in pixels, above which the strands' direction is read at a lower resolution.
const STRAND_GRID: f32 = 300.0;
/// How strongly the texture at the mirror line runs slanted across it (its coherence times the
/// sine of twice the strands' angle to the line), from which the continuation gives way, and at
/// which it is gone: mirrored, slanted strands fold back into chevrons, a fern along the jaw.
const SLANTED: (f32, f32) = (0.1, 0.3);
/// Directions round the jaw along which the strands' folding is read, and how far either side of
/// one (in degrees) the median of their folding is taken.
const FOLD_DIRECTIONS: usize = 97;
const FOLD_SPAN: f32 = 6.0;

/// What the continuation needs: the fused face's oval (image pixels), its down direction, the face's
/// width, the carried beard per crop pixel, B's parse and B's photo.
pub(super) struct Jaw<'a> {
    pub(super) oval: &'a [P2],
    pub(super) down: P2,
    pub(super) face_width: f32,
    pub(super) crop: &'a Crop,
    pub(super) carried: &'a [f32],
    /// The blend weight per crop pixel: how much of the result is the fused face, not B.
    pub(super) alpha: &'a [f32],
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
        let depth_inside = self.mirror_depth(c, half, inset);
        let (mut x0, mut x1, mut y0, mut y1) = (c.0, c.0, c.1, c.1);
        for k in 0..=12 {
            let a = -half + 2.0 * half * k as f32 / 12.0;
            let u = self.turned(a);
            let (x, y) = (c.0 + reach * u.0, c.1 + reach * u.1);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let margin = 0.02 * reach + 1.0;
        let (x0, x1) = ((x0 - margin).floor() as i64, (x1 + margin).ceil() as i64);
        let (y0, y1) = ((y0 - margin).floor() as i64, (y1 + margin).ceil() as i64);
        let strands = self.strands(out, [x0.max(0), y0.max(0), x1.min(w), y1.min(h)]);
        let folds_at = self.folds_round(c, half, depth_inside, &strands);
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
                // Mirrored about a line inside the oval, past the carried beard's fade there:
                // mirrored at the oval, the fade would come back as a pale band.
                let line = edge - depth_inside;
                let past = r - edge;
                if r <= line || past >= depth {
                    continue;
                }
                let q = (c.0 + u.0 * (2.0 * line - r), c.1 + u.1 * (2.0 * line - r));
                // Only the fused face is continued, not what of B stays in front of it (B's hair
                // over the jaw, mirrored down, came as a hard-edged wedge).
                let Some(beard) = self
                    .carried_at(q)
                    .zip(self.crop_at(self.alpha, q))
                    .map(|(b, a)| b * a)
                else {
                    continue;
                };
                // Inside the oval only the carried beard's fade is replaced: where the beard is
                // whole its own texture stays (mixed with its mirror image, it blurred), and where
                // it fades the mirror fills it in, folding strands or not (B's skin would show
                // through as a pale notch).
                let beard = if past <= 0.0 {
                    beard * ramp(1.0 - self.carried_at(p).unwrap_or(0.0), FADED)
                } else {
                    beard * (1.0 - folds_at(u))
                };
                // Nothing to continue: B's parse is not read.
                if beard <= 0.0 {
                    continue;
                }
                // Only onto B's skin, as the parse says: never over B's hair in front of the jaw.
                let skin = ramp(self.parse.at(p.0, p.1)[Part::Skin as usize], SKIN);
                let k = if past <= 0.0 {
                    beard * skin
                } else {
                    // Past the oval the pixel has a skin's colour too, not a white or grey
                    // background's beside the jaw that the parse's soft edge takes in.
                    let tinted = ramp(
                        saturation(self.template.get_pixel(x as u32, y as u32))
                            / saturation(self.template.get_pixel(q.0 as u32, q.1 as u32)).max(0.02),
                        TINTED,
                    );
                    beard * skin * tinted * ramp(past, (depth, 0.75 * depth))
                };
                let k = k * ramp(
                    (d.0 * self.down.0 + d.1 * self.down.1) / r,
                    (LOWEST, LOWEST_WHOLE),
                );
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

    /// `down` turned by the angle `a` (radians).
    fn turned(&self, a: f32) -> P2 {
        let (sin, cos) = a.sin_cos();
        (
            self.down.0 * cos - self.down.1 * sin,
            self.down.0 * sin + self.down.1 * cos,
        )
    }

    /// How much the strands at the mirror line (`depth_inside` inside the oval) fold when mirrored
    /// ([`folding`]), read along [`FOLD_DIRECTIONS`] directions round `down` from the oval's centre
    /// `c`, each the median over [`FOLD_SPAN`] either side; returned as a function of a unit
    /// direction. Read per pixel, where the strands turned from one slant to the other, the
    /// continuation gave way in hard-edged notches, B's pale chin between the beard's strands; a
    /// median drops such narrow spikes but keeps a jaw's slanted strands along its length.
    fn folds_round(
        &self,
        c: P2,
        half: f32,
        depth_inside: f32,
        strands: &impl Fn(P2) -> Option<[f32; 3]>,
    ) -> impl Fn(P2) -> f32 {
        let n = FOLD_DIRECTIONS;
        let step = 2.0 * half / (n - 1) as f32;
        let folds: Vec<f32> = (0..n)
            .map(|k| {
                let u = self.turned(-half + step * k as f32);
                boundary(self.oval, c, u).map_or(0.0, |edge| {
                    let line = edge - depth_inside;
                    let foot = (c.0 + u.0 * line, c.1 + u.1 * line);
                    strands(foot).map_or(0.0, |o| folding(o, u))
                })
            })
            .collect();
        let reach = (FOLD_SPAN.to_radians() / step).round() as usize;
        let spanned: Vec<f32> = (0..n)
            .map(|k| {
                let mut around = folds[k.saturating_sub(reach)..(k + reach + 1).min(n)].to_vec();
                median(&mut around, 1).unwrap_or(0.0)
            })
            .collect();
        let down = self.down;
        move |u: P2| {
            let a = (down.0 * u.1 - down.1 * u.0).atan2(down.0 * u.0 + down.1 * u.1);
            let at = ((a + half) / step).clamp(0.0, (n - 1) as f32);
            let (i, t) = (at.floor() as usize, at.fract());
            let next = spanned[(i + 1).min(n - 1)];
            spanned[i] + t * (next - spanned[i])
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

    /// How far inside the oval the beard is mirrored about: at least `inset`, and as deep as the
    /// carried beard's fade at the oval reaches (the median, over directions round `down` from the
    /// oval's centre `c`, of the depth at which the carried beard is [`WHOLE`], up to [`DEEPEST`]
    /// of the face's width; `inset` where it is whole along fewer than a third of them). One depth for the whole jaw: a depth per direction jumped where the
    /// beard thins out on a cheek, and the mirrored texture with it, a wedge with a hard edge.
    fn mirror_depth(&self, c: P2, half: f32, inset: f32) -> f32 {
        let deepest = DEEPEST * self.face_width;
        let mut depths: Vec<f32> = (0..=24)
            .filter_map(|k| {
                let a = -half + 2.0 * half * k as f32 / 24.0;
                let u = self.turned(a);
                let edge = boundary(self.oval, c, u)?;
                let mut depth = inset;
                while depth < deepest {
                    let q = (c.0 + u.0 * (edge - depth), c.1 + u.1 * (edge - depth));
                    if self.carried_at(q).is_some_and(|b| b >= WHOLE) {
                        return Some(depth);
                    }
                    depth += 1.0;
                }
                None
            })
            .collect();
        median(&mut depths, 8).unwrap_or(inset)
    }

    /// The carried beard at image point `q`; `None` outside the crop.
    fn carried_at(&self, q: P2) -> Option<f32> {
        self.crop_at(self.carried, q)
    }

    /// A crop map's value at image point `q`; `None` outside the crop.
    fn crop_at(&self, map: &[f32], q: P2) -> Option<f32> {
        let (x, y) = (q.0 - self.crop.x as f32, q.1 - self.crop.y as f32);
        if x < 0.0 || y < 0.0 || x >= self.crop.w as f32 || y >= self.crop.h as f32 {
            return None;
        }
        Some(map[y as usize * self.crop.w + x as usize])
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

    /// A round oval of 64 points.
    fn round_oval(centre: P2, radius: f32) -> Vec<P2> {
        (0..64)
            .map(|k| {
                let a = k as f32 / 64.0 * std::f32::consts::TAU;
                (centre.0 + radius * a.cos(), centre.1 + radius * a.sin())
            })
            .collect()
    }

    /// A crop of a whole square photo of `size` pixels.
    fn square_crop(size: usize) -> Crop {
        Crop {
            x: 0,
            y: 0,
            w: size,
            h: size,
        }
    }

    #[test]
    fn a_beard_whose_fade_is_wider_than_the_inset_is_mirrored_past_it_without_a_pale_band() {
        // A round face of radius 40 (80 pixels wide) on pale skin, with a dark beard carried whole
        // to 6 pixels inside the oval and fading out linearly to the oval: 2.5 times the inset.
        let (size, centre, radius) = (128u32, (64.0f32, 64.0f32), 40.0f32);
        let oval = round_oval(centre, radius);
        let crop = square_crop(size as usize);
        let (pale, dark) = ([200.0f32, 170.0, 150.0], [40.0f32, 30.0, 25.0]);
        let carried: Vec<f32> = (0..crop.w * crop.h)
            .map(|i| {
                let p = ((i % crop.w) as f32 + 0.5, (i / crop.w) as f32 + 0.5);
                let r = ((p.0 - centre.0).powi(2) + (p.1 - centre.1).powi(2)).sqrt();
                ((radius - r) / 6.0).clamp(0.0, 1.0)
            })
            .collect();
        let template = RgbImage::from_pixel(size, size, image::Rgb(pale.map(|v| v as u8)));
        let mut out = RgbImage::from_fn(size, size, |x, y| {
            let c = carried[y as usize * crop.w + x as usize];
            image::Rgb([0, 1, 2].map(|ch| (pale[ch] + c * (dark[ch] - pale[ch])) as u8))
        });
        let mut skin = [0f32; crate::parse::PARTS];
        skin[Part::Skin as usize] = 1.0;
        let parse = FaceParse::uniform(0.0, 0.0, size as f32, skin);
        Jaw {
            oval: &oval,
            down: (0.0, 1.0),
            face_width: 2.0 * radius,
            crop: &crop,
            carried: &carried,
            alpha: &carried,
            parse: &parse,
            template: &template,
        }
        .continue_beard(&mut out);
        // Straight down, in the fade 1 pixel inside the oval and 1 past it, the beard is as dark
        // as it is whole: mirrored about a line at the inset, the fade came back pale.
        for y in [103, 105] {
            let level = luma(out.get_pixel(64, y).0.map(f32::from));
            assert!(level < 60.0, "row {y}: {level}");
        }
    }

    #[test]
    fn strands_folding_in_a_narrow_notch_are_dropped_and_along_the_jaw_are_kept() {
        // A round oval of radius 40; strands slanted at 45° to straight down fold wholly.
        let (centre, radius) = ((64.0f32, 64.0f32), 40.0f32);
        let oval = round_oval(centre, radius);
        let crop = square_crop(128);
        let template = RgbImage::new(128, 128);
        let parse = FaceParse::uniform(0.0, 0.0, 128.0, [0.0; crate::parse::PARTS]);
        let jaw = Jaw {
            oval: &oval,
            down: (0.0, 1.0),
            face_width: 80.0,
            crop: &crop,
            carried: &[],
            alpha: &[],
            parse: &parse,
            template: &template,
        };
        let slanted = {
            let g = std::f32::consts::FRAC_1_SQRT_2;
            [50.0 * g * g, 50.0 * g * g, 50.0 * g * g]
        };
        let half = LOWEST.acos();
        // Slanted strands within 2° of straight down only: a notch, dropped.
        let notch = |q: P2| {
            Some(if (q.0 - centre.0).abs() < 1.5 {
                slanted
            } else {
                [1.0, 0.0, 1.0]
            })
        };
        let folds = jaw.folds_round(centre, half, 2.0, &notch);
        assert_eq!(folds((0.0, 1.0)), 0.0);
        // Slanted strands along the jaw's right half: kept there, away from its end.
        let along = |q: P2| {
            Some(if q.0 > centre.0 {
                slanted
            } else {
                [1.0, 0.0, 1.0]
            })
        };
        let folds = jaw.folds_round(centre, half, 2.0, &along);
        let right = (0.5f32.sin(), 0.5f32.cos());
        assert!(folds(right) > 0.9, "{}", folds(right));
        assert_eq!(folds((-right.0, right.1)), 0.0);
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
