//! Fusion of A's face into B's head.
//!
//! 1. Shape: A's mesh is aligned onto B's with a 3D similarity; the fused face takes A's aligned
//!    positions in the inner face and B's at the face oval, with a smooth ramp between, so the head
//!    keeps B's contour while the features keep A's layout (`degree` scales how far they move).
//! 2. Texture: A's pixels are warped triangle by triangle (a Delaunay triangulation of B's mesh) onto
//!    those positions. Where A's head is turned so far that one side of the face is seen at a grazing
//!    angle, that side's texture is taken from the other side, mirrored (it would smear otherwise).
//! 3. Colour: A's warped face is multiplied by B's low-frequency shading over A's (blur(B)/blur(A),
//!    masked to the face, weighted by skin so beards do not count as shadow, and computed at
//!    reduced scale), so lighting and skin tone become B's while A's detail stays; highlights that
//!    this would burn white are compressed.
//! 4. Blend: a mask that is exactly zero outside B's face oval and ramps up inside it. When B's mouth
//!    is open its interior stays B's (A's closed lips stretched over it would smear).

use image::RgbImage;

use crate::align::fit_similarity;
use crate::geometry::bilinear;
use crate::landmarks::{
    BROWS_UPPER, EYE_A, EYE_B, FACE_OVAL, FACE_SIDES, LIPS_INNER, LOWER_LIP_INNER, MIRROR,
    MOUTH_CORNERS, NOSE_TIP, UPPER_LIP_INNER,
};
use crate::mesh::{Mesh, MESH_POINTS};

/// Mouth opening (inner-lip gap over mouth width) above which B's mouth counts as open.
const MOUTH_OPEN: f32 = 0.08;
/// Yaw difference (in half face widths) above which A is mirrored when the heads turn opposite ways.
const MIRROR_YAW: f32 = 0.25;
/// Face width in pixels at which the low-frequency maps are computed.
const LOW_RES_FACE: f32 = 64.0;
/// Shading blur, in face widths.
const SHADING_SIGMA: f32 = 0.1;
/// Width of the face's rim where only skin-like pixels of A are kept, as a blur in face widths.
const RIM_SIGMA: f32 = 0.12;
/// Tolerance of the skin test, in median absolute deviations of the interior.
const SKIN_SPREAD: f32 = 3.0;
/// Skin distance beyond which even the interior of A's face is left to B (an object in front of it).
const FOREIGN: f32 = 3.0;
/// Smoothing passes of the shape-follow weight over the mesh (how many rings of points the change
/// from B's contour to A's layout takes).
const SMOOTHING_PASSES: usize = 2;
/// Width of the rim where the fine shading applies, as a blur in face widths.
const SHADING_RIM_SIGMA: f32 = 0.18;
/// Shading blur in the face's interior, in face widths.
const INNER_SHADING_SIGMA: f32 = 0.24;
/// Inward feather of the face oval, in face widths (the ramp reaches 1 at about 1.6 of these).
const FEATHER_SIGMA: f32 = 0.07;
/// Ratio of the area around a mesh point in A's photo to that around its mirror point at which the
/// mirror point's texture takes over fully, and at which the point's own texture is kept fully.
const OBLIQUE: (f32, f32) = (0.35, 0.6);
/// Brightness that the 98th percentile of A's shaded face may reach before its highlights are
/// compressed.
const HIGHLIGHT_CEILING: f32 = 240.0;
/// Limits of the brightness gain of the shading transfer.
const BRIGHTNESS_RANGE: (f32, f32) = (0.3, 2.5);
/// Limits of the per-channel colour gain, against chroma blow-ups on desaturated sources.
const TINT_RANGE: (f32, f32) = (0.6, 1.7);
/// A's low-frequency level is floored at this before dividing, so dark hair or shadows in A cannot
/// produce huge gains.
const GAIN_FLOOR: f32 = 24.0;
/// How far above the eyebrows the fused region may reach, in inter-ocular distances: the mesh's
/// forehead reaches into the hair line, and above this B's own forehead is kept.
const FOREHEAD_LIMIT: f32 = 0.5;

type P2 = (f32, f32);

