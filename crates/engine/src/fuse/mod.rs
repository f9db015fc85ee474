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

mod light;
mod raster;
mod shape;
mod texture;

use crate::landmarks::{FACE_OVAL, LIPS_INNER, MIRROR, NOSE_TIP};
use crate::mesh::Mesh;
use light::{shading_gain, skin_distance, skin_weights, HighlightGuard, SkinLight};
use raster::{mul_mask, Crop, LowRes};
use shape::{
    dist, mirror, mouth_opening, neighbours, target_shape, triangulate, trimmed_oval,
    turned_opposite, FaceFrame,
};
use texture::{own_side_weights, warp_triangle, Source};

/// Mouth opening (inner-lip gap over mouth width) above which B's mouth counts as open.
const MOUTH_OPEN: f32 = 0.08;
/// Face width in pixels at which the low-frequency maps are computed.
const LOW_RES_FACE: f32 = 64.0;
/// Shading blur, in face widths.
const SHADING_SIGMA: f32 = 0.1;
/// Width of the face's rim where only skin-like pixels of A are kept, as a blur in face widths.
const RIM_SIGMA: f32 = 0.12;
/// Skin distance beyond which even the interior of A's face is left to B (an object in front of it).
const FOREIGN: f32 = 3.0;
/// Width of the rim where the fine shading applies, as a blur in face widths.
const SHADING_RIM_SIGMA: f32 = 0.18;
/// Shading blur in the face's interior, in face widths.
const INNER_SHADING_SIGMA: f32 = 0.24;
/// Inward feather of the face oval, in face widths (the ramp reaches 1 at about 1.6 of these).
const FEATHER_SIGMA: f32 = 0.07;

/// A point in an image, in pixels.
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
