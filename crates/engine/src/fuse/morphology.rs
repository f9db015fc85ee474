//! Grey-level morphology and hole filling on pixel grids: the largest or smallest value within a
//! square (dilation and erosion, of which a closing is made), the filling of unknown pixels from
//! the known ones around, and the small parts of a mask.

/// Largest (`max`) or smallest value within `radius` pixels, a square, of a one-channel grid:
/// one pass along the rows and one along the columns (as rows of the transposed grid), each with a
/// monotonic queue, so the cost does not grow with the radius.
pub(super) fn square_extreme(v: &[f32], w: usize, h: usize, radius: usize, max: bool) -> Vec<f32> {
    let rows = rows_extreme(v, w, radius, max);
    let columns = rows_extreme(&transpose(&rows, w, h), h, radius, max);
    transpose(&columns, h, w)
}

/// The morphological closing of a `w` by `h` map by a square of `radius` cells: its largest value
/// around, then the least of those: low lines and gaps narrower than the square are filled.
pub(super) fn closing(v: &[f32], w: usize, h: usize, radius: usize) -> Vec<f32> {
    square_extreme(&square_extreme(v, w, h, radius, true), w, h, radius, false)
}

/// [`square_extreme`] along each row of `w` values.
fn rows_extreme(v: &[f32], w: usize, radius: usize, max: bool) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    let mut queue = std::collections::VecDeque::with_capacity(2 * radius + 2);
    for (src, dst) in v.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
        queue.clear();
        let mut next = 0;
        for (k, d) in dst.iter_mut().enumerate() {
            while next < w && next <= k + radius {
                let value = src[next];
                while queue.back().is_some_and(|&j: &usize| {
                    if max {
                        value >= src[j]
                    } else {
                        value <= src[j]
                    }
                }) {
                    queue.pop_back();
                }
                queue.push_back(next);
                next += 1;
            }
            while queue.front().is_some_and(|&j| j + radius < k) {
                queue.pop_front();
            }
            *d = src[queue[0]];
        }
    }
    out
}

/// A grid of `w × h` values, transposed.
fn transpose(v: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for y in 0..h {
        for x in 0..w {
            out[x * h + y] = v[y * w + x];
        }
    }
    out
}

/// RGB where `known` (0 to 1 per pixel) is below 1 filled from the known pixels around, by
/// push-pull: known colours averaged down a pyramid of halvings, then each level's gaps filled from
/// the coarser level, bilinearly, on the way back up. Smooth, and fast at any hole size.
pub(super) fn fill_from_around(rgb: &[f32], known: &[f32], w: usize, h: usize) -> Vec<f32> {
    // Each level: width, height, colour (where weight > 0, the weighted mean), weight (at most 1).
    let mut levels: Vec<(usize, usize, Vec<f32>, Vec<f32>)> =
        vec![(w, h, rgb.to_vec(), known.to_vec())];
    while {
        let (lw, lh, _, _) = levels.last().expect("one level");
        *lw > 1 || *lh > 1
    } {
        let (lw, lh, colour, weight) = levels.last().expect("one level");
        let (cw, ch) = (lw.div_ceil(2), lh.div_ceil(2));
        let mut c = vec![0f32; cw * ch * 3];
        let mut wt = vec![0f32; cw * ch];
        for y in 0..*lh {
            for x in 0..*lw {
                let (i, j) = (y * lw + x, (y / 2) * cw + x / 2);
                let k = weight[i];
                wt[j] += k;
                for ch3 in 0..3 {
                    c[j * 3 + ch3] += k * colour[i * 3 + ch3];
                }
            }
        }
        for j in 0..cw * ch {
            if wt[j] > 0.0 {
                for ch3 in 0..3 {
                    c[j * 3 + ch3] /= wt[j];
                }
            }
            wt[j] = wt[j].min(1.0);
        }
        levels.push((cw, ch, c, wt));
    }
    while levels.len() > 1 {
        let (cw, ch, coarse, _) = levels.pop().expect("a coarse level");
        let (lw, lh, colour, weight) = levels.last_mut().expect("a finer level");
        for y in 0..*lh {
            for x in 0..*lw {
                let i = y * *lw + x;
                let k = weight[i];
                if k >= 1.0 {
                    continue;
                }
                // The finer pixel's centre in the coarse grid.
                let fx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (cw - 1) as f32);
                let fy = ((y as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (ch - 1) as f32);
                let (x0, y0) = (fx as usize, fy as usize);
                let (x1, y1) = ((x0 + 1).min(cw - 1), (y0 + 1).min(ch - 1));
                let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
                for c in 0..3 {
                    let v = |xx: usize, yy: usize| coarse[(yy * cw + xx) * 3 + c];
                    let top = v(x0, y0) + tx * (v(x1, y0) - v(x0, y0));
                    let bottom = v(x0, y1) + tx * (v(x1, y1) - v(x0, y1));
                    let up = top + ty * (bottom - top);
                    colour[i * 3 + c] = k * colour[i * 3 + c] + (1.0 - k) * up;
                }
                weight[i] = 1.0;
            }
        }
    }
    levels.pop().expect("the base level").2
}