/// Fuses `a`'s face (mesh `ma`) into `b`'s face (mesh `mb`).
pub fn fuse(a: &RgbImage, ma: &Mesh, b: &RgbImage, mb: &Mesh, degree: u8) -> RgbImage {
    // When the heads turn opposite ways, B's wide cheek would be painted from A's foreshortened one
    // (hair and background smear in): take A's mirror image instead.
    let mirrored;
    let (a, ma) = if turned_opposite(ma, mb) {
        mirrored = mirror(a, ma);
        (&mirrored.0, &mirrored.1)
    } else {
        (a, ma)
    };
    let b2: Vec<P2> = mb.points.iter().map(|p| (p[0], p[1])).collect();
    let a2: Vec<P2> = ma.points.iter().map(|p| (p[0], p[1])).collect();
    let triangles = triangulate(&b2);
    let neighbours = neighbours(&triangles);
    let mouth_open = mouth_opening(&b2) > MOUTH_OPEN;
    let target = target_shape(ma, mb, &neighbours, degree, mouth_open);

    let face_width = dist(b2[FACE_OVAL[8]], b2[FACE_OVAL[28]])
        .max(dist(b2[FACE_OVAL[0]], b2[FACE_OVAL[18]]) * 0.75);
    let frame = FaceFrame::new(&target);
    let oval = trimmed_oval(&target, &frame);
    let crop = Crop::around(&oval, b.width(), b.height());
    if crop.w == 0 || crop.h == 0 {
        return b.clone();
    }

    // A warped onto the target shape, in crop coordinates. Where A's own side of the face is seen
    // much more obliquely than the other side, the other side's texture (mirrored) is taken.
    let own = own_side_weights(&a2, &triangles, &neighbours);
    let mut warped = vec![0f32; crop.w * crop.h * 3];
    let mut covered = vec![false; crop.w * crop.h];
    for t in triangles.chunks_exact(3) {
        let dst = [target[t[0]], target[t[1]], target[t[2]]];
        let src = Source {
            own: [a2[t[0]], a2[t[1]], a2[t[2]]],
            mirrored: [t[0], t[1], t[2]].map(|i| a2[MIRROR[i] as usize]),
            weight: [own[t[0]], own[t[1]], own[t[2]]],
        };
        warp_triangle(a, &src, &dst, &crop, &mut warped, &mut covered);
    }
    let inside_oval = crop.fill_polygon(&oval);
    let region: Vec<bool> = inside_oval
        .iter()
        .zip(&covered)
        .map(|(&o, &c)| o && c)
        .collect();

    // Low-frequency maps at reduced scale.
    let block = ((face_width / LOW_RES_FACE).round() as usize).max(1);
    let low = LowRes::new(crop.w, crop.h, block);
    let region_f: Vec<f32> = region.iter().map(|&r| r as u8 as f32).collect();
    let b_crop = crop.read(b);
    let m_low = low.average(&region_f, 1);
    let a_low = low.average(&mul_mask(&warped, &region_f), 3);
    let b_low = low.average(&mul_mask(&b_crop, &region_f), 3);
    let rim = low.blur(&m_low, 1, RIM_SIGMA * face_width / block as f32);
    // Light is estimated from skin only, on both sides: B's beard or A's is not light, and taken
    // for it, B's beard would be printed as a dark patch on A's chin.
    // Skin colours are sampled above the nose tip and away from the rim: forehead and cheeks, where
    // beards, lips and hair are rare.
    let nose = frame.height(target[NOSE_TIP]);
    let skin_sample: Vec<bool> = (0..low.w * low.h)
        .map(|i| {
            let cell = (
                crop.x as f32 + ((i % low.w) as f32 + 0.5) * block as f32,
                crop.y as f32 + ((i / low.w) as f32 + 0.5) * block as f32,
            );
            m_low[i] > 0.99 && rim[i] > 0.97 && frame.height(cell) > nose
        })
        .collect();
    let distance = skin_distance(&a_low, &m_low, &skin_sample);
    let light_a = SkinLight::new(&m_low, &a_low, &skin_weights(&distance));
    let light_b = SkinLight::new(
        &m_low,
        &b_low,
        &skin_weights(&skin_distance(&b_low, &m_low, &skin_sample)),
    );
    // Shading at two scales: fine near the rim, so the face's outline keeps B's light and the jaw
    // line reads as B's; coarse inside, so A's own modelling of eyes, nose and cheeks survives.
    let shading_rim = low.blur(&m_low, 1, SHADING_RIM_SIGMA * face_width / block as f32);
    let shading =
        |sigma: f32| shading_gain(&low, &light_a, &light_b, sigma * face_width / block as f32);
    let (fine, coarse) = (shading(SHADING_SIGMA), shading(INNER_SHADING_SIGMA));
    let gain: Vec<f32> = (0..low.w * low.h * 3)
        .map(|j| {
            let inner = ((shading_rim[j / 3] - 0.5) / 0.45).clamp(0.0, 1.0);
            fine[j] + inner * (coarse[j] - fine[j])
        })
        .collect();

    // Blend mask: feathered inward from the edge of the region (the oval, and wherever A's photo
    // ended), zero outside it.
    let feather = FEATHER_SIGMA * face_width / block as f32;
    let oval_blur = low.blur(&m_low, 1, feather);
    let mut alpha_low: Vec<f32> = oval_blur
        .iter()
        .map(|&v| ((v - 0.5) / 0.45).clamp(0.0, 1.0))
        .collect();
    // Near the edge, A's mesh oval often takes in hair or background: keep only what looks like A's
    // skin there, so B's jaw line and cheeks are not painted over with them.
    // Inside, only what is wildly unlike skin (a microphone or a hand in front of A's face) is left
    // to B; beards and shadows stay A's.
    let skin: Vec<f32> = distance.iter().map(|d| (2.0 - d).clamp(0.0, 1.0)).collect();
    let not_foreign: Vec<f32> = distance
        .iter()
        .map(|d| (FOREIGN - d).clamp(0.0, 1.0))
        .collect();
    let skin = low.blur(&skin, 1, feather * 0.5);
    let not_foreign = low.blur(&not_foreign, 1, feather * 0.5);
    for (((a, r), k), f) in alpha_low.iter_mut().zip(&rim).zip(&skin).zip(&not_foreign) {
        let interior = ((r - 0.5) / 0.45).clamp(0.0, 1.0);
        *a *= (interior * f).max(*k);
    }
    if mouth_open {
        let lips: Vec<P2> = LIPS_INNER.iter().map(|&i| target[i]).collect();
        let hole: Vec<f32> = crop
            .fill_polygon(&lips)
            .iter()
            .map(|&r| r as u8 as f32)
            .collect();
        let hole_blur = low.blur(&low.average(&hole, 1), 1, (feather * 0.5).max(0.5));
        for (a, h) in alpha_low.iter_mut().zip(&hole_blur) {
            *a *= 1.0 - (h * 3.0).clamp(0.0, 1.0);
        }
    }

    // A's face with B's shading, in place of the warped face; the blend weight per pixel.
    let mut alpha = vec![0f32; crop.w * crop.h];
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if !region[i] {
                continue;
            }
            alpha[i] = low.sample(&alpha_low, 1, x, y)[0];
            if alpha[i] > 0.0 {
                let g = low.sample(&gain, 3, x, y);
                for c in 0..3 {
                    warped[i * 3 + c] *= g[c];
                }
            }
        }
    }
    let highlights = HighlightGuard::fit(&warped, &alpha);

    let mut out = b.clone();
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if alpha[i] <= 0.0 {
                continue;
            }
            let av = highlights.apply([warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]]);
            let px = out.get_pixel_mut((crop.x + x) as u32, (crop.y + y) as u32);
            for c in 0..3 {
                let bv = b_crop[i * 3 + c];
                // Clamped first, so adding a half and truncating rounds to nearest.
                px[c] = ((bv + alpha[i] * (av[c] - bv)).clamp(0.0, 255.0) + 0.5) as u8;
            }
        }
    }
    out
}

