//! Light: each face's skin-weighted low-frequency light, the shading gain from A's to B's, and the
//! per-pixel gains that put it on A (white parts, lips, a carried beard's hair). A's highlights are
//! in [`super::highlights`].

use super::raster::{luma, median, ramp, LowRes};

/// Tolerance of the skin test, in median absolute deviations of the interior.
pub(super) const SKIN_SPREAD: f32 = 3.0;
/// Limits of the brightness gain of the shading transfer.
pub(super) const BRIGHTNESS_RANGE: (f32, f32) = (0.3, 2.5);
/// Limits of the per-channel colour gain, against chroma blow-ups on desaturated sources.
pub(super) const TINT_RANGE: (f32, f32) = (0.6, 1.7);
/// A's low-frequency level is floored at this before dividing, so dark hair or shadows in A cannot
/// produce huge gains.
pub(super) const GAIN_FLOOR: f32 = 24.0;

/// Brightest channel of a pixel from which it can be teeth or the white of an eye, and at which it
/// fully can (below, it is an iris, a shadow, a brow: no white to keep).
const NEUTRAL_BRIGHTNESS: (f32, f32) = (90.0, 130.0);
/// Saturation ((max − min) / max) under which a bright pixel that is not skin is white (teeth,
/// the white of an eye), and over which it is coloured (lips, a red mouth's inside).
pub(super) const NEUTRAL_SATURATION: (f32, f32) = (0.4, 0.25);

/// How much a pixel `p` of A is white (teeth, the white of an eye): bright, unsaturated and not
/// skin (`skin`: the parse's probability that it is), from 0 to 1.
pub(super) fn whiteness(p: [f32; 3], skin: f32) -> f32 {
    let max = p[0].max(p[1]).max(p[2]);
    if max <= NEUTRAL_BRIGHTNESS.0 {
        return 0.0;
    }
    let min = p[0].min(p[1]).min(p[2]);
    (1.0 - skin).clamp(0.0, 1.0)
        * ramp(max, NEUTRAL_BRIGHTNESS)
        * ramp((max - min) / max, NEUTRAL_SATURATION)
}

/// The gain for one pixel `p` of A, given the shading gain `g` there and the parse's probability
/// `skin` that it is skin. The per-channel tint of the gain is the ratio of B's skin colour to A's:
/// right for skin, wrong for what is white (teeth, the whites of the eyes), which it would turn
/// cyan or orange. Those take the same brightness change without the tint.
pub(super) fn pixel_gain(p: [f32; 3], g: [f32; 3], skin: f32) -> [f32; 3] {
    let white = whiteness(p, skin);
    if white <= 0.0 {
        return g;
    }
    // One gain for all channels that changes the pixel's brightness as the tinted gain would.
    let y = luma(p).max(1.0);
    let level = luma([p[0] * g[0], p[1] * g[1], p[2] * g[2]]) / y;
    g.map(|gc| gc + white * (level - gc))
}

/// `shaded` (a pixel `p` of A times its gain) with each channel's share of its brightness kept
/// between `p`'s own and B's skin `tone` there (its colour over its brightness), at the same
/// brightness. The tint is B's skin colour over A's mean one: a pixel paler than A's mean (a lit
/// brow ridge in a face of deep-toned shadows) multiplied by it passes B's tone and turns white or
/// blue; it stops at B's tone instead.
///
/// Lips (`lips`: how much the pixel is lips, 0 to 1) are no skin: they may stay as much redder than
/// B's skin as they were than A's skin tone `a_tone` (more red, less green or blue). Stopped at
/// B's skin tone, A's pink lips on a tanned B were skin-coloured, a grey-brown smear. A deep-toned
/// skin's lips are often bluer than it: that is not carried (lavender lips on a pale B).
pub(super) fn toward_tone(
    p: [f32; 3],
    shaded: [f32; 3],
    tone: [f32; 3],
    a_tone: [f32; 3],
    lips: f32,
) -> [f32; 3] {
    let (y, ys) = (luma(p).max(1.0), luma(shaded).max(1e-3));
    let bounded = [0, 1, 2].map(|c| {
        let own = p[c] / y;
        let redder = if c == 0 {
            (own - a_tone[c]).max(0.0)
        } else {
            (own - a_tone[c]).min(0.0)
        };
        let to = tone[c] + lips * redder;
        (shaded[c] / ys).clamp(own.min(to), own.max(to))
    });
    let scale = ys / luma(bounded).max(1e-3);
    bounded.map(|q| q * scale)
}

