//! Fusion of A's face into B's head.
//!
//! 1. Shape: A's mesh is aligned onto B's with a 3D similarity; the fused face takes A's aligned
//!    positions in the inner face and B's at the face oval, with a smooth ramp between, so the head
//!    keeps B's contour while the features keep A's layout (`degree` scales how far they move).
//! 2. Texture: A's pixels are warped triangle by triangle (a Delaunay triangulation of B's mesh) onto
//!    those positions. Where A's head is turned so far that one side of the face is seen at a grazing
//!    angle, that side's texture is taken from the other side, mirrored (it would smear otherwise).
//! 3. Colour: A's warped face is multiplied by B's low-frequency shading over A's (blur(B)/blur(A),
//!    masked to the face, weighted by skin so beards do not count as shadow, and computed at
//!    reduced scale), so lighting and skin tone become B's while A's detail stays. A's burnt-out
//!    specular highlights lose their white first (B's light would tint it into a pale patch), and
//!    highlights that the gain would burn white are compressed.
//! 4. Blend: a mask that is exactly zero outside B's face oval and ramps up inside it, and from
//!    where A's face ends in its photo (the outline of a turned head, well inside the oval). The
//!    mouth is always A's, open or closed: B's open smile kept around A's closed lips tore them and
//!    left a blotchy mouth that was neither, and A's mouth is much of who A is.
//! 5. A beard carried onto a shaven B goes on past the oval to B's visible chin (`jaw`).

use image::RgbImage;

mod creases;
mod detail;
mod foreign;
mod glasses;
mod jaw;
mod lens;
mod light;
mod mask;
mod morphology;
mod raster;
mod relief;
mod relight;
mod shape;
mod skin_tone;
mod texture;

pub(crate) use shape::yaw as head_turn;

use crate::geometry::{triangulate, P2};
use crate::landmarks::{
    BROW_A, BROW_B, EYE_A, EYE_B, FACE_OVAL, LIPS_INNER, LIPS_OUTER, MIRROR, NOSE_BASE, NOSE_TIP,
    ORBIT_A, ORBIT_B, UPPER_LIP_TOP,
};
use crate::lighting::{fit_light, vertex_normals, Light};
use crate::mesh::Mesh;
use crate::parse::{FaceParse, Part};
use crate::report::{FusionReport, MouthState, PoseDifference, BEARD_SHARE};
use light::{
    skin_distance, skin_weights, HighlightGuard, HighlightRemoval, ShadingGain, SkinLight,
};
use raster::{abs_laplacian, luma, ramp, Crop, LowRes};
use shape::{
    dist, mirror, mouth_opening, neighbours, roll, target_shape, trimmed_oval, turned_opposite,
    yaw, FaceFrame,
};
use texture::{
    own_side_weights, smoothed_sources, turned_away, warp_triangle, SkinMap, Source, WarpedFace,
    SOURCE_SMOOTHING,
};

/// Mouth opening (inner-lip gap over mouth width) above which B's mouth counts as open.
const MOUTH_OPEN: f32 = 0.08;
/// Face width in pixels at which the low-frequency maps are computed.
const LOW_RES_FACE: f32 = 64.0;
/// Shading blur, in face widths.
const SHADING_SIGMA: f32 = 0.1;
/// Width of the face's rim where only skin-like pixels of A are kept, as a blur in face widths.
const RIM_SIGMA: f32 = 0.12;
/// How much the eye sockets' contours are widened about their centres where coldness is A's own.
const ORBIT_WIDENING: f32 = 1.3;
/// Width of the rim where the fine shading applies, as a blur in face widths.
const SHADING_RIM_SIGMA: f32 = 0.18;
/// Blur of the skin tint's transfer, in face widths: finer than the shading's, so A's local colour
/// casts (a coloured background's spill, a lens's tint) become B's skin tone.
const TINT_SIGMA: f32 = 0.1;
/// Shading blur in the face's interior, in face widths.
const INNER_SHADING_SIGMA: f32 = 0.24;
/// How much stronger A's directional light is than B's (in [`Light::strength`] units) from which
/// the fine shading ratio starts to take over the inside of the face, and at which it has fully.
const HARSHER_LIGHT: (f32, f32) = (0.1, 0.3);
/// Inward feather of the face oval, in face widths (the ramp reaches 1 at about 1.6 of these).
const FEATHER_SIGMA: f32 = 0.07;

/// Levels by which green or blue exceed red from which a pixel starts to be too cold for hair or
/// skin, and at which it is surely neither (a carried beard's cell reaching into A's background).
/// In levels, not as a ratio: a black beard's near-black pixels have ratios far from 1 in noise.
const COLD_HUE: (f32, f32) = (10.0, 35.0);

