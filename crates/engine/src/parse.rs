//! Face parsing: which parts of a face's crop are skin, features, hair, glasses or something else
//! (a hand, a microphone, the background), from BiSeNet trained on CelebAMask-HQ, run on a 256×256
//! crop aligned by the mesh's eyes and mouth as CelebA-HQ's faces are.
//!
//! The fusion uses it both ways: what covers A's face is not copied, and what covers B's face stays
//! in front of the new one.

use faceswap_models::{Model, ModelError};

use crate::geometry::{inside, widened, Affine, Pyramid};
use crate::landmarks::{EYE_A, EYE_B, FACE_OVAL, MOUTH_CORNERS};
use crate::mesh::Mesh;

/// The parser's file: converted by `scripts/bisenet_to_onnx.py`, quantized to 8 bits by
/// `scripts/quantize_parser.py` (four times faster, the same part for 99% of the cells).
pub const PARSER_MODEL: &str = "face_parsing_int8.onnx";

/// Side of the parser's input crop.
const CROP: usize = 256;
/// Side of its output grid (one eighth of the crop).
const GRID: usize = 32;
/// Cover probability (hair, a hat) under which a cell of the face that is copied counts as
/// uncovered, and over which it counts as fully covered.
const UNSURE_COVER: (f32, f32) = (0.3, 0.6);
/// Rows of the grid above the nose tip (the crop is centred a tenth of the way from the eyes to the
/// mouth, and half its side is about twice the eye-to-mouth distance: the nose tip lies some three
/// rows below the middle).
const ABOVE_NOSE_ROWS: usize = GRID / 2 + 2;
/// Probability of the photo's surroundings (background, ears, neck, clothes) from which a cell
/// counts as them.
const SURROUNDINGS: f32 = 0.5;
/// The model's 19 classes.
const CLASSES: usize = 19;
/// The share of a face's oval (about its centre) inside which nothing is taken for the photo's
/// surroundings: the rest is the rim, where a turned face's oval takes in an ear or background.
const INNER_FACE: f32 = 0.8;
/// ImageNet's channel means and deviations, the model's input normalisation.
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Groups of the parser's classes that the fusion tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Skin and nose.
    Skin = 0,
    /// Brows, eyes, lips and the mouth's inside.
    Features = 1,
    /// Hair and hats (hair takes in most fringes and some beards).
    Hair = 2,
    /// Eyeglasses, frames and lenses.
    Glasses = 3,
    /// Anything else: background, ears, neck, clothes, jewellery. At 256 px the model also calls
    /// some shaded skin around the nose and mouth background, so this group does not count as
    /// covering a face: what it has no class for (hands, microphones) is left to the fusion's own
    /// skin test.
    Other = 4,
}

/// Number of [`Part`]s.
pub const PARTS: usize = 5;

/// The group of each class: 0 background, 1 skin, 2/3 brows, 4/5 eyes, 6 eyeglasses, 7/8 ears,
/// 9 earring, 10 nose, 11 mouth, 12/13 lips, 14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat.
const GROUP: [Part; CLASSES] = [
    Part::Other,
    Part::Skin,
    Part::Features,
    Part::Features,
    Part::Features,
    Part::Features,
    Part::Glasses,
    Part::Other,
    Part::Other,
    Part::Other,
    Part::Skin,
    Part::Features,
    Part::Features,
    Part::Features,
    Part::Other,
    Part::Other,
    Part::Other,
    Part::Hair,
    Part::Hair,
];

/// One face's parse: per cell of a grid aligned with the face, the probability of each [`Part`].
#[derive(Debug, Clone)]
pub struct FaceParse {
    /// Image point ↦ grid coordinates (cell centres at integers).
    to_grid: Affine,
    /// `GRID × GRID` cells, row by row.
    cells: Vec<[f32; PARTS]>,
    /// Per cell, the probability that no hair, hat or glasses are there.
    face: Vec<f32>,
    /// Per cell, 1 where the photo's surroundings (background, an ear, the neck) reach in from
    /// the crop's edge at the face's rim ([`FaceParse::with_grown_cover`]), else 0.
    around: Vec<f32>,
}