/// Share of the shading gain's log that a carried beard's hair takes. The gain is B's skin over
/// A's: B's light over A's times B's skin's reflectance over A's. Hair keeps its own reflectance,
/// so only the light's part is its; the two parts cannot be told apart on skin alone, so hair takes
/// half. Taken whole, a deep-toned A's black beard on a pale B was lifted to an ashy grey.
const HAIR_GAIN_SHARE: f32 = 0.5;
/// How much darker than A's skin around it (1 − its brightness over the skin's) a pixel of a
/// carried beard starts to be hair, and is wholly: the skin between the hairs is skin.
const HAIR_DARKER: (f32, f32) = (0.15, 0.45);

/// The gain `g` for a pixel `p` of A's carried beard (`beard`: how much the pixel is in it, 0 to
/// 1), A's skin around it at brightness `skin_level`: its hair takes [`HAIR_GAIN_SHARE`] of the
/// gain's log, the skin between the hairs all of it.
pub(super) fn hair_gain(p: [f32; 3], g: [f32; 3], beard: f32, skin_level: f32) -> [f32; 3] {
    let hair = beard * ramp(1.0 - luma(p) / skin_level.max(1.0), HAIR_DARKER);
    if hair <= 0.0 {
        return g;
    }
    let k = 1.0 - (1.0 - HAIR_GAIN_SHARE) * hair;
    g.map(|c| c.max(1e-3).powf(k))
}

/// How far each low-res cell of a warped face is from that face's own skin (the median of the
/// `sample` cells), in tolerances, from block averages `a_low` (sums weighted by `m_low`).
pub(super) fn skin_distance(a_low: &[f32], m_low: &[f32], sample: &[bool]) -> Vec<f32> {
    let colour = |i: usize| [0, 1, 2].map(|c| a_low[i * 3 + c] / m_low[i].max(1e-3));
    let Some(channels) = [0, 1, 2]
        .map(|c| centre_and_spread(sample, &|i| colour(i)[c]))
        .into_iter()
        .collect::<Option<Vec<_>>>()
    else {
        return vec![0.0; m_low.len()];
    };
    (0..m_low.len())
        .map(|i| {
            if m_low[i] < 1e-3 {
                return f32::MAX;
            }
            let p = colour(i);
            let d2: f32 = channels
                .iter()
                .zip(p)
                .map(|(&(centre, spread), v)| ((v - centre) / (SKIN_SPREAD * spread + 8.0)).powi(2))
                .sum();
            (d2 / 3.0).sqrt()
        })
        .collect()
}

/// How much colder each low-res cell of a warped face is than that face's own skin (the median of
/// the `sample` cells), in tolerances: its red over blue, for its brightness, below the skin's.
/// Skin, its shadows and a dark beard are as warm as the skin or warmer; a grey or blue thing in
/// front of the face (a microphone, a phone) is colder, however close its brightness comes.
pub(super) fn coldness(a_low: &[f32], m_low: &[f32], sample: &[bool]) -> Vec<f32> {
    let warmth = |i: usize| {
        let p = [0, 1, 2].map(|c| a_low[i * 3 + c] / m_low[i].max(1e-3));
        (p[0] - p[2]) / (luma(p) + GAIN_FLOOR)
    };
    let Some((centre, spread)) = centre_and_spread(sample, &warmth) else {
        return vec![0.0; m_low.len()];
    };
    (0..m_low.len())
        .map(|i| {
            if m_low[i] < 1e-3 {
                return 0.0;
            }
            (centre - warmth(i)) / (SKIN_SPREAD * spread + WARMTH_TOLERANCE)
        })
        .collect()
}

