//! Relief: the mid-scale shading of a face (eye sockets, the shadow beside a nose, under a lip, a
//! side light's half-shadow), between the fine detail that stays A's and the low-frequency light
//! that the shading gain makes B's. Under a hard light A's relief is much deeper than B's soft one,
//! and carried over it reads as a mask lit from elsewhere: it is then flattened towards B's depth,
//! its shadows lifted and its highlights dimmed.

use super::raster::{luma, ramp, LowRes};
use super::side_shadows::{Levels, SideShadows};

/// Blurs, in face widths, that bound the relief band: what is finer is detail (pores, wrinkles,
/// kept), what is coarser is light (B's, through the shading gain).
const RELIEF_FINE: f32 = 0.015;
const RELIEF_COARSE: f32 = 0.1;
/// How much deeper than B's A's relief may be before it is flattened (faces differ: deep-set eyes
/// are A's own).
const RELIEF_TOLERANCE: f32 = 1.2;
/// How far A's relief is moved towards B's distribution (the rest stays A's).
const RELIEF_STRENGTH: f32 = 0.75;
/// How far A's relief is moved towards B's relief at the same place, where that is shallower (a
/// hard light's eye sockets on a flash-lit face); never towards a deeper one.
const LOCAL_STRENGTH: f32 = 0.8;
/// The share of a face's skin whose relief is deeper than its depth.
const DEPTH_QUANTILE: f32 = 0.9;
/// Lift (log of the flattening's brightness factor) from which a lifted pixel starts to take the
/// hue of the skin around, and at which it takes it whole.
const LIFT_HUE: (f32, f32) = (0.0, 0.35);
/// Brightness floor of the log: black pixels must not make a bottomless relief.
const LUMA_FLOOR: f32 = 8.0;
/// Relief (log brightness) under which a cell's share of relief kept is measured against this
/// much: about nothing to flatten, its share stays near 1 rather than a ratio of two small numbers.
const SMALL_RELIEF: f32 = 0.05;
/// Blur, in face widths, of a pixel's own relief: pores and fine lines stay A's detail.
const PIXEL_RELIEF_BLUR: f32 = 0.004;
/// Skin share of a cell (B's, and A's) from which B's own shading there starts to count for the
/// flattening, and at which it counts fully.
const B_SEEN: (f32, f32) = (0.25, 0.75);

/// Per low-res cell, the relief of a face: log brightness at the fine blur less that at the coarse
/// blur, both taken over `weights` (its skin: what is not skin, eyes and brows and lips, takes the
/// relief of the skin around it). `luma` is each cell's mean brightness, `face_width` in cells.
#[cfg(test)]
fn relief(low: &LowRes, luma: &[f32], weights: &[f32], face_width: f32) -> Vec<f32> {
    relief_and_light(low, luma, weights, face_width).0
}

/// A face's relief (log brightness at the fine blur less that at the coarse blur, both taken over
/// `weights`), and the light it is measured against: the log brightness at the coarse blur.
fn relief_and_light(
    low: &LowRes,
    luma: &[f32],
    weights: &[f32],
    face_width: f32,
) -> (Vec<f32>, Vec<f32>) {
    let log: Vec<f32> = luma
        .iter()
        .zip(weights)
        .map(|(y, w)| y.max(LUMA_FLOOR).ln() * w)
        .collect();
    let at = |sigma: f32| low.weighted_mean(&log, weights, sigma);
    let (fine, coarse) = (at(RELIEF_FINE * face_width), at(RELIEF_COARSE * face_width));
    let near = low.blur(weights, 1, RELIEF_FINE * face_width);
    let relief = fine
        .iter()
        .zip(&coarse)
        .zip(&near)
        .map(|((f, c), n)| if *n > 1e-3 { f - c } else { 0.0 })
        .collect();
    (relief, coarse)
}

/// How deep a relief is over `weights`: the magnitude that the deepest tenth of the skin (cells
/// of weight at least a half) passes, in log brightness (0.2: about a fifth darker or brighter than
/// the light around). The deepest shadows are what make a mask, not the mean.
pub(super) fn depth(relief: &[f32], weights: &[f32]) -> f32 {
    deepest_tenth(&magnitudes(relief, weights))
}

/// What the deepest tenth of sorted magnitudes passes; 0 for too few cells to tell.
fn deepest_tenth(sorted: &[f32]) -> f32 {
    if sorted.len() < 20 {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f32 * DEPTH_QUANTILE) as usize]
}