/// Soft edge of B's brows hidden where the fused face has none, in face widths.
const BROW_SOFTEN: f32 = 0.02;
/// How far above B's hidden brow, in face widths, the skin whose texture it takes is: past the
/// brow and its soft edge.
const BROW_TEXTURE_OFFSET: f32 = 0.12;
/// Blur, in face widths, of the skin colour that hides them (the result's skin around them): near
/// enough to be the brow's own surroundings (at the shading's scale, a pale lit temple took the
/// face's darker mean, a flat brown crescent).
const BROW_SKIN_SIGMA: f32 = 0.03;

/// How far the eyes' and the mouth's contours are widened about their centres to hold every white
/// of an eye and every tooth.
const WHITES_WIDENING: f32 = 1.2;

/// How far B's eyes' contours are widened about their centres to take in their lashes and liner,
/// which are no skin texture to borrow.
const B_EYE_WIDENING: f32 = 1.6;
/// How far B's mouth is widened about its centre where it is no beard of B's, and no skin texture
/// for a soft A to borrow.
const MOUTH_WIDENING: f32 = 1.15;

/// One face of a fusion: its photo, its mesh and its parse.
pub struct Side<'a> {
    /// The photo.
    pub img: &'a RgbImage,
    /// The face's mesh.
    pub mesh: &'a Mesh,
    /// What in the photo is the face and what covers it.
    pub parse: &'a FaceParse,
}