/// Least tolerance of [`coldness`], in red minus blue over brightness: a face whose skin is all
/// one warmth (a black-and-white photo) still has noise.
const WARMTH_TOLERANCE: f32 = 0.03;

/// The median of `value` over the `sample` cells and the median of its absolute deviation from
/// it; `None` for fewer than eight cells.
fn centre_and_spread(sample: &[bool], value: &dyn Fn(usize) -> f32) -> Option<(f32, f32)> {
    let mut values: Vec<f32> = (0..sample.len())
        .filter(|&i| sample[i])
        .map(value)
        .collect();
    let centre = median(&mut values, 8)?;
    let mut deviations: Vec<f32> = values.iter().map(|v| (v - centre).abs()).collect();
    Some((centre, median(&mut deviations, 8)?))
}

/// How much each low-res cell counts as skin (from 1 down to a small floor), by its colour's
/// distance to the face's own skin colour ([`skin_distance`]).
pub(super) fn skin_weights(distance: &[f32]) -> Vec<f32> {
    distance
        .iter()
        .map(|d| (2.5 - d).clamp(0.05, 1.0))
        .collect()
}

/// One face's low-res colour weighted by skin, ready to be blurred into its light: `weight` is each
/// cell's share inside the fused region times how much it counts as skin, `sums` the cell's mean
/// colour times that weight.
pub(super) struct SkinLight {
    pub(super) weight: Vec<f32>,
    pub(super) sums: Vec<f32>,
    /// The share of each cell's weight left by what hides skin on it (a beard), when something
    /// does: where most of the skin around a cell is hidden, its light is read from the skin
    /// further around ([`SkinLight::blur`]).
    kept: Option<Vec<f32>>,
}

/// Share of the skin around a cell left unhidden at and under which its light is read wholly from
/// the skin further out, and from which wholly from near.
const SEEN: (f32, f32) = (0.2, 0.6);
/// How much wider the blur is that reads a hidden cell's light from the skin around it.
const HIDDEN_WIDER: f32 = 3.0;

impl SkinLight {
    /// From the share of each cell inside the region (`mask`), the cells' mean colours times that
    /// share (`colour`) and how much each cell counts as skin.
    pub(super) fn new(mask: &[f32], colour: &[f32], skin: &[f32]) -> SkinLight {
        SkinLight {
            weight: mask.iter().zip(skin).map(|(m, s)| m * s).collect(),
            sums: colour
                .iter()
                .enumerate()
                .map(|(j, &v)| v * skin[j / 3])
                .collect(),
            kept: None,
        }
    }

    /// From a crop's colours `rgb` over the pixels weighted by `weights` (0 to 1), each cell
    /// counting as skin by `skin`.
    pub(super) fn over_pixels(
        low: &LowRes,
        rgb: &[f32],
        weights: &[f32],
        skin: &[f32],
    ) -> SkinLight {
        SkinLight::new(
            &low.average(weights, 1),
            &low.average_masked(rgb, weights),
            skin,
        )
    }

    /// The same light, told that each cell's weight is only the share `kept` of what it would be
    /// were nothing hidden on it (a beard over A's skin, taken out of A's light).
    pub(super) fn hiding(mut self, kept: &[f32]) -> SkinLight {
        if kept.iter().any(|&k| k < 1.0) {
            self.kept = Some(kept.to_vec());
        }
        self
    }

    /// The same light, with what `other` hides hidden too.
    pub(super) fn hiding_as(mut self, other: &SkinLight) -> SkinLight {
        self.kept = other.kept.clone();
        self
    }

