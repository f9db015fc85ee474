//! Masks of what must not be replaced: what covers B's face (hair, glasses, hands) and beards.

use super::raster::{Crop, LowRes};
use super::P2;
use crate::landmarks::{EYE_A, EYE_B};
use crate::parse::{FaceParse, Part};

/// How far the eye openings are widened, about their centres, to tell the lenses of B's glasses
/// (A's eyes show through them) from their frames (which stay B's).
const LENS_WIDENING: f32 = 1.25;
/// Brightness, relative to the face's own skin, below which the lower face counts as beard fully,
/// and from which it starts counting.
const BEARD_LEVELS: (f32, f32) = (0.6, 0.82);

/// Per crop pixel, how much of B stays in front of the fused face: B's hair, hat and glasses, but not B's lenses over the new eyes' openings, so that A's
/// eyes look through B's frames.
pub(super) fn template_cover(
    parse: &FaceParse,
    crop: &Crop,
    region: &[bool],
    target: &[P2],
) -> Vec<f32> {
    let widened = |idx: &[usize]| -> Vec<P2> {
        let n = idx.len() as f32;
        let c = (
            idx.iter().map(|&i| target[i].0).sum::<f32>() / n,
            idx.iter().map(|&i| target[i].1).sum::<f32>() / n,
        );
        idx.iter()
            .map(|&i| {
                let p = target[i];
                (
                    c.0 + (p.0 - c.0) * LENS_WIDENING,
                    c.1 + (p.1 - c.1) * LENS_WIDENING,
                )
            })
            .collect()
    };
    let mut eyes = crop.fill_polygon(&widened(&EYE_A));
    for (e, o) in eyes.iter_mut().zip(crop.fill_polygon(&widened(&EYE_B))) {
        *e |= o;
    }
    let mut keep = vec![0f32; crop.w * crop.h];
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if !region[i] {
                continue;
            }
            let (px, py) = ((crop.x + x) as f32 + 0.5, (crop.y + y) as f32 + 0.5);
            let parts = parse.at(px, py);
            let face = 1.0 - parts[Part::Hair as usize] - parts[Part::Glasses as usize];
            let mut cover = 1.0 - ((face - 0.35) / 0.5).clamp(0.0, 1.0);
            if eyes[i] {
                cover *= 1.0 - parts[Part::Glasses as usize].min(1.0);
            }
            keep[i] = cover;
        }
    }
    keep
}

/// Beard levels of a cell from which it is taken out, and at which fully.
const BEARD_WHOLE: (f32, f32) = (0.15, 0.45);

/// Per low-res cell, how much of a face's lower part (`lower`, 0 above the mouth area, 1 below)
/// is beard or stubble: darker than the face's own skin (the median of the `sample` cells), away
/// from the lips (`lips`: their share of each cell). `colour` holds block averages weighted by
/// `m_low`. Softened by a blur of `feather` cells.
pub(super) fn beard(
    low: &LowRes,
    colour: &[f32],
    m_low: &[f32],
    sample: &[bool],
    lips: &[f32],
    lower: &dyn Fn(usize) -> f32,
    feather: f32,
) -> Vec<f32> {
    let luma = |i: usize| {
        let m = m_low[i].max(1e-3);
        (0.299 * colour[i * 3] + 0.587 * colour[i * 3 + 1] + 0.114 * colour[i * 3 + 2]) / m
    };
    let mut skin: Vec<f32> = (0..m_low.len()).filter(|&i| sample[i]).map(luma).collect();
    if skin.len() < 8 {
        return vec![0.0; m_low.len()];
    }
    let mid = skin.len() / 2;
    let skin = *skin.select_nth_unstable_by(mid, f32::total_cmp).1;
    let (full, start) = BEARD_LEVELS;
    let beard: Vec<f32> = (0..m_low.len())
        .map(|i| {
            if m_low[i] < 0.5 {
                return 0.0;
            }
            let darkness = ((start - luma(i) / skin.max(1.0)) / (start - full)).clamp(0.0, 1.0);
            darkness * lower(i) * (1.0 - lips[i]).clamp(0.0, 1.0)
        })
        .collect();
    // Whole: stubble half taken out would leave a blotchy chin.
    let whole: Vec<f32> = beard
        .iter()
        .map(|b| ((b - BEARD_WHOLE.0) / (BEARD_WHOLE.1 - BEARD_WHOLE.0)).clamp(0.0, 1.0))
        .collect();
    low.blur(&whole, 1, (feather * 0.5).max(0.5))
}
