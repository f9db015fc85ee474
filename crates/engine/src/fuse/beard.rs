//! Beards: a face's beard per low-resolution cell, found by darkness and texture in the lower face;
//! B's stays in front of the new face, A's is carried onto a shaven B.

use super::morphology::closing;
use super::raster::{luma, median, ramp, LowRes};

/// Share of a dark area's cells that are textured too, over the beard's softening, from which it
/// starts to count as hair rather than a smooth shadow, and at which fully.
const HAIRY_SHARE: (f32, f32) = (0.1, 0.3);
/// Brightness, relative to the face's own skin, below which the lower face counts as beard fully,
/// and from which it starts counting.
const BEARD_LEVELS: (f32, f32) = (0.6, 0.82);
/// Fine detail of a cell, in multiples of the face's own skin's (a darker cell's raised as a
/// contrast, see [`beard`]), from which it starts to count as hair, and at which fully.
const BEARD_TEXTURE: (f32, f32) = (2.0, 3.5);
/// Beard levels of a cell from which it counts as beard whole, and at which fully.
const BEARD_WHOLE: (f32, f32) = (0.15, 0.45);

/// Half the widest gap inside a beard that is taken as beard too, in face widths: a short beard is
/// darker along the jaw and round the mouth than on the cheeks between, and found by its darkness
/// alone it was a ring, whose inside, taken for skin, was lifted and smoothed into a bare patch.
const GAP_RADIUS: f32 = 0.06;

/// The carried beard's feather at the oval, as a share of the skin's.
const JAW_FEATHER: f32 = 0.25;

/// What a face's low-res cells say about a beard: their mean colour and fine detail (block
/// averages weighted by `m_low`, the region's share of each cell), which cells sample the face's
/// own skin, the lips' share of each cell, and each cell's place across the face (any unit, in
/// the face's own frame: how far towards one side).
pub(super) struct BeardCues<'a> {
    pub(super) colour: &'a [f32],
    pub(super) detail: &'a [f32],
    pub(super) m_low: &'a [f32],
    pub(super) sample: &'a [bool],
    pub(super) lips: &'a [f32],
    pub(super) across: &'a [f32],
}

/// Brightness of a sample cell, as a share of the skin's median, inside which it takes part in
/// the fit of the light across the face: skin in shadow or in light, not an eye, a brow or a
/// glint.
const SIDE_LIGHT_SAMPLE: (f32, f32) = (0.4, 2.0);

/// Residual, in robust deviations (1.4826 median absolute residuals) of the first fit, past which a
/// sample is left out of the second: a fringe or a shadowed eye socket on one side tilts a plain
/// least-squares line.
const SIDE_LIGHT_OUTLIER: f32 = 3.0;

/// The skin's brightness across the face (`across`): a straight line's slope fitted over the
/// sample cells (`samples`: place across and brightness) whose brightness is within
/// [`SIDE_LIGHT_SAMPLE`] of the median `skin`, fitted again without the samples that the first
/// fit leaves [`SIDE_LIGHT_OUTLIER`] out; the line goes through the samples' median once the slope
/// is taken out, is held at the samples' outermost places past them, and is never under
/// [`SIDE_LIGHT_SAMPLE`]'s floor. A side light's lit cheek and shaded cheek differ by half the
/// skin's brightness; against the median alone, a beard lit on one side is as bright as the skin
/// there, and a bare jaw in shadow as dark as a beard.
fn skin_across(samples: &[(f32, f32)], skin: f32) -> impl Fn(f32) -> f32 {
    let mut used: Vec<(f32, f32)> = samples
        .iter()
        .copied()
        .filter(|&(_, l)| l >= SIDE_LIGHT_SAMPLE.0 * skin && l <= SIDE_LIGHT_SAMPLE.1 * skin)
        .collect();
    let (mut mx, mut slope, mut level) = line_through_median(&used, skin);
    let mut residuals: Vec<f32> = used
        .iter()
        .map(|&(x, l)| (l - level - slope * (x - mx)).abs())
        .collect();
    if let Some(mad) = median(&mut residuals, 8) {
        let reach = SIDE_LIGHT_OUTLIER * 1.4826 * mad.max(1.0);
        used.retain(|&(x, l)| (l - level - slope * (x - mx)).abs() <= reach);
        (mx, slope, level) = line_through_median(&used, skin);
    }
    let (lo, hi) = used.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &(x, _)| {
        (lo.min(x), hi.max(x))
    });
    move |x: f32| {
        let x = if lo <= hi { x.clamp(lo, hi) } else { mx };
        (level + slope * (x - mx)).max(SIDE_LIGHT_SAMPLE.0 * skin)
    }
}

