//! A face's light from its mesh: brightness = ambient + direction · normal (the constant and linear
//! terms of spherical harmonics, Lambertian shading under distant light), fitted by least squares to
//! the face's skin at the mesh points, with normals from the mesh's 3D points.
//!
//! The fusion reports each face's light from it (strength, and the angle between the two). Applying
//! it, A's fitted shading divided out and B's multiplied in per mesh point, was tried: with no cast
//! shadows and no specular term it painted orange patches on eyelids and a bright spot beside the
//! nose of a side-lit A, and took identity; B's light is carried by the low-frequency colour ratio
//! instead.

use image::RgbImage;

use crate::geometry::bilinear;
use crate::mesh::{Mesh, MESH_POINTS};
use crate::parse::{FaceParse, Part};
use crate::pixel::luma;

/// Skin probability of a mesh point from which it takes part in the fit.
const SKIN: f32 = 0.6;
/// Fewer skin points than this and no light is fitted.
const MIN_POINTS: usize = 40;

/// A fitted light: brightness (0–255) = `ambient` + `direction` · n for a unit normal n, in image axes
/// (x right, y down, z away from the camera).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Light {
    /// Brightness of a surface facing the camera squarely, without the directional part.
    pub ambient: f32,
    /// Direction and strength of the light (towards where it comes from).
    pub direction: [f32; 3],
}

impl Light {
    /// Brightness of a surface with unit normal `n`.
    pub fn shade(&self, n: [f32; 3]) -> f32 {
        self.ambient
            + self
                .direction
                .iter()
                .zip(n)
                .map(|(d, v)| d * v)
                .sum::<f32>()
    }

    /// How strongly the face is lit from one side (or from above or below) rather than from the
    /// front: the image-plane part of the direction over the brightness of a frontal surface
    /// (0 even; about 0.5 when the face's sides differ by half its brightness).
    pub fn strength(&self) -> f32 {
        let [x, y] = self.sideways();
        x.hypot(y)
    }

    /// The image-plane part of the direction over the brightness of a frontal surface: a vector
    /// of length [`Light::strength`] towards the lit side.
    fn sideways(&self) -> [f32; 2] {
        let front = self.shade([0.0, 0.0, -1.0]).max(1.0);
        [self.direction[0] / front, self.direction[1] / front]
    }

    /// How much of this light's strength `other` does not share: its strength less the part of
    /// `other`'s that comes from the same side (a side light into a frontally lit or oppositely
    /// lit face keeps all of it; into a face lit from the same side, little).
    pub fn unshared_strength(&self, other: &Light) -> f32 {
        let (a, b) = (self.sideways(), other.sideways());
        let strength = a[0].hypot(a[1]);
        if strength < 1e-6 {
            return 0.0;
        }
        let along = (a[0] * b[0] + a[1] * b[1]) / strength;
        (strength - along.max(0.0)).max(0.0)
    }
}

/// Unit normals per mesh point, towards the camera, from the triangles around each point (weighted
/// by their area).
pub fn vertex_normals(mesh: &Mesh, triangles: &[usize]) -> Vec<[f32; 3]> {
    let mut normals = vec![[0f32; 3]; MESH_POINTS];
    for t in triangles.chunks_exact(3) {
        let [p0, p1, p2] = [t[0], t[1], t[2]].map(|i| mesh.points[i]);
        let u = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]];
        let v = [p2[0] - p0[0], p2[1] - p0[1], p2[2] - p0[2]];
        let mut n = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        // Towards the camera: smaller z is nearer.
        if n[2] > 0.0 {
            n = n.map(|c| -c);
        }
        for &i in t {
            for c in 0..3 {
                normals[i][c] += n[c];
            }
        }
    }
    for n in &mut normals {
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        *n = if len > 1e-9 {
            n.map(|c| c / len)
        } else {
            [0.0, 0.0, -1.0]
        };
    }
    normals
}

