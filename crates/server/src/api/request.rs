//! The `POST /v1/faceswap` body: parsing and validation into a [`FaceswapRequest`], with `detail`
//! texts that name the field at fault, and base64 decoding of inline photos.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use faceswap_engine::{FaceChoice, OutputFormat, Rect, SwapOptions};
use serde_json::{Map, Value};

use crate::fetch::parse_source_url;

/// Where a photo comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Download it.
    Url(url::Url),
    /// Inline base64 (decoded later, after the task exists: undecodable base64 is
    /// `invalid_input_image`).
    Base64(String),
}

/// A valid request body.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceswapRequest {
    /// Photo A, the face wanted.
    pub image: Source,
    /// Template B, the head, body and scene kept.
    pub template: Source,
    /// Fusion degree and template face.
    pub options: SwapOptions,
    /// Result encoding.
    pub format: OutputFormat,
    /// Whether the response carries the result inline too.
    pub return_base64: bool,
    /// The request's wish for the visible AI-content label (`None`: the server's setting).
    pub label: Option<bool>,
    /// With the `faces` form, the faces after the first: each source photo and the index of the
    /// template face it replaces (the first is `image` into `options.template_face`).
    pub more_faces: Vec<(Source, usize)>,
}

/// Most faces one request may fuse (as Tencent's FuseFace allows).
pub const MAX_FACES: usize = 6;

/// The detail of a body that is not a JSON object.
pub const NOT_AN_OBJECT: &str = "Your request body is not a JSON object.";

/// Parses and validates the body. `Err` is the `invalid_post` detail.
pub fn parse_request(body: &[u8]) -> Result<FaceswapRequest, String> {
    // Some clients (Windows tools, .NET encoders) start UTF-8 text with a byte-order mark.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value = serde_json::from_slice(body).map_err(|_| NOT_AN_OBJECT.to_string())?;
    let Value::Object(obj) = value else {
        return Err(NOT_AN_OBJECT.into());
    };
    let (image, template_face, more_faces) = match field(&obj, "faces") {
        None => (
            source(&obj, "image_url", "image_base64")?,
            template_face(field(&obj, "template_face"))?,
            Vec::new(),
        ),
        Some(faces) => {
            if ["image_url", "image_base64", "template_face"]
                .iter()
                .any(|f| field(&obj, f).is_some_and(|v| !is_blank(v)))
            {
                return Err(
                    "Give either faces or image_url/image_base64 with template_face, not both."
                        .into(),
                );
            }
            let mut all = many_faces(faces)?.into_iter();
            let (first, k) = all.next().expect("at least one face");
            (first, FaceChoice::Index(k), all.collect())
        }
    };
    let template = source(&obj, "template_url", "template_base64")?;
    let degree = match field(&obj, "degree") {
        None => 100,
        Some(v) => {
            integer_in(v, 0, 100).ok_or("Your degree must be an integer from 0 to 100.")? as u8
        }
    };
    let quality = match field(&obj, "quality") {
        None => 92,
        Some(v) => {
            integer_in(v, 1, 100).ok_or("Your quality must be an integer from 1 to 100.")? as u8
        }
    };
    let format = match field(&obj, "output_format") {
        None => OutputFormat::Jpeg { quality },
        Some(v) => match v.as_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("jpeg") | Some("jpg") => OutputFormat::Jpeg { quality },
            Some("png") => OutputFormat::Png,
            Some("webp") => OutputFormat::WebP,
            _ => return Err("Your output_format must be one of jpeg, png, webp.".into()),
        },
    };
    let return_base64 = match field(&obj, "return_base64") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("Your return_base64 must be true or false.".into()),
    };
    let label = match field(&obj, "label") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("Your label must be true or false.".into()),
    };
    Ok(FaceswapRequest {
        more_faces,
        label,
        image,
        template,
        options: SwapOptions {
            degree,
            template_face,
        },
        format,
        return_base64,
    })
}

/// Parses the body of `POST /v1/detect`: the photo, as `image_url` or `image_base64`. `Err` is the
/// `invalid_post` detail.
pub fn parse_detect_request(body: &[u8]) -> Result<Source, String> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value = serde_json::from_slice(body).map_err(|_| NOT_AN_OBJECT.to_string())?;
    let Value::Object(obj) = value else {
        return Err(NOT_AN_OBJECT.into());
    };
    source(&obj, "image_url", "image_base64")
}

/// A field's value; JSON `null` counts as absent.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// Whether a field holds an empty (or all-blank) string.
fn is_blank(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.trim().is_empty())
}