/// The least-squares slope of brightness across `samples` (0 for fewer than 8), their mean place,
/// and their median brightness once the slope is taken out (`skin` for none): the skin's level as
/// it would be without a side light.
fn line_through_median(samples: &[(f32, f32)], skin: f32) -> (f32, f32, f32) {
    let n = samples.len().max(1) as f32;
    let (mx, ml) = samples
        .iter()
        .fold((0.0, 0.0), |(x, l), &(ux, ul)| (x + ux / n, l + ul / n));
    let (sxx, sxl) = samples.iter().fold((0.0, 0.0), |(xx, xl), &(ux, ul)| {
        (xx + (ux - mx) * (ux - mx), xl + (ux - mx) * (ul - ml))
    });
    let slope = if samples.len() >= 8 && sxx > 1e-6 {
        sxl / sxx
    } else {
        0.0
    };
    let level = median(
        &mut samples
            .iter()
            .map(|&(x, l)| l - slope * (x - mx))
            .collect::<Vec<_>>(),
        8,
    )
    .unwrap_or(skin);
    (mx, slope, level)
}

/// A face's beard, per low-res cell.
pub(super) struct Beard {
    /// How much of each cell is beard or stubble (dark against the skin), taken whole, made as
    /// whole on each side as on the other ([`Beard::symmetric`]).
    whole: Vec<f32>,
    /// The same as found, side by side: what [`Beard::hairy`] weighs the hair against (with the
    /// mirrored beard, a found beard's own hair was thinned below a hair's share, and a stubble
    /// that is not carried was lifted by the relief as if a shadow).
    found: Vec<f32>,
    /// How much of each cell is both dark and much more textured than the skin: hair, where the
    /// shadow of a side light is dark but smooth. Its share tells a beard from a shadow.
    pub(super) hair: Vec<f32>,
    /// Blur, in cells, that softens the beard's edge.
    sigma: f32,
}

impl Beard {
    /// No beard over `cells` cells.
    fn none(cells: usize, sigma: f32) -> Beard {
        Beard {
            whole: vec![0.0; cells],
            found: vec![0.0; cells],
            hair: vec![0.0; cells],
            sigma,
        }
    }

    /// The beard made as whole on each side of the face as on the other: a cell takes its mirror cell's (`mirror`, per cell,
    /// [`super::mirror::NO_MIRROR`] for none) as far as it `may` be beard (0 to 1; the caller's
    /// choice of where: the lower face, away from the lips, where B shows its face, inside the
    /// oval). A beard grows on both sides; a side light, or a paler beard lit, leaves one side as
    /// bright as the skin, and a beard found by its darkness alone was carried, or kept in front,
    /// on one side of the jaw only.
    pub(super) fn symmetric(&mut self, mirror: &[u32], may: &[f32]) {
        for (i, w) in self.whole.iter_mut().enumerate() {
            if let Some(&m) = self.found.get(mirror[i] as usize) {
                *w = w.max(m.min(may[i]));
            }
        }
    }

    /// The beard's gaps (narrower than twice [`GAP_RADIUS`] of the face's width, `cells_wide` cells)
    /// closed where it `may` be beard (as in [`Beard::symmetric`]).
    pub(super) fn close_gaps(&mut self, low: &LowRes, cells_wide: f32, may: &[f32]) {
        let radius = (GAP_RADIUS * cells_wide).round() as usize;
        if radius == 0 {
            return;
        }
        let closed = closing(&self.whole, low.w, low.h, radius);
        for ((w, c), m) in self.whole.iter_mut().zip(&closed).zip(may) {
            *w = w.max(c.min(*m));
        }
    }

