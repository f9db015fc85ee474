//! Texture: A's pixels warped triangle by triangle onto the fused shape, with the far side of a
//! turned head taken from the near side, mirrored.

use image::RgbImage;

use super::morphology::fill_from_around;
use super::raster::{box3, ramp, Crop, LowRes};
use super::shape::smooth_over_mesh;
use super::P2;
use crate::geometry::bilinear;
use crate::landmarks::{FACE_OVAL, MIRROR};
use crate::mesh::MESH_POINTS;
use crate::parse::FaceParse;

/// Ratio of the area around a mesh point in A's photo to that around its mirror point at which the
/// mirror point's texture takes over fully, and at which the point's own texture is kept fully.
pub(super) const OBLIQUE: (f32, f32) = (0.35, 0.6);
/// Area ratio to the mirror side (see [`turned_away`]) from which a point starts to count as
/// turned away, and at which fully.
const TURNED_AWAY: (f32, f32) = (0.95, 0.75);
/// How much a mirror point is the photo's surroundings (bilinear between the parse's cells) from
/// which it starts to give no texture, and at which it gives none.
const MIRROR_AROUND: (f32, f32) = (0.0, 0.5);
/// How far around a mirror point the photo's surroundings are looked for, in A's face widths.
pub(super) const MIRROR_REACH: f32 = 0.02;

/// Cells across A's face of its [`SkinMap`].
const SKIN_CELLS: f32 = 24.0;
/// Limits of the gain that brings a mirrored texture to its own side's light.
const MIRROR_GAIN: (f32, f32) = (0.5, 2.0);

/// A's skin colour at low resolution over its face: the mean over each cell of what the parse
/// calls uncovered skin, and where hair, glasses or features leave none, filled from the skin
/// around. It carries A's light: texture taken from the other side of the face, mirrored, is
/// brought to the light of the side it goes to by the ratio of the two (a side light's bright
/// cheek mirrored onto the shaded one would leave a pale band along the seam).
pub(super) struct SkinMap {
    origin: P2,
    cell: f32,
    w: usize,
    h: usize,
    rgb: Vec<f32>,
}

impl SkinMap {
    /// Over the box of A's mesh points `points` in photo `a` with its parse.
    pub(super) fn new(a: &RgbImage, parse: &FaceParse, points: &[P2]) -> SkinMap {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in points {
            (x0, y0, x1, y1) = (x0.min(p.0), y0.min(p.1), x1.max(p.0), y1.max(p.1));
        }
        let cell = ((x1 - x0).max(y1 - y0) / SKIN_CELLS).max(1.0);
        let (w, h) = (
            ((x1 - x0) / cell).ceil() as usize + 1,
            ((y1 - y0) / cell).ceil() as usize + 1,
        );
        let (aw, ah) = (a.width() as f32, a.height() as f32);
        // Four by four samples per cell: the light is smooth, the parse coarser still.
        const SUB: usize = 4;
        let mut rgb = vec![0f32; w * h * 3];
        let mut known = vec![0f32; w * h];
        for cy in 0..h {
            for cx in 0..w {
                let (mut sum, mut weight) = ([0f32; 3], 0f32);
                for sy in 0..SUB {
                    for sx in 0..SUB {
                        let x = x0 + (cx as f32 + (sx as f32 + 0.5) / SUB as f32) * cell;
                        let y = y0 + (cy as f32 + (sy as f32 + 0.5) / SUB as f32) * cell;
                        if x < 0.0 || y < 0.0 || x >= aw || y >= ah {
                            continue;
                        }
                        let wt = parse.skin(x, y) * face_weight(parse.face(x, y));
                        let q = bilinear(a, x - 0.5, y - 0.5);
                        (0..3).for_each(|c| sum[c] += wt * q[c]);
                        weight += wt;
                    }
                }
                let i = cy * w + cx;
                if weight > 1e-3 {
                    (0..3).for_each(|c| rgb[i * 3 + c] = sum[c] / weight);
                }
                // A cell half skin is known.
                known[i] = (2.0 * weight / (SUB * SUB) as f32).min(1.0);
            }
        }
        let rgb = box3(&fill_from_around(&rgb, &known, w, h), w, h);
        SkinMap {
            origin: (x0, y0),
            cell,
            w,
            h,
            rgb,
        }
    }

