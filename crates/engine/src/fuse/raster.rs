//! Pixel grids of the fusion: the crop of B it may touch, polygon fill, and reduced-scale maps with
//! fast Gaussian blurs.

use image::RgbImage;

use super::morphology::square_extreme;
use super::P2;
pub(crate) use crate::pixel::{luma, ramp};

/// The part of B that the fusion may touch.
#[derive(Clone, Copy)]
pub(super) struct Crop {
    pub(super) x: usize,
    pub(super) y: usize,
    pub(super) w: usize,
    pub(super) h: usize,
}

impl Crop {
    /// The centre, in image pixels, of the crop's pixel (x, y): where the parse and the photo are
    /// read for it.
    pub(super) fn pixel_centre(&self, x: usize, y: usize) -> P2 {
        ((self.x + x) as f32 + 0.5, (self.y + y) as f32 + 0.5)
    }

    pub(super) fn around(points: &[P2], width: u32, height: u32) -> Crop {
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

    pub(super) fn read(&self, img: &RgbImage) -> Vec<f32> {
        let stride = img.width() as usize * 3;
        let mut out = Vec::with_capacity(self.w * self.h * 3);
        for y in self.y..self.y + self.h {
            let row = &img.as_raw()[y * stride + self.x * 3..y * stride + (self.x + self.w) * 3];
            out.extend(row.iter().map(|&v| v as f32));
        }
        out
    }

    /// Pixels of the crop whose centre lies inside the polygon (even-odd rule, by scanlines).
    pub(super) fn fill_polygon(&self, poly: &[P2]) -> Vec<bool> {
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

/// Per pixel of a `w` × `h` brightness map, its structure tensor (gx², gx·gy, gy², from central
/// differences; 0 on the border): blurred, how its gradients run around it.
pub(super) fn structure_tensor(y: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut tensor = vec![0f32; w * h * 3];
    for row in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = row * w + x;
            let gx = 0.5 * (y[i + 1] - y[i - 1]);
            let gy = 0.5 * (y[i + w] - y[i - w]);
            tensor[i * 3..i * 3 + 3].copy_from_slice(&[gx * gx, gx * gy, gy * gy]);
        }
    }
    tensor
}

/// How much the texture around a pixel runs one way, from its blurred [`structure_tensor`]:
/// ((λ1 − λ2) / (λ1 + λ2))², 0 for texture with no direction (pores), 1 for parallel lines.
pub(super) fn coherence([xx, xy, yy]: [f32; 3]) -> f32 {
    let trace = xx + yy;
    if trace <= 1e-3 {
        return 0.0;
    }
    (((xx - yy).powi(2) + 4.0 * xy * xy).sqrt() / trace).powi(2)
}

/// The absolute Laplacian of an RGB buffer's brightness, one value per pixel (zero on the border):
/// the fine detail that sharpness, grain and the beard's texture are measured by.
pub(super) fn abs_laplacian(rgb: &[f32], w: usize, h: usize) -> Vec<f32> {
    let y = |i: usize| luma([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]);
    let mut out = vec![0f32; w * h];
    for row in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = row * w + x;
            out[i] = (4.0 * y(i) - y(i - 1) - y(i + 1) - y(i - w) - y(i + w)).abs();
        }
    }
    out
}

/// The median of `values` (the element of rank half their count), reordering them; `None` for
/// fewer than `least`, too few to tell.
pub(super) fn median(values: &mut [f32], least: usize) -> Option<f32> {
    if values.len() < least.max(1) {
        return None;
    }
    let mid = values.len() / 2;
    Some(*values.select_nth_unstable_by(mid, f32::total_cmp).1)
}

/// The element of `values` at rank `q` of their count less one (rounded down), reordering them:
/// an order statistic without sorting them all. `values` must not be empty.
pub(super) fn quantile(values: &mut [f32], q: f32) -> f32 {
    let k = ((values.len() - 1) as f32 * q) as usize;
    *values.select_nth_unstable_by(k, f32::total_cmp).1
}