/// How A's relief is flattened: each shadowed cell's depth moved most of the way to B's depth at
/// the same rank (A's relief given B's distribution of depths, as a histogram match), never
/// deepened; each highlight likewise towards B's highlights, never brightened. `None` when A's
/// relief is not much deeper than B's.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Flattening {
    /// A's magnitudes over its skin, sorted.
    a: Vec<f32>,
    /// B's, sorted.
    b: Vec<f32>,
    /// A's highlights (its relief above the light around) over its skin, sorted.
    a_lit: Vec<f32>,
    /// B's, sorted.
    b_lit: Vec<f32>,
}

/// The magnitudes of a relief over the skin (cells of weight at least a half), sorted.
fn magnitudes(relief: &[f32], weights: &[f32]) -> Vec<f32> {
    over_skin_sorted(relief, weights, |r| Some(r.abs()))
}

/// The highlights of a relief (what is above the light around) over the skin, sorted.
fn highlights(relief: &[f32], weights: &[f32]) -> Vec<f32> {
    over_skin_sorted(relief, weights, |r| (r > 0.0).then_some(r))
}

/// What `pick` keeps of a relief's skin cells (weight at least a half), sorted.
fn over_skin_sorted(
    relief: &[f32],
    weights: &[f32],
    pick: impl Fn(f32) -> Option<f32>,
) -> Vec<f32> {
    let mut v: Vec<f32> = relief
        .iter()
        .zip(weights)
        .filter(|(_, &w)| w >= 0.5)
        .filter_map(|(&r, _)| pick(r))
        .collect();
    v.sort_by(f32::total_cmp);
    v
}

/// What `sorted_b` holds at the rank that `m` has in `sorted_a` (a histogram match).
fn at_same_rank(sorted_a: &[f32], sorted_b: &[f32], m: f32) -> f32 {
    let rank = sorted_a.partition_point(|&v| v < m) as f32 / sorted_a.len() as f32;
    sorted_b[((sorted_b.len() - 1) as f32 * rank.min(1.0)) as usize]
}

impl Flattening {
    pub(super) fn new(
        relief_a: &[f32],
        weights_a: &[f32],
        relief_b: &[f32],
        weights_b: &[f32],
    ) -> Option<Flattening> {
        let (a, b) = (
            magnitudes(relief_a, weights_a),
            magnitudes(relief_b, weights_b),
        );
        if a.len() < 20 || b.len() < 20 {
            return None;
        }
        if deepest_tenth(&a) <= deepest_tenth(&b) * RELIEF_TOLERANCE {
            return None;
        }
        Some(Flattening {
            a,
            b,
            a_lit: highlights(relief_a, weights_a),
            b_lit: highlights(relief_b, weights_b),
        })
    }

    /// The flattened relief of `r`, in a cell where B's relief is `here` (when B's skin is seen
    /// there): the lift to B's depth at the same rank, or to B's own shading of the same place,
    /// whichever is more. The ranks alone lift A's deepest shadows to B's deepest (its nostrils,
    /// under its lip) and leave A's dark eye sockets dark on B's flash-lit face. A highlight is
    /// dimmed the same way ([`Flattening::dim`]).
    pub(super) fn apply(&self, r: f32, here: Option<f32>) -> f32 {
        if r >= 0.0 {
            return self.dim(r, here);
        }
        let m = r.abs();
        let target = at_same_rank(&self.a, &self.b, m);
        let ranked = r.signum() * m.min(m + RELIEF_STRENGTH * (target - m));
        let local = here.map_or(r, |b| r + LOCAL_STRENGTH * (b.min(0.0) - r).max(0.0));
        ranked.max(local)
    }

    /// A highlight `r` dimmed the same way: towards B's highlight at the same rank, or B's own
    /// shading of the same place, whichever is dimmer; never brightened. A hard key light's lit
    /// ridge (a nose, a forehead) under B's gain burns out to a white, colourless patch on a
    /// flat-lit face.
    fn dim(&self, r: f32, here: Option<f32>) -> f32 {
        if self.a_lit.len() < 20 || self.b_lit.len() < 20 {
            return r;
        }
        let target = at_same_rank(&self.a_lit, &self.b_lit, r);
        let ranked = r.min(r + RELIEF_STRENGTH * (target - r));
        let local = here.map_or(r, |b| r - LOCAL_STRENGTH * (r - b.max(0.0)).max(0.0));
        ranked.min(local)
    }
}