    /// The skin's colour at a point of A's photo (bilinear between cell centres).
    fn at(&self, p: P2) -> [f32; 3] {
        let fx = ((p.0 - self.origin.0) / self.cell - 0.5).clamp(0.0, (self.w - 1) as f32);
        let fy = ((p.1 - self.origin.1) / self.cell - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (fx as usize, fy as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let v = |x: usize, y: usize, c: usize| self.rgb[(y * self.w + x) * 3 + c];
        [0, 1, 2].map(|c| {
            let top = v(x0, y0, c) + tx * (v(x1, y0, c) - v(x0, y0, c));
            let bottom = v(x0, y1, c) + tx * (v(x1, y1, c) - v(x0, y1, c));
            top + ty * (bottom - top)
        })
    }

    /// Per channel, the gain from the light at `from` to that at `to`.
    fn gain(&self, from: P2, to: P2) -> [f32; 3] {
        let (f, t) = (self.at(from), self.at(to));
        [0, 1, 2].map(|c| (t[c].max(1.0) / f[c].max(1.0)).clamp(MIRROR_GAIN.0, MIRROR_GAIN.1))
    }
}

/// Where one destination triangle reads A: its own corners, the corners of its mirror image on the
/// other side of the face, and per corner the weight of its own side.
pub(super) struct Source<'a> {
    /// What in A's photo is face and what covers it.
    pub(super) parse: &'a FaceParse,
    /// A's skin light, for the mirrored texture.
    pub(super) light: &'a SkinMap,
    /// A's own source point of each crop pixel, smoothed ([`smoothed_sources`]).
    pub(super) own: &'a [P2],
    pub(super) mirrored: [P2; 3],
    pub(super) weight: [f32; 3],
    /// How much each corner is turned away ([`turned_away`]): there the photo's surroundings at
    /// the rim are not A's face.
    pub(super) turned_away: [f32; 3],
    /// How far around a mirror point (in A's pixels) the photo's surroundings are looked for
    /// ([`MIRROR_REACH`]).
    pub(super) mirror_reach: f32,
}

/// Blur of the warp's source points, in face widths. The warp is affine per triangle, so where A's
/// layout is stretched very differently from one small triangle to the next (a turned head's
/// nostrils spread onto a frontal nose) a dark line of A's that crosses them is bent at every
/// edge into a sawtooth, with shards between. Smoothed, the mapping bends gently; over a
/// triangle's affine inside it is unchanged.
pub(super) const SOURCE_SMOOTHING: f32 = 0.01;

/// Calls `f` with the crop index and the barycentric coordinates (of corners 1 and 2) of each
/// crop pixel whose centre lies in triangle `dst` (pixels on shared edges go to both).
fn for_each_pixel(dst: &[P2; 3], crop: &Crop, mut f: impl FnMut(usize, f32, f32)) {
    let (d0, d1, d2) = (dst[0], dst[1], dst[2]);
    let det = twice_signed_area(dst);
    if det.abs() < 1e-6 {
        return;
    }
    let min_x = d0.0.min(d1.0).min(d2.0).floor().max(crop.x as f32) as usize;
    let max_x = (d0.0.max(d1.0).max(d2.0).ceil() as usize).min(crop.x + crop.w);
    let min_y = d0.1.min(d1.1).min(d2.1).floor().max(crop.y as f32) as usize;
    let max_y = (d0.1.max(d1.1).max(d2.1).ceil() as usize).min(crop.y + crop.h);
    // Barycentric coordinates are affine in the pixel position: their coefficients once per
    // triangle.
    let inv = 1.0 / det;
    let (a1, b1) = ((d2.1 - d0.1) * inv, -(d2.0 - d0.0) * inv);
    let c1 = -(d0.0 * a1 + d0.1 * b1);
    let (a2, b2) = (-(d1.1 - d0.1) * inv, (d1.0 - d0.0) * inv);
    let c2 = -(d0.0 * a2 + d0.1 * b2);
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
            f(row + (x - crop.x), l1, l2);
        }
    }
}

