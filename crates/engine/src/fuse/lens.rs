//! Lenses: the skin seen through a clear lens is hazed or tinted by the glass; it takes the colour of
//! the skin around the glasses, so that once the frames are painted out no ghost of the lenses
//! stays.

use super::morphology::square_extreme;
use super::raster::{median, ramp, LowRes};
use super::P2;
use crate::parse::Part;

/// Width of the skin around a lens that its inside is matched to, in inter-ocular distances.
pub(super) const LENS_RING: f32 = 0.15;
/// Limits of the gain that matches the skin behind a lens to the skin around it.
const LENS_GAIN: (f32, f32) = (0.7, 1.4);
/// Least share of the cells where a lens can be that the parse must call glasses (and skin behind)
/// for the lens's colour to be matched.
const LENS_SEEN: f32 = 0.1;

/// What [`lens_gains`] reads, on the analysis grid.
pub(super) struct LensCues<'a> {
    pub(super) grid: &'a LowRes,
    /// The grid's colours.
    pub(super) small: &'a [f32],
    pub(super) parts: &'a [[f32; crate::parse::PARTS]],
    /// How much each cell is frame.
    pub(super) frame: &'a [f32],
    /// Whether a cell is an eye or a brow (never a lens's skin, nor the skin around).
    pub(super) features: &'a dyn Fn(usize) -> bool,
    /// The eyes' centres, in cells.
    pub(super) eyes: [P2; 2],
    /// Whether a cell lies where glasses can be.
    pub(super) within: &'a dyn Fn(usize) -> bool,
    /// How far around the glasses the skin the lenses are matched to lies, in cells.
    pub(super) ring: usize,
}