/// Keeps A's brightest parts from burning out: when the shading gain lifts A's upper brightness
/// (its 98th percentile) past [`HIGHLIGHT_CEILING`], the levels above A's median are compressed
/// so that they end there (a strongly lit A brightened into a pale B would show flat white
/// patches). Otherwise it changes nothing.
struct HighlightGuard {
    median: f32,
    slope: f32,
}

impl HighlightGuard {
    /// Fitted on the pixels that are mostly A's (blend weight at least a half).
    fn fit(shaded: &[f32], alpha: &[f32]) -> HighlightGuard {
        let none = HighlightGuard {
            median: 255.0,
            slope: 1.0,
        };
        let mut levels: Vec<f32> = alpha
            .iter()
            .enumerate()
            .step_by(3)
            .filter(|(_, &w)| w >= 0.5)
            .map(|(i, _)| luma([shaded[i * 3], shaded[i * 3 + 1], shaded[i * 3 + 2]]))
            .collect();
        if levels.len() < 100 {
            return none;
        }
        // Two order statistics, without sorting all the levels.
        let last = (levels.len() - 1) as f32;
        let mut at = |q: f32| {
            *levels
                .select_nth_unstable_by((last * q) as usize, f32::total_cmp)
                .1
        };
        let (median, top) = (at(0.5), at(0.98));
        if top <= HIGHLIGHT_CEILING || median >= HIGHLIGHT_CEILING {
            return none;
        }
        HighlightGuard {
            median,
            slope: (HIGHLIGHT_CEILING - median) / (top - median),
        }
    }

    /// The pixel scaled to its compressed brightness (hue and saturation kept).
    fn apply(&self, rgb: [f32; 3]) -> [f32; 3] {
        let y = luma(rgb);
        if y <= self.median {
            return rgb;
        }
        let k = (self.median + (y - self.median) * self.slope) / y;
        rgb.map(|v| v * k)
    }
}

/// The face oval of the fused shape with its top pulled down to at most [`FOREHEAD_LIMIT`] above the
/// eyebrows.
fn trimmed_oval(p: &[P2], frame: &FaceFrame) -> Vec<P2> {
    let brow_top = BROWS_UPPER
        .iter()
        .map(|&i| frame.height(p[i]))
        .fold(f32::MIN, f32::max);
    let limit = brow_top + FOREHEAD_LIMIT * frame.iod;
    let up = frame.up;
    FACE_OVAL
        .iter()
        .map(|&i| {
            let q = p[i];
            let over = frame.height(q) - limit;
            if over > 0.0 {
                (q.0 - over * up.0, q.1 - over * up.1)
            } else {
                q
            }
        })
        .collect()
}

/// A face's own up direction, from its mesh points: perpendicular to the eye line, away from the
/// mouth.
struct FaceFrame {
    /// One eye's centre, the origin of heights.
    eye: P2,
    /// Unit vector towards the forehead.
    up: P2,
    /// Distance between the eyes' centres.
    iod: f32,
}

impl FaceFrame {
    fn new(p: &[P2]) -> FaceFrame {
        let centre = |idx: &[usize]| {
            let n = idx.len() as f32;
            (
                idx.iter().map(|&i| p[i].0).sum::<f32>() / n,
                idx.iter().map(|&i| p[i].1).sum::<f32>() / n,
            )
        };
        let (ea, eb) = (centre(&EYE_A), centre(&EYE_B));
        let iod = dist(ea, eb).max(1.0);
        let u = ((eb.0 - ea.0) / iod, (eb.1 - ea.1) / iod);
        let mut up = (u.1, -u.0);
        let mouth = p[UPPER_LIP_INNER];
        if (mouth.0 - ea.0) * up.0 + (mouth.1 - ea.1) * up.1 > 0.0 {
            up = (-up.0, -up.1);
        }
        FaceFrame { eye: ea, up, iod }
    }

    /// How far up the face a point is.
    fn height(&self, q: P2) -> f32 {
        (q.0 - self.eye.0) * self.up.0 + (q.1 - self.eye.1) * self.up.1
    }
}

