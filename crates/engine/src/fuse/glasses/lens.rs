//! Lenses: the skin seen through a clear lens is hazed or tinted by the glass; it takes the colour of
//! the skin around the glasses, so that once the frames are painted out no ghost of the lenses
//! stays.

use crate::fuse::morphology::square_extreme;
use crate::fuse::raster::{luma, median, ramp, LowRes};
use crate::fuse::P2;
use crate::parse::Part;

/// Width of the skin around a lens that its inside is matched to, in inter-ocular distances.
pub(super) const LENS_RING: f32 = 0.15;
/// Limits of the gain that matches the skin behind a lens to the skin around it.
const LENS_GAIN: (f32, f32) = (0.7, 1.4);
/// Least share of the cells where a lens can be that the parse must call glasses (and skin behind)
/// for the lens's colour to be matched.
const LENS_SEEN: f32 = 0.1;
/// Frame weight from which a cell stops the fill of a lens's inside.
const FRAME_WALL: f32 = 0.3;
/// How far a frame is grown before it closes a lens in, in inter-ocular distances: a gap of up to
/// twice this (a thin or glinting stretch of the rim) is closed.
const FRAME_GAP: f32 = 0.025;
/// How far from a closed frame the skin inside and outside it that are matched reach, in
/// inter-ocular distances.
const RIM_BAND: f32 = 0.08;
/// Brightness of a lens's inside against the skin it is matched to: down to the first figure it is
/// the eye socket's own shade (the lids, the hollow under the eye), which the lens only shows, and
/// the skin behind the lens is not brightened; from the second down it is the lens's tint, and is
/// brightened to the skin around in full.
const SOCKET_SHADE: (f32, f32) = (0.85, 0.75);

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
    /// The inter-ocular distance, in cells.
    pub(super) iod: f32,
}