/// A 3×3 box blur of an RGB buffer (edge pixels average what lies inside).
pub(super) fn box3(rgb: &[f32], w: usize, h: usize) -> Vec<f32> {
    if rgb.is_empty() {
        return Vec::new();
    }
    let row_len = w * 3;
    // Along the rows, then down the columns a whole row at a time (memory order); each sum is
    // taken in the same order, from the first tap to the last.
    let mut rows = vec![0f32; rgb.len()];
    for (src, dst) in rgb
        .chunks_exact(row_len)
        .zip(rows.chunks_exact_mut(row_len))
    {
        for x in 0..w {
            let (from, to) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let n = (to - from + 1) as f32;
            for c in 0..3 {
                let mut sum = src[from * 3 + c];
                for j in from + 1..=to {
                    sum += src[j * 3 + c];
                }
                dst[x * 3 + c] = sum / n;
            }
        }
    }
    let mut out = vec![0f32; rgb.len()];
    for y in 0..h {
        let (from, to) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let n = (to - from + 1) as f32;
        let dst = &mut out[y * row_len..(y + 1) * row_len];
        dst.copy_from_slice(&rows[from * row_len..(from + 1) * row_len]);
        for j in from + 1..=to {
            for (d, v) in dst.iter_mut().zip(&rows[j * row_len..(j + 1) * row_len]) {
                *d += v;
            }
        }
        for d in dst.iter_mut() {
            *d /= n;
        }
    }
    out
}

/// One box filter of odd `width` along rows (`horizontal`) or columns, by running sums; values
/// outside the grid count as zero. `CH` channels per cell.
pub(super) fn box_pass<const CH: usize>(
    src: &[f32],
    dst: &mut [f32],
    w: usize,
    h: usize,
    width: usize,
    horizontal: bool,
) {
    let r = width / 2;
    let inv = 1.0 / width as f32;
    if !horizontal {
        // Down the columns, a whole row at a time: the same sums, read in memory order.
        let row = w * CH;
        let mut acc = vec![0f32; row];
        let add = |acc: &mut [f32], y: usize, sign: f32| {
            for (a, v) in acc.iter_mut().zip(&src[y * row..(y + 1) * row]) {
                *a += sign * v;
            }
        };
        for y in 0..r.min(h) {
            add(&mut acc, y, 1.0);
        }
        for y in 0..h {
            if y + r < h {
                add(&mut acc, y + r, 1.0);
            }
            for (d, a) in dst[y * row..(y + 1) * row].iter_mut().zip(&acc) {
                *d = a * inv;
            }
            if y >= r {
                add(&mut acc, y - r, -1.0);
            }
        }
        return;
    }
    // Along each row.
    for (s, d) in src.chunks_exact(w * CH).zip(dst.chunks_exact_mut(w * CH)) {
        let mut acc = [0f32; CH];
        for x in 0..r.min(w) {
            for c in 0..CH {
                acc[c] += s[x * CH + c];
            }
        }
        for x in 0..w {
            if x + r < w {
                for c in 0..CH {
                    acc[c] += s[(x + r) * CH + c];
                }
            }
            for c in 0..CH {
                d[x * CH + c] = acc[c] * inv;
            }
            if x >= r {
                for c in 0..CH {
                    acc[c] -= s[(x - r) * CH + c];
                }
            }
        }
    }
}

/// A block-averaged, reduced-scale grid over the crop for the smooth maps.
pub(super) struct LowRes {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) block: usize,
    pub(super) full_w: usize,
    pub(super) full_h: usize,
    /// Per full-res column, the two cells read by [`LowRes::sample`] and the weight of the second.
    columns: Vec<Tap>,
    /// The same per full-res row.
    rows: Vec<Tap>,
}

/// The two neighbouring cells (along one axis) that a full-res position reads, and the weight of
/// the second.
#[derive(Clone, Copy)]
struct Tap {
    first: usize,
    second: usize,
    t: f32,
}

impl Tap {
    /// Cell centres of a `block`-pixel grid of `cells` cells, read at full-res position `at`.
    fn new(at: usize, block: usize, cells: usize) -> Tap {
        let f = ((at as f32 + 0.5) / block as f32 - 0.5).clamp(0.0, (cells - 1) as f32);
        // Clamped to be non-negative, so truncation is the floor.
        let first = f as usize;
        Tap {
            first,
            second: (first + 1).min(cells - 1),
            t: f - first as f32,
        }
    }
}