/// The fused face's 2D points in B's image: A's aligned layout inside, B's at the oval.
fn target_shape(
    ma: &Mesh,
    mb: &Mesh,
    neighbours: &[Vec<usize>],
    degree: u8,
    keep_mouth: bool,
) -> Vec<P2> {
    let to64 = |m: &Mesh| {
        m.points
            .iter()
            .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
            .collect::<Vec<_>>()
    };
    let (a3, b3) = (to64(ma), to64(mb));
    let weights = vec![1.0; MESH_POINTS];
    let sim = fit_similarity(&a3, &b3, &weights);

    // Follow weight: 0 on the oval (and the mouth opening when B's stays), 1 inside, smoothed over the
    // mesh's neighbours so the change of shape ramps in over a few rings of points.
    let mut fixed = vec![false; MESH_POINTS];
    for &i in FACE_OVAL.iter() {
        fixed[i] = true;
    }
    if keep_mouth {
        // B's mouth opening, so that A's lips wrap it instead of being torn around it. The outer
        // edge of the lips is left to the smoothing: held at B's too, it squeezes A's upper lip
        // and lip corners into jagged slivers.
        for &i in LIPS_INNER.iter() {
            fixed[i] = true;
        }
    }
    let mut w: Vec<f32> = fixed.iter().map(|&f| if f { 0.0 } else { 1.0 }).collect();
    smooth_over_mesh(&mut w, neighbours, &fixed);
    let d = degree as f32 / 100.0;
    (0..MESH_POINTS)
        .map(|i| {
            let p = sim.apply(a3[i]);
            let (bx, by) = (mb.points[i][0], mb.points[i][1]);
            let k = d * w[i];
            (bx + k * (p[0] as f32 - bx), by + k * (p[1] as f32 - by))
        })
        .collect()
}

/// Head turn: the nose tip's offset from the middle of the face's sides, in half face widths
/// (positive when the nose is towards the image's right).
fn yaw(m: &Mesh) -> f32 {
    let p = |i: usize| (m.points[i][0], m.points[i][1]);
    let (l, r, nose) = (p(FACE_SIDES[0]), p(FACE_SIDES[1]), p(NOSE_TIP));
    let half = dist(l, r).max(1.0) / 2.0;
    let u = ((r.0 - l.0) / (2.0 * half), (r.1 - l.1) / (2.0 * half));
    let mid = ((l.0 + r.0) / 2.0, (l.1 + r.1) / 2.0);
    ((nose.0 - mid.0) * u.0 + (nose.1 - mid.1) * u.1) / half
}

/// Whether A and B look clearly to opposite sides.
fn turned_opposite(ma: &Mesh, mb: &Mesh) -> bool {
    let (ya, yb) = (yaw(ma), yaw(mb));
    ya * yb < 0.0 && (ya - yb).abs() > MIRROR_YAW
}

/// A's photo flipped left to right, with its mesh re-indexed so each point keeps its meaning.
fn mirror(a: &RgbImage, ma: &Mesh) -> (RgbImage, Mesh) {
    let w = a.width() as f32;
    let points = (0..MESH_POINTS)
        .map(|i| {
            let p = ma.points[MIRROR[i] as usize];
            [w - p[0], p[1], p[2]]
        })
        .collect();
    (
        image::imageops::flip_horizontal(a),
        Mesh {
            points,
            presence: ma.presence,
        },
    )
}

/// How far each low-res cell of a warped face is from that face's own skin (the median of the
/// `sample` cells), in tolerances, from block averages `a_low` (sums weighted by `m_low`).
fn skin_distance(a_low: &[f32], m_low: &[f32], sample: &[bool]) -> Vec<f32> {
    let colour = |i: usize| [0, 1, 2].map(|c| a_low[i * 3 + c] / m_low[i].max(1e-3));
    let interior: Vec<usize> = (0..m_low.len()).filter(|&i| sample[i]).collect();
    if interior.len() < 8 {
        return vec![0.0; m_low.len()];
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let centre = [0, 1, 2].map(|c| median(interior.iter().map(|&i| colour(i)[c]).collect()));
    let spread = [0, 1, 2].map(|c| {
        median(
            interior
                .iter()
                .map(|&i| (colour(i)[c] - centre[c]).abs())
                .collect(),
        )
    });
    (0..m_low.len())
        .map(|i| {
            if m_low[i] < 1e-3 {
                return f32::MAX;
            }
            let p = colour(i);
            let d2: f32 = (0..3)
                .map(|c| ((p[c] - centre[c]) / (SKIN_SPREAD * spread[c] + 8.0)).powi(2))
                .sum();
            (d2 / 3.0).sqrt()
        })
        .collect()
}

/// How much each low-res cell counts as skin (from 1 down to a small floor), by its colour's
/// distance to the face's own skin colour ([`skin_distance`]).
fn skin_weights(distance: &[f32]) -> Vec<f32> {
    distance
        .iter()
        .map(|d| (2.5 - d).clamp(0.05, 1.0))
        .collect()
}

/// One face's low-res colour weighted by skin, ready to be blurred into its light: `weight` is each
/// cell's share inside the fused region times how much it counts as skin, `sums` the cell's mean
/// colour times that weight.
struct SkinLight {
    weight: Vec<f32>,
    sums: Vec<f32>,
}

impl SkinLight {
    /// From the share of each cell inside the region (`mask`), the cells' mean colours times that
    /// share (`colour`) and how much each cell counts as skin.
    fn new(mask: &[f32], colour: &[f32], skin: &[f32]) -> SkinLight {
        SkinLight {
            weight: mask.iter().zip(skin).map(|(m, s)| m * s).collect(),
            sums: colour
                .iter()
                .enumerate()
                .map(|(j, &v)| v * skin[j / 3])
                .collect(),
        }
    }

    /// Blurred weight and blurred colour sums.
    fn blur(&self, low: &LowRes, sigma: f32) -> (Vec<f32>, Vec<f32>) {
        (
            low.blur(&self.weight, 1, sigma),
            low.blur(&self.sums, 3, sigma),
        )
    }
}

/// Per-channel gain that gives A's warped face B's low-frequency shading at blur `sigma` (low-res
/// pixels): brightness and colour separately, each within limits. Each side's shading is a blur
/// weighted by skin, so hair and beards do not count as light.
fn shading_gain(low: &LowRes, a: &SkinLight, b: &SkinLight, sigma: f32) -> Vec<f32> {
    let (wa, a_blur) = a.blur(low, sigma);
    let (wb, b_blur) = b.blur(low, sigma);
    let mut gain = vec![1f32; low.w * low.h * 3];
    for i in 0..low.w * low.h {
        if wa[i] < 1e-4 || wb[i] < 1e-4 {
            continue;
        }
        let la = [0, 1, 2].map(|c| a_blur[i * 3 + c] / wa[i]);
        let lb = [0, 1, 2].map(|c| b_blur[i * 3 + c] / wb[i]);
        // Brightness follows B's shading within limits (so A's beard or brows are not lifted to
        // skin level), colour follows B's skin tone.
        let (ya, yb) = (luma(la).max(GAIN_FLOOR), luma(lb).max(1.0));
        let brightness = (yb / ya).clamp(BRIGHTNESS_RANGE.0, BRIGHTNESS_RANGE.1);
        for c in 0..3 {
            let tint =
                ((lb[c].max(1.0) / yb) / (la[c].max(1.0) / ya)).clamp(TINT_RANGE.0, TINT_RANGE.1);
            gain[i * 3 + c] = brightness * tint;
        }
    }
    gain
}

/// Inner-lip gap over mouth width.
fn mouth_opening(p: &[P2]) -> f32 {
    dist(p[UPPER_LIP_INNER], p[LOWER_LIP_INNER])
        / dist(p[MOUTH_CORNERS[0]], p[MOUTH_CORNERS[1]]).max(1.0)
}

fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

fn dist(a: P2, b: P2) -> f32 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

fn triangulate(points: &[P2]) -> Vec<usize> {
    let pts: Vec<delaunator::Point> = points
        .iter()
        .map(|&(x, y)| delaunator::Point {
            x: x as f64,
            y: y as f64,
        })
        .collect();
    delaunator::triangulate(&pts).triangles
}

fn neighbours(triangles: &[usize]) -> Vec<Vec<usize>> {
    let mut n = vec![Vec::new(); MESH_POINTS];
    for t in triangles.chunks_exact(3) {
        for (i, j) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
            if !n[i].contains(&j) {
                n[i].push(j);
            }
            if !n[j].contains(&i) {
                n[j].push(i);
            }
        }
    }
    n
}

