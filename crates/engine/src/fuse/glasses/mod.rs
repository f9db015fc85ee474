//! A's glasses seen through: the frames painted out of A's photo, so that A's own eyes, seen through
//! clear lenses, are fused instead of being left to B as covered.
//!
//! The parser calls a pair of glasses, lenses included, one region, and eyes behind them are glasses
//! to it; left as cover, the eyes would be B's (A's identity mostly lives there) or a copied frame
//! would ghost. Inside that region, a frame is a thin line darker than the skin around it: a
//! morphological black-hat (closing minus image) finds it, wherever it is not the eye itself, and
//! it is filled from the skin around by a push-pull interpolation (not from a lens's glare or its
//! grey bevelled edge, which would spread as pale or grey spots). The skin behind each lens, hazed
//! or tinted by the glass, takes the colour of the skin around the glasses first, so that no ghost
//! of the lenses stays. Tinted lenses hide the eyes and stay cover.

mod found;
mod lens;
mod paint;

use image::RgbImage;

use super::raster::{luma, ramp, Crop};
use super::P2;
use crate::mesh::Mesh;
use crate::parse::FaceParse;
use found::Found;
pub(super) use found::FrameMask;

/// Half-axes of the ellipse around each eye where frames sit, in inter-ocular distances (along
/// the eyes' line and across it).
const FRAME_BOX: (f32, f32) = (0.7, 0.36);
/// Growth of the frame mask, in inter-ocular distances: a frame's soft edge and its thin shadow.
const FRAME_EDGE: f32 = 0.025;

/// A's photo with its glasses' frames painted out, and its parse with the glasses seen through.
pub(super) struct SeenThrough {
    /// A's photo, frames filled from the skin around them.
    pub(super) img: RgbImage,
    /// A's parse, glasses counted as the eyes inside the eyes' contours and as skin elsewhere.
    pub(super) parse: FaceParse,
    /// Share of the glasses region that was frame.
    pub(super) frames: f32,
}

