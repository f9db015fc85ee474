//! Decoding photos safely (limits checked from the header before any pixel is allocated) and encoding
//! results.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::{EngineError, Role};

/// Limits a photo must respect. Checked on the header, before decoding.
///
/// The width and height box holds in either orientation (EXIF may rotate by 90°); `max_pixels`
/// bounds what is allocated whatever the aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted encoded size in bytes.
    pub max_bytes: usize,
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted width × height.
    pub max_pixels: u64,
}

impl PhotoLimits {
    /// The contract's limits for the target photo A: 5 MB, 2048×2048 px.
    pub const IMAGE: PhotoLimits = PhotoLimits {
        max_bytes: 5 * 1024 * 1024,
        max_width: 2048,
        max_height: 2048,
        max_pixels: 2048 * 2048,
    };
    /// The default hard limits for the template photo B: 5 MB, 4096×4096 px (the contract only
    /// advises a longest side of 1280 px).
    pub const TEMPLATE: PhotoLimits = PhotoLimits {
        max_bytes: 5 * 1024 * 1024,
        max_width: 4096,
        max_height: 4096,
        max_pixels: 4096 * 4096,
    };
    /// Limits for photos from a trusted local source (`faceswap swap`, `faceswap bench`): any photo
    /// that fits a safe memory budget, 64 MiB encoded and 80 megapixels (240 MB of RGB), such as
    /// the largest phone photos.
    pub const LOCAL: PhotoLimits = PhotoLimits {
        max_bytes: 64 * 1024 * 1024,
        max_width: 16384,
        max_height: 16384,
        max_pixels: 80_000_000,
    };

    /// These limits with a box of `side` × `side` pixels.
    pub fn with_max_side(self, side: u32) -> PhotoLimits {
        PhotoLimits {
            max_width: side,
            max_height: side,
            max_pixels: side as u64 * side as u64,
            ..self
        }
    }
}

/// Size of a photo read from its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoHeader {
    /// The container format.
    pub format: ImageFormat,
    /// Width in pixels, before EXIF orientation.
    pub width: u32,
    /// Height in pixels, before EXIF orientation.
    pub height: u32,
}

/// Reads format and size from the header; `Decode` if the bytes are no supported image.
pub fn probe(bytes: &[u8], role: Role) -> Result<PhotoHeader, EngineError> {
    let reader = reader(bytes, role)?;
    let format = reader.format().ok_or(EngineError::Decode {
        role,
        reason: "unknown image format".into(),
    })?;
    let (width, height) = reader.into_dimensions().map_err(|e| EngineError::Decode {
        role,
        reason: e.to_string(),
    })?;
    Ok(PhotoHeader {
        format,
        width,
        height,
    })
}

/// Decodes JPEG, PNG, WebP, BMP or GIF (first frame) into RGB, applying the EXIF orientation and
/// flattening any alpha onto white. Limits are checked on the header first, so a small file that
/// claims a huge size is refused without allocating it.
pub fn decode(bytes: &[u8], role: Role, limits: &PhotoLimits) -> Result<RgbImage, EngineError> {
    if bytes.len() > limits.max_bytes {
        return Err(EngineError::TooLarge {
            role,
            reason: format!("{} bytes, limit {}", bytes.len(), limits.max_bytes),
        });
    }
    let header = probe(bytes, role)?;
    // EXIF may rotate by 90°, so accept either orientation of the limits' box.
    let fits = |w: u32, h: u32| w <= limits.max_width && h <= limits.max_height;
    let pixels = header.width as u64 * header.height as u64;
    if (!fits(header.width, header.height) && !fits(header.height, header.width))
        || pixels > limits.max_pixels
    {
        return Err(EngineError::TooLarge {
            role,
            reason: format!(
                "{}×{} px, limit {}×{} and {} megapixels",
                header.width,
                header.height,
                limits.max_width,
                limits.max_height,
                limits.max_pixels as f64 / 1e6
            ),
        });
    }
    if header.width == 0 || header.height == 0 {
        return Err(EngineError::Decode {
            role,
            reason: "image has no pixels".into(),
        });
    }
    // What is decoded must fit the limits too, not only what the header claims.
    match header.format {
        ImageFormat::Gif => check_gif_frame(bytes, role, limits)?,
        ImageFormat::Jpeg => check_jpeg_scans(bytes, role)?,
        _ => {}
    }
    let fail = |e: image::ImageError| EngineError::Decode {
        role,
        reason: e.to_string(),
    };
    let mut decoder = reader(bytes, role)?.into_decoder().map_err(fail)?;
    let orientation = decoder.orientation().ok();
    // JPEG pixels come from libjpeg (as in most of the world's software) so that the untouched part
    // of a template is bit-identical to what other tools decode; the pure-Rust decoder rounds
    // differently by a few levels. It remains the fallback for what libjpeg refuses.
    let libjpeg = match header.format {
        ImageFormat::Jpeg => decode_with_libjpeg(bytes),
        _ => None,
    };
    let mut img = match libjpeg {
        Some(rgb) => DynamicImage::ImageRgb8(rgb),
        None => DynamicImage::from_decoder(decoder).map_err(fail)?,
    };
    if let Some(orientation) = orientation {
        img.apply_orientation(orientation);
    }
    Ok(flatten(img))
}

