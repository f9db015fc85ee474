//! Finding a face's clear glasses: where their frames run, on a grid of bounded scale around the
//! eyes, and the masks of them a template keeps in front and a source paints out.

use image::RgbImage;

use super::{around_eyes, cell_centre, ellipse_distance, eye_axis, warmth, FRAME_BOX, FRAME_EDGE};
use crate::fuse::morphology::{closing, small_parts, square_extreme};
use crate::fuse::raster::{luma, median, ramp, Crop, LowRes};
use crate::fuse::P2;
use crate::geometry::{centroid, widened};
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
/// Further growth of the frame mask where A's frames are painted out, in inter-ocular distances: a
/// lens's bevelled rim inside the frame, grey not dark, stayed as a thin ghost of the lenses' outline
/// (B's frames in front of A's face are not grown by it: more of B would hide A's eyes).
const LENS_RIM: f32 = 0.02;
/// Growth of the eyes' contours kept out of the frame mask, in inter-ocular distances: lashes and lids.
const EYE_MARGIN: f32 = 0.04;
/// Lenses darker than this share of the skin's brightness are tinted: the eyes behind do not show.
const TINTED: f32 = 0.35;

/// How much each pixel of a photo is a frame of its glasses.
pub(in crate::fuse) struct FrameMask {
    /// The box around the glasses.
    bx: Crop,
    /// Per pixel of the box.
    pub(super) frame: Vec<f32>,
    /// Per pixel of the box, the frames as found, before their edge and shadow were grown on
    /// (empty when not needed).
    core: Vec<f32>,
    /// Brightness of the face's skin around the glasses.
    skin: f32,
    /// The eyes' centres, their line's direction and their distance.
    centres: [P2; 2],
    pub(super) axis: P2,
    iod: f32,
}

impl FrameMask {
    /// At pixel (x, y) of the photo; 0 outside the glasses' box.
    pub(in crate::fuse) fn at(&self, x: usize, y: usize) -> f32 {
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
    pub(in crate::fuse) fn keep_at(&self, img: &RgbImage, x: usize, y: usize) -> f32 {
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
    pub(in crate::fuse) fn none_found(centres: [P2; 2]) -> FrameMask {
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
    pub(in crate::fuse) fn searched(&self, (x, y): P2) -> bool {
        let radii = (FRAME_BOX.0 * self.iod, FRAME_BOX.1 * self.iod);
        self.centres
            .iter()
            .any(|&e| ellipse_distance(e, self.axis, radii, (x, y)) < 1.0)
    }
}

/// A face's clear glasses, found on the analysis grid over the box around them.
pub(super) struct Found {
    /// The box, in the photo.
    pub(super) bx: Crop,
    /// The photo's pixels in the box.
    pub(super) rgb: Vec<f32>,
    /// Cell size of the analysis grid, in pixels.
    pub(super) k: usize,
    pub(super) grid: LowRes,
    /// The grid's colours and the parse over it.
    pub(super) small: Vec<f32>,
    pub(super) parts: Vec<[f32; crate::parse::PARTS]>,
    /// How much each cell is frame.
    pub(super) frame: Vec<f32>,
    /// The same before the frame's edge was grown on.
    pub(super) core: Vec<f32>,
    /// Brightness of the skin around the glasses.
    pub(super) skin: f32,
    /// Warmth of the skin around the glasses ([`warmth`]).
    pub(super) warmth: f32,
    /// How much each cell is painted out of A's photo: the frame and its lens's rim.
    pub(super) painted: Vec<f32>,
    /// Whether a cell is an eye (its contour, grown) or a brow.
    pub(super) eye_cells: [Vec<bool>; 2],
    pub(super) brow_cells: [Vec<bool>; 2],
    /// The eyes' contours and centres, in the photo.
    pub(super) eyes: [Vec<P2>; 2],
    pub(super) centres: [P2; 2],
    /// Inter-ocular distance, in pixels.
    pub(super) iod: f32,
    /// Share of the glasses region that is frame.
    pub(super) frames: f32,
}

impl Found {
    pub(super) fn new(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<Found> {
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
    pub(super) fn upsample(&self, cells: &[f32]) -> Vec<f32> {
        if self.k == 1 {
            cells.to_vec()
        } else {
            self.grid.upsample(cells)
        }
    }

    /// The frames' mask at the photo's scale: grown by their edge, with the frames as found.
    pub(super) fn frame_mask(&self) -> FrameMask {
        FrameMask {
            core: self.upsample(&self.core),
            ..self.mask(&self.frame)
        }
    }

    /// A mask of the grid (`frame` or `painted`) at the photo's scale, bilinear.
    pub(super) fn mask(&self, cells: &[f32]) -> FrameMask {
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
}

/// A brow's outline from the mesh (upper edge out, lower edge back), grown by a hair's width.
fn brow(mesh: &Mesh, outline: &[usize]) -> Vec<P2> {
    widened(outline, BROW_GROWTH, &|i| {
        (mesh.points[i][0], mesh.points[i][1])
    })
}