/// What [`flatten`] measures B's relief on, and where it may change A's face.
pub(super) struct Template<'a> {
    /// B's mean brightness per low-res cell.
    pub(super) luma: &'a [f32],
    /// Per low-res cell, how much of it is B's uncovered skin.
    pub(super) skin: &'a [f32],
}

/// What [`flatten`] measures A's relief on, and what it leaves.
pub(super) struct Source<'a> {
    /// A's blend weight per pixel.
    pub(super) alpha: &'a [f32],
    /// The parse's probability of A's skin per pixel.
    pub(super) skin: &'a [f32],
    /// Per low-res cell, how much of it is A's hair: dark and textured, a beard or stubble
    /// however little of the face it covers. It is no shadow: lifted, a short beard turned into
    /// pale, skin-coloured blotches.
    pub(super) hair: &'a [f32],
}

/// Flattens the relief of A's warped face (`warped`, per pixel, over `a`'s skin): its one-sided
/// shadows lifted by `side`, then the whole brought towards B's when it is much deeper. Returns
/// both depths.
pub(super) fn flatten(
    low: &LowRes,
    warped: &mut [f32],
    a: &Source,
    b: &Template,
    side: &SideShadows,
    face_width: f32,
) -> [f32; 2] {
    let (alpha, skin) = (a.alpha, a.skin);
    // A is measured on what is blended in (its pixels there carry B's light already).
    let weighted: Vec<f32> = skin.iter().zip(alpha).map(|(s, a)| s * a).collect();
    let blended: Vec<f32> = alpha.iter().map(|&a| (a > 0.0) as u8 as f32).collect();
    let lumas: Vec<f32> = warped
        .chunks_exact(3)
        .zip(&blended)
        .map(|(p, m)| luma([p[0], p[1], p[2]]) * m)
        .collect();
    let (sum, count) = (low.average(&lumas, 1), low.average(&blended, 1));
    let a_luma: Vec<f32> = sum
        .iter()
        .zip(&count)
        .map(|(s, n)| if *n > 1e-3 { s / n } else { 0.0 })
        .collect();
    let a_weights = low.average(&weighted, 1);
    let (relief_a, light_a) = relief_and_light(low, &a_luma, &a_weights, face_width);
    let (relief_b, light_b) = relief_and_light(low, b.luma, b.skin, face_width);
    // B's depth over the same skin as A's: B's skin beyond A's blended face (at its hairline,
    // beside its ears) has shadows that A's is not measured on.
    let b_shared: Vec<f32> = b
        .skin
        .iter()
        .zip(&a_weights)
        .map(|(s, a)| if *a >= 0.5 { *s } else { 0.0 })
        .collect();
    let depths = [depth(&relief_a, &a_weights), depth(&relief_b, &b_shared)];
    // A side light's one-sided shadows: lifted within the relief (to the light around at most),
    // and how much each cell is to be lifted in all (past the light around where a shadow as wide
    // as the relief's coarse blur darkens it).
    let side_lift = (side.strength > 0.0).then(|| {
        let levels = |relief: &[f32], light: &[f32], weights| Levels {
            level: relief.iter().zip(light).map(|(r, l)| r + l).collect(),
            weights,
        };
        let in_all = side.level_lift(
            low,
            &levels(&relief_a, &light_a, &a_weights),
            &levels(&relief_b, &light_b, &b_shared),
            face_width,
        );
        (side.lift(low, &relief_a, &a_weights, face_width), in_all)
    });
    let lifted = side_lift
        .as_ref()
        .map_or(&relief_a[..], |(lifted, _)| lifted);
    let flat = Flattening::new(lifted, &a_weights, &relief_b, &b_shared);
    if flat.is_some() || side_lift.is_some() {
        // Per cell, the share of its relief that is kept: a cell is the mean of a shadow's dark
        // core and its paler rim, and one factor per cell left the core dark and lifted the rim
        // past the light around (a nostril's shadow as a black line with a pale halo). And the
        // lift past the light around: what the side light's lift in all asks for beyond what the
        // relief's own lift and flattening give.
        let (kept, past_light): (Vec<f32>, Vec<Option<f32>>) = relief_a
            .iter()
            .zip(lifted)
            .enumerate()
            .map(|(i, (&r, &l))| {
                // B's own shading of the same place counts as far as both faces' skin is seen
                // there (A's beard, B's hair: no skin shading to match). Cut at half of each, a
                // lit brow ridge where the parse is unsure of A's skin was left bright in square
                // cells beside cells dimmed to B's shading (lin into portrait_f1).
                let flattened = flat.as_ref().map_or(l, |f| {
                    let anywhere = f.apply(l, None);
                    let seen = ramp(b.skin[i], B_SEEN) * ramp(a_weights[i], B_SEEN);
                    if seen > 0.0 {
                        anywhere + seen * (f.apply(l, Some(relief_b[i])) - anywhere)
                    } else {
                        anywhere
                    }
                });
                let r_held = r.signum() * r.abs().max(SMALL_RELIEF);
                let kept = (1.0 + (flattened - r) / r_held).clamp(0.0, 1.0);
                let hair = a.hair[i].clamp(0.0, 1.0);
                let past = side_lift.as_ref().map(|(_, in_all)| {
                    let given = ((1.0 - kept) * -r).max(0.0);
                    (in_all[i] - given).max(0.0) * (1.0 - hair)
                });
                (kept + hair * (1.0 - kept), past)
            })
            .unzip();
        // Only under a side light is there a lift past the light around to read per pixel.
        let past_light: Option<Vec<f32>> = past_light.into_iter().collect();
        // Per pixel, the relief against the same light: on the skin each pixel's own (its mid-scale
        // darkness, pores and fine lines left out), elsewhere (eyes, brows, lips) the cell's.
        // Only what is blended in counts: B's glasses or hair kept in front of the face (no
        // brightness here) would darken the pixels beside them.
        let full = LowRes::new(low.full_w, low.full_h, 1);
        let sigma = PIXEL_RELIEF_BLUR * face_width * low.block as f32;
        let log_px: Vec<f32> = lumas
            .iter()
            .zip(&blended)
            .map(|(y, m)| y.max(LUMA_FLOOR).ln() * m)
            .collect();
        let log_px = full.weighted_mean(&log_px, &blended, sigma);
        let factor = |i: usize, x: usize, y: usize| {
            let r_cell = low.sample::<1>(&relief_a, x, y)[0];
            let r_px = log_px[i] - low.sample::<1>(&light_a, x, y)[0];
            let r = r_cell + skin[i].clamp(0.0, 1.0) * (r_px - r_cell);
            let past = past_light
                .as_ref()
                .map_or(0.0, |p| low.sample::<1>(p, x, y)[0]);
            ((low.sample::<1>(&kept, x, y)[0] - 1.0) * r + past).exp()
        };
        let hue = skin_hue(low, warped, &weighted, &a_weights, face_width);
        for (i, &a) in alpha.iter().enumerate() {
            if a > 0.0 {
                let (x, y) = (i % low.full_w, i / low.full_w);
                let f = factor(i, x, y);
                let p = &mut warped[i * 3..i * 3 + 3];
                for v in p.iter_mut() {
                    *v *= f;
                }
                // A shadow's colour is deeper than the lit skin's (its light went through skin):
                // lifted as it is, it would paint red-brown patches. Lifted skin takes the hue of
                // the skin around, by how much it is lifted.
                let t = ramp(f.ln(), LIFT_HUE) * skin[i];
                if t > 0.0 {
                    let level = luma([p[0], p[1], p[2]]);
                    let h = low.sample::<3>(&hue, x, y);
                    for c in 0..3 {
                        p[c] += t * (h[c] * level - p[c]);
                    }
                }
            }
        }
    }
    depths
}

