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

use image::RgbImage;

use super::lens::{lens_gains, LensCues, LENS_RING};
use super::morphology::{closing, fill_from_around, small_parts, square_extreme};
use super::raster::{box3, luma, median, ramp, Crop, LowRes};
use super::P2;
use crate::geometry::{centroid, inside, widened};
use crate::landmarks::{BROW_A, BROW_B, EYE_A, EYE_B};
use crate::mesh::Mesh;
use crate::parse::{FaceParse, Part};

/// Inter-ocular distance, in grid cells, at which glasses are analysed (a larger face on a coarser
/// grid).
const ANALYSIS_IOD: f32 = 120.0;
/// Mean glasses probability over the eyes' centres and where frames run from which A counts as
/// wearing glasses.
const WEARS_GLASSES: f32 = 0.15;
/// Where a frame's lower and upper rims run, across the eyes' line from each eye's centre, in
/// inter-ocular distances.
const FRAME_BELOW: f32 = 0.22;
const FRAME_ABOVE: f32 = 0.2;
/// Radius of the black-hat's square, in inter-ocular distances: frames up to twice as thick are found.
const FRAME_RADIUS: f32 = 0.06;
/// Black-hat depth, as a share of the skin's brightness, from which a pixel starts to count as frame,
/// and at which it counts fully.
const FRAME_DEPTH: (f32, f32) = (0.18, 0.32);
/// Half-axes of the ellipse around each eye where frames sit, in inter-ocular distances (along
/// the eyes' line and across it).
const FRAME_BOX: (f32, f32) = (0.7, 0.36);
/// How far red and blue both stand over green, for the brightest channel, from which a pixel of an
/// eye behind a lens counts as a coated lens's violet glare, and at which it fully does.
const VIOLET: (f32, f32) = (0.05, 0.15);
/// Half-axes of the ellipse about each eye's centre that a lens covers, in inter-ocular distances.
const LENS_BOX: (f32, f32) = (0.42, 0.26);
/// Half-axes of the ellipse about each eye's centre where no frame runs, in inter-ocular distances
/// (along the eyes' line and across it).
const EYE_CORE: (f32, f32) = (0.32, 0.14);
/// Scale of the mesh's brows kept out of the frame mask.
const BROW_GROWTH: f32 = 1.15;
/// Growth of the parser's glasses region, in inter-ocular distances.
const GLASSES_REACH: f32 = 0.12;
/// Brightness against the light around (the closing) below which a pixel starts to count as frame,
/// and at which it counts fully.
const FRAME_DARKER: (f32, f32) = (0.75, 0.55);
/// Brightness against the skin around the glasses from which a pixel of a frame's grown edge
/// starts to stay in front as frame, and at which it stays fully.
const EDGE_DARKER: (f32, f32) = (0.85, 0.65);
/// Size, in inter-ocular distances, under which a part of the frame mask found alone is a speck
/// and no frame.
const FRAME_SPECK: f32 = 0.12;
/// Radius of the closing that takes a frame's highlights into its mask, in inter-ocular distances:
/// gaps in a frame line up to twice as long.
const FRAME_GLOSS: f32 = 0.04;
/// Growth of the frame mask, in inter-ocular distances: a frame's soft edge and its thin shadow.
const FRAME_EDGE: f32 = 0.025;
/// Further growth of the frame mask where A's frames are painted out, in inter-ocular distances: a
/// lens's bevelled rim inside the frame, grey not dark, stayed as a thin ghost of the lenses' outline
/// (B's frames in front of A's face are not grown by it: more of B would hide A's eyes).
const LENS_RIM: f32 = 0.02;
/// Growth of the eyes' contours kept out of the frame mask, in inter-ocular distances: lashes and lids.
const EYE_MARGIN: f32 = 0.04;
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
/// Lenses darker than this share of the skin's brightness are tinted: the eyes behind do not show.
const TINTED: f32 = 0.35;

/// A's photo with its glasses' frames painted out, and its parse with the glasses seen through.
pub(super) struct SeenThrough {
    /// A's photo, frames filled from the skin around them.
    pub(super) img: RgbImage,
    /// A's parse, glasses counted as the eyes inside the eyes' contours and as skin elsewhere.
    pub(super) parse: FaceParse,
    /// Share of the glasses region that was frame.
    pub(super) frames: f32,
}

/// How much each pixel of a photo is a frame of its glasses.
pub(super) struct FrameMask {
    /// The box around the glasses.
    bx: Crop,
    /// Per pixel of the box.
    frame: Vec<f32>,
    /// Per pixel of the box, the frames as found, before their edge and shadow were grown on
    /// (empty when not needed).
    core: Vec<f32>,
    /// Brightness of the face's skin around the glasses.
    skin: f32,
    /// The eyes' centres, their line's direction and their distance.
    centres: [P2; 2],
    axis: P2,
    iod: f32,
}

