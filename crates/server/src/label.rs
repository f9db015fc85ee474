//! The implicit AI-content label of every result: an XMP packet in the file's metadata (JPEG APP1,
//! PNG iTXt, WebP "XMP " chunk) carrying the GB 45438-2025 metadata label (the `TC260:AIGC` field:
//! AI-generated, the provider, the content id) and IPTC's digital source type for other readers.
//!
//! XMP rather than a C2PA manifest: GB 45438-2025 names metadata fields that XMP carries as they are,
//! every format here has a standard place for it, and exiftool and image viewers read it; a C2PA
//! manifest is only worth its weight when signed with a certificate that a self-hosted deployment
//! does not have.

use faceswap_engine::OutputFormat;

/// The XMP namespace of the TC260 (GB 45438-2025) label.
pub const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";
/// The signature that opens an XMP APP1 segment in JPEG.
const JPEG_XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The keyword of XMP in a PNG iTXt chunk.
const PNG_XMP: &[u8] = b"XML:com.adobe.xmp";

/// Escapes text for XML.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The XMP packet of a result made by `provider` for task `task_id`.
pub fn xmp(provider: &str, task_id: &str) -> String {
    let aigc = serde_json::json!({
        "Label": "1",
        "ContentProducer": provider,
        "ProduceID": task_id,
        "ReservedCode1": "",
        "ContentPropagator": provider,
        "PropagateID": task_id,
        "ReservedCode2": "",
    });
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description rdf:about=\"\" xmlns:TC260=\"{TC260_NS}\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" \
Iptc4xmpExt:DigitalSourceType=\"http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic\">\
<TC260:AIGC>{}</TC260:AIGC>\
<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:description>\
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>",
        xml_escape(&aigc.to_string()),
        xml_escape(&format!(
            "AI-generated face fusion by {provider}, task {task_id}"
        )),
    )
}

/// `bytes` (an encoded result) with the XMP packet in its metadata.
pub fn embed(bytes: Vec<u8>, format: OutputFormat, xmp: &str) -> Result<Vec<u8>, String> {
    match format {
        OutputFormat::Jpeg { .. } => embed_jpeg(bytes, xmp),
        OutputFormat::Png => embed_png(bytes, xmp),
        OutputFormat::WebP => embed_webp(bytes, xmp),
    }
}

/// JPEG: an APP1 segment after SOI and the JFIF APP0 segment (which must stay first).
fn embed_jpeg(bytes: Vec<u8>, xmp: &str) -> Result<Vec<u8>, String> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err("not a JPEG".into());
    }
    let len = 2 + JPEG_XMP.len() + xmp.len();
    if len > 0xFFFF {
        return Err("XMP packet too long for one JPEG segment".into());
    }
    let mut at = 2;
    if bytes.get(2..4) == Some(&[0xFF, 0xE0]) {
        let app0 = u16::from_be_bytes([bytes[4], bytes[5]]) as usize;
        at = 4 + app0;
    }
    let mut out = Vec::with_capacity(bytes.len() + len + 2);
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(JPEG_XMP);
    out.extend_from_slice(xmp.as_bytes());
    out.extend_from_slice(&bytes[at..]);
    Ok(out)
}