/// Fuses A's face into B's face; returns the result and the report.
pub fn fuse(a_side: &Side, b_side: &Side, degree: u8) -> (RgbImage, FusionReport) {
    let (b, mb, pb) = (b_side.img, b_side.mesh, b_side.parse);
    // A's clear glasses are seen through: their frames painted out, A's eyes are A's.
    let seen = glasses::see_through(a_side.img, a_side.mesh, a_side.parse);
    let (a_img, a_parse) = seen
        .as_ref()
        .map_or((a_side.img, a_side.parse), |s| (&s.img, &s.parse));
    let grown = a_parse.with_grown_cover(a_side.mesh);
    // When the heads turn opposite ways, B's wide cheek would be painted from A's foreshortened one
    // (hair and background smear in): take A's mirror image instead.
    let mirrored;
    let is_mirrored = turned_opposite(a_side.mesh, mb);
    let (a, ma, pa) = if is_mirrored {
        let (img, mesh) = mirror(a_img, a_side.mesh);
        mirrored = (img, mesh, grown.mirrored(a_img.width() as f32));
        (&mirrored.0, &mirrored.1, &mirrored.2)
    } else {
        (a_img, a_side.mesh, &grown)
    };
    let mut report = first_report(a_side.mesh, ma, mb, is_mirrored);
    report.source_glasses = seen.as_ref().map_or(0.0, |s| s.frames);
    let b2: Vec<P2> = mb.points.iter().map(|p| (p[0], p[1])).collect();
    let a2: Vec<P2> = ma.points.iter().map(|p| (p[0], p[1])).collect();
    let triangles = triangulate(&b2);
    let neighbours = neighbours(&triangles);
    let target = target_shape(ma, mb, &neighbours, degree);

    let face_width = report.face_width[1];
    let frame = FaceFrame::new(&target);
    let oval = trimmed_oval(&target, &frame);
    let crop = Crop::around(&oval, b.width(), b.height());
    if crop.w == 0 || crop.h == 0 {
        return (b.clone(), report.with_warnings());
    }

    // A warped onto the target shape, in crop coordinates. Where A's own side of the face is seen
    // much more obliquely than the other side, the other side's texture (mirrored) is taken.
    let own = own_side_weights(&a2, &triangles, &neighbours);
    let away = turned_away(&a2, &triangles, &neighbours);
    // Each face's light, for the report.
    let (normals_a, normals_b) = (
        vertex_normals(ma, &triangles),
        vertex_normals(mb, &triangles),
    );
    let (light_a, light_b) = (
        fit_light(a, ma, &normals_a, pa),
        fit_light(b, mb, &normals_b, pb),
    );
    report.light_strength = [&light_a, &light_b].map(|l| l.map_or(0.0, |l| l.strength()));
    if let (Some(la), Some(lb)) = (&light_a, &light_b) {
        let angle = |l: &Light| l.direction[1].atan2(l.direction[0]);
        let d = (angle(la) - angle(lb)).abs().to_degrees();
        report.light_angle = if d > 180.0 { 360.0 - d } else { d };
    }
    let side_light = match (&light_a, &light_b) {
        (Some(la), Some(lb)) => la.unshared_strength(lb),
        _ => 0.0,
    };
    let skin_map = SkinMap::new(a, pa, &a2);
    let sources = smoothed_sources(
        &triangles,
        &target,
        &a2,
        &crop,
        SOURCE_SMOOTHING * face_width,
    );
    let mut warp = WarpedFace::new(crop.w * crop.h);
    for t in triangles.chunks_exact(3) {
        let dst = [target[t[0]], target[t[1]], target[t[2]]];
        let src = Source {
            parse: pa,
            light: &skin_map,
            own: &sources,
            mirrored: [t[0], t[1], t[2]].map(|i| a2[MIRROR[i] as usize]),
            weight: [own[t[0]], own[t[1]], own[t[2]]],
            turned_away: [away[t[0]], away[t[1]], away[t[2]]],
            mirror_reach: texture::MIRROR_REACH * report.face_width[0],
        };
        warp_triangle(a, &src, &dst, &crop, &mut warp);
    }
    let WarpedFace {
        colour: mut warped,
        face: a_face,
        cover: a_cover,
        outline: a_outline,
        skin: a_skin,
    } = warp;
    let inside_oval = crop.fill_polygon(&oval);
    let region: Vec<bool> = inside_oval
        .iter()
        .zip(&a_face)
        .map(|(&o, &f)| o && f >= 0.0)
        .collect();
    // What covers B's face stays in front of the new face.
    // B's clear glasses: their frames stay whole in front of A's face, A's face shows through the
    // lenses.
    let b_frames = glasses::frames(b, mb, pb);
    let mask::TemplateCover {
        front: b_keep,
        parsed: b_parse_cover,
    } = mask::template_cover(b, pb, &crop, &region, &target, b_frames.as_ref());
    let in_region = region.iter().filter(|&&r| r).count().max(1) as f32;
    let share = |v: &[f32]| {
        v.iter()
            .zip(&region)
            .filter(|(_, &r)| r)
            .map(|(x, _)| x)
            .sum::<f32>()
            / in_region
    };
    report.source_covered = share(&a_cover);
    report.source_missing = 1.0 - share(&a_face);
    report.template_covered = share(&b_keep);

    // Low-frequency maps at reduced scale.
    let block = ((face_width / LOW_RES_FACE).round() as usize).max(1);
    let low = LowRes::new(crop.w, crop.h, block);
    let region_f: Vec<f32> = region.iter().map(|&r| r as u8 as f32).collect();
    let b_crop = crop.read(b);
    let m_low = low.average(&region_f, 1);
    let a_face_low = low.average(
        &a_face
            .iter()
            .zip(&region_f)
            .map(|(f, r)| f.max(0.0) * r)
            .collect::<Vec<_>>(),
        1,
    );
    let b_face_low = low.average(
        &region_f
            .iter()
            .zip(&b_parse_cover)
            .map(|(r, k)| r * (1.0 - k))
            .collect::<Vec<_>>(),
        1,
    );
    let a_low = low.average_masked(&warped, &region_f);
    let b_low = low.average_masked(&b_crop, &region_f);
    let rim = low.blur(&m_low, 1, RIM_SIGMA * face_width / block as f32);
    // Light is estimated from skin only, on both sides: B's beard or A's is not light, and taken
    // for it, B's beard would be printed as a dark patch on A's chin.
    // Skin colours are sampled above the nose tip and away from the rim: forehead and cheeks, where
    // beards, lips and hair are rare.
    let nose = frame.height(target[NOSE_TIP]);
    let cell_height = |i: usize| {
        frame.height((
            crop.x as f32 + ((i % low.w) as f32 + 0.5) * block as f32,
            crop.y as f32 + ((i / low.w) as f32 + 0.5) * block as f32,
        ))
    };
    // Only cells that are the face itself on that side count (not A's fringe, not B's glasses).
    let skin_sample = |face: &[f32]| -> Vec<bool> {
        (0..low.w * low.h)
            .map(|i| {
                m_low[i] > 0.99
                    && rim[i] > 0.97
                    && face[i] > 0.9 * m_low[i]
                    && cell_height(i) > nose
            })
            .collect()
    };
    let (sample_a, sample_b) = (skin_sample(&a_face_low), skin_sample(&b_face_low));
    let distance = skin_distance(&a_low, &m_low, &sample_a);
    let distance_b = skin_distance(&b_low, &m_low, &sample_b);
    // A polygon's share of each low-res cell; the lips' and the mouth opening's, in the fused
    // shape.
    let share_in = |polygon: &[P2]| {
        let inside: Vec<f32> = crop
            .fill_polygon(polygon)
            .iter()
            .map(|&l| l as u8 as f32)
            .collect();
        low.average(&inside, 1)
    };
    let share_of =
        |contour: &[usize]| share_in(&contour.iter().map(|&i| target[i]).collect::<Vec<_>>());
    let lips_low = share_of(&LIPS_OUTER);
    // A's own eyes, brows and mouth are unlike skin but no cover: left to B near the rim (an eye
    // close to the oval of a turned head) or as foreign (a dark pupil, an open mouth's inside),
    // B's eye or lips would show through A's.
    let shares = [&EYE_A[..], &EYE_B, &BROW_A, &BROW_B].map(share_of);
    let features: Vec<f32> = (0..low.w * low.h)
        .map(|i| shares.iter().map(|s| s[i]).sum::<f32>() + lips_low[i])
        .collect();
    let feature = |i: usize| (2.0 * features[i]).min(1.0);
    // Eyes, brows and lips are no skin, however close their colour comes (grey brows, pale lips):
    // counted as light, a brow would darken A's light above the eye and the gain would paint a
    // pale band over it.
    let only_face = |w: Vec<f32>, face: &[f32]| -> Vec<f32> {
        w.iter()
            .zip(face.iter().zip(&m_low))
            .enumerate()
            .map(|(i, (w, (f, m)))| {
                w * (f / m.max(1e-3)).clamp(0.05, 1.0) * (1.0 - feature(i)).max(0.05)
            })
            .collect()
    };
    let feather = FEATHER_SIGMA * face_width / block as f32;
    // Each face's beard, found before the light: A's beard is no light (below).
    // The lower face starts under the nose: a moustache grows right below the nostrils, so the
    // ramp is full a third of the way from the nose's base to the upper lip.
    let (nose_base, lip_top) = (
        frame.height(target[NOSE_BASE]),
        frame.height(target[UPPER_LIP_TOP]),
    );
    let philtrum = (nose_base - lip_top).max(0.05 * frame.iod);
    let lower = |i: usize| ((nose_base - cell_height(i)) / (philtrum / 3.0)).clamp(0.0, 1.0);
    // Fine detail per cell (hair is textured where skin and shadows are smooth), over the region.
    // B's is measured once for the beard, the sharpness and the grain.
    let lap_b = abs_laplacian(&b_crop, crop.w, crop.h);
    let detail = |lap: &[f32]| {
        let masked: Vec<f32> = lap.iter().zip(&region_f).map(|(d, r)| d * r).collect();
        low.average(&masked, 1)
    };
    let beard = |colour: &[f32], lap: &[f32], sample: &[bool], lips: &[f32]| {
        let cues = mask::BeardCues {
            colour,
            detail: &detail(lap),
            m_low: &m_low,
            sample,
            lips,
        };
        mask::beard(&cues, &lower, feather)
    };
    // B's own mouth is no beard either, wherever A's lips go: an open smile's teeth and dark
    // inside, kept in front as beard, would show beside A's closed lips (widened: the lips'
    // cells at the corners are half beard).
    let b_mouth = crate::geometry::widened(&LIPS_OUTER, MOUTH_WIDENING, &|i| b2[i]);
    let b_mouth_low = share_in(&b_mouth);
    let b_lips_low: Vec<f32> = b_mouth_low
        .iter()
        .zip(&lips_low)
        .map(|(b, a)| b.max(*a))
        .collect();
    let (beard_a, beard_b) = (
        beard(
            &a_low,
            &abs_laplacian(&warped, crop.w, crop.h),
            &sample_a,
            &lips_low,
        ),
        beard(&b_low, &lap_b, &sample_b, &b_lips_low),
    );
    let lower_cells: Vec<usize> = (0..low.w * low.h)
        .filter(|&i| m_low[i] > 0.5 && lower(i) > 0.5 && lips_low[i] < 0.5)
        .collect();
    let lower_share = |v: &[f32]| {
        lower_cells.iter().map(|&i| v[i]).sum::<f32>() / lower_cells.len().max(1) as f32
    };
    report.beard = [lower_share(&beard_a.hair), lower_share(&beard_b.hair)];
    // Only a beard counts (a real share of the lower face in dark, textured hair), not a light
    // stubble or the smooth shadow of a side light, which stay as they are.
    let (ka, kb) = (
        ramp(report.beard[0], BEARD_SHARE),
        ramp(report.beard[1], BEARD_SHARE),
    );
    // A's beard is no light either, however close its colour comes to skin: taken for a shadow,
    // the gain would lift it to a pale ginger on a carried beard. (Only a beard: a side light's
    // shadow on a shaven face, partly taken for one, is light.) Inside a full beard, where there
    // is no skin to read A's light off, it is read off the skin around the beard.
    let beard_kept: Vec<f32> = beard_a
        .softened(&low)
        .iter()
        .map(|b| (1.0 - ka * b.clamp(0.0, 1.0)).max(0.05))
        .collect();
    let a_skin_weights: Vec<f32> = only_face(skin_weights(&distance), &a_face_low)
        .iter()
        .zip(&beard_kept)
        .map(|(w, k)| w * k)
        .collect();
    let light_a = SkinLight::new(&m_low, &a_low, &a_skin_weights).hiding(&beard_kept);
    let light_b = SkinLight::new(
        &m_low,
        &b_low,
        &only_face(skin_weights(&distance_b), &b_face_low),
    );
    // A's specular highlights are A's light, not its skin: carried over and tinted by B's light
    // they turn into pale patches. They take A's local skin colour instead, and A's light is then
    // measured without them.
    let highlights = HighlightRemoval {
        low: &low,
        region: &region_f,
        skin: &a_skin,
        skin_weights: &a_skin_weights,
        sigma: SHADING_SIGMA * face_width / block as f32,
    };
    let light_a = match highlights.remove(&mut warped, &light_a) {
        Some((cleaned, share)) => {
            report.source_highlights = share;
            cleaned
        }
        None => light_a,
    };
    // Shading at two scales: fine near the rim, so the face's outline keeps B's light and the jaw
    // line reads as B's; coarse inside, so A's own modelling of eyes, nose and cheeks survives.
    let shading_rim = low.blur(&m_low, 1, SHADING_RIM_SIGMA * face_width / block as f32);
    let shading =
        |sigma: f32| ShadingGain::new(&low, &light_a, &light_b, sigma * face_width / block as f32);
    let (fine, coarse) = (shading(SHADING_SIGMA), shading(INNER_SHADING_SIGMA));
    let ShadingGain {
        tint, tone, a_tone, ..
    } = shading(TINT_SIGMA);
    // The harsher A's light than B's, the more of A's own shading inside the face is B's too: a
    // strong side light's shadows are too sharp for the coarse ratio, and kept they make the
    // face look like a mask lit from elsewhere.
    let harsher = ramp(
        report.light_strength[0] - report.light_strength[1],
        HARSHER_LIGHT,
    );
    let gain: Vec<f32> = (0..low.w * low.h * 3)
        .map(|j| {
            let i = j / 3;
            let inner = ((shading_rim[i] - 0.5) / 0.45).clamp(0.0, 1.0) * (1.0 - harsher);
            let (f, c) = (fine.brightness[i], coarse.brightness[i]);
            (f + inner * (c - f)) * tint[j]
        })
        .collect();

    // Blend mask: feathered inward from the edge of the region (the oval, and wherever A's photo
    // ended) and from where A's face ends in its photo, zero outside them.
    let mut alpha_low = mask::feathered(&low, &region_f, &a_outline, feather);
    // What of A's face is not A's (hair or background at the rim, something in front of it) is
    // left to B; A's eye sockets are A's own, cold as their whites and make-up are.
    let orbit = |contour: &[usize]| {
        share_in(&crate::geometry::widened(contour, ORBIT_WIDENING, &|i| {
            target[i]
        }))
    };
    let orbits = [orbit(&ORBIT_A), orbit(&ORBIT_B)];
    let sockets: Vec<f32> = (0..low.w * low.h)
        .map(|i| (2.0 * (orbits[0][i] + orbits[1][i])).min(1.0))
        .collect();
    let own_part = |i: usize| feature(i).max(sockets[i]);
    let foreign::Kept {
        face: kept_face,
        not_foreign,
    } = foreign::SkinTest {
        low: &low,
        distance: &distance,
        coldness: &light::coldness(&a_low, &m_low, &sample_a),
        feature: &feature,
        own_part: &own_part,
        feather,
    }
    .weights(&rim);
    for (a, k) in alpha_low.iter_mut().zip(&kept_face) {
        *a *= k;
    }
    // Beards: B's beard stays in front of A's face. A's beard on a clean-shaven B is carried over
    // whole, down to B's jaw line: shaved off, A's mouth loses the beard it sits in (and most of
    // who A is), and faded in from the rim like skin it would float over B's chin.
    let kept = beard_b.softened(&low);
    for (a, bb) in alpha_low.iter_mut().zip(&kept) {
        *a *= 1.0 - kb * bb;
    }
    // Grown by a cell, the beard may reach past A's jaw into A's background at the rim: only
    // what is not wildly unlike skin comes (a beard is dark, not blue), per cell here and per
    // pixel by its hue below.
    let carried: Vec<f32> = beard_a
        .carried(&low, &m_low, feather, ka * (1.0 - kb))
        .iter()
        .zip(&not_foreign)
        .map(|(c, f)| c * f)
        .collect();

    // Where teeth and the whites of the eyes can be: the eyes' contours, a little widened, and the
    // mouth's opening.
    let whites = mask::inside_any(
        &crop,
        &target,
        &[&EYE_A, &EYE_B, &LIPS_INNER],
        WHITES_WIDENING,
    );
    // A's carried beard per pixel, only where it has a hair's or skin's colour (warm or grey, not
    // blue or green: A's background where the beard's cell reaches past A's jaw), and A's skin
    // without it: the beard takes B's light but is neither skin colour nor shadow. Most pairs
    // carry none and skip the per-pixel pass.
    let (beard_at, bare_skin) = if carried.iter().any(|&c| c > 0.0) {
        let beard_at: Vec<f32> = (0..crop.w * crop.h)
            .map(|i| {
                let c = low.sample::<1>(&carried, i % crop.w, i / crop.w)[0].clamp(0.0, 1.0);
                if c <= 0.0 {
                    return 0.0;
                }
                let p = &warped[i * 3..i * 3 + 3];
                c * (1.0 - ramp(p[1].max(p[2]) - p[0], COLD_HUE))
            })
            .collect();
        let bare_skin: Vec<f32> = a_skin
            .iter()
            .zip(&beard_at)
            .map(|(s, b)| s * (1.0 - b))
            .collect();
        (beard_at, bare_skin)
    } else {
        (vec![0.0; crop.w * crop.h], a_skin.clone())
    };
    // B's uncovered skin by its parse, per low-resolution cell.
    let b_skin: Vec<f32> = (0..low.w * low.h)
        .map(|i| {
            let parts = pb.at(
                crop.x as f32 + ((i % low.w) as f32 + 0.5) * block as f32,
                crop.y as f32 + ((i / low.w) as f32 + 0.5) * block as f32,
            );
            let skin = 1.0 - parts[Part::Features as usize] - parts[Part::Hair as usize];
            (skin - parts[Part::Glasses as usize]).clamp(0.0, 1.0) * b_face_low[i]
        })
        .collect();
    // B's colour at each brightness: its shadows' deeper tone and its lit skin's paler one, over
    // the skin of both faces (not the eyes, brows, lips, teeth, hair or B's beard).
    let feature_px: Vec<f32> = low
        .upsample(&features)
        .iter()
        .map(|f| (2.0 * f).min(1.0))
        .collect();
    let feature_at = |i: usize| feature_px[i];
    // B's skin per pixel: uncovered by its parse, not a feature, not what B keeps in front.
    let b_skin_px: Vec<f32> = low
        .upsample(&b_skin)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if !region[i] || whites[i] || b_parse_cover[i] >= 1.0 {
                return 0.0;
            }
            s.clamp(0.0, 1.0) * (1.0 - feature_at(i)) * (1.0 - b_parse_cover[i])
        })
        .collect();
    let b_tone = skin_tone::ToneLine::fit(&b_crop, &|i| b_skin_px[i]);
    // A's skin colour before B's light tints it: how colourful A's photo is (needed only when
    // B's photo is less colourful than a colour photo), and how saturated A's skin is against B's.
    let a_before = skin_tone::ToneLine::fit(&warped, &|i| {
        if region[i] && !whites[i] {
            bare_skin[i]
        } else {
            0.0
        }
    });
    let b_colour = b_tone.map_or(1.0, |line| line.colourfulness());
    let a_colour = match a_before {
        Some(line) if b_colour < 1.0 => line.colourfulness(),
        _ => 1.0,
    };
    let contrast = match (a_before, b_tone) {
        (Some(a), Some(b)) => skin_tone::contrast(&a, &b),
        _ => 1.0,
    };
    // What A's photo saw edge-on and in shadow, opened up by B's pose (a nose's underside, a thin
    // dark line in a photo taken from a little above), is left to B, whose photo sees it as the
    // result's pose does.
    let opened = {
        let stretch = texture::stretch(&a2, &target, &triangles);
        if stretch.iter().any(|&s| s > mask::LEAST_OPENED) {
            let light = low.blur(&a_low, 3, SHADING_SIGMA * face_width / block as f32);
            let darkness = |i: usize| {
                if whites[i] {
                    return 0.0;
                }
                let here = luma(low.sample::<3>(&light, i % crop.w, i / crop.w)).max(1.0);
                let p = luma([warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]]);
                (1.0 - p / here) * (1.0 - feature_px[i])
            };
            let stretch = texture::paint(&stretch, mask::LEAST_OPENED, &triangles, &target, &crop);
            mask::opened_up((crop.w, crop.h), &stretch, &darkness, face_width)
        } else {
            vec![0.0; crop.w * crop.h]
        }
    };
    // The blend weight per pixel.
    let mut alpha = vec![0f32; crop.w * crop.h];
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if region[i] {
                alpha[i] = low.sample::<1>(&alpha_low, x, y)[0].max(beard_at[i])
                    * a_face[i]
                    * (1.0 - b_keep[i])
                    * (1.0 - opened[i]);
            }
        }
    }
    // A's face with B's shading, in place of the warped face. An open mouth's teeth share one
    // gain, capped so that lit teeth do not burn.
    let relight = relight::Relight {
        low: &low,
        gain: &gain,
        whites: &whites,
        a_skin: &a_skin,
        beard: &beard_at,
        a_level: &fine.a_level,
        lips: &lips_low,
        contrast,
        tone: &tone,
        a_tone: &a_tone,
    };
    let teeth = if report.mouths[0] == MouthState::Open {
        relight.teeth(&crop, &target, &region, &warped)
    } else {
        None
    };
    relight.apply(&mut warped, &alpha, teeth.as_ref());
    // A hard light's deep shadows (eye sockets, beside the nose) flattened towards B's softer
    // ones; B's relief is measured on B's uncovered skin by its parse (`b_skin`).
    let b_luma: Vec<f32> = (0..low.w * low.h)
        .map(|i| luma([b_low[i * 3], b_low[i * 3 + 1], b_low[i * 3 + 2]]) / m_low[i].max(1e-3))
        .collect();
    let template = relief::Template {
        luma: &b_luma,
        skin: &b_skin,
    };
    let side_shadows = relief::SideShadows::new(
        &low,
        (crop.x, crop.y),
        &target,
        &triangles,
        ramp(side_light, relief::SIDE_LIGHT),
    );
    report.relief = relief::flatten(
        &low,
        &mut warped,
        &relief::Source {
            alpha: &alpha,
            skin: &bare_skin,
            // A carried beard has its own light (`relight`); a stubble or a short beard that is
            // not carried is A's face's and stays as dark as it is.
            hair: &beard_a
                .hairy(&low)
                .iter()
                .zip(&carried)
                .map(|(h, c)| h * (1.0 - c.clamp(0.0, 1.0)))
                .collect::<Vec<f32>>(),
        },
        &template,
        &side_shadows,
        face_width / block as f32,
    );
    // A's skin: what is fitted is mostly A's (half blended in at least), what moves is all of it.
    // A carried beard is not fitted (it is no skin) but moves with it, B's colour cast and all.
    let a_skin_at = |i: usize, least_alpha: f32, skin: &[f32]| {
        if alpha[i] < least_alpha || alpha[i] <= 0.0 || whites[i] || skin[i] <= 0.0 {
            return 0.0;
        }
        skin[i] * (1.0 - feature_at(i))
    };
    let a_tone = skin_tone::ToneLine::fit(&warped, &|i| a_skin_at(i, 0.5, &bare_skin));
    if let (Some(a_tone), Some(b_tone)) = (a_tone, b_tone) {
        skin_tone::match_tone(&mut warped, &a_tone, &b_tone, contrast, &|i| {
            a_skin_at(i, 0.0, &a_skin)
        });
        // The eye sockets (lids, and the skin round the brows and under the eyes) take the same
        // shift wherever the mesh puts no eye or brow and nothing covers them, however unsure a
        // soft face's parse is of their skin: left out, a warm print's lids kept its colour, brown
        // rings round the eyes on a cool B. Only the shift: their own colour against the skin (a
        // make-up's) is kept as it is.
        skin_tone::match_tone(&mut warped, &a_tone, &b_tone, 1.0, &|i| {
            if alpha[i] <= 0.0 || whites[i] {
                return 0.0;
            }
            let socket = low.sample::<1>(&sockets, i % crop.w, i / crop.w)[0]
                * (1.0 - feature_at(i))
                * (1.0 - a_cover[i]);
            (socket - a_skin_at(i, 0.0, &a_skin)).max(0.0)
        });
    }
    // A black-and-white or grey-graded B takes A's colours away from its skin (lips, irises,
    // brows) only as colourful as B's photo is against A's.
    if let Some(b_tone) = b_tone {
        let scale = (b_colour / a_colour.max(1e-3)).min(1.0);
        if scale < 1.0 {
            skin_tone::scale_colour(&mut warped, &b_tone, scale, &|i| alpha[i] > 0.0);
        }
    }
    // A's creases (wrinkles, laugh lines) no deeper than B's skin shows them, over the skin of
    // both faces.
    let a_skin_px: Vec<f32> = (0..crop.w * crop.h)
        .map(|i| a_skin_at(i, 0.0, &bare_skin))
        .collect();
    creases::soften(
        &mut warped,
        &b_crop,
        &a_skin_px,
        &b_skin_px,
        (crop.w, crop.h),
        face_width,
    );
    // A's face takes B's camera: its sharpness, its edges, its skin's texture and its grain.
    // B's own eyes, brows and lips are no skin texture either, past their contours too (lashes,
    // liner, a lip's edge): where A's features lie elsewhere, borrowed they drew a second lash
    // line under A's eye. Found only if a soft A borrows B's texture.
    let b_features = std::cell::OnceCell::new();
    let b_feature_at = |x: usize, y: usize| {
        let shares: &Vec<f32> = b_features.get_or_init(|| {
            let share = |contour: &[usize], k: f32| {
                share_in(&crate::geometry::widened(contour, k, &|i| b2[i]))
            };
            let shares = [
                share(&EYE_A, B_EYE_WIDENING),
                share(&EYE_B, B_EYE_WIDENING),
                share(&BROW_A, mask::TEMPLATE_BROW_PLACE),
                share(&BROW_B, mask::TEMPLATE_BROW_PLACE),
            ];
            (0..low.w * low.h)
                .map(|i| {
                    (2.0 * (shares.iter().map(|s| s[i]).sum::<f32>() + b_mouth_low[i])).min(1.0)
                })
                .collect()
        });
        low.sample::<1>(shares, x, y)[0].clamp(0.0, 1.0)
    };
    let both_skin_at = |i: usize| {
        let (x, y) = (i % crop.w, i / crop.w);
        let b_skin = low.sample::<1>(&b_skin, x, y)[0].clamp(0.0, 1.0);
        bare_skin[i] * b_skin * (1.0 - feature_at(i)) * (1.0 - b_feature_at(x, y))
    };
    let camera = detail::Camera {
        b: &b_crop,
        lap_b: &lap_b,
        alpha: &alpha,
        skin: &both_skin_at,
        size: (crop.w, crop.h),
        face_widths: report.face_width,
    };
    (report.sharpness_ratio, report.grain) = camera.apply(&mut warped);
    // B's own brow where the fused face has none, or has one left to B (B's brow higher than
    // A's, its tail under A's covered temple or in the rim's feather, A's brow under its hair)
    // shows through what is left to B as a second brow: there the result shows skin instead, the
    // colour of its skin around and the texture of B's skin above (a smooth colour was a flat
    // patch on a large face).
    let brows = mask::TemplateBrows {
        crop: &crop,
        b_points: &b2,
        target: &target,
        region: &region,
        parse: pb,
        front: &b_keep,
        parsed: &b_parse_cover,
    };
    if let Some(astray) = brows.astray((BROW_SOFTEN * face_width).ceil() as usize, &alpha) {
        let (shown, shown_skin) =
            mask::skin_as_shown(&b_crop, &warped, &alpha, [&a_skin_px, &b_skin_px], &astray);
        let near = mask::SkinNearby::new(
            &low,
            &shown,
            &shown_skin,
            BROW_SKIN_SIGMA * face_width / block as f32,
        );
        let up = BROW_TEXTURE_OFFSET * face_width;
        // B's skin as its parse sees it, past the oval too (a brow's tail reaches the temple).
        let b_parse_skin = |x: usize, y: usize| {
            let (px, py) = crop.pixel_centre(x, y);
            pb.at(px, py)[Part::Skin as usize]
        };
        let texture = mask::SkinTexture::new(
            &low,
            &b_crop,
            &b_parse_skin,
            &astray,
            (frame.up.0 * up, frame.up.1 * up),
        );
        brows.hide(&astray, &mut warped, &mut alpha, &|x, y| {
            let (colour, grain) = (near.at(x, y)?, texture.at(x, y));
            Some(std::array::from_fn(|c| colour[c] + grain[c]))
        });
    }
    let highlights = HighlightGuard::fit(&warped, &alpha);

    let mut out = composite(b, &b_crop, &crop, &warped, &alpha, &highlights);
    if beard_at.iter().any(|&c| c > 0.0) {
        jaw::Jaw {
            oval: &oval,
            down: (-frame.up.0, -frame.up.1),
            face_width,
            crop: &crop,
            carried: &beard_at,
            parse: pb,
            template: b,
        }
        .continue_beard(&mut out);
    }
    (out, report.with_warnings())
}