    /// Blurred weight and blurred colour sums. Where most of the skin within the blur is hidden
    /// (inside a full beard), the weighted mean would be the beard's own colour whatever its
    /// weight: the light there is read from the skin around it, over a wider blur.
    pub(super) fn blur(&self, low: &LowRes, sigma: f32) -> (Vec<f32>, Vec<f32>) {
        let (weight, mut sums) = (
            low.blur(&self.weight, 1, sigma),
            low.blur(&self.sums, 3, sigma),
        );
        let Some(kept) = &self.kept else {
            return (weight, sums);
        };
        // The weight each cell would have if nothing on it were hidden.
        let reach: Vec<f32> = self
            .weight
            .iter()
            .zip(kept)
            .map(|(w, k)| w / k.max(1e-3))
            .collect();
        let reach = low.blur(&reach, 1, sigma);
        let wide = sigma * HIDDEN_WIDER;
        let (wide_weight, wide_sums) = (
            low.blur(&self.weight, 1, wide),
            low.blur(&self.sums, 3, wide),
        );
        for i in 0..weight.len() {
            let seen = ramp(weight[i] / reach[i].max(1e-6), SEEN);
            if seen >= 1.0 || weight[i] < 1e-4 || wide_weight[i] < 1e-4 {
                continue;
            }
            for c in 0..3 {
                let (near, far) = (
                    sums[i * 3 + c] / weight[i],
                    wide_sums[i * 3 + c] / wide_weight[i],
                );
                sums[i * 3 + c] = weight[i] * (far + seen * (near - far));
            }
        }
        (weight, sums)
    }
}

/// The shading transfer's parts, per low-res cell: `brightness` (one channel), `tint` (three
/// channels, B's skin colour over A's at equal brightness), `tone` (three channels, B's skin
/// colour over its brightness, which the tint moves A's skin towards), `a_tone` (A's) and
/// `a_level` (one channel, A's skin brightness).
pub(super) struct ShadingGain {
    pub(super) brightness: Vec<f32>,
    pub(super) tint: Vec<f32>,
    pub(super) tone: Vec<f32>,
    pub(super) a_tone: Vec<f32>,
    pub(super) a_level: Vec<f32>,
}