/// Most scans a JPEG may have. A baseline JPEG has one per component, a progressive one from
/// libjpeg or mozjpeg about ten; each scan costs a pass over the whole image, so thousands of tiny
/// scans make a small file that takes minutes of CPU to decode.
pub const MAX_JPEG_SCANS: usize = 100;

/// Refuses a JPEG with more than [`MAX_JPEG_SCANS`] scans, counted from its markers (no decoding).
fn check_jpeg_scans(bytes: &[u8], role: Role) -> Result<(), EngineError> {
    let scans = count_jpeg_scans(bytes, MAX_JPEG_SCANS + 1);
    if scans > MAX_JPEG_SCANS {
        return Err(EngineError::TooLarge {
            role,
            reason: format!(
                "a JPEG of more than {MAX_JPEG_SCANS} scans (each one a pass over the whole image)"
            ),
        });
    }
    Ok(())
}

/// Start-of-scan markers of a JPEG, counting up to `stop`: segments are skipped by their length;
/// inside entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or a restart marker.
fn count_jpeg_scans(bytes: &[u8], stop: usize) -> usize {
    let mut scans = 0;
    let mut i = 2; // after SOI
    while i + 3 < bytes.len() && scans < stop {
        if bytes[i] != 0xFF {
            i += 1;
            continue;
        }
        let marker = bytes[i + 1];
        match marker {
            0xFF => i += 1,                      // fill byte
            0x00 | 0x01 | 0xD0..=0xD7 => i += 2, // stuffed byte, TEM, restart
            0xD9 => break,                       // end of image
            _ => {
                if marker == 0xDA {
                    scans += 1;
                }
                let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
                i += 2 + len;
            }
        }
    }
    scans
}

/// Refuses a GIF whose first frame (the one decoded) is over the limits: the logical screen in the
/// header may be small while the frame itself is huge, and the frame is what gets allocated.
fn check_gif_frame(bytes: &[u8], role: Role, limits: &PhotoLimits) -> Result<(), EngineError> {
    let Some((w, h)) = first_gif_frame(bytes) else {
        return Ok(()); // the decoder reports what is wrong
    };
    let fits = |w: u32, h: u32| w <= limits.max_width && h <= limits.max_height;
    if !fits(w, h) || w as u64 * h as u64 > limits.max_pixels {
        return Err(EngineError::TooLarge {
            role,
            reason: format!(
                "a GIF frame of {w}×{h} px, limit {}×{} and {} megapixels",
                limits.max_width,
                limits.max_height,
                limits.max_pixels as f64 / 1e6
            ),
        });
    }
    Ok(())
}