/// The value at barycentric point (`l1`, `l2`) of a triangle with values `v` at its corners.
fn point_at_values(v: [f32; 3], l1: f32, l2: f32) -> f32 {
    v[0] + l1 * (v[1] - v[0]) + l2 * (v[2] - v[0])
}

/// A point of a triangle from its corners, at barycentric coordinates (of corners 1 and 2).
fn point_at(s: &[P2; 3], l1: f32, l2: f32) -> P2 {
    (
        s[0].0 + l1 * (s[1].0 - s[0].0) + l2 * (s[2].0 - s[0].0),
        s[0].1 + l1 * (s[1].1 - s[0].1) + l2 * (s[2].1 - s[0].1),
    )
}

/// A's own source point for each crop pixel covered by the `triangles` (corners indexing `dst`
/// in B's image and `src` in A's), blurred over `sigma` pixels among the covered pixels; (0, 0)
/// where none covers it.
pub(super) fn smoothed_sources(
    triangles: &[usize],
    dst: &[P2],
    src: &[P2],
    crop: &Crop,
    sigma: f32,
) -> Vec<P2> {
    let mut map = vec![0f32; crop.w * crop.h * 3];
    for t in triangles.chunks_exact(3) {
        let d = [dst[t[0]], dst[t[1]], dst[t[2]]];
        let s = [src[t[0]], src[t[1]], src[t[2]]];
        for_each_pixel(&d, crop, |i, l1, l2| {
            let p = point_at(&s, l1, l2);
            map[i * 3..i * 3 + 3].copy_from_slice(&[p.0, p.1, 1.0]);
        });
    }
    // Each point with the weight 1 beside it: the blurred weight normalises the blurred points.
    let blurred = LowRes::new(crop.w, crop.h, 1).blur(&map, 3, sigma);
    (0..crop.w * crop.h)
        .map(|i| {
            let w = blurred[i * 3 + 2].max(1e-6);
            if map[i * 3 + 2] > 0.0 {
                (blurred[i * 3] / w, blurred[i * 3 + 1] / w)
            } else {
                (0.0, 0.0)
            }
        })
        .collect()
}