fn mul_mask(rgb: &[f32], mask: &[f32]) -> Vec<f32> {
    rgb.iter()
        .enumerate()
        .map(|(i, &v)| v * mask[i / 3])
        .collect()
}

/// The part of B that the fusion may touch.
struct Crop {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

impl Crop {
    fn around(points: &[P2], width: u32, height: u32) -> Crop {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(x, y) in points {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let x0 = (x0.floor() - 1.0).clamp(0.0, width as f32) as usize;
        let y0 = (y0.floor() - 1.0).clamp(0.0, height as f32) as usize;
        let x1 = (x1.ceil() + 1.0).clamp(0.0, width as f32) as usize;
        let y1 = (y1.ceil() + 1.0).clamp(0.0, height as f32) as usize;
        Crop {
            x: x0,
            y: y0,
            w: x1.saturating_sub(x0),
            h: y1.saturating_sub(y0),
        }
    }

    fn read(&self, img: &RgbImage) -> Vec<f32> {
        let stride = img.width() as usize * 3;
        let mut out = Vec::with_capacity(self.w * self.h * 3);
        for y in self.y..self.y + self.h {
            let row = &img.as_raw()[y * stride + self.x * 3..y * stride + (self.x + self.w) * 3];
            out.extend(row.iter().map(|&v| v as f32));
        }
        out
    }

    /// Pixels of the crop whose centre lies inside the polygon (even-odd rule, by scanlines).
    fn fill_polygon(&self, poly: &[P2]) -> Vec<bool> {
        let mut mask = vec![false; self.w * self.h];
        let mut xs = Vec::new();
        for y in 0..self.h {
            let py = (self.y + y) as f32 + 0.5;
            xs.clear();
            for k in 0..poly.len() {
                let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
                if (a.1 <= py) != (b.1 <= py) {
                    xs.push(a.0 + (py - a.1) / (b.1 - a.1) * (b.0 - a.0));
                }
            }
            xs.sort_by(f32::total_cmp);
            for pair in xs.chunks_exact(2) {
                let from = (pair[0] - self.x as f32 - 0.5).ceil().max(0.0) as usize;
                let to = ((pair[1] - self.x as f32 - 0.5).floor() + 1.0).clamp(0.0, self.w as f32)
                    as usize;
                for x in from..to.max(from) {
                    mask[y * self.w + x] = true;
                }
            }
        }
        mask
    }
}

/// Where one destination triangle reads A: its own corners, the corners of its mirror image on the
/// other side of the face, and per corner the weight of its own side.
struct Source {
    own: [P2; 3],
    mirrored: [P2; 3],
    weight: [f32; 3],
}

/// Per mesh point, how much of A's texture comes from the point itself rather than from its mirror
/// point on the other side of the face: 1 unless the surroundings of the point look much smaller in
/// A's photo than those of its mirror point (the side turned away from the camera, whose
/// foreshortened texture would be stretched into streaks).
fn own_side_weights(a2: &[P2], triangles: &[usize], neighbours: &[Vec<usize>]) -> Vec<f32> {
    let mut area = vec![0f32; MESH_POINTS];
    for t in triangles.chunks_exact(3) {
        let twice = twice_signed_area(&[a2[t[0]], a2[t[1]], a2[t[2]]]).abs();
        for &i in t {
            area[i] += twice;
        }
    }
    let mut weight: Vec<f32> = (0..MESH_POINTS)
        .map(|i| {
            let ratio = area[i] / area[MIRROR[i] as usize].max(1e-3);
            ((ratio - OBLIQUE.0) / (OBLIQUE.1 - OBLIQUE.0)).clamp(0.0, 1.0)
        })
        .collect();
    // The outline stays A's own: across the face, the other side's outline shows ear, hair or
    // background behind it.
    for &i in FACE_OVAL.iter() {
        weight[i] = 1.0;
    }
    // Smoothed over the mesh, so that the change from one side's texture to the other is gradual.
    smooth_over_mesh(&mut weight, neighbours, &[false; MESH_POINTS]);
    weight
}

/// [`SMOOTHING_PASSES`] passes that move each mesh point's value halfway to the mean of its
/// neighbours', except at `fixed` points.
fn smooth_over_mesh(values: &mut [f32], neighbours: &[Vec<usize>], fixed: &[bool]) {
    for _ in 0..SMOOTHING_PASSES {
        let prev = values.to_vec();
        for (i, n) in neighbours.iter().enumerate() {
            if fixed[i] || n.is_empty() {
                continue;
            }
            let mean = n.iter().map(|&j| prev[j]).sum::<f32>() / n.len() as f32;
            values[i] = 0.5 * prev[i] + 0.5 * mean;
        }
    }
}

/// Twice the signed area of a triangle.
fn twice_signed_area(t: &[P2; 3]) -> f32 {
    (t[1].0 - t[0].0) * (t[2].1 - t[0].1) - (t[2].0 - t[0].0) * (t[1].1 - t[0].1)
}

/// Samples A over one destination triangle.
fn warp_triangle(
    a: &RgbImage,
    src: &Source,
    dst: &[P2; 3],
    crop: &Crop,
    out: &mut [f32],
    covered: &mut [bool],
) {
    let (d0, d1, d2) = (dst[0], dst[1], dst[2]);
    let det = twice_signed_area(dst);
    if det.abs() < 1e-6 {
        return;
    }
    let min_x = d0.0.min(d1.0).min(d2.0).floor().max(crop.x as f32) as usize;
    let max_x = (d0.0.max(d1.0).max(d2.0).ceil() as usize).min(crop.x + crop.w);
    let min_y = d0.1.min(d1.1).min(d2.1).floor().max(crop.y as f32) as usize;
    let max_y = (d0.1.max(d1.1).max(d2.1).ceil() as usize).min(crop.y + crop.h);
    // Barycentric coordinates and the source point are affine in the pixel position: precompute
    // their coefficients once per triangle.
    let inv = 1.0 / det;
    let (a1, b1) = ((d2.1 - d0.1) * inv, -(d2.0 - d0.0) * inv);
    let c1 = -(d0.0 * a1 + d0.1 * b1);
    let (a2, b2) = (-(d1.1 - d0.1) * inv, (d1.0 - d0.0) * inv);
    let c2 = -(d0.0 * a2 + d0.1 * b2);
    // Source point at barycentric (l1, l2): s0 + l1·(s1 − s0) + l2·(s2 − s0).
    let edges = |s: &[P2; 3]| {
        let (s0, s1, s2) = (s[0], s[1], s[2]);
        (s0, (s1.0 - s0.0, s1.1 - s0.1), (s2.0 - s0.0, s2.1 - s0.1))
    };
    let (own, mirrored) = (edges(&src.own), edges(&src.mirrored));
    let at = |e: &(P2, P2, P2), l1: f32, l2: f32| {
        (
            e.0 .0 + l1 * e.1 .0 + l2 * e.2 .0,
            e.0 .1 + l1 * e.1 .1 + l2 * e.2 .1,
        )
    };
    let [w0, w1, w2] = src.weight;
    let own_only = src.weight.iter().all(|&w| w >= 1.0);
    let (aw, ah) = (a.width() as f32, a.height() as f32);
    let outside = |(sx, sy): P2| sx < 0.0 || sy < 0.0 || sx > aw || sy > ah;
    // Small tolerance so that pixels on shared edges are never missed.
    let eps = -1e-4;
    for y in min_y..max_y {
        let py = y as f32 + 0.5;
        let row = (y - crop.y) * crop.w;
        for x in min_x..max_x {
            let px = x as f32 + 0.5;
            let l1 = a1 * px + b1 * py + c1;
            let l2 = a2 * px + b2 * py + c2;
            if l1 < eps || l2 < eps || 1.0 - l1 - l2 < eps {
                continue;
            }
            let s = at(&own, l1, l2);
            // Where A's photo ends (a tight crop), there is nothing to take: leave it to B.
            if outside(s) {
                continue;
            }
            let mut p = bilinear(a, s.0 - 0.5, s.1 - 0.5);
            if !own_only {
                let w = w0 + l1 * (w1 - w0) + l2 * (w2 - w0);
                let m = at(&mirrored, l1, l2);
                if w < 1.0 && !outside(m) {
                    let q = bilinear(a, m.0 - 0.5, m.1 - 0.5);
                    for c in 0..3 {
                        p[c] = q[c] + w * (p[c] - q[c]);
                    }
                }
            }
            let i = row + (x - crop.x);
            out[i * 3..i * 3 + 3].copy_from_slice(&p);
            covered[i] = true;
        }
    }
}

/// One box filter of odd `width` along rows (`horizontal`) or columns, by running sums; values
/// outside the grid count as zero. `CH` channels per cell.
fn box_pass<const CH: usize>(
    src: &[f32],
    dst: &mut [f32],
    w: usize,
    h: usize,
    width: usize,
    horizontal: bool,
) {
    let r = width / 2;
    let inv = 1.0 / width as f32;
    // A line is `len` cells `step` apart, starting at `start(line)`.
    let (lines, len, step) = if horizontal { (h, w, 1) } else { (w, h, w) };
    for line in 0..lines {
        let start = if horizontal { line * w } else { line };
        let at = |k: usize| (start + k * step) * CH;
        let mut acc = [0f32; CH];
        for k in 0..r.min(len) {
            let o = at(k);
            for c in 0..CH {
                acc[c] += src[o + c];
            }
        }
        for k in 0..len {
            if k + r < len {
                let o = at(k + r);
                for c in 0..CH {
                    acc[c] += src[o + c];
                }
            }
            let o = at(k);
            for c in 0..CH {
                dst[o + c] = acc[c] * inv;
            }
            if k >= r {
                let o = at(k - r);
                for c in 0..CH {
                    acc[c] -= src[o + c];
                }
            }
        }
    }
}

/// A block-averaged, reduced-scale grid over the crop for the smooth maps.
struct LowRes {
    w: usize,
    h: usize,
    block: usize,
    full_w: usize,
    full_h: usize,
}

impl LowRes {
    fn new(full_w: usize, full_h: usize, block: usize) -> LowRes {
        LowRes {
            w: full_w.div_ceil(block),
            h: full_h.div_ceil(block),
            block,
            full_w,
            full_h,
        }
    }