/// Fits the light of the face with mesh `mesh` in `img`, over the mesh points that its parse calls
/// skin (not features, not covered). `None` when too few points are skin.
pub fn fit_light(
    img: &RgbImage,
    mesh: &Mesh,
    normals: &[[f32; 3]],
    parse: &FaceParse,
) -> Option<Light> {
    // Brightness around a point: a 3×3 grid of samples a hundredth of the face apart, against noise.
    let xs: Vec<f32> = mesh.points.iter().map(|p| p[0]).collect();
    let width =
        xs.iter().cloned().fold(f32::MIN, f32::max) - xs.iter().cloned().fold(f32::MAX, f32::min);
    let step = (width / 100.0).max(1.0);
    let luma = |x: f32, y: f32| {
        let mut sum = 0.0;
        for dy in -1..=1 {
            for dx in -1..=1 {
                sum += luma(bilinear(
                    img,
                    x + dx as f32 * step - 0.5,
                    y + dy as f32 * step - 0.5,
                ));
            }
        }
        sum / 9.0
    };
    // Normal equations of the weighted least squares over [1, nx, ny, nz].
    let mut ata = [[0f64; 4]; 4];
    let mut atb = [0f64; 4];
    let mut used = 0;
    for (p, n) in mesh.points.iter().zip(normals) {
        let parts = parse.at(p[0], p[1]);
        let w = parts[Part::Skin as usize];
        if w < SKIN || parse.face(p[0], p[1]) < 0.8 {
            continue;
        }
        used += 1;
        let row = [1.0, n[0] as f64, n[1] as f64, n[2] as f64];
        let y = luma(p[0], p[1]) as f64;
        for i in 0..4 {
            for j in 0..4 {
                ata[i][j] += w as f64 * row[i] * row[j];
            }
            atb[i] += w as f64 * row[i] * y;
        }
    }
    if used < MIN_POINTS {
        return None;
    }
    // A little ridge keeps the solve stable when the normals span little (a face seen flat on).
    for (i, r) in ata.iter_mut().enumerate().skip(1) {
        r[i] += 1e-3 * used as f64;
    }
    let x = solve4(ata, atb)?;
    Some(Light {
        ambient: x[0] as f32,
        direction: [x[1] as f32, x[2] as f32, x[3] as f32],
    })
}

/// The light of a face in its photo, from its mesh (triangulated as the fusion does) and its parse.
pub fn face_light(img: &RgbImage, mesh: &Mesh, parse: &FaceParse) -> Option<Light> {
    let normals = vertex_normals(mesh, &mesh.triangles());
    fit_light(img, mesh, &normals, parse)
}

/// Solves a 4×4 system by Gaussian elimination with partial pivoting.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..4 {
            let f = a[row][col] / pivot_row[col];
            for (v, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; 4];
    for row in (0..4).rev() {
        let s: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system() {
        let a = [
            [4.0, 1.0, 0.0, 0.0],
            [1.0, 3.0, 1.0, 0.0],
            [0.0, 1.0, 2.0, 1.0],
            [0.0, 0.0, 1.0, 5.0],
        ];
        let want = [1.0, -2.0, 3.0, 0.5];
        let b = [0, 1, 2, 3].map(|i| (0..4).map(|k| a[i][k] * want[k]).sum::<f64>());
        let x = solve4(a, b).unwrap();
        for k in 0..4 {
            assert!((x[k] - want[k]).abs() < 1e-9, "{x:?}");
        }
    }

    #[test]
    fn a_light_from_the_right_makes_right_facing_surfaces_brighter() {
        let light = Light {
            ambient: 120.0,
            direction: [40.0, 0.0, -10.0],
        };
        assert!(light.shade([1.0, 0.0, 0.0]) > light.shade([-1.0, 0.0, 0.0]));
        assert!((light.strength() - 40.0 / 130.0).abs() < 1e-4);
    }

    #[test]
    fn a_side_light_is_unshared_by_a_frontal_or_opposite_light_and_shared_by_one_from_its_side() {
        let lit = |x: f32, y: f32| Light {
            ambient: 100.0,
            direction: [x, y, 0.0],
        };
        let side = lit(50.0, 0.0);
        assert!((side.unshared_strength(&lit(0.0, 0.0)) - 0.5).abs() < 1e-4);
        assert!((side.unshared_strength(&lit(-30.0, 0.0)) - 0.5).abs() < 1e-4);
        assert!((side.unshared_strength(&lit(0.0, 40.0)) - 0.5).abs() < 1e-4);
        assert!((side.unshared_strength(&lit(40.0, 0.0)) - 0.1).abs() < 1e-4);
        assert_eq!(side.unshared_strength(&lit(80.0, 0.0)), 0.0);
        assert_eq!(lit(0.0, 0.0).unshared_strength(&side), 0.0);
    }
}