/// The cells of `mask` (`w` × `h`) in parts (8-connected) whose box is less than `least` cells on
/// both sides: specks, not lines.
pub(super) fn small_parts(mask: &[bool], w: usize, h: usize, least: usize) -> Vec<bool> {
    let mut small = vec![false; mask.len()];
    let mut seen = vec![false; mask.len()];
    let mut part = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        // Flood the part from `start`, keeping its box.
        seen[start] = true;
        part.clear();
        part.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        let mut next = 0;
        while next < part.len() {
            let i = part[next];
            next += 1;
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        part.push(j);
                    }
                }
            }
        }
        if x1 - x0 + 1 < least && y1 - y0 + 1 < least {
            for &i in &part {
                small[i] = true;
            }
        }
    }
    small
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speck_is_a_small_part_and_a_line_is_not() {
        let (w, h) = (20, 10);
        let mut mask = vec![false; w * h];
        // A line 12 cells long, a diagonal step in it, and a 2×2 speck.
        for x in 2..14 {
            mask[(3 + (x >= 8) as usize) * w + x] = true;
        }
        for (x, y) in [(16, 7), (17, 7), (16, 8), (17, 8)] {
            mask[y * w + x] = true;
        }
        let small = small_parts(&mask, w, h, 4);
        assert!(small[7 * w + 16] && small[8 * w + 17]);
        assert!(!small[3 * w + 2] && !small[4 * w + 13]);
        assert_eq!(small.iter().filter(|&&s| s).count(), 4);
    }

    #[test]
    fn the_square_filters_take_the_extremes_within_their_radius() {
        let (w, h) = (7, 5);
        let mut v = vec![0f32; w * h];
        v[2 * w + 3] = 1.0;
        let grown = square_extreme(&v, w, h, 1, true);
        for y in 0..h {
            for x in 0..w {
                let near = x.abs_diff(3) <= 1 && y.abs_diff(2) <= 1;
                assert_eq!(grown[y * w + x], near as u8 as f32, "({x}, {y})");
            }
        }
        // Shrunk back by as much, the grown square is the point again (a closing keeps it).
        assert_eq!(square_extreme(&grown, w, h, 1, false), v);
    }

    #[test]
    fn a_thin_dark_line_is_filled_from_the_skin_on_both_sides() {
        // Skin of 180 with a gradient, a frame 3 px thick of 30 across it.
        let (w, h) = (40, 30);
        let mut rgb = vec![0f32; w * h * 3];
        let mut known = vec![1f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let frame = (14..17).contains(&y);
                let v = if frame { 30.0 } else { 160.0 + x as f32 };
                rgb[i * 3..i * 3 + 3].copy_from_slice(&[v, v, v]);
                known[i] = if frame { 0.0 } else { 1.0 };
            }
        }
        let filled = fill_from_around(&rgb, &known, w, h);
        for x in [2, 20, 37] {
            let v = filled[(15 * w + x) * 3];
            let skin = 160.0 + x as f32;
            assert!((v - skin).abs() < 4.0, "x {x}: {v} for skin {skin}");
        }
        assert_eq!(filled[(3 * w + 5) * 3], 165.0, "known pixels stay");
    }
}