fn source(obj: &Map<String, Value>, url_field: &str, b64_field: &str) -> Result<Source, String> {
    let mut url = field(obj, url_field);
    let mut b64 = field(obj, b64_field);
    // Clients that always send both fields, one of them empty, mean the other one; when both are
    // empty, the URL field is reported.
    let blank = |v: Option<&Value>| v.is_some_and(is_blank);
    match (blank(url), blank(b64)) {
        (true, false) if b64.is_some() => url = None,
        (false, true) if url.is_some() => b64 = None,
        (true, true) => b64 = None,
        _ => {}
    }
    match (url, b64) {
        (Some(_), Some(_)) => Err(format!("Give only one of {url_field} and {b64_field}.")),
        (None, None) => Err(format!("Your {url_field} is empty.")),
        (Some(v), None) => {
            let s = v
                .as_str()
                .ok_or_else(|| format!("Your {url_field} must be a string."))?;
            if s.trim().is_empty() {
                return Err(format!("Your {url_field} is empty."));
            }
            parse_source_url(s)
                .map(Source::Url)
                .map_err(|_| format!("Your {url_field} is not a valid http or https URL."))
        }
        (None, Some(v)) => {
            let s = v
                .as_str()
                .ok_or_else(|| format!("Your {b64_field} must be a string."))?;
            if strip_data_prefix(s).trim().is_empty() {
                return Err(format!("Your {b64_field} is empty."));
            }
            Ok(Source::Base64(s.to_string()))
        }
    }
}

/// The `faces` form: `[{"template_face": K, "image_url" | "image_base64": ...}, ...]`, 1 to
/// [`MAX_FACES`] entries, each template face at most once.
fn many_faces(v: &Value) -> Result<Vec<(Source, usize)>, String> {
    let list = v
        .as_array()
        .filter(|l| (1..=MAX_FACES).contains(&l.len()))
        .ok_or_else(|| format!("Your faces must list 1 to {MAX_FACES} faces."))?;
    let mut out: Vec<(Source, usize)> = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let obj = entry.as_object().ok_or_else(|| {
            format!("Your faces[{i}] must be an object with template_face and image_url or image_base64.")
        })?;
        let k = field(obj, "template_face")
            .and_then(|v| integer_in(v, 0, 1_000_000))
            .ok_or_else(|| {
                format!(
                    "Your faces[{i}].template_face must be a face index (0 is the largest face)."
                )
            })? as usize;
        if out.iter().any(|(_, seen)| *seen == k) {
            return Err(format!("Your faces name template face {k} more than once."));
        }
        let photo = source(obj, "image_url", "image_base64")
            .map_err(|e| e.replacen("Your ", &format!("Your faces[{i}]."), 1))?;
        out.push((photo, k));
    }
    Ok(out)
}

const TEMPLATE_FACE_DETAIL: &str =
    "Your template_face must be a face index (0 is the largest face) \
     or a rectangle {\"x\": ..., \"y\": ..., \"w\": ..., \"h\": ...} in template pixels.";

fn template_face(v: Option<&Value>) -> Result<FaceChoice, String> {
    let Some(v) = v else {
        return Ok(FaceChoice::Largest);
    };
    if let Some(obj) = v.as_object() {
        let num = |k: &str| obj.get(k).and_then(Value::as_f64).filter(|x| x.is_finite());
        return match (num("x"), num("y"), num("w"), num("h")) {
            (Some(x), Some(y), Some(w), Some(h)) if w > 0.0 && h > 0.0 => {
                Ok(FaceChoice::Region(Rect {
                    x: x as f32,
                    y: y as f32,
                    w: w as f32,
                    h: h as f32,
                }))
            }
            _ => Err(TEMPLATE_FACE_DETAIL.into()),
        };
    }
    integer_in(v, 0, 1_000_000)
        .map(|k| FaceChoice::Index(k as usize))
        .ok_or_else(|| TEMPLATE_FACE_DETAIL.into())
}

/// An integer (or a float with no fraction) within `lo..=hi`.
fn integer_in(v: &Value, lo: i64, hi: i64) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        })?,
        _ => return None,
    };
    (lo..=hi).contains(&n).then_some(n)
}

fn strip_data_prefix(s: &str) -> &str {
    let t = s.trim_start();
    if t.len() >= 5 && t[..5].eq_ignore_ascii_case("data:") {
        if let Some(i) = t.find(',') {
            return &t[i + 1..];
        }
    }
    t
}