/// Per mesh point, how much of A's texture comes from the point itself rather than from its mirror
/// point on the other side of the face: 1 unless the surroundings of the point look much smaller in
/// A's photo than those of its mirror point (the side turned away from the camera, whose
/// foreshortened texture would be stretched into streaks).
pub(super) fn own_side_weights(
    a2: &[P2],
    triangles: &[usize],
    neighbours: &[Vec<usize>],
) -> Vec<f32> {
    let mut weight: Vec<f32> = area_ratios(a2, triangles)
        .iter()
        .map(|&ratio| ramp(ratio, OBLIQUE))
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

/// Per mesh point, how much the point is on the side of A's face turned away from the camera
/// (its surroundings look smaller in A's photo than its mirror point's), smoothed over the mesh.
/// There the oval takes in what is behind the face's outline: an ear, the background.
pub(super) fn turned_away(a2: &[P2], triangles: &[usize], neighbours: &[Vec<usize>]) -> Vec<f32> {
    let mut away: Vec<f32> = area_ratios(a2, triangles)
        .iter()
        .map(|&ratio| ramp(ratio, TURNED_AWAY))
        .collect();
    smooth_over_mesh(&mut away, neighbours, &[false; MESH_POINTS]);
    away
}

/// Per-vertex values painted over the crop, interpolated across each triangle of `dst` whose
/// largest value passes `least`; 0 elsewhere.
pub(super) fn paint(
    values: &[f32],
    least: f32,
    triangles: &[usize],
    dst: &[P2],
    crop: &Crop,
) -> Vec<f32> {
    let mut map = vec![0f32; crop.w * crop.h];
    for t in triangles.chunks_exact(3) {
        let v = [values[t[0]], values[t[1]], values[t[2]]];
        if v.iter().all(|&x| x <= least) {
            continue;
        }
        let d = [dst[t[0]], dst[t[1]], dst[t[2]]];
        for_each_pixel(&d, crop, |i, l1, l2| map[i] = point_at_values(v, l1, l2));
    }
    map
}

/// Per mesh point, how much larger the fused face's triangles around it are than A's, over the
/// same ratio for the whole face, as a length: above 1 where A's texture is stretched more than
/// the face is scaled.
pub(super) fn stretch(a2: &[P2], dst: &[P2], triangles: &[usize]) -> Vec<f32> {
    let mut area = vec![[0f32; 2]; MESH_POINTS];
    let mut total = [0f32; 2];
    for t in triangles.chunks_exact(3) {
        let s = twice_signed_area(&[a2[t[0]], a2[t[1]], a2[t[2]]]).abs();
        let d = twice_signed_area(&[dst[t[0]], dst[t[1]], dst[t[2]]]).abs();
        total[0] += s;
        total[1] += d;
        for &i in t {
            area[i][0] += s;
            area[i][1] += d;
        }
    }
    let scale = total[1] / total[0].max(1e-6);
    area.iter()
        .map(|[s, d]| (d / s.max(1e-6) / scale).sqrt())
        .collect()
}

/// Per mesh point, the area of A's triangles around it over that around its mirror point.
fn area_ratios(a2: &[P2], triangles: &[usize]) -> Vec<f32> {
    let mut area = vec![0f32; MESH_POINTS];
    for t in triangles.chunks_exact(3) {
        let twice = twice_signed_area(&[a2[t[0]], a2[t[1]], a2[t[2]]]).abs();
        for &i in t {
            area[i] += twice;
        }
    }
    (0..MESH_POINTS)
        .map(|i| area[i] / area[MIRROR[i] as usize].max(1e-3))
        .collect()
}

/// Twice the signed area of a triangle.
pub(super) fn twice_signed_area(t: &[P2; 3]) -> f32 {
    (t[1].0 - t[0].0) * (t[2].1 - t[0].1) - (t[2].0 - t[0].0) * (t[1].1 - t[0].1)
}

/// How much a parse's face probability counts as face: the parse's soft edges (a grid of 32 cells
/// across the crop) are narrowed so that a strand's fringe is not half copied.
fn face_weight(p: f32) -> f32 {
    ((p - 0.35) / 0.5).clamp(0.0, 1.0)
}

/// A's face warped onto the fused shape, per pixel of the crop.
pub(super) struct WarpedFace {
    /// RGB.
    pub(super) colour: Vec<f32>,
    /// How much of what was taken is A's face: 0 where A's photo ends or something covers A's face
    /// on both sides; -1 where A's photo gave nothing.
    pub(super) face: Vec<f32>,
    /// How much of A's own side is covered.
    pub(super) cover: Vec<f32>,
    /// How much of what was taken is A's surroundings at the rim (an ear, the background), where
    /// the own side gave it and the mirror side did not make up for it.
    pub(super) outline: Vec<f32>,
    /// The parse's probability that what was taken is skin (not eyes, teeth, lips, brows, hair or
    /// glasses).
    pub(super) skin: Vec<f32>,
}

impl WarpedFace {
    /// Nothing taken yet, for a crop of `pixels` pixels.
    pub(super) fn new(pixels: usize) -> WarpedFace {
        WarpedFace {
            colour: vec![0.0; pixels * 3],
            face: vec![-1.0; pixels],
            cover: vec![0.0; pixels],
            outline: vec![0.0; pixels],
            skin: vec![0.0; pixels],
        }
    }
}

/// Samples A over one destination triangle into `out`: colour, and how much of it is A's face,
/// covered, and skin.
///
/// Where A's own point is covered (hair, glasses, a hand) and its mirror point on the other side is
/// not, the texture comes from the mirror point: strands over one eye are replaced by the other eye.
pub(super) fn warp_triangle(
    a: &RgbImage,
    src: &Source,
    dst: &[P2; 3],
    crop: &Crop,
    out: &mut WarpedFace,
) {
    let own_only = src.weight.iter().all(|&w| w >= 1.0);
    let (aw, ah) = (a.width() as f32, a.height() as f32);
    let outside = |(sx, sy): P2| sx < 0.0 || sy < 0.0 || sx > aw || sy > ah;
    for_each_pixel(dst, crop, |i, l1, l2| {
        // Every pixel of the triangle is one the smoothed map covers.
        let s = src.own[i];
        // Where A's photo ends (a tight crop), there is nothing to take: leave it to B.
        if outside(s) {
            return;
        }
        let mut p = bilinear(a, s.0 - 0.5, s.1 - 0.5);
        // The photo's surroundings at the rim (an ear, a sliver of background) are not A's face.
        // On the side turned away the mirror point, well inside the other cheek, takes their
        // place; on the side facing the camera the mirror would bring the far side's
        // foreshortened texture, stretched into streaks, and they are left to B.
        let here = src.parse.cover_at(s.0, s.1);
        let uncovered = face_weight(here.face);
        let around = here.around;
        let own_face = uncovered * (1.0 - around);
        let w = if own_only {
            1.0
        } else {
            point_at_values(src.weight, l1, l2)
        };
        // The mirror point is face (`mirror_face`) or not; the own side gives way to it by
        // its obliqueness (`w`) and by being covered, and takes its share when it is not face.
        let m = point_at(&src.mirrored, l1, l2);
        let covered_or_oblique = w < 1.0 || uncovered < 1.0;
        let there = ((covered_or_oblique || around > 0.0) && !outside(m))
            .then(|| src.parse.cover_at(m.0, m.1));
        let mirror_face = there.map_or(0.0, |there| {
            let allowed = if covered_or_oblique {
                1.0
            } else {
                point_at_values(src.turned_away, l1, l2)
            };
            // The mirror point may itself be the photo's surroundings (the far side's ear or
            // background beside a turned face): no face to take either, from half of the way
            // between a cell of the surroundings and one of the face, so that a mostly covered
            // own side does not take a faint copy of an ear or a wall.
            // Read a little way off the mirror point on each side too: on A's outline the parse's
            // surroundings begin a few pixels outside the face's own edge, and a mirror point
            // there took A's pale background as skin, a round spot on a turned B's far cheek.
            let r = src.mirror_reach;
            let around_m = [(r, 0.0), (-r, 0.0), (0.0, r), (0.0, -r)]
                .iter()
                .map(|(dx, dy)| (m.0 + dx, m.1 + dy))
                .filter(|&p| !outside(p))
                .map(|p| src.parse.surroundings(p.0, p.1))
                .fold(there.around, f32::max);
            let around_m = ramp(around_m, MIRROR_AROUND);
            allowed * face_weight(there.face) * (1.0 - around_m)
        });
        let own_weight = own_face * (w + (1.0 - w) * (1.0 - mirror_face));
        let mirror_weight = mirror_face * (1.0 - own_weight);
        // Where the mirror side gives some of the texture, its share.
        let mut own_share = 1.0;
        if mirror_weight > 1e-3 {
            let q = bilinear(a, m.0 - 0.5, m.1 - 0.5);
            let g = src.light.gain(m, s);
            let q = [0, 1, 2].map(|c| q[c] * g[c]);
            own_share = own_weight / (own_weight + mirror_weight);
            for c in 0..3 {
                p[c] = q[c] + own_share * (p[c] - q[c]);
            }
        }
        // Skin is not features, hair or glasses (the parser calls some bright or shaded skin
        // background, which is skin here).
        let skin = match there {
            Some(there) if own_share < 1.0 => there.skin + own_share * (here.skin - there.skin),
            _ => here.skin,
        };
        let taken = own_weight + mirror_weight;
        out.colour[i * 3..i * 3 + 3].copy_from_slice(&p);
        out.face[i] = taken.min(1.0);
        out.cover[i] = 1.0 - uncovered;
        out.outline[i] = around * (1.0 - mirror_weight);
        out.skin[i] = skin;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::shape::neighbours;
    use crate::geometry::triangulate;
    use crate::parse::{Part, PARTS};

    #[test]
    fn a_mirrored_texture_takes_the_light_of_the_side_it_goes_to() {
        // A face lit from the image's right: skin from 60 levels on the left to 180 on the right.
        let (w, h) = (200u32, 200u32);
        let level = |x: u32| 60.0 + 120.0 * x as f32 / w as f32;
        let img = RgbImage::from_fn(w, h, |x, _| image::Rgb([level(x) as u8; 3]));
        let mut skin = [0f32; PARTS];
        skin[Part::Skin as usize] = 1.0;
        let parse = FaceParse::uniform(0.0, 0.0, w as f32, skin);
        let corners = [(10.0, 10.0), (190.0, 10.0), (10.0, 190.0), (190.0, 190.0)];
        let map = SkinMap::new(&img, &parse, &corners);
        // Texture from the bright side (x = 160) taken to the dark one (x = 40).
        let g = map.gain((160.0, 100.0), (40.0, 100.0));
        let expected = level(40) / level(160);
        assert!(
            g.iter().all(|&c| (c - expected).abs() < 0.05),
            "{g:?}, expected {expected}"
        );
    }

    #[test]
    fn the_smoothed_mapping_keeps_an_affine_inside_and_rounds_a_kink() {
        // A 100-pixel square of two triangles sharing the diagonal from (100, 0) to (0, 100).
        let crop = Crop {
            x: 0,
            y: 0,
            w: 100,
            h: 100,
        };
        let dst = [(0.0, 0.0), (100.0, 0.0), (0.0, 100.0), (100.0, 100.0)];
        let triangles = [0, 1, 2, 1, 3, 2];
        let at = |map: &[P2], x: usize, y: usize| map[y * 100 + x];
        // One affine map over both: unchanged away from the square's edge.
        let affine: Vec<P2> = dst
            .iter()
            .map(|&(x, y)| (10.0 + 0.5 * x, 20.0 + 0.5 * y))
            .collect();
        let map = smoothed_sources(&triangles, &dst, &affine, &crop, 4.0);
        for (x, y) in [(50, 50), (30, 60), (70, 40)] {
            let (sx, sy) = at(&map, x, y);
            let (ex, ey) = (10.0 + 0.5 * (x as f32 + 0.5), 20.0 + 0.5 * (y as f32 + 0.5));
            assert!(
                (sx - ex).abs() < 0.01 && (sy - ey).abs() < 0.01,
                "({sx}, {sy}) at ({x}, {y})"
            );
        }
        // The far corner squeezed: the map bends at the diagonal. Along the anti-diagonal's
        // normal, the raw map's slope jumps there; smoothed, the jump is spread out.
        let mut kinked = affine.clone();
        kinked[3] = (35.0, 45.0);
        let raw = smoothed_sources(&triangles, &dst, &kinked, &crop, 0.0);
        let smooth = smoothed_sources(&triangles, &dst, &kinked, &crop, 4.0);
        // Second difference of x along the line y = x, across the diagonal at (50, 50).
        let bend = |map: &[P2]| {
            let x = |k: usize| at(map, k, k).0;
            (x(53) - 2.0 * x(50) + x(47)).abs()
        };
        let (before, after) = (bend(&raw), bend(&smooth));
        assert!(before > 1.0, "the raw map bends: {before}");
        assert!(after < 0.5 * before, "smoothed {after} against {before}");
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
}
