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

/// The outer edge of the lips, in order around the mouth.
pub const LIPS_OUTER: [usize; 20] = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
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
/// Outline of the brow on the image's left: upper edge from the outer end in, lower edge back out.
pub const BROW_A: [usize; 10] = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46];
/// Outline of the other brow.
pub const BROW_B: [usize; 10] = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276];
/// The eye socket on the image's left: the brow's upper edge from the outer end in, then the
/// eye's lower lid back out (lids, lashes and their make-up lie inside).
pub const ORBIT_A: [usize; 14] = [
    70, 63, 105, 66, 107, 133, 155, 154, 153, 145, 144, 163, 7, 33,
];
/// The other eye socket.
pub const ORBIT_B: [usize; 14] = [
    300, 293, 334, 296, 336, 362, 382, 381, 380, 374, 373, 390, 249, 263,
];
/// Upper edges of both eyebrows.
pub const BROWS_UPPER: [usize; 10] = [70, 63, 105, 66, 107, 300, 293, 334, 296, 336];

/// For each point, its mirror image across the face's midline (an involution; the 28 midline points
/// map to themselves). Derived from a frontal face's mesh by reflecting across the fitted midline
/// and checked against the named pairs (eye corners 33/263, mouth corners 61/291, ...).
pub const MIRROR: [u16; 468] = [
    0, 1, 2, 248, 4, 5, 6, 249, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272,
    273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291,
    292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310,
    311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 322, 323, 94, 324, 325, 326, 327, 328,
    329, 330, 331, 332, 333, 334, 335, 336, 337, 338, 339, 340, 341, 342, 343, 344, 345, 346, 347,
    348, 349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362, 363, 364, 365, 366,
    367, 368, 369, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 151, 152, 380, 381, 382, 383,
    384, 385, 386, 387, 388, 389, 390, 164, 391, 392, 393, 168, 394, 395, 396, 397, 398, 399, 175,
    400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
    195, 419, 197, 420, 199, 200, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433,
    434, 435, 436, 437, 438, 439, 440, 441, 442, 443, 444, 445, 446, 447, 448, 449, 450, 451, 452,
    453, 454, 455, 456, 457, 458, 459, 460, 461, 462, 463, 464, 465, 466, 467, 3, 7, 20, 21, 22,
    23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46,
    47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70,
    71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115,
    116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134,
    135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 153, 154, 155,
    156, 157, 158, 159, 160, 161, 162, 163, 165, 166, 167, 169, 170, 171, 172, 173, 174, 176, 177,
    178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 196, 198,
    201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219,
    220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238,
    239, 240, 241, 242, 243, 244, 245, 246, 247,
];

/// The two sides of the face at eye level (on the oval).
pub const FACE_SIDES: [usize; 2] = [234, 454];
/// Tip of the nose.
pub const NOSE_TIP: usize = 1;
/// Bottom of the nose, where it meets the upper lip (subnasale).
pub const NOSE_BASE: usize = 2;
/// Top of the upper lip, on the middle line.
pub const UPPER_LIP_TOP: usize = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_is_an_involution_that_swaps_known_pairs() {
        for i in 0..468 {
            assert_eq!(MIRROR[MIRROR[i] as usize] as usize, i, "point {i}");
        }
        for (a, b) in [
            (33, 263),
            (133, 362),
            (61, 291),
            (234, 454),
            (78, 308),
            (70, 300),
        ] {
            assert_eq!(MIRROR[a] as usize, b);
        }
        for i in [0, 1, 2, 10, 13, 14, 152] {
            assert_eq!(MIRROR[i] as usize, i);
        }
    }
}