/// PNG: an uncompressed iTXt chunk after IHDR.
fn embed_png(bytes: Vec<u8>, xmp: &str) -> Result<Vec<u8>, String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.get(..8) != Some(SIGNATURE) || bytes.get(12..16) != Some(b"IHDR") {
        return Err("not a PNG".into());
    }
    let ihdr_end = 8 + 12 + u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let mut data = Vec::new();
    data.extend_from_slice(PNG_XMP);
    // Null separator, not compressed, method 0, no language tag, no translated keyword.
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(xmp.as_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(b"iTXt");
    crc.update(&data);
    let mut out = Vec::with_capacity(bytes.len() + data.len() + 12);
    out.extend_from_slice(&bytes[..ihdr_end]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(b"iTXt");
    out.extend_from_slice(&data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(&bytes[ihdr_end..]);
    Ok(out)
}

/// WebP: the extended format (a VP8X chunk with the XMP flag) with an "XMP " chunk at the end.
fn embed_webp(bytes: Vec<u8>, xmp: &str) -> Result<Vec<u8>, String> {
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err("not a WebP".into());
    }
    let chunk = |tag: &[u8], data: &[u8]| {
        let mut c = Vec::with_capacity(data.len() + 9);
        c.extend_from_slice(tag);
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut body = bytes[12..].to_vec();
    const XMP_FLAG: u8 = 0x04;
    if body.get(..4) == Some(b"VP8X") {
        body[8] |= XMP_FLAG;
    } else {
        // A simple file: its size comes from the image, then it gains a VP8X header.
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP)
            .map_err(|e| format!("cannot read the WebP's size: {e}"))?;
        let (w, h) = (img.width() - 1, img.height() - 1);
        let mut vp8x = vec![XMP_FLAG, 0, 0, 0];
        vp8x.extend_from_slice(&w.to_le_bytes()[..3]);
        vp8x.extend_from_slice(&h.to_le_bytes()[..3]);
        let mut extended = chunk(b"VP8X", &vp8x);
        extended.extend_from_slice(&body);
        body = extended;
    }
    body.extend_from_slice(&chunk(b"XMP ", xmp.as_bytes()));
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Ok(out)
}

/// The XMP packet of an encoded image, if it has one (JPEG APP1, PNG iTXt or WebP "XMP ").
pub fn read_xmp(bytes: &[u8]) -> Option<String> {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut at = 2;
        while at + 4 <= bytes.len() && bytes[at] == 0xFF && bytes[at + 1] != 0xDA {
            let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
            let seg = bytes.get(at + 4..at + 2 + len)?;
            if bytes[at + 1] == 0xE1 && seg.starts_with(JPEG_XMP) {
                return text(&seg[JPEG_XMP.len()..]);
            }
            at += 2 + len;
        }
        None
    } else if bytes.starts_with(b"\x89PNG") {
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
            let data = bytes.get(at + 8..at + 8 + len)?;
            if &bytes[at + 4..at + 8] == b"iTXt" && data.starts_with(PNG_XMP) {
                return text(&data[PNG_XMP.len() + 5..]);
            }
            at += 12 + len;
        }
        None
    } else if bytes.starts_with(b"RIFF") {
        let mut at = 12;
        while at + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
            if &bytes[at..at + 4] == b"XMP " {
                return text(bytes.get(at + 8..at + 8 + len)?);
            }
            at += 8 + len + len % 2;
        }
        None
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceswap_engine::{encode, RgbImage};

    #[test]
    fn every_format_carries_the_label_and_still_decodes() {
        let img = RgbImage::from_fn(33, 21, |x, y| image::Rgb([x as u8 * 7, y as u8 * 11, 90]));
        let packet = xmp("faceswap test", "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f");
        for format in [
            OutputFormat::Jpeg { quality: 92 },
            OutputFormat::Png,
            OutputFormat::WebP,
        ] {
            let plain = encode(&img, format).unwrap();
            assert_eq!(read_xmp(&plain), None);
            let labelled = embed(plain.clone(), format, &packet).unwrap();
            let read = read_xmp(&labelled).expect("the label is there");
            assert_eq!(read, packet, "{format:?}");
            assert!(read.contains(TC260_NS));
            assert!(read.contains("&quot;Label&quot;:&quot;1&quot;"));
            assert!(read.contains("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"));
            // The pixels are untouched.
            let (a, b) = (
                image::load_from_memory(&plain).unwrap().to_rgb8(),
                image::load_from_memory(&labelled).unwrap().to_rgb8(),
            );
            assert_eq!(a, b, "{format:?}");
        }
    }

    #[test]
    fn the_label_escapes_what_xml_cannot_hold() {
        let packet = xmp("A & B <Labs> \"x\"", "t");
        assert!(packet.contains("A &amp; B &lt;Labs&gt;"));
        assert!(!packet.contains("<Labs>"));
    }
}

/// Fonts tried, in order, when the operator names none: one with Chinese and Latin glyphs
/// (Debian's fonts-wqy-microhei, which the set-up installs), then DejaVu (Latin only).
pub const DEFAULT_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
];