impl FaceParse {
    /// A parse of `cells` on the grid `to_grid` maps to, with `around` marked: what is face is
    /// computed afresh from the cells (so a grown cover, which lives only in `face`, is not kept).
    fn from_cells(to_grid: Affine, cells: Vec<[f32; PARTS]>, around: Vec<f32>) -> FaceParse {
        let face = cells
            .iter()
            .map(|c| 1.0 - c[Part::Hair as usize] - c[Part::Glasses as usize])
            .collect();
        FaceParse {
            to_grid,
            cells,
            face,
            around,
        }
    }

    /// About how many bytes it holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.cells.len() * std::mem::size_of::<[f32; PARTS]>()
            + (self.face.len() + self.around.len()) * 4
    }

    /// The parts' probabilities at an image point (bilinear between cells; outside the grid,
    /// everything is [`Part::Other`]).
    pub fn at(&self, x: f32, y: f32) -> [f32; PARTS] {
        let Some(spot) = self.locate(x, y) else {
            let mut other = [0.0; PARTS];
            other[Part::Other as usize] = 1.0;
            return other;
        };
        let mut out = [0.0; PARTS];
        for (k, o) in out.iter_mut().enumerate() {
            *o = spot.mix(|i| self.cells[i][k]);
        }
        out
    }

    /// Probability that the point is skin: not features, hair or glasses ([`Part::Other`] counts as
    /// skin: the parser calls some shaded or bright skin background). 1 outside the grid. One
    /// bilinear mix instead of [`FaceParse::at`]'s five.
    pub fn skin(&self, x: f32, y: f32) -> f32 {
        self.locate(x, y)
            .map_or(1.0, |spot| spot.mix(|i| cell_skin(&self.cells[i])))
    }

    /// Probability that nothing covers the face at the point: neither hair nor a hat nor glasses.
    pub fn face(&self, x: f32, y: f32) -> f32 {
        self.locate(x, y)
            .map_or(1.0, |spot| spot.mix(|i| self.face[i]))
    }

    /// How much the point is the photo's surroundings reaching in at the face's rim (see
    /// [`FaceParse::with_grown_cover`]); 0 outside the grid.
    pub fn surroundings(&self, x: f32, y: f32) -> f32 {
        self.locate(x, y)
            .map_or(0.0, |spot| spot.mix(|i| self.around[i]))
    }

    /// The probabilities of [`Part::Hair`] and [`Part::Glasses`] at an image point, as
    /// [`FaceParse::at`] gives them, with one grid look-up and two mixes instead of five.
    pub(crate) fn hair_and_glasses(&self, x: f32, y: f32) -> (f32, f32) {
        self.locate(x, y).map_or((0.0, 0.0), |spot| {
            (
                spot.mix(|i| self.cells[i][Part::Hair as usize]),
                spot.mix(|i| self.cells[i][Part::Glasses as usize]),
            )
        })
    }

    /// [`FaceParse::face`], [`FaceParse::surroundings`] and [`FaceParse::skin`] at one point, for
    /// a per-pixel loop that needs all three (one grid lookup instead of three).
    pub(crate) fn cover_at(&self, x: f32, y: f32) -> Cover {
        self.locate(x, y).map_or(
            Cover {
                face: 1.0,
                around: 0.0,
                skin: 1.0,
            },
            |spot| Cover {
                face: spot.mix(|i| self.face[i]),
                around: spot.mix(|i| self.around[i]),
                skin: spot.mix(|i| cell_skin(&self.cells[i])),
            },
        )
    }

    /// The grid cells around an image point and its place between them; `None` outside the grid.
    fn locate(&self, x: f32, y: f32) -> Option<Spot> {
        let (gx, gy) = self.to_grid.apply(x, y);
        let last = (GRID - 1) as f32;
        if !(0.0..=last).contains(&gx) || !(0.0..=last).contains(&gy) {
            return None;
        }
        let (x0, y0) = (gx as usize, gy as usize);
        let (x1, y1) = ((x0 + 1).min(GRID - 1), (y0 + 1).min(GRID - 1));
        Some(Spot {
            corners: [
                y0 * GRID + x0,
                y0 * GRID + x1,
                y1 * GRID + x0,
                y1 * GRID + x1,
            ],
            t: (gx - x0 as f32, gy - y0 as f32),
        })
    }

    /// The same parse with every cover grown by one cell, and glasses by two, so that the soft fringe
    /// of a strand or a frame counts as covered too (for the photo whose face is copied: a frame's
    /// thin outline half copied would stay as a ghost). Hair counts from `UNSURE_COVER`, and only
    /// where it reaches the face from the crop's edge.
    ///
    /// It also marks what surrounds the face (background, an ear, the neck: [`Part::Other`]) where
    /// it reaches in from the crop's edge outside the inner face of `mesh` (where the parser's
    /// "other" is shaded or grey skin, never the surroundings).
    pub fn with_grown_cover(&self, mesh: &Mesh) -> FaceParse {
        let least_around = |i: usize, reach: usize, value: &dyn Fn(usize) -> f32| {
            neighbourhood(i, reach).fold(value(i), |least, j| least.min(value(j)))
        };
        let no_glasses = |i: usize| 1.0 - self.cells[i][Part::Glasses as usize];
        // Where the parser is unsure, that doubt is no cover: on a blond face framed by blond
        // hair it gives a third of hair to the nose and scattered cells of the cheeks (the model
        // runs at half the size it was trained at), and grown, the worst cell of each
        // neighbourhood left nearly half of the face to the template, whose nose, eyes and brows
        // then showed through the source's. Cover counts where hair is about as likely as not.
        // And only hair that falls from the hair around the face covers it
        // ([`FaceParse::without_stray_hair`]; a platinum blonde's nose, at 0.54 to 0.67).
        let kept = self.without_stray_hair();
        let no_hair = |j: usize| 1.0 - crate::pixel::ramp(1.0 - kept.face[j], UNSURE_COVER);
        // What surrounds the face (background, an ear, the neck), where it reaches in from the
        // crop's edge: on a turned face the mesh's far cheek takes in the ear and a sliver of
        // background along the cheek's outline, which warped onto a frontal face made a pale band.
        // Not grown: the outline itself stays. The inner face is never reached: there the
        // parser's "other" is shaded skin, or a black-and-white photo's grey skin.
        let inner = widened(&FACE_OVAL, INNER_FACE, &|i| {
            (mesh.points[i][0], mesh.points[i][1])
        });
        let to_img = self.to_grid.inverse();
        let outer: Vec<bool> = (0..GRID * GRID)
            .map(|i| !inside(&inner, to_img.apply((i % GRID) as f32, (i / GRID) as f32)))
            .collect();
        let around = self.reached_from(Part::Other, UNSURE_COVER.1, &|i| outer[i], &at_edge);
        let face = (0..GRID * GRID)
            .map(|i| least_around(i, 1, &no_hair).min(least_around(i, 2, &no_glasses)))
            .collect();
        FaceParse {
            face,
            around: around.iter().map(|&a| a as u8 as f32).collect(),
            ..self.clone()
        }
    }

    /// The same parse with the hair that does not reach the face from around it counted as skin:
    /// hair in front of a face falls from the hair around it, and a patch the parser calls hair
    /// inside the face, cut off from the hair around by what it calls face (the stubble or the
    /// shadowed mouth of a small face, a platinum blonde's nose), is a misreading. (A beard is told
    /// by the fusion's own measure, not by the parse.) The hair around the face is hair at the
    /// crop's edge, or hair above the nose that borders the photo's surroundings: short hair, or a
    /// small face in a group photo, ends inside the crop, and taken for a stray patch its fringe
    /// over the forehead was copied onto the template as a dark smudge.
    pub fn without_stray_hair(&self) -> FaceParse {
        // The photo's surroundings: what the parser calls them, reached from the crop's edge (a
        // pale, made-up face the parser half calls surroundings is not).
        let surroundings = self.reached_from(Part::Other, SURROUNDINGS, &|_| true, &at_edge);
        let touches_surroundings = |i: usize| neighbourhood(i, 1).any(|j| surroundings[j]);
        let around_face =
            |i: usize| at_edge(i) || (i / GRID < ABOVE_NOSE_ROWS && touches_surroundings(i));
        let from_outside = self.reached_from(Part::Hair, UNSURE_COVER.0, &|_| true, &around_face);
        let cells: Vec<[f32; PARTS]> = self
            .cells
            .iter()
            .zip(&from_outside)
            .map(|(c, &reached)| {
                let mut c = *c;
                if !reached {
                    c[Part::Skin as usize] += c[Part::Hair as usize];
                    c[Part::Hair as usize] = 0.0;
                }
                c
            })
            .collect();
        FaceParse::from_cells(self.to_grid, cells, self.around.clone())
    }

    /// Per grid cell, whether it is reached from a `seed` cell through cells the parser gives
    /// `part` at least `least` and that are `open`, eight neighbours at a time.
    fn reached_from(
        &self,
        part: Part,
        least: f32,
        open: &dyn Fn(usize) -> bool,
        seed: &dyn Fn(usize) -> bool,
    ) -> Vec<bool> {
        let reaching = |i: usize| open(i) && self.cells[i][part as usize] >= least;
        let mut reached = vec![false; GRID * GRID];
        let mut stack: Vec<usize> = (0..GRID * GRID)
            .filter(|&i| seed(i) && reaching(i))
            .collect();
        for &i in &stack {
            reached[i] = true;
        }
        while let Some(i) = stack.pop() {
            let (x, y) = (i % GRID, i / GRID);
            for ny in y.saturating_sub(1)..(y + 2).min(GRID) {
                for nx in x.saturating_sub(1)..(x + 2).min(GRID) {
                    let j = ny * GRID + nx;
                    if !reached[j] && reaching(j) {
                        reached[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        reached
    }

    /// The same parse with glasses seen through (their frames painted out of the photo): what
    /// was glasses counts as the eyes where `in_eyes` says a point is inside an eye's contour,
    /// and as skin elsewhere, and covers nothing.
    pub(crate) fn seen_through_glasses(&self, in_eyes: &dyn Fn(f32, f32) -> bool) -> FaceParse {
        let to_img = self.to_grid.inverse();
        let cells: Vec<[f32; PARTS]> = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (x, y) = to_img.apply((i % GRID) as f32, (i / GRID) as f32);
                let to = if in_eyes(x, y) {
                    Part::Features
                } else {
                    Part::Skin
                };
                let mut c = *c;
                c[to as usize] += c[Part::Glasses as usize];
                c[Part::Glasses as usize] = 0.0;
                c
            })
            .collect();
        FaceParse::from_cells(self.to_grid, cells, self.around.clone())
    }

    /// The parse of the same photo flipped left to right (`width` pixels wide).
    pub fn mirrored(&self, width: f32) -> FaceParse {
        let [a, b, c, d, e, f] = self.to_grid.0;
        FaceParse {
            to_grid: Affine([-a, b, a * width + c, -d, e, d * width + f]),
            ..self.clone()
        }
    }

    /// A parse with the given parts' probabilities everywhere on a grid over the image box
    /// `(x, y, side)`: for tests of what uses parses.
    #[cfg(test)]
    pub fn uniform(x: f32, y: f32, side: f32, parts: [f32; PARTS]) -> FaceParse {
        FaceParse::painted(x, y, side, &|_, _| parts)
    }

    /// Like [`FaceParse::uniform`], with the parts' probabilities at each cell's centre (in image
    /// pixels) given by `parts`.
    #[cfg(test)]
    pub(crate) fn painted(
        x: f32,
        y: f32,
        side: f32,
        parts: &dyn Fn(f32, f32) -> [f32; PARTS],
    ) -> FaceParse {
        let k = (GRID - 1) as f32 / side;
        let cells: Vec<[f32; PARTS]> = (0..GRID * GRID)
            .map(|i| parts(x + (i % GRID) as f32 / k, y + (i / GRID) as f32 / k))
            .collect();
        FaceParse::from_cells(
            Affine([k, 0.0, -x * k, 0.0, k, -y * k]),
            cells,
            vec![0.0; GRID * GRID],
        )
    }
}

/// The grid cells within `reach` cells of cell `i` (a square, cut at the grid's edge), `i` too.
fn neighbourhood(i: usize, reach: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % GRID, i / GRID);
    (y.saturating_sub(reach)..(y + reach + 1).min(GRID)).flat_map(move |ny| {
        (x.saturating_sub(reach)..(x + reach + 1).min(GRID)).map(move |nx| ny * GRID + nx)
    })
}

/// Whether a grid cell is on the grid's edge.
fn at_edge(i: usize) -> bool {
    let (x, y) = (i % GRID, i / GRID);
    x == 0 || y == 0 || x == GRID - 1 || y == GRID - 1
}

/// A cell's probability of skin: not features, hair or glasses.
fn cell_skin(c: &[f32; PARTS]) -> f32 {
    1.0 - c[Part::Features as usize] - c[Part::Hair as usize] - c[Part::Glasses as usize]
}

/// What a parse says at one point ([`FaceParse::cover_at`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cover {
    /// As [`FaceParse::face`].
    pub(crate) face: f32,
    /// As [`FaceParse::surroundings`].
    pub(crate) around: f32,
    /// As [`FaceParse::skin`].
    pub(crate) skin: f32,
}

