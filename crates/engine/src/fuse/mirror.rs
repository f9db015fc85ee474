//! Each cell of a face's low-resolution grid and the cell at its mirror point, through the mesh's
//! symmetric triangles: what a side light's shadow and a one-sided beard are told by.

use super::raster::LowRes;
use super::texture::twice_signed_area;
use super::P2;
use crate::landmarks::MIRROR;

/// No mirror cell.
pub(super) const NO_MIRROR: u32 = u32::MAX;

/// Per low-res cell of the face's shape (`points`, `triangles`, in full-image pixels; `origin` the
/// crop's corner), the cell at its mirror point ([`NO_MIRROR`] outside the mesh).
pub(super) fn mirror_cells(
    low: &LowRes,
    origin: (usize, usize),
    points: &[P2],
    triangles: &[usize],
) -> Vec<u32> {
    let mut mirror = vec![NO_MIRROR; low.w * low.h];
    let b = low.block as f32;
    let to_cell = |p: P2| ((p.0 - origin.0 as f32) / b, (p.1 - origin.1 as f32) / b);
    for t in triangles.chunks_exact(3) {
        let dst = [t[0], t[1], t[2]].map(|i| to_cell(points[i]));
        let src = [t[0], t[1], t[2]].map(|i| to_cell(points[MIRROR[i] as usize]));
        mirror_triangle(low, &dst, &src, &mut mirror);
    }
    mirror
}

/// Marks, for the cells whose centres fall in triangle `dst` (in cell units), the cell at the same
/// barycentric point of `src`.
fn mirror_triangle(low: &LowRes, dst: &[P2; 3], src: &[P2; 3], mirror: &mut [u32]) {
    let det = twice_signed_area(dst);
    if det.abs() < 1e-6 {
        return;
    }
    // The cells whose centres (at half-integers) lie within the triangle's bounding box.
    let span = |v: [f32; 3], len: usize| {
        let (lo, hi) = (v[0].min(v[1]).min(v[2]), v[0].max(v[1]).max(v[2]));
        let first = (lo - 0.5).ceil().max(0.0) as usize;
        let end = ((hi - 0.5).floor().max(-1.0) + 1.0) as usize;
        first..end.min(len)
    };
    let (rows, cols) = (span(dst.map(|p| p.1), low.h), span(dst.map(|p| p.0), low.w));
    for cy in rows {
        for cx in cols.clone() {
            let p = (cx as f32 + 0.5, cy as f32 + 0.5);
            let l1 = twice_signed_area(&[dst[0], p, dst[2]]) / det;
            let l2 = twice_signed_area(&[dst[0], dst[1], p]) / det;
            if l1 < -1e-4 || l2 < -1e-4 || l1 + l2 > 1.0 + 1e-4 {
                continue;
            }
            let m = (
                src[0].0 + l1 * (src[1].0 - src[0].0) + l2 * (src[2].0 - src[0].0),
                src[0].1 + l1 * (src[1].1 - src[0].1) + l2 * (src[2].1 - src[0].1),
            );
            if m.0 >= 0.0 && m.1 >= 0.0 && (m.0 as usize) < low.w && (m.1 as usize) < low.h {
                mirror[cy * low.w + cx] = (m.1 as usize * low.w + m.0 as usize) as u32;
            }
        }
    }
}

/// The mirror cells of a grid of `w` by `h` cells mirrored about its middle column.
#[cfg(test)]
pub(super) fn mirrored_about_the_middle(w: usize, h: usize) -> Vec<u32> {
    (0..w * h)
        .map(|i| (i / w * w + w - 1 - i % w) as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cell_of_a_triangle_maps_to_the_same_point_of_its_mirror_triangle() {
        let low = LowRes::new(10, 10, 1);
        let mut mirror = vec![NO_MIRROR; 100];
        let dst = [(0.0, 0.0), (5.0, 0.0), (0.0, 5.0)];
        mirror_triangle(&low, &dst, &dst.map(|p| (10.0 - p.0, p.1)), &mut mirror);
        assert_eq!(mirror[10 + 1], 10 + 8);
        assert_eq!(mirror[3 * 10], 3 * 10 + 9);
        assert_eq!(mirror[4 * 10 + 4], NO_MIRROR, "outside the triangle");
    }
}