/// Which corner of the result the visible label sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// Top left.
    TopLeft,
    /// Top right.
    TopRight,
    /// Bottom left.
    BottomLeft,
    /// Bottom right (the default).
    BottomRight,
}

impl std::str::FromStr for Corner {
    type Err = String;
    fn from_str(s: &str) -> Result<Corner, String> {
        match s {
            "top-left" => Ok(Corner::TopLeft),
            "top-right" => Ok(Corner::TopRight),
            "bottom-left" => Ok(Corner::BottomLeft),
            "bottom-right" => Ok(Corner::BottomRight),
            other => Err(format!(
                "corner must be top-left, top-right, bottom-left or bottom-right, not {other:?}"
            )),
        }
    }
}

/// The explicit, visible label drawn on results: its text in a font that has every glyph of it,
/// white on a dark translucent plate, sized to the result.
pub struct VisibleLabel {
    font: ab_glyph::FontVec,
    text: String,
    corner: Corner,
}

impl std::fmt::Debug for VisibleLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisibleLabel")
            .field("text", &self.text)
            .field("corner", &self.corner)
            .finish()
    }
}

/// Text height over the result's shorter side, and its bounds in pixels.
const TEXT_SHARE: f32 = 0.035;
const TEXT_PX: (f32, f32) = (13.0, 160.0);

impl VisibleLabel {
    /// Loads the font at `font` (or the first of [`DEFAULT_FONTS`] that exists); fails when it
    /// cannot be read or lacks a glyph of `text`.
    pub fn new(
        text: &str,
        corner: Corner,
        font: Option<&std::path::Path>,
    ) -> Result<VisibleLabel, String> {
        use ab_glyph::Font as _;
        let path = match font {
            Some(p) => p.to_path_buf(),
            None => DEFAULT_FONTS
                .iter()
                .map(std::path::PathBuf::from)
                .find(|p| p.exists())
                .ok_or("no font for the visible label: install fonts-wqy-microhei or give --label-font")?,
        };
        let bytes =
            std::fs::read(&path).map_err(|e| format!("label font {}: {e}", path.display()))?;
        let font = ab_glyph::FontVec::try_from_vec_and_index(bytes, 0)
            .map_err(|e| format!("label font {}: {e}", path.display()))?;
        if text.trim().is_empty() {
            return Err("the label text is empty".into());
        }
        if let Some(c) = text
            .chars()
            .find(|&c| !c.is_whitespace() && font.glyph_id(c).0 == 0)
        {
            return Err(format!(
                "label font {} has no glyph for {c:?} of the label text: give --label-font with one that has",
                path.display()
            ));
        }
        Ok(VisibleLabel {
            font,
            text: text.to_string(),
            corner,
        })
    }

    /// Draws the label on `img`.
    pub fn draw(&self, img: &mut faceswap_engine::RgbImage) {
        use ab_glyph::{point, Font as _, ScaleFont as _};
        let (w, h) = img.dimensions();
        let px = (w.min(h) as f32 * TEXT_SHARE).clamp(TEXT_PX.0, TEXT_PX.1);
        let font = self.font.as_scaled(px);
        // Lay the glyphs out on one line.
        let mut glyphs = Vec::new();
        let mut x = 0.0;
        let mut last = None;
        for c in self.text.chars() {
            let id = font.glyph_id(c);
            if let Some(prev) = last {
                x += font.kern(prev, id);
            }
            glyphs.push(id.with_scale_and_position(px, point(x, font.ascent())));
            x += font.h_advance(id);
            last = Some(id);
        }
        let pad = (px * 0.35).round();
        let margin = (px * 0.6).round();
        let (plate_w, plate_h) = (
            x.ceil() + 2.0 * pad,
            (font.ascent() - font.descent()).ceil() + 2.0 * pad,
        );
        // A result too small for the whole label gets it cut at its edge rather than none.
        let left = match self.corner {
            Corner::TopLeft | Corner::BottomLeft => margin,
            _ => (w as f32 - margin - plate_w).max(0.0),
        };
        let top = match self.corner {
            Corner::TopLeft | Corner::TopRight => margin,
            _ => (h as f32 - margin - plate_h).max(0.0),
        };
        let blend =
            |img: &mut faceswap_engine::RgbImage, x: i64, y: i64, colour: [f32; 3], a: f32| {
                if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
                    return;
                }
                let p = img.get_pixel_mut(x as u32, y as u32);
                for c in 0..3 {
                    p[c] = (p[c] as f32 + a * (colour[c] - p[c] as f32)).round() as u8;
                }
            };
        for y in top as i64..(top + plate_h) as i64 {
            for x in left as i64..(left + plate_w) as i64 {
                blend(img, x, y, [0.0; 3], 0.55);
            }
        }
        for g in glyphs {
            if let Some(outline) = self.font.outline_glyph(g) {
                let b = outline.px_bounds();
                let (ox, oy) = (left + pad + b.min.x, top + pad + b.min.y);
                outline.draw(|gx, gy, coverage| {
                    blend(
                        img,
                        (ox + gx as f32) as i64,
                        (oy + gy as f32) as i64,
                        [255.0; 3],
                        coverage.clamp(0.0, 1.0),
                    );
                });
            }
        }
    }
}