/// Paints out the frames of A's clear glasses; `None` when A wears none, or tinted ones.
pub(super) fn see_through(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<SeenThrough> {
    Found::new(img, mesh, parse).map(|found| found.paint_out(img, parse))
}

/// Where the frames of a face's clear glasses are; `None` when it wears none, or tinted ones.
pub(super) fn frames(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<FrameMask> {
    Found::new(img, mesh, parse).map(|found| found.frame_mask())
}

/// How warm a colour is: red over blue, for its brightness (0 for grey, negative for blue).
pub(super) fn warmth(p: &[f32]) -> f32 {
    (p[0] - p[2]) / luma([p[0], p[1], p[2]]).max(1.0)
}

/// The centre of grid cell `i` (a grid `gw` cells wide of `k`-pixel cells over `bx`), in the photo.
pub(super) fn cell_centre(bx: &Crop, k: usize, gw: usize, i: usize) -> P2 {
    (
        bx.x as f32 + ((i % gw) as f32 + 0.5) * k as f32,
        bx.y as f32 + ((i / gw) as f32 + 0.5) * k as f32,
    )
}

/// How far inside the ellipses where frames sit around the eyes (`centres`, their line along
/// `axis`, `iod` apart) a point is: 1 well inside, 0 outside.
pub(super) fn around_eyes(centres: [P2; 2], axis: P2, iod: f32, p: P2) -> f32 {
    in_ellipses(centres, axis, (FRAME_BOX.0 * iod, FRAME_BOX.1 * iod), p)
}

/// How far inside the ellipses of `radii` about `centres` (along `axis` and across it) a point
/// is: 1 well inside, 0 outside.
pub(super) fn in_ellipses(centres: [P2; 2], axis: P2, radii: P2, p: P2) -> f32 {
    centres
        .iter()
        .map(|&e| ramp(ellipse_distance(e, axis, radii, p), (1.2, 0.8)))
        .fold(0f32, f32::max)
}

/// The unit vector along the eyes' line, from the first eye's centre to the second's (`iod`
/// apart).
pub(super) fn eye_axis([l, r]: [P2; 2], iod: f32) -> P2 {
    ((r.0 - l.0) / iod, (r.1 - l.1) / iod)
}

/// Where `p` lies in the ellipse about `centre` with `radii` along `axis` and across it: under 1
/// inside, 1 on its edge.
pub(super) fn ellipse_distance(centre: P2, axis: P2, radii: (f32, f32), (x, y): P2) -> f32 {
    let (dx, dy) = (x - centre.0, y - centre.1);
    let (u, v) = (dx * axis.0 + dy * axis.1, dy * axis.0 - dx * axis.1);
    (u / radii.0).powi(2) + (v / radii.1).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::{BROW_A, BROW_B, EYE_A, EYE_B};
    use crate::mesh::MESH_POINTS;
    use crate::parse::Part;
    use crate::parse::PARTS;

    /// Skin of (190, 160, 140), eyes at (140, 150) and (260, 150) (120 px apart), each in a
    /// rectangular frame 5 px thick, with a bridge; `speck` adds a dark 4×4 dot on the left cheek
    /// under the lens.
    fn glasses(speck: bool) -> (RgbImage, Mesh, FaceParse) {
        let (l, r) = ((140.0, 150.0), (260.0, 150.0));
        let mut img = RgbImage::from_pixel(400, 300, image::Rgb([190, 160, 140]));
        let dark = image::Rgb([30, 25, 25]);
        for (cx, cy) in [l, r] {
            let (x0, x1, y0, y1) = (
                cx as u32 - 45,
                cx as u32 + 45,
                cy as u32 - 28,
                cy as u32 + 28,
            );
            for y in y0..=y1 {
                for x in x0..=x1 {
                    if x < x0 + 5 || x > x1 - 5 || y < y0 + 5 || y > y1 - 5 {
                        img.put_pixel(x, y, dark);
                    }
                }
            }
        }
        for y in 143..148 {
            for x in 185..215 {
                img.put_pixel(x, y, dark);
            }
        }
        if speck {
            for y in 186..190 {
                for x in 138..142 {
                    img.put_pixel(x, y, dark);
                }
            }
        }
        // The mesh: eyes as small ellipses, brows as flat ones above them, the rest on the chin.
        let mut points = vec![[200.0, 280.0, 0.0]; MESH_POINTS];
        let ring = |idx: &[usize], (cx, cy): P2, (rx, ry): P2, points: &mut Vec<[f32; 3]>| {
            for (k, &i) in idx.iter().enumerate() {
                let a = k as f32 / idx.len() as f32 * std::f32::consts::TAU;
                points[i] = [cx + rx * a.cos(), cy + ry * a.sin(), 0.0];
            }
        };
        ring(&EYE_A, l, (18.0, 7.0), &mut points);
        ring(&EYE_B, r, (18.0, 7.0), &mut points);
        ring(&BROW_A, (l.0, 105.0), (25.0, 3.0), &mut points);
        ring(&BROW_B, (r.0, 105.0), (25.0, 3.0), &mut points);
        let mesh = Mesh {
            points,
            presence: 1.0,
        };
        // The parse: glasses over both frames, lenses included, skin elsewhere.
        let parse = FaceParse::painted(0.0, 0.0, 400.0, &|x, y| {
            let mut p = [0.0; PARTS];
            let on_glasses = [l, r]
                .iter()
                .any(|e| (x - e.0).abs() < 50.0 && (y - e.1).abs() < 32.0);
            p[if on_glasses {
                Part::Glasses
            } else {
                Part::Skin
            } as usize] = 1.0;
            p
        });
        (img, mesh, parse)
    }

    /// The glasses of [`glasses`] seen through, with a strip of `colour` on the right lens over
    /// columns `xs`, just inside its left rim.
    fn seen_with_strip(xs: std::ops::Range<u32>, colour: [u8; 3]) -> SeenThrough {
        let (mut img, mesh, parse) = glasses(false);
        for y in 132..168 {
            for x in xs.clone() {
                img.put_pixel(x, y, image::Rgb(colour));
            }
        }
        see_through(&img, &mesh, &parse).expect("glasses found")
    }

    #[test]
    fn frames_are_found_and_a_speck_on_the_cheek_is_no_frame() {
        for speck in [false, true] {
            let (img, mesh, parse) = glasses(speck);
            let frames = frames(&img, &mesh, &parse).expect("glasses found");
            // The frame's lower rim, left and right, and the bridge.
            for (x, y) in [(140, 176), (260, 176), (200, 145)] {
                assert!(
                    frames.at(x, y) > 0.5,
                    "frame at ({x}, {y}): {}",
                    frames.at(x, y)
                );
            }
            // Bare skin inside the lens, and the speck below it.
            assert!(
                frames.at(140, 165) < 0.1 && frames.at(140, 188) < 0.1,
                "speck {speck}"
            );
        }
    }

    #[test]
    fn a_lens_s_grey_edge_beside_a_frame_gives_no_colour_to_its_fill() {
        // A grey strip as bright as the skin on the right lens, just inside its left rim: a lens's
        // bevelled edge. Drawn on by the fill, it left a grey-blue spot where the frame was.
        let seen = seen_with_strip(224..232, [160, 165, 172]);
        for (x, y) in [(217, 150), (222, 150), (227, 140), (230, 160)] {
            let p = seen.img.get_pixel(x, y).0.map(f32::from);
            assert!(warmth(&p) > 0.2, "({x}, {y}): {p:?}, warmth {}", warmth(&p));
        }
    }

    #[test]
    fn a_lens_s_glare_beside_a_frame_is_painted_out_and_not_smeared_into_its_fill() {
        // A white streak of glare on the right lens, just inside its left rim: past the frame's
        // grown edge it stayed, and the fill drew from it, a pale blob where the frame was.
        let seen = seen_with_strip(224..230, [250, 250, 250]);
        let skin = [190.0, 160.0, 140.0];
        for (x, y) in [(217, 150), (222, 150), (228, 150), (227, 140)] {
            let p = seen.img.get_pixel(x, y);
            let off = (0..3)
                .map(|c| (p[c] as f32 - skin[c]).abs())
                .fold(0.0, f32::max);
            assert!(off < 20.0, "({x}, {y}): {p:?}");
        }
    }

    #[test]
    fn a_lens_s_glare_is_painted_out_where_the_parse_sees_skin_through_the_lens() {
        // A small face's clear lenses: the parser calls only the frames glasses, the skin behind
        // the lenses skin. A flash's violet glare below the right eye stayed as a streak.
        let (mut img, mesh, _) = glasses(false);
        let (l, r) = ((140.0, 150.0), (260.0, 150.0));
        let parse = FaceParse::painted(0.0, 0.0, 400.0, &|x, y| {
            let mut p = [0.0; PARTS];
            let on_frame = [l, r].iter().any(|e: &P2| {
                let (dx, dy) = ((x - e.0).abs(), (y - e.1).abs());
                dx < 50.0 && dy < 32.0 && (dx > 38.0 || dy > 20.0)
            });
            p[if on_frame { Part::Glasses } else { Part::Skin } as usize] = 1.0;
            p
        });
        for y in 163..170 {
            for x in 250..262 {
                img.put_pixel(x, y, image::Rgb([215, 200, 240]));
            }
        }
        let seen = see_through(&img, &mesh, &parse).expect("glasses found");
        let skin = [190.0, 160.0, 140.0];
        for (x, y) in [(252, 165), (256, 166), (260, 168)] {
            let p = seen.img.get_pixel(x, y);
            let off = (0..3)
                .map(|c| (p[c] as f32 - skin[c]).abs())
                .fold(0.0, f32::max);
            assert!(off < 20.0, "({x}, {y}): {p:?}");
        }
    }
}
