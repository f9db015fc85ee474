//! Named regions of MediaPipe's 468-point face mesh (indices from MediaPipe's face_mesh connections).

/// The face oval, in order around the face (starting at the top of the forehead, clockwise in the image).
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];

/// The inner edge of the lips, in order around the mouth opening.
pub const LIPS_INNER: [usize; 20] = [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
];

/// Middle of the upper lip's inner edge.
pub const UPPER_LIP_INNER: usize = 13;
/// Middle of the lower lip's inner edge.
pub const LOWER_LIP_INNER: usize = 14;
/// Mouth corners.
pub const MOUTH_CORNERS: [usize; 2] = [61, 291];

/// Contour of the eye on the image's left (the subject's right eye).
pub const EYE_A: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
];
/// Contour of the other eye.
pub const EYE_B: [usize; 16] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
];
/// Upper edges of both eyebrows.
pub const BROWS_UPPER: [usize; 10] = [70, 63, 105, 66, 107, 300, 293, 334, 296, 336];
