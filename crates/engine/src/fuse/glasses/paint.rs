//! Painting a source's glasses out: the frames filled from the skin around and given its texture,
//! the lenses' skin evened to the skin around them, glare and a coated lens's violet taken away.

use image::RgbImage;

use super::found::Found;
use super::lens::{lens_gains, LensCues, LENS_RING};
use super::{around_eyes, cell_centre, in_ellipses, warmth, SeenThrough, FRAME_EDGE};
use crate::fuse::morphology::{fill_from_around, square_extreme};
use crate::fuse::raster::{box3, luma, ramp, LowRes};
use crate::fuse::P2;
use crate::geometry::inside;
use crate::parse::{FaceParse, Part};

/// How far red and blue both stand over green, for the brightest channel, from which a pixel of an
/// eye behind a lens counts as a coated lens's violet glare, and at which it fully does.
const VIOLET: (f32, f32) = (0.05, 0.15);
/// Half-axes of the ellipse about each eye's centre that a lens covers, in inter-ocular distances.
const LENS_BOX: (f32, f32) = (0.42, 0.26);
/// Step, in inter-ocular distances, of the search for the skin whose texture a frame's fill takes:
/// the first step is past the frame and its grown edge.
const TEXTURE_OFFSET: f32 = 0.12;
/// Brightness against the skin's from which a pixel beside a frame starts to count as shine (a
/// glossy frame's, a lens's glare) and gives no colour to the frame's fill, and at which it gives
/// none.
const SHINE: (f32, f32) = (1.2, 1.45);
/// Warmth (red over blue, for the brightness) against the skin's below which a pixel beside a frame
/// starts to count as glass (a lens's grey bevelled edge, a cold reflection) and gives no colour to
/// the frame's fill, and at which it gives none: spread into the fill, it was a grey-blue spot.
const GLASS_GREY: (f32, f32) = (0.7, 0.45);
/// Skin warmth below which the photo is too grey for [`GLASS_GREY`] to tell glass from skin.
const LEAST_WARMTH: f32 = 0.08;
/// Blur, in inter-ocular distances, whose residue is the skin texture a frame's fill takes: pores,
/// not only a pixel's grain.
const PORE_SCALE: f32 = 0.02;
/// Cap, per channel and in levels, on the texture copied from bare skin (a glint copied was a white
/// speck).
const PORE_DEPTH: f32 = 10.0;
/// [`PORE_SCALE`]'s blur, in pixels, under which a face is too small for pores to show (its
/// texture is a compressed photo's noise, copied into dots along the frames), and over which they
/// fully do: the fill takes texture in between by as much.
const PORES_SHOW: (f32, f32) = (1.0, 2.0);
/// How many [`TEXTURE_OFFSET`]s below a frame's pixel the skin whose texture it takes is looked for
/// first: the cheek's under a lower rim, and under an upper rim too, past the lens and the lower rim
/// (the brow's edge above an upper rim, copied, was streaks of hair).
const TEXTURE_REACH: isize = 8;
/// Share of bare skin from which a pixel beside a frame gives the fill its texture.
const LEAST_BARE: f32 = 0.8;
/// Share of glasses the parse gives a pixel from which it starts to count as behind a lens, and at
/// which it fully does.
const BEHIND_LENS: (f32, f32) = (0.3, 0.6);