impl FrameMask {
    /// At pixel (x, y) of the photo; 0 outside the glasses' box.
    pub(super) fn at(&self, x: usize, y: usize) -> f32 {
        let b = &self.bx;
        if x < b.x || y < b.y || x >= b.x + b.w || y >= b.y + b.h {
            return 0.0;
        }
        self.frame[(y - b.y) * b.w + (x - b.x)]
    }

    /// How much of pixel (x, y) of `img` (the photo of these frames) stays in front as frame:
    /// the frame as found whole, its grown edge only as far as the pixel is darker than the skin
    /// (a frame's soft edge and its shadow stay, the skin the growth took in does not: kept, it
    /// was a halo of B's skin colour around the frames on A's face).
    pub(super) fn keep_at(&self, img: &RgbImage, x: usize, y: usize) -> f32 {
        let grown = self.at(x, y);
        if grown <= 0.0 {
            return 0.0;
        }
        let luma = luma(img.get_pixel(x as u32, y as u32).0.map(f32::from));
        let b = &self.bx;
        let core = self
            .core
            .get((y - b.y) * b.w + (x - b.x))
            .copied()
            .unwrap_or(grown);
        core.max(grown * ramp(luma / self.skin.max(1.0), EDGE_DARKER))
    }

    /// Frames found nowhere, for glasses whose eyes' centres are `centres` (for tests).
    #[cfg(test)]
    pub(super) fn none_found(centres: [P2; 2]) -> FrameMask {
        let [l, r] = centres;
        let iod = (r.0 - l.0).hypot(r.1 - l.1);
        FrameMask {
            bx: Crop {
                x: 0,
                y: 0,
                w: 0,
                h: 0,
            },
            frame: Vec::new(),
            core: Vec::new(),
            skin: 1.0,
            centres,
            axis: eye_axis([l, r], iod),
            iod,
        }
    }

    /// Whether a point of the photo lies where the frames were searched (the ellipse about each
    /// eye's centre where frames sit): there only what was found is frame.
    pub(super) fn searched(&self, (x, y): P2) -> bool {
        let radii = (FRAME_BOX.0 * self.iod, FRAME_BOX.1 * self.iod);
        self.centres
            .iter()
            .any(|&e| ellipse_distance(e, self.axis, radii, (x, y)) < 1.0)
    }
}