    /// The beard softened: what stays in front of the new face when B has a beard.
    pub(super) fn softened(&self, low: &LowRes) -> Vec<f32> {
        low.blur(&self.whole, 1, self.sigma)
    }

    /// What a face's light leaves out when the face has a beard (A's and B's alike): the beard
    /// softened, and never less than its own cells. Softened alone, a thin beard (a goatee's band)
    /// hid only part of its hair, whose darkness then read as A's light, and the bare skin beside it
    /// was lifted to a white patch.
    pub(super) fn hiding(&self, low: &LowRes) -> Vec<f32> {
        self.softened(low)
            .iter()
            .zip(&self.whole)
            .map(|(s, w)| s.max(*w))
            .collect()
    }

    /// How much each cell is a beard's or stubble's hair rather than a smooth shadow: the dark
    /// parts around it (softened) by the share of them that is textured too. Per cell, hairs
    /// and the skin between them alternate; over the beard's softening they do not.
    pub(super) fn hairy(&self, low: &LowRes) -> Vec<f32> {
        let (hair, whole) = (
            low.blur(&self.hair, 1, self.sigma),
            low.blur(&self.found, 1, self.sigma),
        );
        hair.iter()
            .zip(&whole)
            .map(|(h, w)| {
                if *w <= 1e-3 {
                    return 0.0;
                }
                w.min(1.0) * ramp(h / w, HAIRY_SHARE)
            })
            .collect()
    }

    /// A's beard as carried onto a clean-shaven B, by `amount` (how surely A has a beard and B has
    /// not): grown by a cell so that its thin edges (stubble along the jaw, a moustache's ends)
    /// come whole, and feathered at the oval (`m_low`, the region's share of each cell) by only
    /// [`JAW_FEATHER`] of the skin's `feather`, so that it reaches B's jaw line instead of fading
    /// into B's skin above it.
    pub(super) fn carried(
        &self,
        low: &LowRes,
        m_low: &[f32],
        feather: f32,
        amount: f32,
    ) -> Vec<f32> {
        if amount <= 0.0 {
            return vec![0.0; self.whole.len()];
        }
        let grown = low.blur(&low.grow(&self.whole, 1), 1, (0.5 * self.sigma).max(0.5));
        let edge = low.blur(m_low, 1, JAW_FEATHER * feather);
        grown
            .iter()
            .zip(&edge)
            .map(|(b, e)| amount * b.min(1.0) * ((e - 0.5) / 0.45).clamp(0.0, 1.0))
            .collect()
    }
}