    /// Block averages of a full-resolution map with `ch` channels.
    fn average(&self, full: &[f32], ch: usize) -> Vec<f32> {
        match ch {
            1 => self.average_of::<1>(full),
            3 => self.average_of::<3>(full),
            _ => unreachable!("maps have one or three channels"),
        }
    }

    fn average_of<const CH: usize>(&self, full: &[f32]) -> Vec<f32> {
        let b = self.block;
        let mut sum = vec![0f32; self.w * self.h * CH];
        for y in 0..self.full_h {
            let row = &full[y * self.full_w * CH..(y + 1) * self.full_w * CH];
            let cells = &mut sum[(y / b) * self.w * CH..(y / b + 1) * self.w * CH];
            for (cell, pixels) in cells.chunks_exact_mut(CH).zip(row.chunks(b * CH)) {
                for px in pixels.chunks_exact(CH) {
                    for c in 0..CH {
                        cell[c] += px[c];
                    }
                }
            }
        }
        // Edge cells cover fewer pixels.
        for ly in 0..self.h {
            let rows = b.min(self.full_h - ly * b);
            for lx in 0..self.w {
                let n = (rows * b.min(self.full_w - lx * b)) as f32;
                for v in &mut sum[(ly * self.w + lx) * CH..(ly * self.w + lx + 1) * CH] {
                    *v /= n;
                }
            }
        }
        sum
    }