/// Per grid cell and channel, the gain that gives the skin behind each lens the colour of the skin
/// around the glasses on that side of the face (1 outside the glasses, as soft as the parse's
/// edge), within [`LENS_GAIN`]. Behind a lens is what the parse calls glasses, or what the lens's
/// frame closes in ([`enclosed_by_frames`]), and is neither frame nor eye. A lens closed in by its
/// frame is matched at its rim: the median of the skin just inside the frame to that just outside.
/// Otherwise the medians of the skin behind the lens and all around the glasses are matched.
pub(super) fn lens_gains(cues: &LensCues) -> Vec<f32> {
    let (gw, gh) = (cues.grid.w, cues.grid.h);
    let n = gw * gh;
    // Behind a lens is what the parse calls glasses, and what the frame closes round each eye: a
    // clear lens's haze is often parsed as skin, and its ghost stayed.
    let Enclosed {
        share: enclosed,
        eye: enclosing_eye,
    } = enclosed_by_frames(cues);
    let glasses: Vec<f32> = cues
        .parts
        .iter()
        .zip(&enclosed)
        .map(|(p, &e)| p[Part::Glasses as usize].max(e))
        .collect();
    let around = square_extreme(&glasses, gw, gh, cues.ring, true);
    // Each cell's side: the eye whose frame closes it in, or else the nearer eye (a turned face's
    // near lens reaches past the line halfway between the eyes).
    let [a, b] = cues.eyes;
    let side = |i: usize| {
        if let Some(eye) = enclosing_eye[i] {
            return eye;
        }
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
    // Where a frame closes a lens in, the skin just inside its rim is matched to the skin just
    // outside (the lid to the brow's skin, the lens's lower half to the cheek): over the whole lens
    // and ring, the socket's own shade inside and the lit cheek and temple outside made a
    // greyed, hazed lens brighter still.
    let wall: Vec<f32> = cues
        .frame
        .iter()
        .map(|&f| (f >= FRAME_WALL) as u8 as f32)
        .collect();
    let rim = square_extreme(
        &wall,
        gw,
        gh,
        ((RIM_BAND * cues.iod).round() as usize).max(1),
        true,
    );
    // `skin` already leaves the frame out.
    let by_rim = |i: usize| rim[i] > 0.0 && skin(i);
    let gains: Vec<[f32; 3]> = (0..2)
        .map(|s| {
            let inside: Vec<usize> = (0..n)
                .filter(|&i| side(i) == s && enclosed[i] > 0.5 && by_rim(i))
                .collect();
            let outside: Vec<usize> = (0..n)
                .filter(|&i| side(i) == s && enclosed[i] < 1e-3 && by_rim(i))
                .collect();
            // Too few cells on either side of the rim (a small face, glasses at the grid's edge):
            // matched as a lens the frame does not close.
            let at_rim: [Option<(f32, f32)>; 3] =
                [0, 1, 2].map(|c| median(&outside, c).zip(median(&inside, c)));
            if let [Some(r), Some(g), Some(b)] = at_rim {
                return matched([r, g, b]);
            }
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
            match [0, 1, 2].map(|c| median(&beside, c).zip(median(&behind, c))) {
                [Some(r), Some(g), Some(b)] => matched([r, g, b]),
                _ => [1.0; 3],
            }
        })
        .collect();
    (0..n)
        .flat_map(|i| {
            let lens = ramp(glasses[i], (0.2, 0.5));
            gains[side(i)].map(|g| 1.0 + lens * (g - 1.0))
        })
        .collect()
}

/// The gains that give a lens's inside the colour of the skin it is matched to, from the medians of
/// both per channel (the skin's, the inside's), within [`LENS_GAIN`]. A clear lens's haze
/// brightens what it shows, and may be darkened away; an inside darker than the skin is the eye
/// socket's shade, brightened only as far as it is too dark for that ([`SOCKET_SHADE`]): matched
/// in full, df_img24's sockets under a soft light (0.85 and 0.9 of the skin at the rims) came out
/// as pale patches the lenses' shape round the eyes.
fn matched(medians: [(f32, f32); 3]) -> [f32; 3] {
    let gains =
        medians.map(|(out, inn)| (out.max(1.0) / inn.max(1.0)).clamp(LENS_GAIN.0, LENS_GAIN.1));
    let brightness = luma(medians.map(|m| m.1)).max(1.0) / luma(medians.map(|m| m.0)).max(1.0);
    if brightness >= 1.0 {
        return gains;
    }
    // Of the overall brightening only what the socket's shade leaves; the colour's shift whole.
    let full = 1.0 / brightness;
    let kept = 1.0 + ramp(brightness, SOCKET_SHADE) * (full - 1.0);
    gains.map(|g| g / full * kept)
}

/// Where frames close lenses in ([`enclosed_by_frames`]), per grid cell.
struct Enclosed {
    /// How much the cell is inside a closed frame, softened by a cell as the parse's edge is.
    share: Vec<f32>,
    /// Which eye's frame closes it in (0 or 1), if one does.
    eye: Vec<Option<usize>>,
}

/// Where a frame closes a cell in round an eye: reached from the eye's centre without crossing the
/// frame, and the fill does not run out of where glasses can be or off the grid (a frame with a
/// wide gap, or rimless glasses, encloses nothing).
fn enclosed_by_frames(cues: &LensCues) -> Enclosed {
    let (gw, gh) = (cues.grid.w, cues.grid.h);
    let n = gw * gh;
    // A frame's thin or glinting stretch leaves a gap of a few cells: the walls are the frame grown
    // by that much, and what they close in is grown back by as much.
    let gap = ((FRAME_GAP * cues.iod).round() as usize).max(1);
    let wall = square_extreme(cues.frame, gw, gh, gap, true);
    let mut share = vec![0f32; n];
    let mut eye = vec![None; n];
    for (k, &(ex, ey)) in cues.eyes.iter().enumerate() {
        let (x, y) = (ex.floor(), ey.floor());
        if x < 0.0 || y < 0.0 || x >= gw as f32 || y >= gh as f32 {
            continue;
        }
        let start = y as usize * gw + x as usize;
        // An eye's centre on the grown frame (a glint on the lens): nothing to fill from.
        if wall[start] >= FRAME_WALL {
            continue;
        }
        let mut seen = vec![false; n];
        let mut stack = vec![start];
        let mut filled = vec![0f32; n];
        let mut closed = true;
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (cx, cy) = (i % gw, i / gw);
            // Out of where glasses can be, or at the grid's edge: no frame closed it in.
            if !(cues.within)(i) || cx == 0 || cy == 0 || cx + 1 == gw || cy + 1 == gh {
                closed = false;
                break;
            }
            filled[i] = 1.0;
            for j in [i - 1, i + 1, i - gw, i + gw] {
                if !seen[j] && wall[j] < FRAME_WALL {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        if closed {
            let grown = square_extreme(&filled, gw, gh, gap, true);
            for i in (0..n).filter(|&i| grown[i] > 0.0) {
                share[i] = 1.0;
                eye[i].get_or_insert(k);
            }
        }
    }
    Enclosed {
        share: cues.grid.blur(&share, 1, 1.0),
        eye,
    }
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
    /// the grid has `colour`, and no frame is found.
    fn gains(parsed: &dyn Fn(usize) -> bool, colour: &dyn Fn(usize) -> [f32; 3]) -> Vec<f32> {
        gains_with_frames(parsed, colour, &|_| false)
    }

    /// [`gains`] with the cells where `frame` says a frame is.
    fn gains_with_frames(
        parsed: &dyn Fn(usize) -> bool,
        colour: &dyn Fn(usize) -> [f32; 3],
        frame: &dyn Fn(usize) -> bool,
    ) -> Vec<f32> {
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
            frame: &(0..W * H)
                .map(|i| frame(i) as u8 as f32)
                .collect::<Vec<_>>(),
            features: &|_| false,
            eyes: [(22.0, 20.0), (58.0, 20.0)],
            within: &|_| true,
            ring: 4,
            iod: 36.0,
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
    fn a_lens_s_inside_as_dark_as_a_socket_s_shade_is_not_brightened_and_a_tinted_one_is() {
        // The first lens shows the skin at 0.88 of its brightness, as an eye socket's shade is; the
        // second at 0.74, as a lightly tinted lens makes it.
        let shade = |k: f32| SKIN.map(|v| v * k);
        let colour = |i: usize| match (behind_lens(i), i % W < 40) {
            (true, true) => shade(0.88),
            (true, false) => shade(0.74),
            _ => SKIN,
        };
        let gain = gains(&behind_lens, &colour);
        let (socket, tinted) = (20 * W + 22, 20 * W + 58);
        for c in 0..3 {
            let kept = gain[socket * 3 + c];
            assert!(
                (kept - 1.0).abs() < 0.01,
                "socket shade brightened by {kept}"
            );
            let fixed = colour(tinted)[c] * gain[tinted * 3 + c];
            assert!((fixed - SKIN[c]).abs() < 1.0, "{fixed} against {}", SKIN[c]);
        }
    }

    #[test]
    fn a_lens_the_parse_takes_for_skin_is_matched_where_its_frame_closes_it_in() {
        // Both lenses hazed, the parse calls them skin; each frame is a ring round its lens, the
        // second with a gap of a cell (a glint on a thin rim).
        let haze = [165.0, 128.0, 115.0];
        let ring = |i: usize, x0: usize, x1: usize| {
            let (x, y) = (i % W, i / W);
            ((x0 - 1..=x1).contains(&x) && (y == 9 || y == 30))
                || ((9..=30).contains(&y) && (x == x0 - 1 || x == x1))
        };
        let frame = |i: usize| ring(i, 10, 34) || (ring(i, 46, 70) && i != 20 * W + 70);
        let colour = |i: usize| match (frame(i), behind_lens(i)) {
            (true, _) => [40.0, 30.0, 30.0],
            (false, true) => haze,
            (false, false) => SKIN,
        };
        let gain = gains_with_frames(&|_| false, &colour, &frame);
        for i in [20 * W + 22, 15 * W + 60] {
            for c in 0..3 {
                let fixed = colour(i)[c] * gain[i * 3 + c];
                assert!((fixed - SKIN[c]).abs() < 1.0, "{fixed} against {}", SKIN[c]);
            }
        }
        // Outside the frames nothing changes.
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