/// Decodes inline base64: standard or URL-safe alphabet, padding optional, an optional
/// `data:image/...;base64,` prefix, whitespace and line breaks anywhere. `None` if it is not base64.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let t = s.trim_start();
    let payload = if t.len() >= 5 && t[..5].eq_ignore_ascii_case("data:") {
        let (meta, data) = t.split_once(',')?;
        if !meta.to_ascii_lowercase().ends_with(";base64") {
            return None;
        }
        data
    } else {
        t
    };
    let mut clean: Vec<u8> = payload
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    while clean.last() == Some(&b'=') {
        clean.pop();
    }
    if clean.is_empty() {
        return None;
    }
    let url_safe = clean.iter().any(|&b| b == b'-' || b == b'_');
    let engine = if url_safe {
        &URL_SAFE_NO_PAD
    } else {
        &STANDARD_NO_PAD
    };
    engine.decode(&clean).ok()
}

/// An upper bound of the decoded size of a base64 text, to refuse huge inline photos cheaply.
pub fn base64_decoded_len_bound(s: &str) -> usize {
    s.len() / 4 * 3 + 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn several_faces_map_sources_to_template_faces() {
        let r = parse(json!({"template_url": "http://b.example/g.jpg", "faces": [
            {"template_face": 1, "image_url": "https://a.example/1.jpg"},
            {"template_face": 0, "image_base64": "AAAA"}]}))
        .unwrap();
        assert!(matches!(r.image, Source::Url(_)));
        assert_eq!(r.options.template_face, FaceChoice::Index(1));
        assert_eq!(r.more_faces, vec![(Source::Base64("AAAA".into()), 0)]);
        let face = |k: usize| json!({"template_face": k, "image_url": "https://a.example/x.jpg"});
        let with = |faces: Value| json!({"template_url": "http://b.example/g.jpg", "faces": faces});
        assert_eq!(
            err(with(json!((0..7).map(face).collect::<Vec<_>>()))),
            "Your faces must list 1 to 6 faces."
        );
        assert_eq!(err(with(json!([]))), "Your faces must list 1 to 6 faces.");
        assert_eq!(
            err(with(json!([face(2), face(2)]))),
            "Your faces name template face 2 more than once."
        );
        assert_eq!(
            err(with(json!([{"template_face": 0}]))),
            "Your faces[0].image_url is empty."
        );
        assert_eq!(
            err(with(
                json!([{"template_face": -1, "image_url": "https://a.example/x.jpg"}])
            )),
            "Your faces[0].template_face must be a face index (0 is the largest face)."
        );
        let mut both = with(json!([face(0)]));
        both["image_url"] = json!("https://a.example/y.jpg");
        assert_eq!(
            err(both),
            "Give either faces or image_url/image_base64 with template_face, not both."
        );
    }

    fn parse(v: Value) -> Result<FaceswapRequest, String> {
        parse_request(v.to_string().as_bytes())
    }

    fn err(v: Value) -> String {
        parse(v).unwrap_err()
    }

    #[test]
    fn accepts_urls_base64_and_mixed() {
        let r = parse(json!({"image_url": "https://a.example/x.jpg", "template_url": "http://b.example/y.png"}))
            .unwrap();
        assert!(matches!(r.image, Source::Url(_)));
        assert!(matches!(r.template, Source::Url(_)));
        assert_eq!(r.options, SwapOptions::default());
        assert_eq!(r.format, OutputFormat::Jpeg { quality: 92 });
        assert!(!r.return_base64);
        let r = parse(
            json!({"image_base64": "AAAA", "template_url": "http://b.example/y.png", "extra": 1}),
        )
        .unwrap();
        assert_eq!(r.image, Source::Base64("AAAA".into()));
        // An empty partner field is ignored.
        let r = parse(json!({"image_url": "", "image_base64": "AAAA", "template_url": "http://b.example/y.png", "template_base64": ""}))
            .unwrap();
        assert_eq!(r.image, Source::Base64("AAAA".into()));
        assert!(matches!(r.template, Source::Url(_)));
        let r = parse(json!({"image_url": "http://a.example/", "template_base64": "data:image/png;base64,AAAA", "image_base64": null}))
            .unwrap();
        assert!(matches!(r.template, Source::Base64(_)));
    }

    #[test]
    fn names_the_field_at_fault() {
        let t = "http://b.example/t.jpg";
        assert_eq!(err(json!({"template_url": t})), "Your image_url is empty.");
        assert_eq!(
            err(json!({"image_url": "", "template_url": t})),
            "Your image_url is empty."
        );
        assert_eq!(
            err(json!({"image_url": "  ", "template_url": t})),
            "Your image_url is empty."
        );
        assert_eq!(
            err(json!({"image_url": t, "image_base64": "AAAA", "template_url": t})),
            "Give only one of image_url and image_base64."
        );
        assert_eq!(err(json!({"image_url": t})), "Your template_url is empty.");
        assert_eq!(
            err(json!({"image_url": "", "image_base64": " ", "template_url": t})),
            "Your image_url is empty."
        );
        assert_eq!(
            err(json!({"image_base64": "", "template_url": t})),
            "Your image_base64 is empty."
        );
        assert_eq!(
            err(json!({"image_url": t, "template_base64": ""})),
            "Your template_base64 is empty."
        );
        assert_eq!(
            err(json!({"image_url": 5, "template_url": t})),
            "Your image_url must be a string."
        );
        assert_eq!(
            err(json!({"image_url": "ftp://x/y", "template_url": t})),
            "Your image_url is not a valid http or https URL."
        );
        assert_eq!(
            err(json!({"image_url": t, "template_url": "not a url"})),
            "Your template_url is not a valid http or https URL."
        );
        assert_eq!(
            err(json!({"image_url": t, "template_base64": ["x"]})),
            "Your template_base64 must be a string."
        );
        assert_eq!(parse_request(b"[1,2]").unwrap_err(), NOT_AN_OBJECT);
        assert_eq!(parse_request(b"not json").unwrap_err(), NOT_AN_OBJECT);
        assert_eq!(parse_request(b"").unwrap_err(), NOT_AN_OBJECT);
        assert_eq!(
            parse_request(b"\xEF\xBB\xBF{\"template_url\": \"http://b.example/t.jpg\"}")
                .unwrap_err(),
            "Your image_url is empty.",
            "a UTF-8 byte-order mark is skipped"
        );
    }

    #[test]
    fn validates_the_optional_fields() {
        let base = || json!({"image_url": "http://a.example/a.jpg", "template_url": "http://a.example/b.jpg"});
        let with = |k: &str, v: Value| {
            let mut b = base();
            b[k] = v;
            parse(b)
        };
        assert_eq!(with("degree", json!(0)).unwrap().options.degree, 0);
        assert_eq!(with("degree", json!(55.0)).unwrap().options.degree, 55);
        for bad in [json!(101), json!(-1), json!(1.5), json!("50"), json!(true)] {
            assert_eq!(
                with("degree", bad).unwrap_err(),
                "Your degree must be an integer from 0 to 100."
            );
        }
        assert_eq!(
            with("template_face", json!(2))
                .unwrap()
                .options
                .template_face,
            FaceChoice::Index(2)
        );
        assert!(matches!(
            with("template_face", json!({"x": 1, "y": 2.5, "w": 30, "h": 40})).unwrap().options.template_face,
            FaceChoice::Region(r) if r.x == 1.0 && r.y == 2.5 && r.w == 30.0 && r.h == 40.0
        ));
        for bad in [
            json!(-1),
            json!({"x": 1}),
            json!({"x": 0, "y": 0, "w": 0, "h": 5}),
            json!("big"),
        ] {
            assert!(with("template_face", bad)
                .unwrap_err()
                .starts_with("Your template_face"));
        }
        assert_eq!(
            with("output_format", json!("PNG")).unwrap().format,
            OutputFormat::Png
        );
        assert_eq!(
            with("output_format", json!("webp")).unwrap().format,
            OutputFormat::WebP
        );
        assert_eq!(
            with("output_format", json!("gif")).unwrap_err(),
            "Your output_format must be one of jpeg, png, webp."
        );
        assert_eq!(
            with("quality", json!(75)).unwrap().format,
            OutputFormat::Jpeg { quality: 75 }
        );
        assert_eq!(
            with("quality", json!(0)).unwrap_err(),
            "Your quality must be an integer from 1 to 100."
        );
        assert!(with("return_base64", json!(true)).unwrap().return_base64);
        assert_eq!(
            with("return_base64", json!("yes")).unwrap_err(),
            "Your return_base64 must be true or false."
        );
    }

    #[test]
    fn decodes_every_base64_form() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        let std = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        assert!(std.contains('+') || std.contains('/'));
        assert_eq!(decode_base64(&std).unwrap(), bytes);
        assert_eq!(decode_base64(std.trim_end_matches('=')).unwrap(), bytes);
        assert_eq!(decode_base64(&url).unwrap(), bytes);
        assert_eq!(decode_base64(&format!("{url}==")).unwrap(), bytes);
        let wrapped: String = std
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(decode_base64(&wrapped).unwrap(), bytes);
        assert_eq!(
            decode_base64(&format!("data:image/jpeg;base64,{wrapped}\n")).unwrap(),
            bytes
        );
        assert_eq!(
            decode_base64(&format!("  DATA:image/png;BASE64,{std}")).unwrap(),
            bytes
        );
        assert!(decode_base64("data:image/png,rawtext").is_none());
        assert!(decode_base64("not base64 at all!").is_none());
        assert!(decode_base64("a+b-").is_none(), "mixed alphabets");
        assert!(decode_base64("====").is_none());
        assert!(decode_base64("A").is_none());
    }
}
