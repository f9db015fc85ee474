//! What of A's warped face is not A's: hair or background that its oval takes in at the rim, and
//! anything in front of it (a hand, a microphone), which is left to B.
//!
//! Near the edge only what looks like A's skin is kept, so that B's jaw line and cheeks are not
//! painted over. Inside, only what is wildly unlike A's skin is left to B; beards and shadows stay
//! A's. What is much colder than A's skin (grey or blue: a microphone's metal, however close its
//! brightness comes to A's skin) is no skin anywhere, except A's eyes, lips and eye sockets, which
//! are cold and A's own (whites, teeth, irises, lids and their make-up).

use super::raster::{ramp, LowRes};

/// Skin distance beyond which the rim of A's face is left to B (hair or background in the oval).
const SKIN_LIKE: f32 = 2.0;
/// Skin distance beyond which even the interior of A's face is left to B (an object in front of it).
const FOREIGN: f32 = 3.0;
/// Coldness ([`super::light::coldness`]) from which A's face starts to be left to B, and at which
/// it wholly is: a grey or blue thing in front of it (a microphone at the chin).
const COLD_FOREIGN: (f32, f32) = (1.5, 2.5);

/// A's face per low-resolution cell, as the test of what is A's skin sees it.
pub(super) struct SkinTest<'a> {
    /// The cells.
    pub(super) low: &'a LowRes,
    /// Colour distance to A's own skin ([`super::light::skin_distance`]).
    pub(super) distance: &'a [f32],
    /// How much colder than A's skin ([`super::light::coldness`]).
    pub(super) coldness: &'a [f32],
    /// How much of a cell is A's eyes, brows or lips, which are no skin but A's own.
    pub(super) feature: &'a dyn Fn(usize) -> f32,
    /// How much of a cell is A's own cold parts: its features and its eye sockets.
    pub(super) own_part: &'a dyn Fn(usize) -> f32,
    /// The blend mask's inward feather, in cells.
    pub(super) feather: f32,
}

/// What [`SkinTest::weights`] finds, per cell.
pub(super) struct Kept {
    /// The share of A's face kept: at the rim what is like A's skin, inside what is not foreign.
    pub(super) face: Vec<f32>,
    /// What is not foreign, at the rim as inside (a carried beard's cells reaching past A's jaw
    /// take only that).
    pub(super) not_foreign: Vec<f32>,
}

impl SkinTest<'_> {
    /// The share of A's face kept per cell; `rim` is the face's region blurred (1 well inside, a
    /// half at its edge).
    pub(super) fn weights(&self, rim: &[f32]) -> Kept {
        let SkinTest {
            low,
            distance,
            coldness,
            feature,
            own_part,
            feather,
        } = *self;
        let cold: Vec<f32> = coldness
            .iter()
            .enumerate()
            .map(|(i, &c)| ramp(c, COLD_FOREIGN) * (1.0 - own_part(i)))
            .collect();
        // Grown by the blur's reach below, so that the blur softens its edge outwards and the
        // thing's rim (mixed with the skin behind, less cold) goes with it.
        let cold = low.grow(&cold, (feather * 0.5).round() as usize);
        let like_skin = |within: f32| -> Vec<f32> {
            (0..low.w * low.h)
                .map(|i| {
                    let near = (within - distance[i]).clamp(0.0, 1.0);
                    (near * (1.0 - cold[i] * (1.0 - own_part(i)))).max(feature(i))
                })
                .collect()
        };
        let (skin, not_foreign) = (like_skin(SKIN_LIKE), like_skin(FOREIGN));
        let skin = low.blur(&skin, 1, feather * 0.5);
        let not_foreign = low.blur(&not_foreign, 1, feather * 0.5);
        let face = rim
            .iter()
            .zip(&skin)
            .zip(&not_foreign)
            .map(|((r, k), f)| {
                let interior = ((r - 0.5) / 0.45).clamp(0.0, 1.0);
                (interior * f).max(*k)
            })
            .collect();
        Kept { face, not_foreign }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rim_keeps_only_skin_and_the_inside_loses_only_what_is_foreign_or_cold() {
        // Sixteen cells square: the outer two rings are the rim. On the rim, a patch of hair (unlike
        // skin, not foreign); inside, the same, a hand (foreign) and grey metal (cold), and an eye
        // (cold, but A's own).
        let low = LowRes::new(16, 16, 1);
        let at = |x: usize, y: usize| y * 16 + x;
        let in_box = |i: usize, x0: usize, y0: usize| {
            (x0..x0 + 3).contains(&(i % 16)) && (y0..y0 + 3).contains(&(i / 16))
        };
        let distance: Vec<f32> = (0..256)
            .map(|i| {
                if in_box(i, 0, 6) || in_box(i, 3, 3) {
                    2.0
                } else if in_box(i, 10, 3) {
                    5.0
                } else {
                    0.5
                }
            })
            .collect();
        let coldness: Vec<f32> = (0..256)
            .map(|i| {
                if in_box(i, 3, 10) || in_box(i, 10, 10) {
                    3.0
                } else {
                    0.0
                }
            })
            .collect();
        let eye = |i: usize| if in_box(i, 10, 10) { 1.0 } else { 0.0 };
        let rim: Vec<f32> = (0..256)
            .map(|i| {
                let (x, y) = (i % 16, i / 16);
                if x.min(y).min(15 - x).min(15 - y) < 2 {
                    0.5
                } else {
                    1.0
                }
            })
            .collect();
        let test = SkinTest {
            low: &low,
            distance: &distance,
            coldness: &coldness,
            feature: &eye,
            own_part: &eye,
            feather: 0.5,
        };
        let kept = test.weights(&rim).face;
        assert!(kept[at(1, 7)] < 0.05, "hair at the rim: {}", kept[at(1, 7)]);
        assert!(kept[at(4, 4)] > 0.95, "the same inside: {}", kept[at(4, 4)]);
        assert!(kept[at(11, 4)] < 0.05, "a hand inside: {}", kept[at(11, 4)]);
        assert!(kept[at(4, 11)] < 0.05, "metal inside: {}", kept[at(4, 11)]);
        assert!(kept[at(11, 11)] > 0.95, "an eye: {}", kept[at(11, 11)]);
        assert!(kept[at(7, 7)] > 0.95, "skin: {}", kept[at(7, 7)]);
    }
}