/// Per low-res cell, the hue of the skin around (its colour over its brightness, skin-weighted
/// at the relief's coarse blur); (1, 1, 1) where there is no skin near.
fn skin_hue(
    low: &LowRes,
    warped: &[f32],
    weighted: &[f32],
    weights: &[f32],
    face_width: f32,
) -> Vec<f32> {
    let sums = low.average(
        &warped
            .iter()
            .enumerate()
            .map(|(j, v)| v * weighted[j / 3])
            .collect::<Vec<_>>(),
        3,
    );
    let sigma = RELIEF_COARSE * face_width;
    let (sums, weight) = (low.blur(&sums, 3, sigma), low.blur(weights, 1, sigma));
    (0..low.w * low.h)
        .flat_map(|i| {
            if weight[i] < 1e-3 {
                return [1.0; 3];
            }
            let c = [0, 1, 2].map(|k| sums[i * 3 + k] / weight[i]);
            let y = luma(c).max(1.0);
            c.map(|v| v / y)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::mirror::mirrored_about_the_middle;

    #[test]
    fn a_deep_shadow_is_relief_an_even_slope_is_not_and_features_do_not_count() {
        let (w, h) = (64, 64);
        let low = LowRes::new(w, h, 1);
        let skin = vec![1f32; w * h];
        // A slope of light across the face (B's business) and a dark socket of 6 cells.
        let slope: Vec<f32> = (0..w * h).map(|i| 100.0 + (i % w) as f32).collect();
        let socket = |i: usize| (20..26).contains(&(i % w)) && (20..26).contains(&(i / w));
        let shadowed: Vec<f32> = (0..w * h)
            .map(|i| if socket(i) { slope[i] * 0.5 } else { slope[i] })
            .collect();
        let flat = relief(&low, &slope, &skin, 64.0);
        let deep = relief(&low, &shadowed, &skin, 64.0);
        let at = 22 * w + 22;
        assert!(flat[at].abs() < 0.02, "a slope is light: {}", flat[at]);
        assert!(deep[at] < -0.3, "a socket is relief: {}", deep[at]);
        // The depth is what the deepest tenth of the skin passes, whichever sign.
        let ramp: Vec<f32> = (0..100)
            .map(|i| if i % 2 == 0 { i as f32 } else { -(i as f32) } / 100.0)
            .collect();
        let d = depth(&ramp, &[1.0; 100]);
        assert!((d - 0.89).abs() < 0.011, "{d}");
        assert_eq!(depth(&ramp, &[0.4; 100]), 0.0, "no skin, no depth");
        // A dark eye (not skin) inside an even face makes no relief around it.
        let eye: Vec<f32> = (0..w * h)
            .map(|i| if socket(i) { 0.0 } else { 1.0 })
            .collect();
        let even = vec![120f32; w * h];
        let with_eye: Vec<f32> = (0..w * h)
            .map(|i| if socket(i) { 20.0 } else { even[i] })
            .collect();
        let r = relief(&low, &with_eye, &eye, 64.0);
        assert!(r.iter().all(|v| v.abs() < 1e-3), "{:?}", r[at]);
    }

    #[test]
    fn only_a_relief_much_deeper_than_the_template_s_is_flattened_towards_its_distribution() {
        let skin = [1.0f32; 100];
        let spread = |scale: f32| -> Vec<f32> {
            (0..100)
                .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * scale * i as f32 / 100.0)
                .collect()
        };
        let (soft, hard) = (spread(0.2), spread(0.6));
        assert!(Flattening::new(&soft, &skin, &soft, &skin).is_none());
        assert!(
            Flattening::new(&spread(0.22), &skin, &soft, &skin).is_none(),
            "within the tolerance"
        );
        let flat = Flattening::new(&hard, &skin, &soft, &skin).unwrap();
        // A's deepest shadow, -0.59, is brought most of the way to B's deepest, -0.2.
        let deepest = flat.apply(-0.594, None);
        assert!(
            (deepest + 0.594 - 0.75 * (0.594 - 0.198)).abs() < 0.01,
            "{deepest}"
        );
        let shadow = flat.apply(-0.3, None);
        assert!(
            shadow < 0.0 && shadow > -0.3,
            "a shadow stays a shadow: {shadow}"
        );
        // A's brightest highlight, 0.59, is dimmed most of the way to B's brightest, 0.2; a
        // highlight already as dim as B's at its rank stays.
        let brightest = flat.apply(0.594, None);
        assert!(
            (brightest - 0.594 + 0.75 * (0.594 - 0.198)).abs() < 0.01,
            "{brightest}"
        );
        assert!(flat.apply(0.3, None) < 0.3 && flat.apply(0.3, None) > 0.0);
        assert!(flat.apply(0.002, None) <= 0.002, "never brightened");
        assert_eq!(flat.apply(0.0, None), 0.0);
        assert!(flat.apply(-0.002, None) >= -0.002, "never deepened");
        // Where B's own shading of the same place is shallower than the rank gives (a flash-lit
        // eye socket), A's is lifted most of the way to it; never deepened towards a deeper one.
        let socket = flat.apply(-0.594, Some(-0.05));
        assert!(
            (socket + 0.594 - 0.8 * (0.594 - 0.05)).abs() < 0.01,
            "{socket}"
        );
        assert_eq!(flat.apply(-0.594, Some(-0.9)), deepest);
        // A highlight where B's own place is not lit (B's shadow there) is dimmed most of the
        // way to flat, whatever its rank.
        let unlit = flat.apply(0.3, Some(-0.2));
        assert!((unlit - 0.2 * 0.3).abs() < 0.01, "{unlit}");
    }

    #[test]
    fn a_wide_one_sided_shadow_is_lifted_to_its_mirror_side_unless_the_template_has_it_too() {
        // Sixty-four cells across, mirrored about the middle; a shadow ten cells wide (about as
        // wide as the relief's coarse blur, which it darkens) on the left only.
        let (w, h) = (64, 40);
        let low = LowRes::new(w, h, 1);
        let mirror = mirrored_about_the_middle(w, h);
        let side = SideShadows::new(&mirror, 1.0);
        let shadow = |i: usize| (14..24).contains(&(i % w));
        let face: Vec<f32> = (0..w * h)
            .flat_map(|i| if shadow(i) { [90.0; 3] } else { [160.0; 3] })
            .collect();
        let ones = vec![1f32; w * h];
        let no_hair = vec![0f32; w * h];
        let a = Source {
            alpha: &ones,
            skin: &ones,
            hair: &no_hair,
        };
        let fused = |b_luma: &[f32]| {
            let mut warped = face.clone();
            let template = Template {
                luma: b_luma,
                skin: &ones,
            };
            flatten(&low, &mut warped, &a, &template, &side, 64.0);
            warped[(20 * w + 19) * 3]
        };
        // Lifted only to the light around, the shadow's core stayed at about 117.
        let flat_b = fused(&vec![160f32; w * h]);
        assert!(flat_b > 145.0, "lifted to the lit side: {flat_b}");
        assert!(flat_b < 163.0, "not past B's level: {flat_b}");
        // B has the same shadow: it is B's light, and is lifted no further than before.
        let shadowed_b: Vec<f32> = (0..w * h)
            .map(|i| if shadow(i) { 90.0 } else { 160.0 })
            .collect();
        let kept = fused(&shadowed_b);
        assert!(
            kept < 125.0,
            "B's own shadow is lifted no further than the light around: {kept}"
        );
    }

    #[test]
    fn a_lifted_shadow_takes_the_hue_of_the_skin_around() {
        // Warm skin with a dark socket whose colour is deeper (redder), into an evenly lit B.
        let (w, h) = (64, 64);
        let low = LowRes::new(w, h, 1);
        let socket = |i: usize| (20..26).contains(&(i % w)) && (20..26).contains(&(i / w));
        let mut warped: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                if socket(i) {
                    [80.0, 40.0, 25.0]
                } else {
                    [200.0, 150.0, 120.0]
                }
            })
            .collect();
        let ones = vec![1f32; w * h];
        let b_luma = vec![150f32; w * h];
        let template = Template {
            luma: &b_luma,
            skin: &ones,
        };
        let before = warped[(22 * w + 22) * 3];
        let no_side = SideShadows::new(&[], 0.0);
        // The same dark patch, were it dark, textured hair (a short beard), stays as it is.
        let hair: Vec<f32> = (0..w * h).map(|i| socket(i) as u8 as f32).collect();
        let mut bearded = warped.clone();
        let a = Source {
            alpha: &ones,
            skin: &ones,
            hair: &hair,
        };
        flatten(&low, &mut bearded, &a, &template, &no_side, 64.0);
        let kept = bearded[(22 * w + 22) * 3..(22 * w + 22) * 3 + 3].to_vec();
        assert_eq!(kept, [80.0, 40.0, 25.0], "hair is no shadow");
        let no_hair = vec![0f32; w * h];
        let a = Source {
            hair: &no_hair,
            ..a
        };
        flatten(&low, &mut warped, &a, &template, &no_side, 64.0);
        let p = &warped[(22 * w + 22) * 3..(22 * w + 22) * 3 + 3];
        assert!(p[0] > before, "the shadow is lifted: {p:?}");
        // The skin's red over green is 1.33, the shadow's 2.0: lifted whole it stayed 2.0.
        let red = p[0] / p[1];
        assert!(red < 1.6, "lifted with the skin's hue: {red} ({p:?})");
        let skin = &warped[(5 * w + 5) * 3..(5 * w + 5) * 3 + 3];
        let untouched = skin
            .iter()
            .zip([200.0, 150.0, 120.0])
            .all(|(v, w)| (v - w).abs() < 0.5);
        assert!(untouched, "lit skin is untouched: {skin:?}");
    }

    #[test]
    fn a_lit_ridge_is_dimmed_by_how_surely_it_is_skin_without_a_step() {
        // A bright ridge across even skin (a lit brow ridge), into a B with a paler ridge
        // elsewhere (its highlights are strong too) but even skin where A's ridge is, and where the
        // parse grows surer of A's skin from left to right (0.2 to 0.8). Cut at half, the right
        // half was dimmed towards B's even shading there and the left half not: a bright patch
        // with a cell's square edge.
        let (w, h) = (64, 64);
        let low = LowRes::new(w, h, 1);
        let ridge = |i: usize| (28..34).contains(&(i / w));
        let mut warped: Vec<f32> = (0..w * h)
            .flat_map(|i| if ridge(i) { [230.0; 3] } else { [160.0; 3] })
            .collect();
        let skin: Vec<f32> = (0..w * h)
            .map(|i| 0.2 + 0.6 * (i % w) as f32 / (w - 1) as f32)
            .collect();
        let ones = vec![1f32; w * h];
        let b_luma: Vec<f32> = (0..w * h)
            .map(|i| {
                if (10..16).contains(&(i / w)) {
                    185.0
                } else {
                    150.0
                }
            })
            .collect();
        let template = Template {
            luma: &b_luma,
            skin: &ones,
        };
        let no_side = SideShadows::new(&[], 0.0);
        let no_hair = vec![0f32; w * h];
        let a = Source {
            alpha: &ones,
            skin: &skin,
            hair: &no_hair,
        };
        flatten(&low, &mut warped, &a, &template, &no_side, 64.0);
        let at = |x: usize| warped[(31 * w + x) * 3];
        let step = (1..w)
            .map(|x| (at(x) - at(x - 1)).abs())
            .fold(0f32, f32::max);
        assert!(step < 3.0, "no step along the ridge: {step}");
        assert!(
            at(56) < at(8) - 10.0,
            "surer skin is dimmed more: {} against {}",
            at(56),
            at(8)
        );
    }

    #[test]
    fn a_narrow_shadow_is_lifted_in_its_core_and_its_rim_not_past_the_light_around() {
        // A nostril's hard shadow: a dark band three pixels high in even skin, into an evenly lit
        // B, on cells of four pixels (the band and the skin beside it share cells). One factor per
        // cell left the band's core dark and lifted the skin beside it past the light around: a
        // black line with a pale rim, as if drawn.
        let (w, h) = (64, 64);
        let low = LowRes::new(w, h, 4);
        let band = |i: usize| (30..33).contains(&(i / w)) && (16..48).contains(&(i % w));
        let mut warped: Vec<f32> = (0..w * h)
            .flat_map(|i| if band(i) { [40.0; 3] } else { [160.0; 3] })
            .collect();
        let ones = vec![1f32; w * h];
        let b_luma = vec![150f32; low.w * low.h];
        let b_skin = vec![1f32; low.w * low.h];
        let template = Template {
            luma: &b_luma,
            skin: &b_skin,
        };
        let no_side = SideShadows::new(&[], 0.0);
        let no_hair = vec![0f32; low.w * low.h];
        let a = Source {
            alpha: &ones,
            skin: &ones,
            hair: &no_hair,
        };
        flatten(&low, &mut warped, &a, &template, &no_side, 16.0);
        let at = |x: usize, y: usize| warped[(y * w + x) * 3];
        let core = (16..48).map(|x| at(x, 31)).fold(f32::MAX, f32::min);
        let rim = (24..40)
            .flat_map(|y| (16..48).map(move |x| (x, y)))
            .filter(|&(x, y)| !band(y * w + x))
            .map(|(x, y)| at(x, y))
            .fold(0f32, f32::max);
        assert!(core > 65.0, "the core is lifted: {core}");
        assert!(
            rim < 165.0,
            "the skin beside it stays at the light around: {rim}"
        );
    }
}