impl LowRes {
    pub(super) fn new(full_w: usize, full_h: usize, block: usize) -> LowRes {
        let (w, h) = (full_w.div_ceil(block), full_h.div_ceil(block));
        LowRes {
            w,
            h,
            block,
            full_w,
            full_h,
            columns: (0..full_w).map(|x| Tap::new(x, block, w)).collect(),
            rows: (0..full_h).map(|y| Tap::new(y, block, h)).collect(),
        }
    }

    /// Block averages of a full-resolution map with `ch` channels.
    pub(super) fn average(&self, full: &[f32], ch: usize) -> Vec<f32> {
        match ch {
            1 => self.average_of::<1>(full),
            3 => self.average_of::<3>(full),
            _ => unreachable!("maps have one or three channels"),
        }
    }

    pub(super) fn average_of<const CH: usize>(&self, full: &[f32]) -> Vec<f32> {
        self.average_weighted::<CH>(full, None)
    }

    /// Block averages of an RGB map times a one-channel mask of the same grid (without a buffer
    /// for the product).
    pub(super) fn average_masked(&self, rgb: &[f32], mask: &[f32]) -> Vec<f32> {
        assert_eq!(rgb.len(), mask.len() * 3, "an RGB map and its mask");
        self.average_weighted::<3>(rgb, Some(mask))
    }

