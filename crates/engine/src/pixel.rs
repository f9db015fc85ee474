//! Pixel arithmetic shared by the analysis (the parse, the light) and the fusion.

/// Where `v` lies from `edges.0` (0) to `edges.1` (1), clamped: the soft threshold every mask of the
/// fusion is made of (`edges.1` below `edges.0` ramps down).
pub(crate) fn ramp(v: f32, edges: (f32, f32)) -> f32 {
    ((v - edges.0) / (edges.1 - edges.0)).clamp(0.0, 1.0)
}

/// Brightness of an RGB pixel (Rec. 601 weights).
pub(crate) fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}