impl Found {
    /// The photo with the frames painted out and the lenses' skin evened, and the parse with the
    /// glasses seen through.
    pub(super) fn paint_out(self, img: &RgbImage, parse: &FaceParse) -> SeenThrough {
        let mask = self.mask(&self.painted);
        // Per pixel, what the parse calls skin or glasses (the skin behind the lenses), glasses
        // alone, and skin alone.
        let part = |f: &dyn Fn(&[f32; crate::parse::PARTS]) -> f32| {
            self.upsample(&self.parts.iter().map(f).collect::<Vec<_>>())
        };
        let skin_like = part(&|p| (p[Part::Skin as usize] + p[Part::Glasses as usize]).min(1.0));
        let behind_lens = part(&|p| p[Part::Glasses as usize]);
        let parse_skin = part(&|p| p[Part::Skin as usize]);
        let Found {
            bx,
            rgb,
            k,
            grid,
            small,
            parts,
            frame: grid_frame,
            eye_cells: [eye_a, eye_b],
            brow_cells: brows,
            eyes,
            centres: [l, r],
            iod,
            frames,
            skin,
            warmth: skin_warmth,
            ..
        } = self;
        let gw = grid.w;
        let giod = iod / k as f32;
        let axis = mask.axis;
        let at_pixel = |i: usize| cell_centre(&bx, k, gw, i);
        let around_eyes = |p: P2| around_eyes([l, r], axis, iod, p);
        // A pixel's cell says whether it is an eye or a brow.
        let cell = |j: usize| (j / bx.w / k) * gw + (j % bx.w) / k;
        let eye = |j: usize| eye_a[cell(j)] || eye_b[cell(j)];
        let brow = |j: usize| brows[0][cell(j)] || brows[1][cell(j)];
        // Skin seen through a lens is fainter or tinted: each lens's inside takes the colour of the
        // skin around the glasses (a ghost of the lenses would stay otherwise, once the frames are
        // gone).
        let lenses = lens_gains(&LensCues {
            grid: &grid,
            small: &small,
            parts: &parts,
            frame: &grid_frame,
            features: &|i| eye_a[i] || eye_b[i] || brows[0][i] || brows[1][i],
            eyes: [
                (
                    (l.0 - bx.x as f32) / k as f32,
                    (l.1 - bx.y as f32) / k as f32,
                ),
                (
                    (r.0 - bx.x as f32) / k as f32,
                    (r.1 - bx.y as f32) / k as f32,
                ),
            ],
            within: &|i| around_eyes(at_pixel(i)) > 0.0,
            ring: ((LENS_RING * giod).round() as usize).max(1),
            iod: giod,
        });
        let mut rgb = rgb;
        let lens_gain: Vec<f32> = (0..bx.w * bx.h)
            .flat_map(|i| grid.sample::<3>(&lenses, i % bx.w, i / bx.w))
            .collect();
        for (v, g) in rgb.iter_mut().zip(&lens_gain) {
            *v *= g;
        }
        // The fill is drawn from skin only, the lenses' skin included: not from the eyes, brows,
        // hair or background around the frames (a temple over hair and a background would smear
        // them in), nor from what is far brighter than the skin (a glossy frame's shine reflected
        // just beside it, a lens's glare), which would spread as pale blobs. A lens's glare is
        // painted out like a frame, inside the lenses, whether or not the parse sees them.
        let shine: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| ramp(luma([p[0], p[1], p[2]]) / skin.max(1.0), SHINE))
            .collect();
        // Glass (a lens's grey edge, a cold reflection) gives no colour either, and is painted out
        // like glare; only where the skin is warm enough to tell it from glass.
        let glass: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| {
                if skin_warmth < LEAST_WARMTH {
                    0.0
                } else {
                    ramp(warmth(p) / skin_warmth, GLASS_GREY)
                }
            })
            .collect();
        // Behind a lens: where the parse sees glasses, or (on a small face the parser calls the
        // skin seen through a clear lens skin, and only the frames glasses) inside the ellipses
        // lenses cover.
        let lens: Vec<f32> = (0..bx.w * bx.h)
            .map(|j| {
                let p = cell_centre(&bx, 1, bx.w, j);
                ramp(behind_lens[j], BEHIND_LENS).max(in_lenses([l, r], axis, iod, p))
            })
            .collect();
        let frame: Vec<f32> = (0..bx.w * bx.h)
            .map(|j| {
                let glare = if eye(j) {
                    0.0
                } else {
                    shine[j].max(glass[j]) * lens[j]
                };
                mask.frame[j].max(glare)
            })
            .collect();
        // A frame's remnants beside its mask (a dark fringe the mask missed by a pixel) give no
        // texture.
        let edge = ((FRAME_EDGE * iod).round() as usize).max(1);
        let near_frame = square_extreme(&frame, bx.w, bx.h, edge, true);
        let known: Vec<f32> = (0..bx.w * bx.h)
            .map(|j| (1.0 - frame[j]) * skin_like[j] * (1.0 - shine[j].max(glass[j])))
            .collect();
        let mut filled = fill_from_around(&rgb, &known, bx.w, bx.h);
        // The fill is smooth: it is given the texture (pores, not only the finest grain) of bare
        // skin below the frame first (the cheek's, past the lens and the lower rim for an upper
        // rim), or else above or to a side. Bare skin is what the parse calls skin outside the
        // lenses (the lids and lashes behind a lower rim, copied, were lines) and away from the
        // brows (a brow's edge copied under an upper rim was streaks of hair); its texture is its
        // difference from a blur of the bare skin alone, capped. Where no bare skin is near, the
        // finest grain of the nearest pixel that is neither frame nor eye.
        let bare_skin: Vec<f32> = (0..bx.w * bx.h)
            .map(|j| {
                if eye(j) || brow(j) {
                    return 0.0;
                }
                parse_skin[j]
                    * (1.0 - near_frame[j])
                    * (1.0 - lens[j])
                    * (1.0 - shine[j].max(glass[j]))
            })
            .collect();
        let pixels = LowRes::new(bx.w, bx.h, 1);
        let sigma = PORE_SCALE * iod;
        let bare_share = pixels.blur(&bare_skin, 1, sigma);
        let bare_rgb: Vec<f32> = rgb
            .chunks_exact(3)
            .zip(&bare_skin)
            .flat_map(|(p, w)| [p[0] * w, p[1] * w, p[2] * w])
            .collect();
        let bare_rgb = pixels.blur(&bare_rgb, 3, sigma);
        let pores = |j: usize| -> Option<[f32; 3]> {
            if bare_skin[j] < LEAST_BARE || bare_share[j] < 0.25 {
                return None;
            }
            Some([0, 1, 2].map(|c| {
                (rgb[j * 3 + c] - bare_rgb[j * 3 + c] / bare_share[j])
                    .clamp(-PORE_DEPTH, PORE_DEPTH)
            }))
        };
        let smooth = box3(&rgb, bx.w, bx.h);
        let step = ((TEXTURE_OFFSET * iod).round() as isize).max(2);
        let clear = |j: usize| frame[j] < 0.01 && !eye(j);
        // Pixels `offsets` steps from (x, y), inside the box.
        let at_steps = |x: isize, y: isize, offsets: &mut dyn Iterator<Item = (isize, isize)>| {
            offsets
                .map(|(dx, dy)| (x + dx * step, y + dy * step))
                .filter(|&(sx, sy)| sx >= 0 && sy >= 0 && sx < bx.w as isize && sy < bx.h as isize)
                .map(|(sx, sy)| sy as usize * bx.w + sx as usize)
                .collect::<Vec<_>>()
        };
        // On a face too small to show pores no texture is looked for.
        let shown = ramp(sigma, PORES_SHOW);
        let mut texture: Vec<Option<[f32; 3]>> = vec![None; bx.w * bx.h];
        for (i, f) in frame.iter().enumerate() {
            if *f <= 0.0 || shown <= 0.0 {
                continue;
            }
            let (x, y) = ((i % bx.w) as isize, (i / bx.w) as isize);
            let below_first = at_steps(
                x,
                y,
                &mut (1..=TEXTURE_REACH).map(|k| (0, k)).chain([
                    (0, -1),
                    (0, -2),
                    (-1, 0),
                    (1, 0),
                    (-2, 0),
                    (2, 0),
                ]),
            );
            texture[i] = below_first.iter().find_map(|&j| pores(j)).or_else(|| {
                let nearest_first = at_steps(
                    x,
                    y,
                    &mut [1, 2]
                        .into_iter()
                        .flat_map(|k| [(0, -k), (0, k), (-k, 0), (k, 0)]),
                );
                nearest_first
                    .into_iter()
                    .find(|&j| clear(j))
                    .map(|j| [0, 1, 2].map(|c| rgb[j * 3 + c] - smooth[j * 3 + c]))
            });
        }
        // Copies from darker or paler skin than the fill would shift it: only their texture comes.
        let copied = texture.iter().flatten().count().max(1) as f32;
        let bias = [0, 1, 2].map(|c| texture.iter().flatten().map(|g| g[c]).sum::<f32>() / copied);
        for (i, g) in texture.iter().enumerate() {
            if let Some(g) = g {
                for c in 0..3 {
                    filled[i * 3 + c] += shown * (g[c] - bias[c]);
                }
            }
        }
        // A coated lens's violet reflection over an eye (of a flash) stays, as the eye's own
        // catch-light would, but grey: violet, it made the eye glow. No eye is violet (red and
        // blue both over green): not a blue or green iris, not the white with its red veins.
        let glint = |j: usize| {
            if !eye(j) {
                return 0.0;
            }
            let p = &rgb[j * 3..j * 3 + 3];
            let max = p[0].max(p[1]).max(p[2]).max(1.0);
            ramp((p[0].min(p[2]) - p[1]) / max, VIOLET)
        };
        let mut out = img.clone();
        for (i, f) in frame.iter().enumerate() {
            let through_lens = lens_gain[i * 3..i * 3 + 3].iter().any(|g| *g != 1.0);
            let glint = glint(i);
            if *f <= 0.0 && !through_lens && glint <= 0.0 {
                continue;
            }
            let px = out.get_pixel_mut((bx.x + i % bx.w) as u32, (bx.y + i / bx.w) as u32);
            let mut v: [f32; 3] =
                [0, 1, 2].map(|c| rgb[i * 3 + c] + f * (filled[i * 3 + c] - rgb[i * 3 + c]));
            if glint > 0.0 {
                let grey = luma(v);
                v = v.map(|q| grey + (1.0 - glint) * (q - grey));
            }
            for (c, q) in v.iter().enumerate() {
                px[c] = (q.clamp(0.0, 255.0) + 0.5) as u8;
            }
        }
        let in_eyes = |x: f32, y: f32| inside(&eyes[0], (x, y)) || inside(&eyes[1], (x, y));
        SeenThrough {
            img: out,
            parse: parse.seen_through_glasses(&in_eyes),
            frames,
        }
    }
}

/// How far inside the ellipses a lens covers about the eyes (`centres`, their line along `axis`,
/// `iod` apart) a point is: 1 well inside, 0 outside. On a small face the parser calls the skin
/// seen through a clear lens skin, and only the frames glasses.
fn in_lenses(centres: [P2; 2], axis: P2, iod: f32, p: P2) -> f32 {
    in_ellipses(centres, axis, (LENS_BOX.0 * iod, LENS_BOX.1 * iod), p)
}