    /// Gaussian blur of standard deviation `sigma`, approximated by three box filters (cost
    /// independent of `sigma`), with zero outside the grid.
    fn blur(&self, data: &[f32], ch: usize, sigma: f32) -> Vec<f32> {
        // Three boxes of width w have variance 3·(w²−1)/12.
        let width = ((4.0 * sigma * sigma + 1.0).sqrt().round() as usize).max(1) | 1;
        let mut cur = data.to_vec();
        let mut tmp = vec![0f32; data.len()];
        let pass = match ch {
            1 => box_pass::<1>,
            3 => box_pass::<3>,
            _ => unreachable!("maps have one or three channels"),
        };
        for _ in 0..3 {
            pass(&cur, &mut tmp, self.w, self.h, width, true);
            pass(&tmp, &mut cur, self.w, self.h, width, false);
        }
        cur
    }

    /// Bilinear read of a low-res map at full-res pixel (x, y).
    fn sample(&self, data: &[f32], ch: usize, x: usize, y: usize) -> [f32; 3] {
        let fx = ((x as f32 + 0.5) / self.block as f32 - 0.5).clamp(0.0, (self.w - 1) as f32);
        let fy = ((y as f32 + 0.5) / self.block as f32 - 0.5).clamp(0.0, (self.h - 1) as f32);
        // Both are clamped to be non-negative, so truncation is the floor.
        let (x0, y0) = (fx as usize, fy as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let mut out = [0f32; 3];
        for (c, o) in out.iter_mut().enumerate().take(ch) {
            let v = |xx: usize, yy: usize| data[(yy * self.w + xx) * ch + c];
            let top = v(x0, y0) + (v(x1, y0) - v(x0, y0)) * tx;
            let bot = v(x0, y1) + (v(x1, y1) - v(x0, y1)) * tx;
            *o = top + (bot - top) * ty;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_blur_spreads_an_impulse_like_a_gaussian_and_keeps_its_mass() {
        let low = LowRes::new(101, 101, 1);
        let mut impulse = vec![0f32; 101 * 101];
        impulse[50 * 101 + 50] = 1.0;
        let sigma = 6.0;
        let blurred = low.blur(&impulse, 1, sigma);
        let mass: f32 = blurred.iter().sum();
        let out = &blurred[50 * 101..51 * 101];
        let row: f32 = out.iter().sum();
        let var: f32 = out
            .iter()
            .enumerate()
            .map(|(i, v)| v * (i as f32 - 50.0).powi(2))
            .sum::<f32>()
            / row;
        assert!((mass - 1.0).abs() < 1e-4, "mass {mass}");
        assert!((var.sqrt() - sigma).abs() < 0.5, "sigma {}", var.sqrt());
        assert!(out[50] > out[45] && out[45] > out[40], "not bell-shaped");
    }

    /// A face-like cloud of mesh points, mirror-symmetric under [`MIRROR`], with the side of the
    /// higher-numbered points squeezed by `squeeze`.
    fn symmetric_points(squeeze: f32) -> Vec<P2> {
        let mut seed = 12345u32;
        let mut next = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1 << 24) as f32
        };
        let mut p = vec![(0f32, 0f32); MESH_POINTS];
        for i in 0..MESH_POINTS {
            let m = MIRROR[i] as usize;
            if m < i {
                continue;
            }
            let (x, y) = (5.0 + 95.0 * next(), 200.0 * next());
            if m == i {
                p[i] = (0.0, y);
            } else {
                p[i] = (x, y);
                p[m] = (-x * squeeze, y);
            }
        }
        p
    }

    #[test]
    fn texture_comes_from_the_other_side_only_where_a_side_is_foreshortened() {
        let even = symmetric_points(1.0);
        let t = triangulate(&even);
        let w = own_side_weights(&even, &t, &neighbours(&t));
        assert!(
            w.iter().all(|&v| v == 1.0),
            "a frontal face keeps its own texture"
        );

        let turned = symmetric_points(0.25);
        let t = triangulate(&turned);
        let w = own_side_weights(&turned, &t, &neighbours(&t));
        let mean = |side: &dyn Fn(usize) -> bool| {
            let idx: Vec<usize> = (0..MESH_POINTS)
                .filter(|&i| side(i) && !FACE_OVAL.contains(&i))
                .collect();
            idx.iter().map(|&i| w[i]).sum::<f32>() / idx.len() as f32
        };
        let far = mean(&|i| (MIRROR[i] as usize) < i);
        let near = mean(&|i| (MIRROR[i] as usize) > i);
        assert!(
            far < 0.5,
            "the squeezed side takes the other side's texture: {far}"
        );
        assert!(near > 0.9, "the open side keeps its own: {near}");
    }

    #[test]
    fn a_beard_in_b_is_not_taken_for_shadow() {
        // A: even grey skin. B: brighter skin with a dark beard over the lower third.
        let (w, h) = (60, 60);
        let low = LowRes::new(w, h, 1);
        let mask = vec![1f32; w * h];
        let a = vec![100f32; w * h * 3];
        let beard = |i: usize| i / w >= 40;
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| if beard(j / 3) { 40.0 } else { 150.0 })
            .collect();
        let skin_a = vec![1f32; w * h];
        let skin_b: Vec<f32> = (0..w * h)
            .map(|i| if beard(i) { 0.05 } else { 1.0 })
            .collect();
        let light_a = SkinLight::new(&mask, &a, &skin_a);
        // Four cells into the beard (two thirds of the blur's sigma): the skin light above still
        // dominates.
        let at = (44 * w + 30) * 3;
        let gain = shading_gain(&low, &light_a, &SkinLight::new(&mask, &b, &skin_b), 6.0);
        assert!(
            gain[at] > 1.25,
            "A's chin takes B's skin light, not its beard: gain {}",
            gain[at]
        );
        // Counted as skin, the beard would darken A's chin.
        let all_skin = vec![1f32; w * h];
        let naive = shading_gain(&low, &light_a, &SkinLight::new(&mask, &b, &all_skin), 6.0);
        assert!(naive[at] < 0.9, "naive gain {}", naive[at]);
    }

