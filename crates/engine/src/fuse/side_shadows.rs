//! A side light's one-sided shadows on A's face (the shadow beside the nose, a half-lit cheek),
//! told from A's own modelling by the face's near symmetry: each cell against its mirror cell.

use super::mirror::NO_MIRROR;
use super::raster::LowRes;

/// Share of the gap to its mirror cell by which a shadowed cell is lifted under a side light: all
/// of it, so the shadowed side takes the lit side's relief (what both sides share, A's own
/// modelling, stays): within the relief never above the light around, and past it only where the
/// cell is darker than its mirror cell by more than B's is, and than B's skin there.
const SIDE_SHADOW_LIFT: f32 = 1.0;
/// Strength of A's light that B's does not share ([`crate::lighting::Light::unshared_strength`])
/// from which A's one-sided shadows start to be lifted, and at which they are fully.
pub(super) const SIDE_LIGHT: (f32, f32) = (0.2, 0.45);
/// Blur of the two sides' gap, in face widths: a spot on one side only (a mole, a scar) of a cell
/// or two counts less, a shadow cast by the nose or a half-lit cheek is wider.
const ASYMMETRY_BLUR: f32 = 0.012;

/// A side light's shadows: one side of A's face darker than the other (the shadow beside the nose,
/// a half-lit cheek) is A's light, not its face, which is near enough symmetric.
pub(super) struct SideShadows<'a> {
    /// Per low-res cell, the cell at the mirror point of the face ([`NO_MIRROR`] for none); read
    /// only when there is a lift.
    pub(super) mirror: &'a [u32],
    /// How much A's one-sided shadows are lifted (0 to 1).
    pub(super) strength: f32,
}

impl<'a> SideShadows<'a> {
    /// A lift of `strength` about the fused shape's mirror cells (`mirror`, from [`super::mirror::mirror_cells`]).
    pub(super) fn new(mirror: &'a [u32], strength: f32) -> SideShadows<'a> {
        SideShadows { mirror, strength }
    }

    /// `relief` with each skin cell (`weights` at least a half) darker than its mirror cell lifted
    /// by [`SIDE_SHADOW_LIFT`] of the gap, never above the light around. `face_width` in cells.
    pub(super) fn lift(
        &self,
        low: &LowRes,
        relief: &[f32],
        weights: &[f32],
        face_width: f32,
    ) -> Vec<f32> {
        let gap = self.blurred_gap(low, face_width, |i, j| {
            if weights[i] < 0.5 || weights[j] < 0.5 {
                return 0.0;
            }
            relief[j] - relief[i]
        });
        relief
            .iter()
            .zip(&gap)
            .map(|(&r, g)| (r + self.strength * SIDE_SHADOW_LIFT * g).min(r.max(0.0)))
            .collect()
    }

    /// How much each skin cell of A (`a.weights` at least a half) is to be lifted in all, in log
    /// brightness: by [`SIDE_SHADOW_LIFT`] of how much darker it is than its mirror cell, less how
    /// much darker B's skin is there than at B's mirror cell (B's own side light stays B's), and
    /// not past B's own level there (before the gap's blur). These are the cells' levels, not
    /// their relief: a hard side light's shadow as wide as the relief's coarse blur darkens its
    /// own light around, and lifted only to that it stayed a flat, dark patch beside the nose.
    /// `face_width` in cells.
    pub(super) fn level_lift(
        &self,
        low: &LowRes,
        a: &Levels,
        b: &Levels,
        face_width: f32,
    ) -> Vec<f32> {
        let skin = |l: &Levels, i: usize| l.weights[i] >= 0.5;
        let gap = self.blurred_gap(low, face_width, |i, j| {
            if !skin(a, i) || !skin(a, j) {
                return 0.0;
            }
            let b_gap = if skin(b, i) && skin(b, j) {
                b.level[j] - b.level[i]
            } else {
                0.0
            };
            // A cell across from an over-bright one (the shading gain's overshoot beside a hard
            // shadow) but as bright as B's skin there is no shadow; where B shows no skin (its
            // nostril, its beard) there is no level to lift to, and none is lifted.
            let below_b = if skin(b, i) {
                b.level[i] - a.level[i]
            } else {
                0.0
            };
            (a.level[j] - a.level[i] - b_gap).min(below_b)
        });
        gap.iter()
            .map(|g| self.strength * SIDE_SHADOW_LIFT * g)
            .collect()
    }

    /// Per cell, `gap(cell, mirror cell)` where it is positive and the cell has a mirror, 0
    /// elsewhere, blurred by [`ASYMMETRY_BLUR`].
    fn blurred_gap(
        &self,
        low: &LowRes,
        face_width: f32,
        gap: impl Fn(usize, usize) -> f32,
    ) -> Vec<f32> {
        let raw: Vec<f32> = (0..self.mirror.len())
            .map(|i| match self.mirror[i] {
                NO_MIRROR => 0.0,
                j => gap(i, j as usize).max(0.0),
            })
            .collect();
        low.blur(&raw, 1, ASYMMETRY_BLUR * face_width)
    }
}

/// A face's log brightness per low-res cell at the relief's fine blur, and the weights that say
/// which cells are its skin (at least a half).
pub(super) struct Levels<'a> {
    pub(super) level: Vec<f32>,
    pub(super) weights: &'a [f32],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::mirror::mirrored_about_the_middle;

    #[test]
    fn a_shadow_on_one_side_only_is_lifted_and_one_on_both_sides_stays() {
        // Twenty cells across, mirrored about the middle; a four-cell shadow on the left only, and a
        // socket on both sides.
        let (w, h) = (20, 12);
        let low = LowRes::new(w, h, 1);
        let mirror = mirrored_about_the_middle(w, h);
        let side = SideShadows::new(&mirror, 1.0);
        let relief: Vec<f32> = (0..w * h)
            .map(|i| match i % w {
                3..=6 => -0.3,
                12..=16 => 0.05,
                9 | 10 => -0.2,
                _ => 0.0,
            })
            .collect();
        let lifted = side.lift(&low, &relief, &vec![1.0; w * h], 64.0);
        let at = |x: usize| lifted[6 * w + x];
        assert!(at(4) > -0.1 && at(5) > -0.1, "{} {}", at(4), at(5));
        assert!(at(4) <= 0.0, "not above the light around: {}", at(4));
        assert!((at(9) + 0.2).abs() < 0.02, "both sides' socket: {}", at(9));
        assert!(
            (at(10) + 0.2).abs() < 0.02,
            "both sides' socket: {}",
            at(10)
        );
        assert_eq!(at(14), 0.05, "the lit side stays");
        let weak = SideShadows {
            strength: 0.0,
            ..side
        };
        assert_eq!(weak.lift(&low, &relief, &vec![1.0; w * h], 64.0), relief);
    }
}