#[cfg(test)]
mod visible_tests {
    use super::*;
    use faceswap_engine::RgbImage;

    fn plain(w: u32, h: u32) -> RgbImage {
        RgbImage::from_pixel(w, h, image::Rgb([120, 160, 200]))
    }

    /// The changed pixels' bounding box.
    fn changed(before: &RgbImage, after: &RgbImage) -> Option<(u32, u32, u32, u32)> {
        let mut b: Option<(u32, u32, u32, u32)> = None;
        for (x, y, p) in after.enumerate_pixels() {
            if p != before.get_pixel(x, y) {
                b = Some(match b {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
        b
    }

    #[test]
    fn the_label_is_drawn_in_its_corner_sized_to_the_result_in_chinese_too() {
        let label = VisibleLabel::new("AI生成 AI-generated", Corner::BottomRight, None)
            .expect("the set-up installs a font with Chinese glyphs");
        for (w, h) in [(120, 90), (640, 480), (3000, 2000)] {
            let before = plain(w, h);
            let mut after = before.clone();
            label.draw(&mut after);
            let (x0, y0, x1, y1) = changed(&before, &after).expect("drawn");
            assert!(x1 >= w - w / 5 && y1 >= h - h / 5, "bottom right: {w}x{h}");
            assert!(x0 > 0 && y0 > 0, "a margin: {x0} {y0}");
            let plate_h = (y1 - y0) as f32;
            assert!(plate_h >= 13.0, "legible on {w}x{h}: {plate_h} px");
            // Legible first: on a thumbnail the plate takes a larger share.
            let share = if h < 200 { 0.3 } else { 0.1 };
            assert!(
                plate_h <= share * h as f32,
                "not covering the photo: {plate_h} px of {h}"
            );
            // White strokes on the plate: some pixels are much brighter than the darkened plate.
            let bright = after.pixels().filter(|p| p[0] > 200 && p[2] > 200).count();
            assert!(bright > 20, "text strokes on {w}x{h}: {bright}");
        }
        let before = plain(400, 300);
        let mut top_left = before.clone();
        VisibleLabel::new("AI", Corner::TopLeft, None)
            .unwrap()
            .draw(&mut top_left);
        let (_, _, x1, y1) = changed(&before, &top_left).unwrap();
        assert!(x1 < 200 && y1 < 150);
    }

    #[test]
    fn a_text_the_font_cannot_draw_is_refused_at_start() {
        let dejavu = std::path::Path::new(DEFAULT_FONTS[1]);
        if dejavu.exists() {
            let err = VisibleLabel::new("AI生成", Corner::BottomRight, Some(dejavu)).unwrap_err();
            assert!(err.contains("no glyph"), "{err}");
        }
        assert!(VisibleLabel::new(
            "x",
            Corner::TopLeft,
            Some(std::path::Path::new("/nope.ttf"))
        )
        .is_err());
        assert!("middle".parse::<Corner>().is_err());
    }
}
