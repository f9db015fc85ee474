//! The report that comes with every fusion: what the engine saw in the two faces and what may make
//! the result look wrong, so that a caller can tell a poor pair from a poor engine.

/// Whether a mouth is open (teeth or the inside of the mouth show) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MouthState {
    /// Lips together.
    Closed,
    /// Lips apart.
    Open,
}

/// What the engine measured on one fusion.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FusionReport {
    /// Head turn of A and B, left to right, in half face widths (0 frontal, about ±1 in profile).
    pub yaw: [f32; 2],
    /// Difference of the two heads' turn (yaw, in half face widths) and tilt (roll, in degrees).
    pub pose_difference: PoseDifference,
    /// Whether A was mirrored because the heads look to opposite sides.
    pub mirrored: bool,
    /// Share of A's face (inside the fused region) that something covers: hair, glasses, a hand.
    pub source_covered: f32,
    /// Share of A's face that neither A's own side nor its mirror side could give (left to B).
    pub source_missing: f32,
    /// Share of A's fused face that was a burnt-out specular highlight of A's light (its white was
    /// taken out, so that B's light does not tint it into a patch).
    pub source_highlights: f32,
    /// Share of A's glasses that was frame and was painted out (0 when A wears no clear glasses):
    /// A's eyes are seen through the lenses.
    pub source_glasses: f32,
    /// Share of B's face that something covers and that stays in front of the new face.
    pub template_covered: f32,
    /// Share of the lower face in dark, textured hair (beard) in A and in B.
    pub beard: [f32; 2],
    /// The mouths of A and B.
    pub mouths: [MouthState; 2],
    /// Strength of each face's directional light (0 even, about 0.5 when one side is half as
    /// bright as the other), A then B, from a light model fitted over the mesh.
    pub light_strength: [f32; 2],
    /// Angle in degrees between the image-plane directions A's and B's faces are lit from.
    pub light_angle: f32,
    /// Fine detail of A's warped face over B's face (1 equal; below 1 A is softer).
    pub sharpness_ratio: f32,
    /// Sensor grain of A's warped face (after its detail was matched) and of B's face, as a
    /// deviation in levels; when B's is clearly higher, A's face is given the difference.
    pub grain: [f32; 2],
    /// Depth of the mid-scale shading (eye sockets, beside the nose, under the lips) of A's
    /// warped face and of B's, as the mean of its log brightness against the light around; when
    /// A's is much deeper (a hard light), it was flattened towards B's.
    pub relief: [f32; 2],
    /// Width of the faces in pixels (A in its photo, B in the template).
    pub face_width: [f32; 2],
    /// What a person may notice in the result, in plain words.
    pub warnings: Vec<String>,
}

/// Share of the lower face in dark, textured hair ([`FusionReport::beard`]) from which a beard
/// starts to count, and at which it counts fully. Over the shared photos as sources, faces without
/// a beard come to at most 0.102 (group_t1's warm print), a light stubble to 0.116 (lin.png) and
/// short beards to at least 0.124 (kit_3's, into a shaven face lit from the front).
pub(crate) const BEARD_SHARE: (f32, f32) = (0.11, 0.17);

/// How differently the two heads are posed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PoseDifference {
    /// Turn, in half face widths.
    pub yaw: f32,
    /// Tilt of the eye line, in degrees.
    pub roll: f32,
}

impl FusionReport {
    /// Fills `warnings` from the figures.
    pub(crate) fn with_warnings(mut self) -> FusionReport {
        let mut w = Vec::new();
        if self.face_width[0] < 0.5 * self.face_width[1] {
            w.push(format!(
                "source face much smaller than the template face ({:.0} px against {:.0} px): result may look soft",
                self.face_width[0], self.face_width[1]
            ));
        }
        if self.pose_difference.yaw > 0.6 {
            w.push("the two heads are turned very differently: the face may look distorted".into());
        }
        if self.source_covered > 0.25 {
            w.push(format!(
                "{:.0}% of the source face is covered (hair, glasses, hands): those parts come from the other side of the face or from the template",
                100.0 * self.source_covered
            ));
        }
        if self.source_missing > 0.2 {
            w.push("much of the source face could not be used: the result keeps more of the template's face".into());
        }
        if self.mouths[0] != self.mouths[1] {
            w.push("one mouth is open and the other closed: the mouth is the source's, so an open template mouth is closed (its chin may look long) and a closed one is opened".into());
        }
        let (start, full) = BEARD_SHARE;
        if self.beard[0] > (start + full) / 2.0 && self.beard[1] < start {
            w.push(
                "the source has a beard and the template does not: the beard is carried over as far as the template's jaw line"
                    .into(),
            );
        }
        if self.light_angle > 90.0 && self.light_strength.iter().all(|&s| s > 0.2) {
            w.push("the faces are lit from different sides: A's shading is replaced by B's as far as a simple light model can".into());
        }
        if self.sharpness_ratio < 0.5 {
            w.push("the source face is much softer than the template: result may look soft".into());
        } else if self.sharpness_ratio > 2.0 {
            w.push(
                "the source face is much sharper than the template: the face may stand out".into(),
            );
        }
        self.warnings = w;
        self
    }
}