/// Per low-res cell of a face's lower part (`lower`, 0 above the mouth area, 1 below), away from
/// the lips: how much is beard or stubble, darker than the face's own skin (the median of the
/// sample cells, under the light across the face: [`skin_across`]), and how much is hair, dark
/// and textured both.
pub(super) fn beard(cues: &BeardCues, lower: &dyn Fn(usize) -> f32, feather: f32) -> Beard {
    let BeardCues {
        colour,
        detail,
        m_low,
        sample,
        lips,
        across,
    } = *cues;
    let luma =
        |i: usize| luma([colour[i * 3], colour[i * 3 + 1], colour[i * 3 + 2]]) / m_low[i].max(1e-3);
    let level = |i: usize| detail[i] / m_low[i].max(1e-3);
    let median = |f: &dyn Fn(usize) -> f32| {
        median(
            &mut (0..m_low.len())
                .filter(|&i| sample[i])
                .map(f)
                .collect::<Vec<_>>(),
            8,
        )
    };
    let sigma = (feather * 0.5).max(0.5);
    // A cell darker than the skin has its detail raised by as much as it is darker, up to the
    // darkness at which it is beard whole: a hair's edge against the skin between hairs is a
    // contrast, which scales with the light on it, so a dark beard's detail in levels is low (kit_3's
    // short beard came to 1.76 times its grainy skin's, under the 2 from which hair counts).
    // Bounded there, a deep shadow's grain, as strong in levels as the lit skin's, is not raised
    // past hair's start.
    let Some(median_skin) = median(&luma) else {
        return Beard::none(m_low.len(), sigma);
    };
    let samples: Vec<(f32, f32)> = (0..m_low.len())
        .filter(|&i| sample[i])
        .map(|i| (across[i], luma(i)))
        .collect();
    let skin_at = skin_across(&samples, median_skin);
    let skin = |i: usize| skin_at(across[i]).max(1.0);
    let texture =
        |i: usize| level(i) * (skin(i) / luma(i).max(1.0)).clamp(1.0, 1.0 / BEARD_LEVELS.0);
    let Some(smooth) = median(&texture) else {
        return Beard::none(m_low.len(), sigma);
    };
    let (beard, hair): (Vec<f32>, Vec<f32>) = (0..m_low.len())
        .map(|i| {
            if m_low[i] < 0.5 {
                return (0.0, 0.0);
            }
            // Darker than the skin: from the start level (0) down to the full one (1).
            let (full, start) = BEARD_LEVELS;
            let darkness = ramp(luma(i) / skin(i), (start, full));
            let rough = ramp(texture(i) / smooth.max(0.5), BEARD_TEXTURE);
            let place = lower(i) * (1.0 - lips[i]).clamp(0.0, 1.0);
            (darkness * place, darkness.min(rough) * place)
        })
        .unzip();
    // Whole: stubble half kept in front, or half carried, would leave a blotchy chin.
    let whole: Vec<f32> = beard.iter().map(|b| ramp(*b, BEARD_WHOLE)).collect();
    Beard {
        found: whole.clone(),
        whole,
        hair,
        sigma,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_a_side_light_a_beard_is_found_on_its_lit_side_and_a_bare_jaw_in_shadow_is_not() {
        // 20×20 cells lit from the left: the skin's brightness falls evenly from 200 at the left
        // edge to 100 at the right (median 150). The lower face (rows 10 on) is bare skin as bright
        // as the cheek above it, but for a beard on the left half of rows 15 on, at 0.65 of the
        // skin there: near the lit edge, over four fifths of the median, no beard against it.
        let (w, h) = (20, 20);
        let m_low = vec![1f32; w * h];
        let skin = |x: usize| 200.0 - 100.0 * x as f32 / (w - 1) as f32;
        let colour: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let v = if y >= 15 && x < 10 {
                    0.65 * skin(x)
                } else {
                    skin(x)
                };
                [v, v, v]
            })
            .collect();
        let sample: Vec<bool> = (0..w * h).map(|i| i / w < 8).collect();
        let (lips, detail) = (vec![0f32; w * h], vec![3f32; w * h]);
        let across: Vec<f32> = (0..w * h).map(|i| (i % w) as f32).collect();
        let lower = |i: usize| (i / w >= 10) as u8 as f32;
        let found = beard(
            &BeardCues {
                colour: &colour,
                detail: &detail,
                m_low: &m_low,
                sample: &sample,
                lips: &lips,
                across: &across,
            },
            &lower,
            0.5,
        );
        assert!(found.whole[17 * w + 1] > 0.9, "the lit beard");
        assert_eq!(found.whole[17 * w + 18], 0.0, "the bare jaw in shadow");
        assert_eq!(found.whole[12 * w + 1], 0.0, "the bare lit jaw");
    }

    #[test]
    fn a_beard_found_on_one_side_is_made_whole_on_the_other_where_it_may_be() {
        // One row of 6 cells, mirrored about its middle; the beard found on the left only.
        let found = vec![1.0, 0.8, 0.0, 0.0, 0.0, 0.0];
        let mut beard = Beard {
            whole: found.clone(),
            found,
            hair: vec![0.0; 6],
            sigma: 1.0,
        };
        let none = super::super::mirror::NO_MIRROR;
        let mirror = [5, 4, 3, 2, 1, none];
        // The last cell has no mirror; the fifth may be beard only by a half.
        beard.symmetric(&mirror, &[1.0, 1.0, 1.0, 1.0, 0.5, 1.0]);
        assert_eq!(beard.whole, vec![1.0, 0.8, 0.0, 0.0, 0.5, 0.0]);
        assert_eq!(beard.found, vec![1.0, 0.8, 0.0, 0.0, 0.0, 0.0], "as found");
        // What was found stays, whatever its mirror.
        beard.symmetric(&mirror, &[0.0; 6]);
        assert_eq!(beard.whole[0], 1.0);
    }

    #[test]
    fn a_ring_of_beard_is_closed_where_it_may_be_beard_and_a_wide_gap_is_not() {
        // 40×40 cells over a face 40 cells wide (a gap radius of 2 cells): a beard along the jaw
        // (rows 30 and 31) and round the mouth (rows 24 and 25), with four bare rows between;
        // the left half of the face may not be beard. Above the mouth, a bare gap six rows high
        // up to a moustache (rows 16 and 17).
        let (w, h) = (40, 40);
        let low = LowRes::new(w, h, 1);
        let found: Vec<f32> = (0..w * h)
            .map(|i| [16, 17, 24, 25, 30, 31].contains(&(i / w)) as u8 as f32)
            .collect();
        let mut beard = Beard {
            whole: found.clone(),
            found,
            hair: vec![0.0; w * h],
            sigma: 1.0,
        };
        let may: Vec<f32> = (0..w * h).map(|i| (i % w >= 20) as u8 as f32).collect();
        beard.close_gaps(&low, w as f32, &may);
        for y in 26..30 {
            assert_eq!(beard.whole[y * w + 30], 1.0, "the ring's inside, row {y}");
            assert_eq!(
                beard.whole[y * w + 10],
                0.0,
                "where no beard may be, row {y}"
            );
        }
        for y in 19..23 {
            assert_eq!(beard.whole[y * w + 30], 0.0, "the wide gap, row {y}");
        }
        assert_eq!(beard.found[27 * w + 30], 0.0, "as found");
    }

    #[test]
    fn a_dark_textured_lower_face_is_beard_but_not_the_lips_above_the_mouth_or_a_shadow() {
        // 20×20 cells: skin of brightness 150 above row 10, a beard of 60 below, lips at row 14.
        let (w, h) = (20, 20);
        let low = LowRes::new(w, h, 1);
        let m_low = vec![1f32; w * h];
        let colour: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let v = if i / w >= 10 { 60.0 } else { 150.0 };
                [v, v, v]
            })
            .collect();
        let sample: Vec<bool> = (0..w * h).map(|i| i / w < 8).collect();
        let lips: Vec<f32> = (0..w * h).map(|i| (i / w == 14) as u8 as f32).collect();
        let lower = |i: usize| (i / w >= 10) as u8 as f32;
        let across: Vec<f32> = (0..w * h).map(|i| (i % w) as f32).collect();
        // The beard is textured (alternating levels), the skin smooth.
        let detail: Vec<f32> = (0..w * h)
            .map(|i| if i / w >= 10 { 30.0 } else { 3.0 })
            .collect();
        let cues = BeardCues {
            colour: &colour,
            detail: &detail,
            m_low: &m_low,
            sample: &sample,
            lips: &lips,
            across: &across,
        };
        let found = beard(&cues, &lower, 0.5);
        let b = &found.softened(&low);
        let at = |x: usize, y: usize| b[y * w + x];
        assert!(found.hair[17 * w + 10] > 0.9, "dark and textured: hair");
        // A short beard's hairs, as dark, have only 1.76 times the lit skin's detail in levels
        // (its contrast is what counts): still hair.
        let short: Vec<f32> = (0..w * h)
            .map(|i| if i / w >= 10 { 3.0 * 1.76 } else { 3.0 })
            .collect();
        let short = beard(
            &BeardCues {
                detail: &short,
                ..cues
            },
            &lower,
            0.5,
        );
        assert!(short.hair[17 * w + 10] > 0.5, "a short beard is hair");
        // A shadow as dark but smooth, its grain as strong in levels as the lit skin's, is no hair.
        let smooth = vec![3.0; w * h];
        let shadow = beard(
            &BeardCues {
                detail: &smooth,
                ..cues
            },
            &lower,
            0.5,
        );
        assert!(
            shadow.hair.iter().all(|&v| v == 0.0),
            "a smooth shadow is no hair"
        );
        // Hairy: the beard is, inside; the shadow is not, however dark.
        assert!(found.hairy(&low)[17 * w + 10] > 0.9, "a beard is hair");
        assert!(shadow.hairy(&low).iter().all(|&v| v == 0.0), "a shadow");
        // Stubble, every third cell a hair (the cells between as dark but smooth), is hair too,
        // over a softening of a few cells.
        let stubble: Vec<f32> = (0..w * h)
            .map(|i| if i / w >= 10 && i % 3 == 0 { 30.0 } else { 3.0 })
            .collect();
        let stubble = beard(
            &BeardCues {
                detail: &stubble,
                ..cues
            },
            &lower,
            4.0,
        );
        let (hairy, dark) = (
            stubble.hairy(&low)[15 * w + 10],
            stubble.softened(&low)[15 * w + 10],
        );
        assert!(
            dark > 0.5 && hairy > dark - 0.01,
            "stubble: {hairy} of {dark}"
        );
        assert!(at(10, 17) > 0.9, "beard: {}", at(10, 17));
        assert!(at(10, 4) < 0.01, "forehead: {}", at(10, 4));
        assert!(at(10, 14) < at(10, 17) - 0.3, "lips: {}", at(10, 14));
    }

    #[test]
    fn a_carried_moustache_comes_whole_and_a_chin_beard_reaches_the_jaw_line() {
        // 40×40 cells of skin at 150 inside the oval (rows above 36) with a moustache of 50
        // three rows tall (rows 20–22), a band narrow against the softening blur, and a chin
        // beard of 50 from row 30 down to the oval's edge.
        let (w, h) = (40, 40);
        let low = LowRes::new(w, h, 1);
        let m_low: Vec<f32> = (0..w * h).map(|i| (i / w < 36) as u8 as f32).collect();
        let hairy = |i: usize| {
            let (x, y) = (i % w, i / w);
            (10..30).contains(&x) && ((20..23).contains(&y) || (30..36).contains(&y))
        };
        let colour: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let v = if hairy(i) { 50.0 } else { 150.0 } * m_low[i];
                [v, v, v]
            })
            .collect();
        let detail = vec![3.0; w * h];
        let sample: Vec<bool> = (0..w * h).map(|i| i / w < 15).collect();
        let none = vec![0f32; w * h];
        let lower = |i: usize| (i / w >= 18) as u8 as f32;
        let feather = 4.5;
        let found = beard(
            &BeardCues {
                colour: &colour,
                detail: &detail,
                m_low: &m_low,
                sample: &sample,
                lips: &none,
                across: &none,
            },
            &lower,
            feather,
        );
        let at = |v: &[f32], x: usize, y: usize| v[y * w + x];
        let carried = found.carried(&low, &m_low, feather, 1.0);
        // Softened alone, the band is thinned into a faint moustache; carried, it is whole.
        let softened = found.softened(&low);
        assert!(
            at(&softened, 20, 21) < 0.7,
            "softened: {}",
            at(&softened, 20, 21)
        );
        assert!(
            at(&carried, 20, 21) > 0.9,
            "moustache: {}",
            at(&carried, 20, 21)
        );
        for y in [20, 22] {
            assert!(
                at(&carried, 20, y) > 0.8,
                "moustache row {y}: {}",
                at(&carried, 20, y)
            );
        }
        // Two cells above the oval's edge the beard is three quarters whole; the skin's feather
        // leaves a quarter there, a band of B's skin under a floating beard.
        let skin_edge = low.blur(&m_low, 1, feather);
        let skin = ((at(&skin_edge, 20, 34) - 0.5) / 0.45).clamp(0.0, 1.0);
        let jaw = at(&carried, 20, 34);
        eprintln!("two cells above the jaw line: skin's feather {skin}, the beard {jaw}");
        assert!(
            jaw > 0.7 && jaw > 2.0 * skin,
            "at the jaw: {jaw} (skin {skin})"
        );
        assert!(at(&carried, 20, 5) < 0.01, "the forehead is no beard");
        assert!(at(&carried, 20, 38) == 0.0, "nothing outside the oval");
        // No beard carried when B has one or A has none.
        assert!(found
            .carried(&low, &m_low, feather, 0.0)
            .iter()
            .all(|&c| c == 0.0));
    }
}