/// Size of a GIF's first image: its descriptor found by walking the blocks before it.
fn first_gif_frame(bytes: &[u8]) -> Option<(u32, u32)> {
    let u16_at = |i: usize| Some(u16::from_le_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
    let packed = *bytes.get(10)?;
    let mut i = 13;
    if packed & 0x80 != 0 {
        i += 3 << ((packed & 0x07) + 1); // global colour table
    }
    loop {
        match *bytes.get(i)? {
            0x2C => return Some((u16_at(i + 5)? as u32, u16_at(i + 7)? as u32)),
            0x21 => {
                // Extension: label, then sub-blocks up to an empty one.
                i += 2;
                loop {
                    let len = *bytes.get(i)? as usize;
                    i += 1 + len;
                    if len == 0 {
                        break;
                    }
                }
            }
            _ => return None,
        }
    }
}

/// Decodes a JPEG to RGB with libjpeg (mozjpeg's build of libjpeg-turbo, default settings: accurate
/// integer IDCT and fancy upsampling). `None` when libjpeg cannot read it.
fn decode_with_libjpeg(bytes: &[u8]) -> Option<RgbImage> {
    // The binding reports libjpeg's fatal errors by unwinding.
    std::panic::catch_unwind(|| {
        let mut started = mozjpeg::Decompress::new_mem(bytes).ok()?.rgb().ok()?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let pixels: Vec<u8> = started.read_scanlines().ok()?;
        started.finish().ok()?;
        RgbImage::from_raw(w, h, pixels)
    })
    .ok()
    .flatten()
}

/// Encodes a JPEG with libjpeg (mozjpeg's build of libjpeg-turbo, with its SIMD code) in its
/// fastest profile, the files libjpeg-turbo writes: baseline, 4:2:0, Huffman tables optimised for
/// the image. About four times faster than the pure-Rust encoder on a full-size result.
fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, EngineError> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    // The binding reports libjpeg's fatal errors by unwinding.
    std::panic::catch_unwind(|| {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_fastest_defaults();
        c.set_size(w, h);
        c.set_quality(quality.clamp(1, 100) as f32);
        c.set_optimize_coding(true);
        let mut started = c.start_compress(Vec::new())?;
        started.write_scanlines(img.as_raw())?;
        started.finish()
    })
    .map_err(|_| EngineError::Encode("libjpeg failed".into()))?
    .map_err(|e| EngineError::Encode(e.to_string()))
}

fn reader(bytes: &[u8], role: Role) -> Result<ImageReader<Cursor<&[u8]>>, EngineError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EngineError::Decode {
            role,
            reason: e.to_string(),
        })?;
    if reader.format().is_none() {
        return Err(EngineError::Decode {
            role,
            reason: "not a JPEG, PNG, WebP, BMP or GIF image".into(),
        });
    }
    // A second line of defence against decompression bombs, beside the header check.
    let mut lim = image::Limits::default();
    lim.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(lim);
    Ok(reader)
}

fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = p[3] as u32;
        for c in 0..3 {
            // Composite onto white, rounding to nearest.
            o[c] = ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

/// Output encodings of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// JPEG with a quality 1–100.
    Jpeg {
        /// 1–100.
        quality: u8,
    },
    /// Lossless PNG.
    Png,
    /// Lossless WebP.
    WebP,
}

impl OutputFormat {
    /// The file extension used for this format (`jpeg`, `png`, `webp`).
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg { .. } => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::WebP => "webp",
        }
    }

    /// The MIME type of this format.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg { .. } => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::WebP => "image/webp",
        }
    }

    /// The format a file name's extension asks for (`.jpg`/`.jpeg` at quality 92).
    pub fn from_extension(ext: &str) -> Option<OutputFormat> {
        match ext.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(OutputFormat::Jpeg { quality: 92 }),
            "png" => Some(OutputFormat::Png),
            "webp" => Some(OutputFormat::WebP),
            _ => None,
        }
    }
}