/// The report's figures known before the fusion: both heads' turn, their pose difference (A as
/// fused: `ma`, mirrored or not), both mouths and both face widths; the rest is filled in as the
/// fusion measures it.
fn first_report(a_mesh: &Mesh, ma: &Mesh, mb: &Mesh, mirrored: bool) -> FusionReport {
    FusionReport {
        yaw: [yaw(a_mesh), yaw(mb)],
        pose_difference: PoseDifference {
            yaw: (yaw(ma) - yaw(mb)).abs(),
            roll: (roll(ma) - roll(mb)).abs(),
        },
        mirrored,
        source_covered: 0.0,
        source_missing: 0.0,
        source_highlights: 0.0,
        source_glasses: 0.0,
        template_covered: 0.0,
        beard: [0.0; 2],
        mouths: [ma, mb].map(|m| {
            let p: Vec<P2> = m.points.iter().map(|p| (p[0], p[1])).collect();
            if mouth_opening(&p) > MOUTH_OPEN {
                MouthState::Open
            } else {
                MouthState::Closed
            }
        }),
        light_strength: [0.0; 2],
        light_angle: 0.0,
        sharpness_ratio: 1.0,
        grain: [0.0; 2],
        relief: [0.0; 2],
        face_width: [face_width(ma), face_width(mb)],
        warnings: Vec::new(),
    }
}