    #[test]
    fn highlights_are_compressed_only_when_they_would_burn_out() {
        let grey = |v: f32| [v, v, v];
        let face = |levels: &dyn Fn(usize) -> f32| -> Vec<f32> {
            (0..3000).flat_map(|i| grey(levels(i))).collect()
        };
        let alpha = vec![1f32; 3000];

        let moderate = HighlightGuard::fit(&face(&|i| 80.0 + (i % 100) as f32), &alpha);
        assert_eq!(moderate.apply(grey(179.0)), grey(179.0));

        // Levels 100..300: median 200, 98th percentile about 296.
        let bright = HighlightGuard::fit(&face(&|i| 100.0 + (i % 200) as f32), &alpha);
        assert_eq!(
            bright.apply(grey(150.0)),
            grey(150.0),
            "below the median: kept"
        );
        let top = bright.apply(grey(296.0))[0];
        assert!(
            (top - HIGHLIGHT_CEILING).abs() < 2.0,
            "98th percentile to the ceiling: {top}"
        );
        let (a, b) = (bright.apply(grey(220.0))[0], bright.apply(grey(260.0))[0]);
        assert!(200.0 < a && a < b && b < top, "order kept: {a} {b} {top}");
        let tinted = bright.apply([280.0, 250.0, 200.0]);
        assert!(
            (tinted[0] / tinted[2] - 1.4).abs() < 1e-3,
            "hue kept: {tinted:?}"
        );
    }

    #[test]
    fn polygon_fill_covers_the_inside_only() {
        let crop = Crop {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
        };
        let mask = crop.fill_polygon(&[(2.0, 2.0), (8.0, 2.0), (8.0, 8.0), (2.0, 8.0)]);
        assert_eq!(mask.iter().filter(|&&m| m).count(), 36);
        assert!(mask[5 * 10 + 5] && !mask[0] && !mask[9 * 10 + 9]);
    }
}