/// Four neighbouring cells of the grid (top left, top right, bottom left, bottom right) and a point's
/// place between them.
struct Spot {
    corners: [usize; 4],
    t: (f32, f32),
}

impl Spot {
    /// Bilinear mix of a value per cell.
    fn mix(&self, value: impl Fn(usize) -> f32) -> f32 {
        let [c00, c10, c01, c11] = self.corners.map(value);
        let (tx, ty) = self.t;
        let top = c00 + (c10 - c00) * tx;
        let bottom = c01 + (c11 - c01) * tx;
        top + (bottom - top) * ty
    }
}

/// The parser model.
pub struct Parser {
    model: Model,
}

impl Parser {
    /// Wraps the loaded model.
    pub fn new(model: Model) -> Parser {
        Parser { model }
    }

    /// Parses the face of `mesh`.
    pub fn parse(&self, img: &Pyramid, mesh: &Mesh) -> Result<FaceParse, ModelError> {
        let to_img = aligned_crop(mesh);
        let rgb = img.sample(CROP, CROP, &to_img);
        let plane = CROP * CROP;
        let mut input = vec![0f32; plane * 3];
        for i in 0..plane {
            for c in 0..3 {
                input[c * plane + i] = (rgb[i * 3 + c] / 255.0 - MEAN[c]) / STD[c];
            }
        }
        let outputs = self.model.run(&[1, 3, CROP as i64, CROP as i64], &input)?;
        let logits = outputs
            .iter()
            .find(|o| o.data.len() == CLASSES * GRID * GRID)
            .ok_or_else(|| ModelError::Inference {
                name: self.model.name().into(),
                reason: "no 19×32×32 output".into(),
            })?;
        let cells: Vec<[f32; PARTS]> = (0..GRID * GRID)
            .map(|i| {
                let logit = |k: usize| logits.data[k * GRID * GRID + i];
                let top = (0..CLASSES).map(logit).fold(f32::MIN, f32::max);
                let mut parts = [0f32; PARTS];
                let mut total = 0.0;
                for (k, part) in GROUP.iter().enumerate() {
                    let e = (logit(k) - top).exp();
                    parts[*part as usize] += e;
                    total += e;
                }
                parts.map(|p| p / total)
            })
            .collect();
        // The model was trained with corner-aligned upsampling: cell k sits on crop pixel
        // k·(CROP−1)/(GRID−1).
        let k = (GRID - 1) as f32 / (CROP - 1) as f32;
        let from_img = to_img.inverse();
        let to_grid = Affine(
            [0, 1, 2, 3, 4, 5]
                .map(|i| from_img.0[i] * k - if i == 2 || i == 5 { 0.5 * k } else { 0.0 }),
        );
        Ok(FaceParse::from_cells(
            to_grid,
            cells,
            vec![0.0; GRID * GRID],
        ))
    }
}