impl ShadingGain {
    /// Both parts at blur `sigma` (low-res pixels), each within its limits.
    pub(super) fn new(low: &LowRes, a: &SkinLight, b: &SkinLight, sigma: f32) -> ShadingGain {
        let (wa, a_blur) = a.blur(low, sigma);
        let (wb, b_blur) = b.blur(low, sigma);
        let mut brightness = vec![1f32; low.w * low.h];
        let mut tint = vec![1f32; low.w * low.h * 3];
        let mut tone = vec![1f32; low.w * low.h * 3];
        let mut a_tone = vec![1f32; low.w * low.h * 3];
        let mut a_level = vec![0f32; low.w * low.h];
        for i in 0..low.w * low.h {
            if wa[i] < 1e-4 || wb[i] < 1e-4 {
                continue;
            }
            let la = [0, 1, 2].map(|c| a_blur[i * 3 + c] / wa[i]);
            let lb = [0, 1, 2].map(|c| b_blur[i * 3 + c] / wb[i]);
            // Brightness follows B's shading within limits (so A's beard or brows are not lifted
            // to skin level), colour follows B's skin tone.
            a_level[i] = luma(la);
            let (ya, yb) = (a_level[i].max(GAIN_FLOOR), luma(lb).max(1.0));
            brightness[i] = (yb / ya).clamp(BRIGHTNESS_RANGE.0, BRIGHTNESS_RANGE.1);
            for c in 0..3 {
                tint[i * 3 + c] = ((lb[c].max(1.0) / yb) / (la[c].max(1.0) / ya))
                    .clamp(TINT_RANGE.0, TINT_RANGE.1);
                tone[i * 3 + c] = lb[c].max(1.0) / yb;
                a_tone[i * 3 + c] = la[c].max(1.0) / luma(la).max(1.0);
            }
        }
        ShadingGain {
            brightness,
            tint,
            tone,
            a_tone,
            a_level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-channel gain that gives A's warped face B's low-frequency shading at blur `sigma` (low-res
    /// pixels): brightness and colour separately, each within limits. Each side's shading is a blur
    /// weighted by skin, so hair and beards do not count as light.
    fn shading_gain(low: &LowRes, a: &SkinLight, b: &SkinLight, sigma: f32) -> Vec<f32> {
        let ShadingGain {
            brightness, tint, ..
        } = ShadingGain::new(low, a, b, sigma);
        tint.iter()
            .enumerate()
            .map(|(j, t)| brightness[j / 3] * t)
            .collect()
    }

    #[test]
    fn a_hidden_beard_s_light_is_the_skin_s_around_it_not_its_own() {
        // A 64-cell face, skin at 150 above, a dark beard (40) over its lower third, taken out of
        // the light to a twentieth of its weight.
        let (w, h) = (64, 64);
        let low = LowRes::new(w, h, 1);
        let mask = vec![1f32; w * h];
        let beard = |i: usize| i / w >= 44;
        let colour: Vec<f32> = (0..w * h * 3)
            .map(|j| if beard(j / 3) { 40.0 } else { 150.0 })
            .collect();
        let kept: Vec<f32> = (0..w * h)
            .map(|i| if beard(i) { 0.05 } else { 1.0 })
            .collect();
        let light = |hiding: bool| {
            let l = SkinLight::new(&mask, &colour, &kept);
            let l = if hiding { l.hiding(&kept) } else { l };
            let (weight, sums) = l.blur(&low, 6.0);
            let i = 56 * w + 32;
            sums[i * 3] / weight[i]
        };
        let (own, around) = (light(false), light(true));
        eprintln!("light in the beard: {own} read off the beard, {around} from the skin around");
        assert!(own < 100.0, "{own}");
        assert!(around > 130.0, "{around}");
    }

    #[test]
    fn grey_metal_is_cold_and_a_shadow_or_a_dark_beard_is_not() {
        // Forty cells of warm skin in a stage light, varying a little; then a grey microphone as
        // bright as the skin, a shadow on the skin at half its brightness, a dark brown beard and
        // a white glint.
        let mut cells: Vec<[f32; 3]> = (0..40)
            .map(|k| {
                let v = (k % 5) as f32 * 3.0;
                [150.0 + v, 115.0 + v * 0.8, 105.0 + v * 0.7]
            })
            .collect();
        cells.extend([
            [112.0, 110.0, 118.0],
            [75.0, 56.0, 50.0],
            [60.0, 45.0, 38.0],
            [250.0, 250.0, 252.0],
        ]);
        let a_low: Vec<f32> = cells.iter().flatten().copied().collect();
        let m_low = vec![1.0; cells.len()];
        let sample: Vec<bool> = (0..cells.len()).map(|i| i < 40).collect();
        let cold = coldness(&a_low, &m_low, &sample);
        assert!(
            cold[..40].iter().all(|&c| c.abs() < 1.0),
            "{:?}",
            &cold[..40]
        );
        let [mic, shadow, beard, glint] = [cold[40], cold[41], cold[42], cold[43]];
        assert!(mic > 2.5, "the microphone: {mic}");
        assert!(glint > 2.5, "the glint: {glint}");
        assert!(shadow < 1.0, "the shadow: {shadow}");
        assert!(beard < 1.0, "the beard: {beard}");
        // The microphone is close to the skin by the plain colour distance: only its coldness
        // tells it.
        assert!(skin_distance(&a_low, &m_low, &sample)[40] < 3.0);
    }

    #[test]
    fn a_local_colour_cast_on_a_takes_b_s_skin_tone_at_the_tint_s_scale() {
        // A 64-cell face of one skin tone with a bluish band (a coloured background's spill) a
        // third of the face wide down its left side; B's skin is even.
        let (w, h) = (64, 64);
        let low = LowRes::new(w, h, 1);
        let mask = vec![1f32; w * h];
        let skin = vec![1f32; w * h];
        let cast = |x: usize| (4..24).contains(&x);
        let a: Vec<f32> = (0..w * h * 3)
            .map(|j| match (j % 3, cast(j / 3 % w)) {
                (2, true) => 130.0,
                (c, _) => [150.0, 105.0, 85.0][c],
            })
            .collect();
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| [220.0, 180.0, 160.0][j % 3])
            .collect();
        let (la, lb) = (
            SkinLight::new(&mask, &a, &skin),
            SkinLight::new(&mask, &b, &skin),
        );
        // Blue over red of the result in the band, against B's.
        let blue_in_band = |sigma: f32| {
            let tint = ShadingGain::new(&low, &la, &lb, sigma * w as f32).tint;
            let i = (h / 2) * w + 14;
            (a[i * 3 + 2] * tint[i * 3 + 2]) / (a[i * 3] * tint[i * 3]) / (160.0 / 220.0)
        };
        let (fine, coarse) = (
            blue_in_band(super::super::shading::TINT_SIGMA),
            blue_in_band(super::super::shading::INNER_SHADING_SIGMA),
        );
        eprintln!("blue over red in the cast, against B: {fine} at the tint's scale, {coarse} at the shading's");
        assert!((fine - 1.0).abs() < 0.08, "at the tint's scale: {fine}");
        assert!(
            coarse > 1.12,
            "at the shading's scale the cast stays: {coarse}"
        );
    }

    #[test]
    fn the_tint_moves_a_pixel_towards_the_template_s_tone_but_never_past_it() {
        // A's mean skin is deep orange (blue at 0.6 of its brightness), B's pale (0.9): the tint
        // lifts blue by 1.5. A lit ridge of A, already paler (0.8), would pass B's tone (1.2).
        let tone = [1.15, 0.95, 0.9];
        let ridge = [220.0, 170.0, 140.0];
        let tinted = ridge.map(|v| v * 1.3);
        let tinted = [tinted[0] * 0.85, tinted[1], tinted[2] * 1.5];
        let out = toward_tone(ridge, tinted, tone, [1.4, 0.8, 0.6], 0.0);
        let y = luma(out);
        assert!((y - luma(tinted)).abs() < 0.5, "brightness kept: {y}");
        assert!(
            (out[2] / y - 0.9).abs() < 0.02,
            "blue stops at B's: {out:?}"
        );
        assert!(
            out[0] > out[1] && out[1] > out[2],
            "still skin-toned: {out:?}"
        );
        // A shadow deeper than A's mean moves towards B's tone and stays short of it: untouched.
        let shadow = [120.0, 70.0, 45.0];
        let tinted = [120.0 * 0.85, 70.0, 45.0 * 1.5];
        let out = toward_tone(shadow, tinted, tone, [1.4, 0.8, 0.6], 0.0);
        for c in 0..3 {
            assert!(
                (out[c] - tinted[c]).abs() < 1e-3,
                "{out:?} against {tinted:?}"
            );
        }
    }

    #[test]
    fn lips_stay_as_much_redder_than_the_template_s_skin_but_not_bluer() {
        // A lip of A's skin tone `a_tone` tinted by `gain` towards B's `tone`, bounded as skin and
        // as lips.
        let bounded = |lip: [f32; 3], a_tone: [f32; 3], tone: [f32; 3], gain: f32| {
            let tinted = [0, 1, 2].map(|c| lip[c] * gain * tone[c] / a_tone[c]);
            (
                toward_tone(lip, tinted, tone, a_tone, 0.0),
                toward_tone(lip, tinted, tone, a_tone, 1.0),
            )
        };
        // A pale skin (red 1.1 of its brightness) with pink lips (1.25) into a tan B (1.35): the
        // tint multiplies the lips redder than B's skin, and they keep what they had over A's.
        let (a_tone, tone) = ([1.1, 0.96, 0.88], [1.35, 0.875, 0.645]);
        let lip = [200.0, 143.0, 147.0];
        let red = |p: [f32; 3]| p[0] / luma(p);
        let (as_skin, as_lips) = bounded(lip, a_tone, tone, 0.7);
        assert!((red(as_skin) - tone[0]).abs() < 0.01, "{as_skin:?}");
        let kept = red(as_lips) - tone[0];
        assert!((kept - (red(lip) - a_tone[0])).abs() < 0.02, "{as_lips:?}");
        // A deep-toned skin's lips, bluer than it, on a pale B: no bluer than skin would be.
        let (as_skin, as_lips) = bounded(
            [120.0, 70.0, 75.0],
            [1.4, 0.85, 0.6],
            [1.15, 0.95, 0.85],
            1.3,
        );
        let blue = |p: [f32; 3]| p[2] / luma(p);
        assert!(blue(as_lips) <= blue(as_skin) + 1e-3, "{as_lips:?}");
    }

    #[test]
    fn a_carried_beard_s_hair_takes_half_the_gain_s_log_and_the_skin_between_all_of_it() {
        let g = [2.2, 1.9, 1.7];
        // A black hair (a quarter of the skin's brightness) takes the square root of the gain.
        let hair = hair_gain([30.0, 25.0, 20.0], g, 1.0, 100.0);
        for c in 0..3 {
            assert!((hair[c] - g[c].sqrt()).abs() < 1e-4, "{hair:?}");
        }
        // The skin between the hairs, and any pixel outside the beard, take the whole gain.
        assert_eq!(hair_gain([110.0, 95.0, 80.0], g, 1.0, 100.0), g);
        assert_eq!(hair_gain([30.0, 25.0, 20.0], g, 0.0, 100.0), g);
        // Half in the beard, half the way in the log.
        let half = hair_gain([30.0, 25.0, 20.0], g, 0.5, 100.0);
        assert!((half[0] - g[0].powf(0.75)).abs() < 1e-4, "{half:?}");
    }

    #[test]
    fn white_parts_take_the_brightness_of_the_gain_without_its_tint() {
        let cold = [0.8, 1.0, 1.3];
        // Skin takes the tint whole, as does a red lip that is not skin.
        assert_eq!(pixel_gain([200.0, 150.0, 120.0], cold, 1.0), cold);
        assert_eq!(pixel_gain([180.0, 80.0, 90.0], cold, 0.0), cold);
        // Dark features have no white to keep.
        assert_eq!(pixel_gain([60.0, 50.0, 45.0], cold, 0.0), cold);
        // Teeth: one gain for all channels, with the brightness the tint would have given.
        let teeth = [220.0, 205.0, 180.0];
        let g = pixel_gain(teeth, cold, 0.0);
        assert!(
            (g[0] - g[1]).abs() < 1e-5 && (g[1] - g[2]).abs() < 1e-5,
            "{g:?}"
        );
        let tinted = luma([teeth[0] * 0.8, teeth[1] * 1.0, teeth[2] * 1.3]);
        assert!((luma(teeth.map(|v| v * g[0])) - tinted).abs() < 1e-3);
    }

    #[test]
    fn a_beard_in_b_is_not_taken_for_shadow() {
        // A: even grey skin. B: brighter skin with a dark beard over the lower third.
        let (w, h) = (60, 60);
        let low = LowRes::new(w, h, 1);
        let mask = vec![1f32; w * h];
        let a = vec![100f32; w * h * 3];
        let beard = |i: usize| i / w >= 40;
        let b: Vec<f32> = (0..w * h * 3)
            .map(|j| if beard(j / 3) { 40.0 } else { 150.0 })
            .collect();
        let skin_a = vec![1f32; w * h];
        let skin_b: Vec<f32> = (0..w * h)
            .map(|i| if beard(i) { 0.05 } else { 1.0 })
            .collect();
        let light_a = SkinLight::new(&mask, &a, &skin_a);
        // Four cells into the beard (two thirds of the blur's sigma): the skin light above still
        // dominates.
        let at = (44 * w + 30) * 3;
        let gain = shading_gain(&low, &light_a, &SkinLight::new(&mask, &b, &skin_b), 6.0);
        assert!(
            gain[at] > 1.25,
            "A's chin takes B's skin light, not its beard: gain {}",
            gain[at]
        );
        // Counted as skin, the beard would darken A's chin.
        let all_skin = vec![1f32; w * h];
        let naive = shading_gain(&low, &light_a, &SkinLight::new(&mask, &b, &all_skin), 6.0);
        assert!(naive[at] < 0.9, "naive gain {}", naive[at]);
    }
}