/// Paints out the frames of A's clear glasses; `None` when A wears none, or tinted ones.
pub(super) fn see_through(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<SeenThrough> {
    Found::new(img, mesh, parse).map(|found| found.paint_out(img, parse))
}

/// Where the frames of a face's clear glasses are; `None` when it wears none, or tinted ones.
pub(super) fn frames(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<FrameMask> {
    Found::new(img, mesh, parse).map(|found| FrameMask {
        core: found.upsample(&found.core),
        ..found.mask(&found.frame)
    })
}

/// A face's clear glasses, found on the analysis grid over the box around them.
struct Found {
    /// The box, in the photo.
    bx: Crop,
    /// The photo's pixels in the box.
    rgb: Vec<f32>,
    /// Cell size of the analysis grid, in pixels.
    k: usize,
    grid: LowRes,
    /// The grid's colours and the parse over it.
    small: Vec<f32>,
    parts: Vec<[f32; crate::parse::PARTS]>,
    /// How much each cell is frame.
    frame: Vec<f32>,
    /// The same before the frame's edge was grown on.
    core: Vec<f32>,
    /// Brightness of the skin around the glasses.
    skin: f32,
    /// Warmth of the skin around the glasses ([`warmth`]).
    warmth: f32,
    /// How much each cell is painted out of A's photo: the frame and its lens's rim.
    painted: Vec<f32>,
    /// Whether a cell is an eye (its contour, grown) or a brow.
    eye_cells: [Vec<bool>; 2],
    brow_cells: [Vec<bool>; 2],
    /// The eyes' contours and centres, in the photo.
    eyes: [Vec<P2>; 2],
    centres: [P2; 2],
    /// Inter-ocular distance, in pixels.
    iod: f32,
    /// Share of the glasses region that is frame.
    frames: f32,
}

impl Found {
    fn new(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<Found> {
        let contour = |idx: &[usize]| -> Vec<P2> {
            idx.iter()
                .map(|&i| (mesh.points[i][0], mesh.points[i][1]))
                .collect()
        };
        let eyes = [contour(&EYE_A), contour(&EYE_B)];
        let glasses_at = |x: f32, y: f32| parse.at(x, y)[Part::Glasses as usize];
        let (l, r) = (centroid(&eyes[0]), centroid(&eyes[1]));
        // Whether A wears glasses: the parse over the eyes and where frames run (the bridge, above
        // and below each eye). Behind clear lenses the parser often sees the eyes as eyes, and a
        // turned or tilted face's frames weakly: the mean is low (a quarter and up) but far above a
        // bare face's (a few hundredths).
        let across = (-(r.1 - l.1), r.0 - l.0);
        let at = |e: P2, k: f32| glasses_at(e.0 + k * across.0, e.1 + k * across.1);
        let frames_at = [
            glasses_at((l.0 + r.0) / 2.0, (l.1 + r.1) / 2.0),
            at(l, FRAME_BELOW),
            at(r, FRAME_BELOW),
            at(l, -FRAME_ABOVE),
            at(r, -FRAME_ABOVE),
            glasses_at(l.0, l.1),
            glasses_at(r.0, r.1),
        ];
        let worn = frames_at.iter().sum::<f32>() / frames_at.len() as f32;
        if worn < WEARS_GLASSES {
            return None;
        }
        let iod = (r.0 - l.0).hypot(r.1 - l.1).max(1.0);
        // The glasses lie around the eyes: a box around the frames' ellipses (turned with the eyes'
        // line, `axis`), with a margin.
        let axis = eye_axis([l, r], iod);
        let (a, b) = (FRAME_BOX.0 * iod, FRAME_BOX.1 * iod);
        let reach = |c: f32, s: f32| (a * c).hypot(b * s) + 0.1 * iod;
        let (reach_x, reach_y) = (reach(axis.0, axis.1), reach(axis.1, axis.0));
        let corners = [
            (l.0.min(r.0) - reach_x, l.1.min(r.1) - reach_y),
            (l.0.max(r.0) + reach_x, l.1.max(r.1) + reach_y),
        ];
        let bx = Crop::around(&corners, img.width(), img.height());
        if bx.w < 8 || bx.h < 8 {
            return None;
        }
        let rgb = bx.read(img);
        // Analysed on a grid of bounded scale (a big photo's frames are as many cells thick as a small
        // one's, at a fraction of the cost), filled at A's own.
        let k = ((iod / ANALYSIS_IOD).round() as usize).max(1);
        let grid = LowRes::new(bx.w, bx.h, k);
        let (gw, gh) = (grid.w, grid.h);
        let small = grid.average(&rgb, 3);
        let n = gw * gh;
        let giod = iod / k as f32;
        let at_pixel = |i: usize| cell_centre(&bx, k, gw, i);
        // Polygons in grid units, filled by a crop the grid's size.
        let cells = Crop {
            x: 0,
            y: 0,
            w: gw,
            h: gh,
        };
        let on_grid = |p: &[P2]| -> Vec<bool> {
            let scaled: Vec<P2> = p
                .iter()
                .map(|&(x, y)| ((x - bx.x as f32) / k as f32, (y - bx.y as f32) / k as f32))
                .collect();
            cells.fill_polygon(&scaled)
        };
        let parts: Vec<[f32; crate::parse::PARTS]> = (0..n)
            .map(|i| {
                let (x, y) = at_pixel(i);
                parse.at(x, y)
            })
            .collect();
        let y: Vec<f32> = (0..n)
            .map(|i| luma([small[i * 3], small[i * 3 + 1], small[i * 3 + 2]]))
            .collect();
        let median = |v: &mut Vec<f32>| median(v, 16);
        let skin = median(
            &mut (0..n)
                .filter(|&i| parts[i][Part::Skin as usize] > 0.8)
                .map(|i| y[i])
                .collect(),
        )?;
        let warmth = median(
            &mut (0..n)
                .filter(|&i| parts[i][Part::Skin as usize] > 0.8)
                .map(|i| warmth(&small[i * 3..i * 3 + 3]))
                .collect(),
        )?;

        // The eyes, grown by their lids and lashes, are never frame.
        let margin = EYE_MARGIN * iod;
        let grown = |c: &[P2]| -> Vec<P2> {
            let m = centroid(c);
            c.iter()
                .map(|&(x, y)| {
                    let (dx, dy) = (x - m.0, y - m.1);
                    let len = dx.hypot(dy).max(1e-3);
                    (x + dx / len * margin, y + dy / len * margin)
                })
                .collect()
        };
        let (eye_a, eye_b) = (on_grid(&grown(&eyes[0])), on_grid(&grown(&eyes[1])));

        let radius = ((FRAME_RADIUS * giod).round() as usize).max(1);
        let closed = closing(&y, gw, gh, radius);
        let depth = (FRAME_DEPTH.0 * skin, FRAME_DEPTH.1 * skin);
        // The parser sees a frame's outer parts (and often one side's lens) weakly: the glasses
        // region is grown, and takes in where frames sit around each eye.
        let near_glasses = square_extreme(
            &parts
                .iter()
                .map(|p| p[Part::Glasses as usize])
                .collect::<Vec<_>>(),
            gw,
            gh,
            ((GLASSES_REACH * giod).round() as usize).max(1),
            true,
        );
        let around_eyes = |p: P2| around_eyes([l, r], axis, iod, p);
        // Brows are dark and thin too, but they are A's: the mesh's brows, a little grown, are kept.
        let brows = [brow(mesh, &BROW_A), brow(mesh, &BROW_B)].map(|b| on_grid(&b));
        // Around each eye's centre, where lids, creases and lashes are dark thin lines too, no frame
        // runs: the rims lie farther out.
        let core = (EYE_CORE.0 * iod, EYE_CORE.1 * iod);
        let eye_core = |p: P2| {
            [l, r]
                .iter()
                .any(|&e| ellipse_distance(e, axis, core, p) < 1.0)
        };
        // Eyes, brows and the eyes' centres are never frame.
        let never_frame =
            |i: usize| eye_a[i] || eye_b[i] || brows[0][i] || brows[1][i] || eye_core(at_pixel(i));
        let frame: Vec<f32> = (0..n)
            .map(|i| {
                if never_frame(i) {
                    return 0.0;
                }
                let inside = ramp(near_glasses[i], (0.15, 0.3)).max(around_eyes(at_pixel(i)));
                // Deep and, against the light around, dark: a shadowed eye socket is a valley too
                // but a shallow one.
                let relative = ramp(y[i] / closed[i].max(1.0), FRAME_DARKER);
                ramp(closed[i] - y[i], depth) * relative * inside
            })
            .collect();
        // A frame is a line across much of an eye's width; a speck (a mole, a shadowed pore, a
        // strand's end) found alone is none, and kept as a frame of B's it would stay as a square
        // spot of B's skin on A's face.
        let specks = small_parts(
            &frame.iter().map(|&f| f > 0.1).collect::<Vec<_>>(),
            gw,
            gh,
            ((FRAME_SPECK * giod).round() as usize).max(2),
        );
        let frame: Vec<f32> = frame
            .iter()
            .zip(&specks)
            .map(|(&f, &s)| if s { 0.0 } else { f })
            .collect();
        // A glossy frame's highlights (the bridge's and the rims' shine) are bright, no valley: a
        // gap in the frame line, or a hole in it, that a closing of the mask takes back in; left
        // out, the fill would smear them over the skin as pale blobs.
        let gloss = ((FRAME_GLOSS * giod).round() as usize).max(1);
        let closed_frame = closing(&frame, gw, gh, gloss);
        let frame: Vec<f32> = (0..n)
            .map(|i| {
                if never_frame(i) {
                    frame[i]
                } else {
                    frame[i].max(closed_frame[i])
                }
            })
            .collect();
        let core = frame.clone();
        let edge = ((FRAME_EDGE * giod).round() as usize).max(1);
        let grown = |frame: &[f32], by: usize| -> Vec<f32> {
            square_extreme(frame, gw, gh, by, true)
                .into_iter()
                .enumerate()
                .map(|(i, f)| if eye_core(at_pixel(i)) { 0.0 } else { f })
                .collect()
        };
        let frame = grown(&frame, edge);
        let painted = grown(&frame, (LENS_RIM * giod).round() as usize);

        // Through clear lenses the skin shows about as bright as around them. On a small face the
        // parse's glasses are little more than the frames, and no bare lens is left once they are
        // taken out: the eyes (their contours, grown) tell instead, far brighter through a clear
        // lens than through a tinted one.
        let lens_cells = |cell: &dyn Fn(usize) -> bool| -> Vec<f32> {
            (0..n)
                .filter(|&i| frame[i] < 0.1 && cell(i))
                .map(|i| y[i])
                .collect()
        };
        let lens = median(&mut lens_cells(&|i| {
            parts[i][Part::Glasses as usize] > 0.5 && !eye_a[i] && !eye_b[i]
        }))
        .or_else(|| median(&mut lens_cells(&|i| eye_a[i] || eye_b[i])))?;
        let in_glasses = (0..n)
            .filter(|&i| parts[i][Part::Glasses as usize] > 0.5)
            .count();
        if lens < TINTED * skin {
            return None;
        }

        let frames = frame
            .iter()
            .zip(&parts)
            .filter(|(_, p)| p[Part::Glasses as usize] > 0.5)
            .map(|(f, _)| f)
            .sum::<f32>()
            / in_glasses.max(1) as f32;
        Some(Found {
            bx,
            rgb,
            k,
            grid,
            small,
            parts,
            frame,
            core,
            skin,
            warmth,
            painted,
            eye_cells: [eye_a, eye_b],
            brow_cells: brows,
            eyes,
            centres: [l, r],
            iod,
            frames,
        })
    }

    /// A map of the grid at the photo's scale over the box, bilinear.
    fn upsample(&self, cells: &[f32]) -> Vec<f32> {
        if self.k == 1 {
            cells.to_vec()
        } else {
            self.grid.upsample(cells)
        }
    }

    /// A mask of the grid (`frame` or `painted`) at the photo's scale, bilinear.
    fn mask(&self, cells: &[f32]) -> FrameMask {
        let [l, r] = self.centres;
        FrameMask {
            bx: self.bx,
            frame: self.upsample(cells),
            core: Vec::new(),
            skin: self.skin,
            centres: self.centres,
            axis: eye_axis([l, r], self.iod),
            iod: self.iod,
        }
    }

    /// The photo with the frames painted out and the lenses' skin evened, and the parse with the
    /// glasses seen through.
    fn paint_out(self, img: &RgbImage, parse: &FaceParse) -> SeenThrough {
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

/// How warm a colour is: red over blue, for its brightness (0 for grey, negative for blue).
fn warmth(p: &[f32]) -> f32 {
    (p[0] - p[2]) / luma([p[0], p[1], p[2]]).max(1.0)
}

/// The centre of grid cell `i` (a grid `gw` cells wide of `k`-pixel cells over `bx`), in the photo.
fn cell_centre(bx: &Crop, k: usize, gw: usize, i: usize) -> P2 {
    (
        bx.x as f32 + ((i % gw) as f32 + 0.5) * k as f32,
        bx.y as f32 + ((i / gw) as f32 + 0.5) * k as f32,
    )
}

/// How far inside the ellipses where frames sit around the eyes (`centres`, their line along
/// `axis`, `iod` apart) a point is: 1 well inside, 0 outside.
fn around_eyes(centres: [P2; 2], axis: P2, iod: f32, p: P2) -> f32 {
    in_ellipses(centres, axis, (FRAME_BOX.0 * iod, FRAME_BOX.1 * iod), p)
}

/// How far inside the ellipses a lens covers about the eyes (`centres`, their line along `axis`,
/// `iod` apart) a point is: 1 well inside, 0 outside. On a small face the parser calls the skin
/// seen through a clear lens skin, and only the frames glasses.
fn in_lenses(centres: [P2; 2], axis: P2, iod: f32, p: P2) -> f32 {
    in_ellipses(centres, axis, (LENS_BOX.0 * iod, LENS_BOX.1 * iod), p)
}

/// How far inside the ellipses of `radii` about `centres` (along `axis` and across it) a point
/// is: 1 well inside, 0 outside.
fn in_ellipses(centres: [P2; 2], axis: P2, radii: P2, p: P2) -> f32 {
    centres
        .iter()
        .map(|&e| ramp(ellipse_distance(e, axis, radii, p), (1.2, 0.8)))
        .fold(0f32, f32::max)
}

/// The unit vector along the eyes' line, from the first eye's centre to the second's (`iod`
/// apart).
fn eye_axis([l, r]: [P2; 2], iod: f32) -> P2 {
    ((r.0 - l.0) / iod, (r.1 - l.1) / iod)
}

/// Where `p` lies in the ellipse about `centre` with `radii` along `axis` and across it: under 1
/// inside, 1 on its edge.
fn ellipse_distance(centre: P2, axis: P2, radii: (f32, f32), (x, y): P2) -> f32 {
    let (dx, dy) = (x - centre.0, y - centre.1);
    let (u, v) = (dx * axis.0 + dy * axis.1, dy * axis.0 - dx * axis.1);
    (u / radii.0).powi(2) + (v / radii.1).powi(2)
}

/// A brow's outline from the mesh (upper edge out, lower edge back), grown by a hair's width.
fn brow(mesh: &Mesh, outline: &[usize]) -> Vec<P2> {
    widened(outline, BROW_GROWTH, &|i| {
        (mesh.points[i][0], mesh.points[i][1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::MESH_POINTS;
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