/// Crop pixel ↦ image point of a face crop framed as in FFHQ and CelebA-HQ: from the eye centres and
/// the mouth, a square of side max(4 × eye distance, 3.6 × eye-to-mouth distance) centred a tenth of
/// the eye-to-mouth vector below the eyes' midpoint, turned with the face.
fn aligned_crop(mesh: &Mesh) -> Affine {
    let centre = |idx: &[usize]| {
        let n = idx.len() as f32;
        (
            idx.iter().map(|&i| mesh.points[i][0]).sum::<f32>() / n,
            idx.iter().map(|&i| mesh.points[i][1]).sum::<f32>() / n,
        )
    };
    let (l, r, m) = (centre(&EYE_A), centre(&EYE_B), centre(&MOUTH_CORNERS));
    let eyes = ((l.0 + r.0) / 2.0, (l.1 + r.1) / 2.0);
    let e2e = (r.0 - l.0, r.1 - l.1);
    let e2m = (m.0 - eyes.0, m.1 - eyes.1);
    // x: the face's horizontal axis, e2e minus e2m turned by 90°.
    let mut x = (e2e.0 + e2m.1, e2e.1 - e2m.0);
    let len = x.0.hypot(x.1).max(1e-3);
    let half = (e2e.0.hypot(e2e.1) * 2.0).max(e2m.0.hypot(e2m.1) * 1.8);
    x = (x.0 / len * half, x.1 / len * half);
    let y = (-x.1, x.0);
    let c = (eyes.0 + 0.1 * e2m.0, eyes.1 + 0.1 * e2m.1);
    let s = 2.0 / CROP as f32;
    Affine([
        x.0 * s,
        y.0 * s,
        c.0 - x.0 - y.0,
        x.1 * s,
        y.1 * s,
        c.1 - x.1 - y.1,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_group_and_the_face_groups_are_the_expected_ones() {
        let face: Vec<usize> = (0..CLASSES)
            .filter(|&k| matches!(GROUP[k], Part::Skin | Part::Features))
            .collect();
        assert_eq!(face, vec![1, 2, 3, 4, 5, 10, 11, 12, 13]);
        assert_eq!(GROUP[17], Part::Hair);
        assert_eq!(GROUP[18], Part::Hair);
        assert_eq!(GROUP[6], Part::Glasses);
    }

    #[test]
    fn short_hair_that_ends_inside_the_crop_but_borders_the_surroundings_is_cover() {
        // A face 100 px across in a group photo: the crop's top is a wall, short hair lies
        // between it and the forehead without reaching the crop's edge, and a fringe hangs from
        // it over the forehead. A patch the parser calls hair sits alone over the mouth, and
        // another below the nose touches the wall at the side (a hand's shadow, a collar).
        let (skin, hair) = ([1.0, 0.0, 0.0, 0.0, 0.0], [0.2, 0.0, 0.8, 0.0, 0.0]);
        let wall = [0.0, 0.0, 0.0, 0.0, 1.0];
        let parse = FaceParse::painted(0.0, 0.0, 100.0, &|x, y| {
            let short_hair = (10.0..90.0).contains(&x) && (8.0..20.0).contains(&y);
            let fringe = (60.0..70.0).contains(&x) && (20.0..35.0).contains(&y);
            let mouth = (40.0..60.0).contains(&x) && (70.0..80.0).contains(&y);
            let low = (85.0..95.0).contains(&x) && (65.0..75.0).contains(&y);
            let wall_at = y < 8.0 || (x >= 95.0 && y >= 60.0);
            if short_hair || fringe || mouth || low {
                hair
            } else if wall_at {
                wall
            } else {
                skin
            }
        });
        let kept = parse.without_stray_hair();
        let hair_at = |x: f32, y: f32| kept.hair_and_glasses(x, y).0;
        assert!(hair_at(50.0, 14.0) > 0.7, "the short hair stays");
        assert!(hair_at(65.0, 30.0) > 0.7, "the fringe stays");
        assert!(hair_at(50.0, 75.0) < 0.01, "the mouth's patch goes");
        assert!(
            hair_at(90.0, 70.0) < 0.01,
            "below the nose, only hair at the edge counts"
        );
    }

    #[test]
    fn hair_that_does_not_reach_the_face_from_around_it_is_no_cover() {
        // A face 100 px across: hair above it falls in a strand down its left cheek; a patch the
        // parser calls hair sits alone over the mouth.
        let (skin, hair) = ([1.0, 0.0, 0.0, 0.0, 0.0], [0.2, 0.0, 0.8, 0.0, 0.0]);
        let parse = FaceParse::painted(0.0, 0.0, 100.0, &|x, y| {
            let strand = y < 15.0 || (20.0..30.0).contains(&x);
            let mouth = (40.0..60.0).contains(&x) && (70.0..80.0).contains(&y);
            if strand || mouth {
                hair
            } else {
                skin
            }
        });
        let kept = parse.without_stray_hair();
        let hair_at = |p: &FaceParse, x: f32, y: f32| p.hair_and_glasses(x, y).0;
        assert!(hair_at(&parse, 50.0, 75.0) > 0.7);
        assert!(hair_at(&kept, 50.0, 75.0) < 0.01, "the mouth's patch stays");
        assert!(hair_at(&kept, 25.0, 60.0) > 0.7, "the strand is dropped");
        assert!(kept.skin(50.0, 75.0) > 0.99);
        assert!(kept.face(50.0, 75.0) > 0.99 && kept.face(25.0, 60.0) < 0.3);
    }
}