/// Per grid cell and channel, the gain that gives the skin behind each lens the colour of the skin
/// around the glasses on that side of the face (1 outside the glasses, as soft as the parse's
/// edge): the ratio of the medians of the skin around and behind, within [`LENS_GAIN`]. Behind a
/// lens is what the parse calls glasses and is neither frame nor eye.
pub(super) fn lens_gains(cues: &LensCues) -> Vec<f32> {
    let (gw, gh) = (cues.grid.w, cues.grid.h);
    let n = gw * gh;
    let glasses: Vec<f32> = cues
        .parts
        .iter()
        .map(|p| p[Part::Glasses as usize])
        .collect();
    let around = square_extreme(&glasses, gw, gh, cues.ring, true);
    // Each cell's side: nearer the first eye or the second.
    let [a, b] = cues.eyes;
    let side = |i: usize| {
        let (x, y) = ((i % gw) as f32 + 0.5, (i / gw) as f32 + 0.5);
        ((x - a.0).powi(2) + (y - a.1).powi(2) > (x - b.0).powi(2) + (y - b.1).powi(2)) as usize
    };
    let skin = |i: usize| {
        !(cues.features)(i)
            && cues.frame[i] < 0.1
            && (cues.within)(i)
            && cues.parts[i][Part::Skin as usize] + glasses[i] > 0.5
    };
    let median = |cells: &[usize], c: usize| {
        median(
            &mut cells
                .iter()
                .map(|&i| cues.small[i * 3 + c])
                .collect::<Vec<_>>(),
            16,
        )
    };
    let gains: Vec<[f32; 3]> = (0..2)
        .map(|s| {
            let behind: Vec<usize> = (0..n)
                .filter(|&i| side(i) == s && glasses[i] > 0.5 && skin(i))
                .collect();
            // A lens the parse hardly sees (a hazed one, taken for skin) leaves a few cells by its
            // frame or on the lid, darker than the skin behind it: their gain brightened the few
            // cells it reached into pale patches. Such a lens is left as it is.
            let lens_area = (0..n).filter(|&i| side(i) == s && (cues.within)(i)).count();
            if (behind.len() as f32) < LENS_SEEN * lens_area as f32 {
                return [1.0; 3];
            }
            let beside: Vec<usize> = (0..n)
                .filter(|&i| side(i) == s && glasses[i] < 0.2 && around[i] > 0.5 && skin(i))
                .collect();
            [0, 1, 2].map(|c| match (median(&beside, c), median(&behind, c)) {
                (Some(out), Some(inn)) => {
                    (out.max(1.0) / inn.max(1.0)).clamp(LENS_GAIN.0, LENS_GAIN.1)
                }
                _ => 1.0,
            })
        })
        .collect();
    (0..n)
        .flat_map(|i| {
            let lens = ramp(glasses[i], (0.2, 0.5));
            gains[side(i)].map(|g| 1.0 + lens * (g - 1.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::PARTS;

    const W: usize = 80;
    const H: usize = 40;
    const SKIN: [f32; 3] = [150.0, 110.0, 90.0];

    /// Whether a cell of the 80 by 40 test grid is behind one of two lenses (the eyes at (22, 20)
    /// and (58, 20)).
    fn behind_lens(i: usize) -> bool {
        let (x, y) = (i % W, i / W);
        (10..34).contains(&x) && (10..30).contains(&y)
            || (46..70).contains(&x) && (10..30).contains(&y)
    }

    /// The lenses' gains over skin of one colour, where the parse calls `parsed` cells glasses and
    /// the grid has `colour`.
    fn gains(parsed: &dyn Fn(usize) -> bool, colour: &dyn Fn(usize) -> [f32; 3]) -> Vec<f32> {
        let grid = LowRes::new(W, H, 1);
        let small: Vec<f32> = (0..W * H).flat_map(colour).collect();
        let parts: Vec<[f32; PARTS]> = (0..W * H)
            .map(|i| {
                let mut p = [0f32; PARTS];
                p[if parsed(i) { Part::Glasses } else { Part::Skin } as usize] = 1.0;
                p
            })
            .collect();
        lens_gains(&LensCues {
            grid: &grid,
            small: &small,
            parts: &parts,
            frame: &vec![0.0; W * H],
            features: &|_| false,
            eyes: [(22.0, 20.0), (58.0, 20.0)],
            within: &|_| true,
            ring: 4,
        })
    }

    #[test]
    fn the_skin_behind_a_lens_takes_the_colour_of_the_skin_around_the_glasses() {
        // Behind the lenses the skin is hazed brighter and bluer, as a clear lens's reflection
        // makes it.
        let haze = [165.0, 128.0, 115.0];
        let colour = |i: usize| if behind_lens(i) { haze } else { SKIN };
        let gain = gains(&behind_lens, &colour);
        for i in [20 * W + 22, 15 * W + 60] {
            let fixed: Vec<f32> = (0..3).map(|c| colour(i)[c] * gain[i * 3 + c]).collect();
            for c in 0..3 {
                assert!(
                    (fixed[c] - SKIN[c]).abs() < 1.0,
                    "{fixed:?} against {SKIN:?}"
                );
            }
        }
        // Outside the glasses nothing changes.
        assert!(gain[(2 * W + 40) * 3..(2 * W + 40) * 3 + 3]
            .iter()
            .all(|&g| g == 1.0));
    }

    #[test]
    fn a_lens_the_parse_hardly_sees_is_left_as_it_is() {
        // The second lens is hazed too, but the parse calls only a strip along its top glasses,
        // where its frame's shadow makes the skin dark: matched to the skin around, those cells
        // would be brightened by half.
        let haze = [165.0, 128.0, 115.0];
        let strip = |i: usize| (50..66).contains(&(i % W)) && (10..12).contains(&(i / W));
        let parsed = |i: usize| behind_lens(i) && (i % W < 40 || strip(i));
        let colour = |i: usize| match (strip(i), behind_lens(i)) {
            (true, _) => [100.0, 73.0, 60.0],
            (false, true) => haze,
            (false, false) => SKIN,
        };
        let gain = gains(&parsed, &colour);
        let strip_cell = 11 * W + 58;
        assert_eq!(gain[strip_cell * 3..strip_cell * 3 + 3], [1.0; 3]);
        // The lens the parse sees is still matched.
        let seen = 20 * W + 22;
        assert!(gain[seen * 3..seen * 3 + 3].iter().all(|&g| g < 0.95));
    }
}
