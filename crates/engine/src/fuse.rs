//! Fusion of A's face into B's head.

use image::RgbImage;

use crate::mesh::Mesh;

/// Fuses `source`'s face (mesh `sm`) into `template`'s face (mesh `tm`).
pub fn fuse(
    _source: &RgbImage,
    _sm: &Mesh,
    template: &RgbImage,
    _tm: &Mesh,
    _degree: u8,
) -> RgbImage {
    template.clone()
}
