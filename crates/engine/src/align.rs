//! Least-squares similarity between two 3D point sets (Horn's closed form with unit quaternions).

/// A similarity `p ↦ s·R·p + t`.
#[derive(Debug, Clone, Copy)]
pub struct Similarity3 {
    /// Scale.
    pub s: f64,
    /// Rotation, row-major.
    pub r: [[f64; 3]; 3],
    /// Translation.
    pub t: [f64; 3],
}

impl Similarity3 {
    /// Applies the similarity.
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let r = &self.r;
        let mut out = [0.0; 3];
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.s * (r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2]) + self.t[i];
        }
        out
    }
}

/// The similarity that best maps `from[i]` onto `to[i]` (weights `w[i]`) in the least-squares sense.
pub fn fit_similarity(from: &[[f64; 3]], to: &[[f64; 3]], w: &[f64]) -> Similarity3 {
    let total: f64 = w.iter().sum::<f64>().max(1e-12);
    let mean = |pts: &[[f64; 3]]| {
        let mut m = [0.0; 3];
        for (p, &wi) in pts.iter().zip(w) {
            for k in 0..3 {
                m[k] += p[k] * wi / total;
            }
        }
        m
    };
    let (ma, mb) = (mean(from), mean(to));
    let mut s = [[0.0f64; 3]; 3];
    let mut var_a = 0.0;
    for ((a, b), &wi) in from.iter().zip(to).zip(w) {
        let ac = [a[0] - ma[0], a[1] - ma[1], a[2] - ma[2]];
        let bc = [b[0] - mb[0], b[1] - mb[1], b[2] - mb[2]];
        for i in 0..3 {
            for j in 0..3 {
                s[i][j] += wi * ac[i] * bc[j];
            }
        }
        var_a += wi * (ac[0] * ac[0] + ac[1] * ac[1] + ac[2] * ac[2]);
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = s;
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let q = largest_eigenvector(n);
    let r = quaternion_to_matrix(q);
    // Least-squares scale given the rotation: Σ b·(R a) / Σ |a|².
    let mut dot = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            dot += r[i][j] * s[j][i];
        }
    }
    let scale = if var_a > 0.0 { dot / var_a } else { 1.0 };
    let mut t = [0.0; 3];
    for i in 0..3 {
        t[i] = mb[i] - scale * (r[i][0] * ma[0] + r[i][1] * ma[1] + r[i][2] * ma[2]);
    }
    Similarity3 { s: scale, r, t }
}

fn quaternion_to_matrix(q: [f64; 4]) -> [[f64; 3]; 3] {
    let [w, x, y, z] = q;
    [
        [
            w * w + x * x - y * y - z * z,
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            w * w - x * x + y * y - z * z,
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            w * w - x * x - y * y + z * z,
        ],
    ]
}

/// Eigenvector of the largest eigenvalue of a symmetric 4×4 matrix, by cyclic Jacobi rotations.
// Index loops read clearest for the row and column rotations.
#[allow(clippy::needless_range_loop)]
fn largest_eigenvector(mut a: [[f64; 4]; 4]) -> [f64; 4] {
    let mut v = [[0.0f64; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..50 {
        let off: f64 = (0..4)
            .flat_map(|i| (0..4).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-24 {
            break;
        }
        for p in 0..4 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..4 {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..4 {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let best = (0..4)
        .max_by(|&i, &j| a[i][i].total_cmp(&a[j][j]))
        .unwrap_or(0);
    let mut q = [v[0][best], v[1][best], v[2][best], v[3][best]];
    let norm = q.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    for x in q.iter_mut() {
        *x /= norm;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_similarity() {
        let (ang, scale, t) = (0.4f64, 1.7, [3.0, -2.0, 5.0]);
        let truth = Similarity3 {
            s: scale,
            r: [
                [ang.cos(), -ang.sin(), 0.0],
                [ang.sin(), ang.cos(), 0.0],
                [0.0, 0.0, 1.0],
            ],
            t,
        };
        let from: Vec<[f64; 3]> = (0..20)
            .map(|i| {
                let f = i as f64;
                [f.sin() * 10.0, (f * 0.7).cos() * 7.0, f * 0.3]
            })
            .collect();
        let to: Vec<[f64; 3]> = from.iter().map(|&p| truth.apply(p)).collect();
        let fit = fit_similarity(&from, &to, &vec![1.0; from.len()]);
        for (p, q) in from.iter().zip(&to) {
            let r = fit.apply(*p);
            for k in 0..3 {
                assert!((r[k] - q[k]).abs() < 1e-6, "{r:?} vs {q:?}");
            }
        }
    }
}