/// Encodes `img` in `format`.
pub fn encode(img: &RgbImage, format: OutputFormat) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::new();
    let fail = |e: image::ImageError| EngineError::Encode(e.to_string());
    match format {
        OutputFormat::Jpeg { quality } => return encode_jpeg(img, quality),
        OutputFormat::Png => {
            let enc = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            img.write_with_encoder(enc).map_err(fail)?;
        }
        OutputFormat::WebP => {
            let enc = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            img.write_with_encoder(enc).map_err(fail)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_tiny_file_that_claims_a_huge_size_from_its_header() {
        // A valid PNG header claiming 50000×50000 px, with no pixel data at all.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&50_000u32.to_be_bytes());
        ihdr.extend_from_slice(&50_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // The start of an (empty) pixel-data chunk, where header reading stops.
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(b"IDAT");
        png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        assert!(png.len() < 100);
        let err = decode(&png, Role::Image, &PhotoLimits::IMAGE).unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::TooLarge {
                    role: Role::Image,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    /// A GIF with a 16×16 logical screen whose only frame claims `w`×`h` (no pixel data).
    fn gif_with_frame(w: u16, h: u16) -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&16u16.to_le_bytes());
        gif.extend_from_slice(&16u16.to_le_bytes());
        gif.extend_from_slice(&[0x80, 0, 0]); // global table of 2 colours
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        gif.extend_from_slice(&[0x21, 0xF9, 4, 0, 0, 0, 0, 0]); // graphic control extension
        gif.push(0x2C);
        gif.extend_from_slice(&[0, 0, 0, 0]);
        gif.extend_from_slice(&w.to_le_bytes());
        gif.extend_from_slice(&h.to_le_bytes());
        gif.extend_from_slice(&[0, 2, 0, 0x3B]);
        gif
    }

    #[test]
    fn a_gif_frame_far_larger_than_its_screen_is_refused_before_decoding() {
        assert_eq!(
            first_gif_frame(&gif_with_frame(20_000, 15_000)),
            Some((20_000, 15_000))
        );
        let err = decode(
            &gif_with_frame(20_000, 15_000),
            Role::Image,
            &PhotoLimits::IMAGE,
        )
        .unwrap_err();
        assert!(
            matches!(err, EngineError::TooLarge { ref reason, .. } if reason.contains("GIF frame")),
            "{err:?}"
        );
        // A frame within the limits goes on to the decoder (which finds no pixel data here).
        let err = decode(&gif_with_frame(16, 16), Role::Image, &PhotoLimits::IMAGE).unwrap_err();
        assert!(matches!(err, EngineError::Decode { .. }), "{err:?}");
    }

    #[test]
    fn results_encode_to_jpeg_that_decodes_to_the_same_size_and_close_pixels() {
        let img = RgbImage::from_fn(301, 203, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let bytes = encode(&img, OutputFormat::Jpeg { quality: 92 }).unwrap();
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
        let back = decode(&bytes, Role::Image, &PhotoLimits::IMAGE).unwrap();
        assert_eq!(back.dimensions(), (301, 203));
        let err: f64 = img
            .as_raw()
            .iter()
            .zip(back.as_raw())
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / img.as_raw().len() as f64;
        assert!(err < 4.0, "mean error {err}");
        let low = encode(&img, OutputFormat::Jpeg { quality: 30 }).unwrap();
        assert!(low.len() < bytes.len(), "the quality is used");
    }

    #[test]
    fn a_jpeg_of_thousands_of_scans_is_refused_and_a_progressive_photo_is_not() {
        // A real progressive JPEG, written by libjpeg (mozjpeg).
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_size(64, 48);
        c.set_progressive_mode();
        let mut started = c.start_compress(Vec::new()).unwrap();
        started.write_scanlines(img.as_raw()).unwrap();
        let progressive = started.finish().unwrap();
        let scans = count_jpeg_scans(&progressive, usize::MAX);
        assert!((2..=MAX_JPEG_SCANS).contains(&scans), "{scans} scans");
        assert!(decode(&progressive, Role::Image, &PhotoLimits::IMAGE).is_ok());
        // The same photo with its last scan repeated thousands of times.
        let last_sos = (0..progressive.len() - 1)
            .rev()
            .find(|&i| progressive[i] == 0xFF && progressive[i + 1] == 0xDA)
            .unwrap();
        let scan = &progressive[last_sos..progressive.len() - 2];
        let mut bomb = progressive[..progressive.len() - 2].to_vec();
        for _ in 0..5000 {
            bomb.extend_from_slice(scan);
        }
        bomb.extend_from_slice(&[0xFF, 0xD9]);
        assert!(count_jpeg_scans(&bomb, usize::MAX) > 5000);
        let err = decode(&bomb, Role::Template, &PhotoLimits::TEMPLATE).unwrap_err();
        assert!(
            matches!(err, EngineError::TooLarge { ref reason, .. } if reason.contains("scans")),
            "{err:?}"
        );
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn refuses_bytes_that_are_not_an_image() {
        let err = decode(
            b"<html>not a photo</html>",
            Role::Template,
            &PhotoLimits::TEMPLATE,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::Decode {
                    role: Role::Template,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_too_many_bytes_before_looking_at_them() {
        let limits = PhotoLimits {
            max_bytes: 10,
            ..PhotoLimits::IMAGE
        };
        let err = decode(&[0u8; 11], Role::Image, &limits).unwrap_err();
        assert!(matches!(err, EngineError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn flattens_transparency_onto_white_and_round_trips_png() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let mut bytes = Vec::new();
        DynamicImage::ImageRgba8(rgba)
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let rgb = decode(&bytes, Role::Image, &PhotoLimits::IMAGE).unwrap();
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
        let again = decode(
            &encode(&rgb, OutputFormat::Png).unwrap(),
            Role::Image,
            &PhotoLimits::IMAGE,
        )
        .unwrap();
        assert_eq!(again, rgb);
    }
}