    /// Block averages of `full`, each pixel times `mask` when there is one.
    fn average_weighted<const CH: usize>(&self, full: &[f32], mask: Option<&[f32]>) -> Vec<f32> {
        let b = self.block;
        let mut sum = vec![0f32; self.w * self.h * CH];
        for y in 0..self.full_h {
            let row = &full[y * self.full_w * CH..(y + 1) * self.full_w * CH];
            let cells = &mut sum[(y / b) * self.w * CH..(y / b + 1) * self.w * CH];
            let weights = mask.map(|m| &m[y * self.full_w..(y + 1) * self.full_w]);
            for (k, (cell, pixels)) in cells
                .chunks_exact_mut(CH)
                .zip(row.chunks(b * CH))
                .enumerate()
            {
                for (j, px) in pixels.chunks_exact(CH).enumerate() {
                    match weights {
                        Some(m) => {
                            let wt = m[k * b + j];
                            for c in 0..CH {
                                cell[c] += px[c] * wt;
                            }
                        }
                        None => {
                            for c in 0..CH {
                                cell[c] += px[c];
                            }
                        }
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
    pub(super) fn blur(&self, data: &[f32], ch: usize, sigma: f32) -> Vec<f32> {
        // Three boxes of width w have variance 3·(w²−1)/12.
        let width = ((4.0 * sigma * sigma + 1.0).sqrt().round() as usize).max(1) | 1;
        let mut cur = data.to_vec();
        let mut tmp = vec![0f32; data.len()];
        let pass = match ch {
            1 => box_pass::<1>,
            2 => box_pass::<2>,
            3 => box_pass::<3>,
            _ => unreachable!("maps have one to three channels"),
        };
        for _ in 0..3 {
            pass(&cur, &mut tmp, self.w, self.h, width, true);
            pass(&tmp, &mut cur, self.w, self.h, width, false);
        }
        cur
    }

    /// The mean of a one-channel map weighted by `weights` within a [`LowRes::blur`] of `sigma`:
    /// the blur of `weighted` (the map times its weights) over the blur of the weights, 0 where
    /// too little weight is within reach.
    pub(super) fn weighted_mean(&self, weighted: &[f32], weights: &[f32], sigma: f32) -> Vec<f32> {
        let (sum, weight) = (self.blur(weighted, 1, sigma), self.blur(weights, 1, sigma));
        sum.iter()
            .zip(&weight)
            .map(|(s, w)| if *w > 1e-3 { s / w } else { 0.0 })
            .collect()
    }

    /// Largest value within `radius` cells (a square), one channel: a mask grown by that much, so
    /// that a blur after it softens the mask's edge outwards instead of thinning a narrow mask.
    pub(super) fn grow(&self, data: &[f32], radius: usize) -> Vec<f32> {
        square_extreme(data, self.w, self.h, radius, true)
    }

    /// A one-channel low-res map read at every full-res pixel, the same values as
    /// [`LowRes::sample`]: along the rows at the grid's rows first, then between those, a whole row
    /// at a time.
    pub(super) fn upsample(&self, data: &[f32]) -> Vec<f32> {
        let fw = self.full_w;
        let mut wide = Vec::with_capacity(fw * self.h);
        for cells in data.chunks_exact(self.w) {
            wide.extend(
                self.columns
                    .iter()
                    .map(|c| cells[c.first] + (cells[c.second] - cells[c.first]) * c.t),
            );
        }
        let mut out = vec![0f32; fw * self.full_h];
        for (row, tap) in out.chunks_exact_mut(fw).zip(&self.rows) {
            let (top, bottom) = (
                &wide[tap.first * fw..(tap.first + 1) * fw],
                &wide[tap.second * fw..(tap.second + 1) * fw],
            );
            for ((o, t), b) in row.iter_mut().zip(top).zip(bottom) {
                *o = t + (b - t) * tap.t;
            }
        }
        out
    }

    /// Bilinear read of a low-res map of `CH` channels at full-res pixel (x, y) of the grid.
    #[inline]
    pub(super) fn sample<const CH: usize>(&self, data: &[f32], x: usize, y: usize) -> [f32; CH] {
        let (col, row) = (self.columns[x], self.rows[y]);
        let cell = |xx: usize, yy: usize| -> &[f32] {
            let at = (yy * self.w + xx) * CH;
            &data[at..at + CH]
        };
        let (c00, c10) = (cell(col.first, row.first), cell(col.second, row.first));
        let (c01, c11) = (cell(col.first, row.second), cell(col.second, row.second));
        let mut out = [0f32; CH];
        for c in 0..CH {
            let top = c00[c] + (c10[c] - c00[c]) * col.t;
            let bot = c01[c] + (c11[c] - c01[c]) * col.t;
            out[c] = top + (bot - top) * row.t;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_structure_tensor_of_stripes_is_coherent_and_runs_across_them() {
        // Vertical stripes (brightness varying with x only), then horizontal ones.
        let (w, h) = (24, 24);
        let full = LowRes::new(w, h, 1);
        let stripes = |f: &dyn Fn(usize, usize) -> usize| -> Vec<f32> {
            (0..w * h)
                .map(|i| (f(i % w, i / w) % 4) as f32 * 40.0)
                .collect()
        };
        let at = |y: &[f32]| {
            let t = full.blur(&structure_tensor(y, w, h), 3, 2.0);
            let i = (12 * w + 12) * 3;
            [t[i], t[i + 1], t[i + 2]]
        };
        // Gradients across vertical stripes are horizontal: all of the tensor is gx².
        let vertical = at(&stripes(&|x, _| x));
        assert!(coherence(vertical) > 0.99, "{vertical:?}");
        assert!(
            vertical[1].abs() < 1e-3 && vertical[2] < 1e-3,
            "{vertical:?}"
        );
        let horizontal = at(&stripes(&|_, y| y));
        assert!(
            horizontal[0] < 1e-3 && horizontal[2] > 1.0,
            "{horizontal:?}"
        );
        assert_eq!(coherence(at(&vec![100.0; w * h])), 0.0);
    }

    #[test]
    #[should_panic(expected = "an RGB map and its mask")]
    fn a_one_channel_map_is_refused_as_an_rgb_one() {
        // A's face weights (one channel) masked this way were scaled by the mask of a third of
        // their index: rows of the region's top, a striped, wrong weight for A's light.
        LowRes::new(2, 2, 1).average_masked(&[1.0; 12], &[1.0; 12]);
    }

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

    #[test]
    fn grow_takes_the_largest_value_within_the_radius() {
        let low = LowRes::new(7, 5, 1);
        let mut v = vec![0f32; 35];
        v[2 * 7 + 3] = 1.0;
        v[6] = 0.5;
        let g = low.grow(&v, 1);
        for y in 0..5 {
            for x in 0..7 {
                let want = if (2..=4).contains(&x) && (1..=3).contains(&y) {
                    1.0
                } else if x >= 5 && y <= 1 {
                    0.5
                } else {
                    0.0
                };
                assert_eq!(g[y * 7 + x], want, "({x}, {y})");
            }
        }
        assert_eq!(low.grow(&v, 0), v);
    }
}