/// B with A's shaded face (`warped`, over `crop`, its highlights kept from burning out) blended in
/// by `alpha`; B's own pixels (`b_crop`) everywhere else.
fn composite(
    b: &RgbImage,
    b_crop: &[f32],
    crop: &Crop,
    warped: &[f32],
    alpha: &[f32],
    highlights: &HighlightGuard,
) -> RgbImage {
    let mut out = b.clone();
    for y in 0..crop.h {
        for x in 0..crop.w {
            let i = y * crop.w + x;
            if alpha[i] <= 0.0 {
                continue;
            }
            let av = highlights.apply([warped[i * 3], warped[i * 3 + 1], warped[i * 3 + 2]]);
            let px = out.get_pixel_mut((crop.x + x) as u32, (crop.y + y) as u32);
            for c in 0..3 {
                let bv = b_crop[i * 3 + c];
                // Clamped first, so adding a half and truncating rounds to nearest.
                px[c] = ((bv + alpha[i] * (av[c] - bv)).clamp(0.0, 255.0) + 0.5) as u8;
            }
        }
    }
    out
}

/// Width of a face at eye level (or three quarters of its height, for a face seen from the side).
fn face_width(m: &Mesh) -> f32 {
    let p = |i: usize| (m.points[i][0], m.points[i][1]);
    dist(p(FACE_OVAL[8]), p(FACE_OVAL[28])).max(dist(p(FACE_OVAL[0]), p(FACE_OVAL[18])) * 0.75)
}
