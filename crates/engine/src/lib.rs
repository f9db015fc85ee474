//! The face fusion engine: photos in, fused photo out, typed errors. Knows nothing of HTTP or storage.
//!
//! The pipeline: [`decode`] both photos; find every face with two MediaPipe BlazeFace detectors
//! ([`Engine::detect`]); fit MediaPipe's 468-point face mesh to the chosen faces; then fuse A's face
//! into B's head ([`Engine::swap`]).

mod align;
mod detect;
mod fuse;
mod geometry;
mod image_io;
mod landmarks;
mod lighting;
mod mesh;
mod parse;
mod pixel;
mod report;

use std::time::{Duration, Instant};

use faceswap_models::{Model, ModelDir, ModelError};
pub use image::RgbImage;

pub use detect::Face;
pub use geometry::Rect;
pub use image_io::{decode, encode, probe, OutputFormat, PhotoHeader, PhotoLimits};
pub use lighting::{face_light, Light};
pub use mesh::{Mesh, Pose, MESH_POINTS};
pub use parse::{FaceParse, Part, PARTS};
pub use report::{FusionReport, MouthState};

/// Which of the two photos of a request something is about. Named as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Photo A, the target: the face that is wanted (`image_url` / `image_base64`).
    Image,
    /// Photo B, the template: head, body and scene kept (`template_url` / `template_base64`).
    Template,
}

impl Role {
    /// `image` or `template`, as in the API's field names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Image => "image",
            Role::Template => "template",
        }
    }
}

/// Everything that can go wrong in the engine. The HTTP layer maps each variant to an API code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The bytes are not a supported image, or are corrupt.
    #[error("cannot decode the {}: {reason}", role.as_str())]
    Decode {
        /// Which photo.
        role: Role,
        /// What the decoder said.
        reason: String,
    },
    /// Over the byte or pixel limits.
    #[error("the {} is too large: {reason}", role.as_str())]
    TooLarge {
        /// Which photo.
        role: Role,
        /// Which limit, by how much.
        reason: String,
    },
    /// No usable face (none found, all under the minimum size, or the mesh saw no face).
    #[error("no face detected in {}", role.as_str())]
    NoFace {
        /// Which photo.
        role: Role,
    },
    /// The requested template face does not exist (index past the faces found, or a rectangle that
    /// covers no found face).
    #[error("template face {0}")]
    NoSuchTemplateFace(String),
    /// A model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The result could not be encoded.
    #[error("cannot encode the result: {0}")]
    Encode(String),
}

/// Which template face to replace.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FaceChoice {
    /// The largest face (the default).
    #[default]
    Largest,
    /// The K-th face, largest first, counting from 0.
    Index(usize),
    /// The face whose box overlaps this rectangle (in template pixels) the most.
    Region(Rect),
}

/// Options of one fusion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwapOptions {
    /// 0–100: how much of A's face shape replaces B's (100: A's features fully).
    pub degree: u8,
    /// Which template face to replace.
    pub template_face: FaceChoice,
}

impl Default for SwapOptions {
    fn default() -> Self {
        SwapOptions {
            degree: 100,
            template_face: FaceChoice::Largest,
        }
    }
}

/// Time spent in each stage of one fusion.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// Face detection and mesh on both photos.
    pub detect_and_mesh: Duration,
    /// Parsing of the two chosen faces (what covers them).
    pub parse: Duration,
    /// Warping, colour matching and blending.
    pub fuse: Duration,
}

/// The outcome of a fusion.
#[derive(Debug, Clone)]
pub struct Swapped {
    /// The template at full size with A's face fused in.
    pub image: RgbImage,
    /// The face used in the source photo A.
    pub source_face: Face,
    /// The face replaced in the template B.
    pub template_face: Face,
    /// Its index among the template's faces, largest first.
    pub template_face_index: usize,
    /// How the fusion went: pose, cover, mouths, light, sharpness, sizes and warnings.
    pub report: FusionReport,
    /// Time per stage.
    pub times: StageTimes,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the models are.
    pub models: ModelDir,
    /// Intra-op threads per model run.
    pub threads: usize,
    /// A face smaller than this many pixels on either side does not count.
    pub min_face: u32,
}

impl EngineConfig {
    /// Defaults: models from [`ModelDir::locate`], one thread, 50 px faces.
    pub fn new(models: ModelDir) -> Self {
        EngineConfig {
            models,
            threads: 1,
            min_face: 50,
        }
    }
}

/// The loaded face models. Runs of one engine are serialised per model: a server loads one engine
/// per worker thread.
pub struct Engine {
    /// One set of models per photo that can be analysed at the same time (two with two threads or
    /// more: A and B are then analysed in parallel).
    lanes: Vec<Lane>,
    min_face: u32,
}

struct Lane {
    detector: detect::Detector,
    mesher: mesh::Mesher,
    parser: parse::Parser,
}

impl Engine {
    /// Loads the four face models (twice with two threads or more).
    pub fn load(config: &EngineConfig) -> Result<Engine, EngineError> {
        let lanes = if config.threads >= 2 { 2 } else { 1 };
        let threads = (config.threads / lanes).max(1);
        let lanes = (0..lanes)
            .map(|_| -> Result<Lane, EngineError> {
                let short = Model::load(&config.models, detect::SHORT_RANGE_MODEL, threads)?;
                let full = Model::load(&config.models, detect::FULL_RANGE_MODEL, threads)?;
                let mesh = Model::load(&config.models, mesh::MESH_MODEL, threads)?;
                let parser = Model::load(&config.models, parse::PARSER_MODEL, threads)?;
                Ok(Lane {
                    detector: detect::Detector::new(short, full),
                    mesher: mesh::Mesher::new(mesh),
                    parser: parse::Parser::new(parser),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Engine {
            lanes,
            min_face: config.min_face,
        })
    }

    /// Every face of at least the minimum size that the mesh model confirms, with its mesh, largest
    /// first. The detectors alone give the odd false positive on a busy background; the mesh
    /// model's face-presence score weeds those out.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<FoundFace>, EngineError> {
        let (faces, _) =
            self.detect_until(&self.lanes[0], &geometry::Pyramid::new(img), &|_| {
                usize::MAX
            })?;
        Ok(faces)
    }

    /// Every face of `img`, as [`Engine::detect`], through `analysis`: a complete analysis is
    /// used as it is, an incomplete one is completed (and keeps the parses it had).
    pub fn detect_analysed<'a>(
        &self,
        img: &RgbImage,
        analysis: &'a mut Analysis,
    ) -> Result<&'a [FoundFace], EngineError> {
        if !(analysis.analysed && analysis.complete) {
            let (faces, complete) =
                self.detect_until(&self.lanes[0], &geometry::Pyramid::new(img), &|_| {
                    usize::MAX
                })?;
            analysis.replace_faces(faces, complete);
        }
        Ok(&analysis.faces)
    }

    /// What covers a found face and what is the face itself (hair, glasses, skin...).
    pub fn parse(&self, img: &RgbImage, face: &FoundFace) -> Result<FaceParse, EngineError> {
        Ok(self.lanes[0]
            .parser
            .parse(&geometry::Pyramid::new(img), &face.mesh)?)
    }

    /// Like [`Engine::detect`], but stops once as many faces are confirmed as `wanted` asks for,
    /// given those confirmed so far (meshing every face of a group photo costs a model run each).
    /// Also says whether the list holds every face.
    fn detect_until(
        &self,
        lane: &Lane,
        pyramid: &geometry::Pyramid,
        wanted: &dyn Fn(&[FoundFace]) -> usize,
    ) -> Result<(Vec<FoundFace>, bool), EngineError> {
        let mut found = Vec::new();
        for face in lane.detector.detect(pyramid)? {
            if found.len() >= wanted(&found) {
                return Ok((found, false));
            }
            if face.rect.w < self.min_face as f32 || face.rect.h < self.min_face as f32 {
                continue;
            }
            if let Some(mesh) = lane.mesher.mesh(pyramid, &face)? {
                found.push(FoundFace { face, mesh });
            }
        }
        Ok((found, true))
    }

    /// Fuses the largest face of `source` (A) into the chosen face of `template` (B); in a group
    /// photo A whose largest face is seen from the side, the largest face that is not.
    pub fn swap(
        &self,
        source_img: &RgbImage,
        template: &RgbImage,
        opts: &SwapOptions,
    ) -> Result<Swapped, EngineError> {
        self.swap_analysed(
            source_img,
            &mut Analysis::default(),
            template,
            &mut Analysis::default(),
            opts,
        )
    }

    /// Like [`Engine::swap`], reusing what an earlier fusion learned about the same photos: each
    /// [`Analysis`] is completed where this fusion needs more (faces, the chosen face's parse) and
    /// can be kept for the next fusion of the same photo. An analysis must belong to its photo.
    pub fn swap_analysed(
        &self,
        source_img: &RgbImage,
        source: &mut Analysis,
        template_img: &RgbImage,
        template: &mut Analysis,
        opts: &SwapOptions,
    ) -> Result<Swapped, EngineError> {
        let t0 = Instant::now();
        // Only a face chosen by index needs the faces before it; a region needs them all.
        let wanted = match opts.template_face {
            FaceChoice::Largest => 1,
            FaceChoice::Index(k) => k.saturating_add(1),
            FaceChoice::Region(_) => usize::MAX,
        };
        let (source_side, template_side) = self.on_both_lanes(
            |lane| {
                self.analyse(
                    lane,
                    source_img,
                    source,
                    Role::Image,
                    source_faces_wanted,
                    |faces| Ok(choose_source_face(faces)),
                )
            },
            |lane| {
                self.analyse(
                    lane,
                    template_img,
                    template,
                    Role::Template,
                    |_| wanted,
                    |faces| choose_face(faces, opts.template_face),
                )
            },
        );
        // Photo A's problems are reported before B's, as the API checks them in that order.
        let (source_index, source_times) = source_side?;
        let (template_face_index, template_times) = template_side?;
        let parallel = self.lanes.len() > 1;
        let both = |a: Duration, b: Duration| if parallel { a.max(b) } else { a + b };
        let t2 = Instant::now();
        let (source_face, source_parse) = source.face(source_index);
        let (template_face, template_parse) = template.face(template_face_index);
        let (image, mut report) = fuse::fuse(
            &fuse::Side {
                img: source_img,
                mesh: &source_face.mesh,
                parse: source_parse,
            },
            &fuse::Side {
                img: template_img,
                mesh: &template_face.mesh,
                parse: template_parse,
            },
            opts.degree.min(100),
        );
        if source_index > 0 {
            report.warnings.push(format!(
                "the source photo's largest face is seen from the side: its face {source_index} (largest first, counting from 0), seen more from the front, was used"
            ));
        }
        let t3 = Instant::now();
        let detect_and_mesh = both(source_times.0, template_times.0);
        Ok(Swapped {
            image,
            source_face: source_face.face,
            template_face: template_face.face,
            template_face_index,
            report,
            times: StageTimes {
                detect_and_mesh,
                parse: (t2 - t0).saturating_sub(detect_and_mesh),
                fuse: t3 - t2,
            },
        })
    }

    /// Completes `analysis` of `img` with as many faces as `wanted` asks for, given the faces
    /// found so far (or all there are), and the parse of the face `pick` chooses; returns that
    /// face's index and the time spent detecting and parsing.
    fn analyse(
        &self,
        lane: &Lane,
        img: &RgbImage,
        analysis: &mut Analysis,
        role: Role,
        wanted: impl Fn(&[FoundFace]) -> usize,
        pick: impl FnOnce(&[FoundFace]) -> Result<usize, EngineError>,
    ) -> Result<(usize, (Duration, Duration)), EngineError> {
        let t0 = Instant::now();
        // The pyramid is built only when a model has to run.
        let mut pyramid = None;
        // What is found may ask for more (a source whose largest face is seen from the side).
        let enough = |faces: &[FoundFace]| wanted(faces).max(1);
        if !analysis.holds(enough(&analysis.faces)) {
            let p = pyramid.insert(geometry::Pyramid::new(img));
            let (faces, complete) = self.detect_until(lane, p, &enough)?;
            analysis.replace_faces(faces, complete);
        }
        if analysis.faces.is_empty() {
            return Err(EngineError::NoFace { role });
        }
        let index = pick(&analysis.faces)?;
        let t1 = Instant::now();
        if analysis.parses[index].is_none() {
            let p = pyramid.get_or_insert_with(|| geometry::Pyramid::new(img));
            let parse = lane.parser.parse(p, &analysis.faces[index].mesh)?;
            analysis.parses[index] = Some(parse);
        }
        Ok((index, (t1 - t0, t1.elapsed())))
    }

    /// Runs `on_source` and `on_template`, in parallel on two lanes when the engine has two.
    fn on_both_lanes<S: Send, T: Send>(
        &self,
        on_source: impl FnOnce(&Lane) -> S + Send,
        on_template: impl FnOnce(&Lane) -> T,
    ) -> (S, T) {
        match &self.lanes[..] {
            [a, b, ..] => std::thread::scope(|scope| {
                let source = scope.spawn(|| on_source(b));
                let template = on_template(a);
                (source.join().expect("face analysis panicked"), template)
            }),
            [a] => (on_source(a), on_template(a)),
            [] => unreachable!("an engine has at least one lane"),
        }
    }
}

/// A face confirmed by the mesh model, with its mesh.
#[derive(Debug, Clone)]
pub struct FoundFace {
    /// The detection.
    pub face: Face,
    /// Its 468-point mesh.
    pub mesh: Mesh,
}

/// What the engine learned about one photo: its faces (with meshes), and the parse of each face a
/// fusion used. Kept by a caller (a cache keyed by the photo's content) and handed back to
/// [`Engine::swap_analysed`] for the same photo, it spares the models their runs.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The faces found, largest first.
    faces: Vec<FoundFace>,
    /// Whether `faces` holds every face of the photo (the detection was not stopped early).
    complete: bool,
    /// Whether the photo was analysed at all.
    analysed: bool,
    /// The parse of each face, once a fusion needed it.
    parses: Vec<Option<FaceParse>>,
}

impl Analysis {
    /// The faces found so far, largest first (empty before the first fusion).
    pub fn faces(&self) -> &[FoundFace] {
        &self.faces
    }

    /// Takes a new detection's `faces` (`complete`: every face of the photo). A face found before
    /// at the same place keeps its parse.
    fn replace_faces(&mut self, faces: Vec<FoundFace>, complete: bool) {
        let mut kept = std::mem::take(&mut self.parses);
        let parses = faces
            .iter()
            .enumerate()
            .map(|(i, f)| match self.faces.get(i) {
                Some(old) if old.face.rect == f.face.rect => kept.get_mut(i).and_then(Option::take),
                _ => None,
            })
            .collect();
        *self = Analysis {
            faces,
            complete,
            analysed: true,
            parses,
        };
    }

    /// Whether it holds at least `wanted` faces, or every face there is.
    fn holds(&self, wanted: usize) -> bool {
        self.analysed && (self.complete || self.faces.len() >= wanted)
    }

    /// The face at `index` and its parse; both exist after [`Engine::analyse`] chose it.
    fn face(&self, index: usize) -> (&FoundFace, &FaceParse) {
        let parse = self.parses[index]
            .as_ref()
            .expect("the chosen face is parsed");
        (&self.faces[index], parse)
    }

    /// About how many bytes it holds, for a cache bounded by memory.
    pub fn heap_bytes(&self) -> usize {
        self.faces.len() * (std::mem::size_of::<FoundFace>() + MESH_POINTS * 12)
            + self
                .parses
                .iter()
                .flatten()
                .map(FaceParse::heap_bytes)
                .sum::<usize>()
    }
}

/// Turn of a face (its nose's offset from the middle of its sides, in half face widths, as in the
/// report's `yaw`) past which it counts as seen from the side: its far half is hidden.
const SIDE_VIEW: f32 = 0.75;
/// Least width of a face taken instead of a larger one seen from the side, as a share of that one.
const STAND_IN_WIDTH: f32 = 0.5;

/// How many faces of the source photo the choice needs, given those found so far (largest
/// first): the largest, and when it is seen from the side, as many as it takes to find a face to
/// take instead (all of them if there is none).
fn source_faces_wanted(faces: &[FoundFace]) -> usize {
    match faces.first() {
        Some(f) if seen_from_the_side(f) => match stand_in(faces) {
            Some(_) => faces.len(),
            None => usize::MAX,
        },
        _ => 1,
    }
}

/// The source face: the largest, unless it is seen from the side and a group photo shows another
/// face to take instead ([`stand_in`]). A side view's hidden half can only be its near half
/// mirrored: into a template facing the camera it gives a distorted, flattened face, where a face
/// seen from the front carries a whole face. The template's pose is not asked (the two photos are
/// analysed side by side): into a template seen from the side too, a frontal face's far half is
/// foreshortened as any turned template's is, and which person of a group is wanted is a guess
/// either way.
fn choose_source_face(faces: &[FoundFace]) -> usize {
    match faces.first() {
        Some(f) if seen_from_the_side(f) => stand_in(faces).unwrap_or(0),
        _ => 0,
    }
}

/// The largest face after the first that is not seen from the side and at least
/// [`STAND_IN_WIDTH`] as wide as the first.
fn stand_in(faces: &[FoundFace]) -> Option<usize> {
    let first = faces.first()?;
    let index = faces[1..].iter().position(|f| {
        !seen_from_the_side(f) && f.face.rect.w >= STAND_IN_WIDTH * first.face.rect.w
    })?;
    Some(index + 1)
}

/// Whether a face is turned past [`SIDE_VIEW`].
fn seen_from_the_side(face: &FoundFace) -> bool {
    fuse::head_turn(&face.mesh).abs() > SIDE_VIEW
}

fn choose_face(faces: &[FoundFace], choice: FaceChoice) -> Result<usize, EngineError> {
    match choice {
        FaceChoice::Largest => Ok(0),
        FaceChoice::Index(k) if k < faces.len() => Ok(k),
        FaceChoice::Index(k) => Err(EngineError::NoSuchTemplateFace(format!(
            "index {k} is out of range: the template shows {} face(s)",
            faces.len()
        ))),
        FaceChoice::Region(r) => faces
            .iter()
            .enumerate()
            .map(|(i, f)| (i, f.face.rect.intersection_area(&r)))
            .filter(|&(_, a)| a > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
            .ok_or_else(|| {
                EngineError::NoSuchTemplateFace("rectangle covers no detected face".into())
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::{FACE_SIDES, NOSE_TIP};

    /// A face `width` pixels wide whose nose is `turn` half face widths off its middle.
    fn face(width: f32, turn: f32) -> FoundFace {
        let mut points = vec![[0.0; 3]; MESH_POINTS];
        points[FACE_SIDES[0]] = [-1.0, 0.0, 0.0];
        points[FACE_SIDES[1]] = [1.0, 0.0, 0.0];
        points[NOSE_TIP] = [turn, 0.0, 0.0];
        FoundFace {
            face: Face {
                rect: Rect {
                    x: 0.0,
                    y: 0.0,
                    w: width,
                    h: width,
                },
                score: 1.0,
                keypoints: [(0.0, 0.0); 6],
            },
            mesh: Mesh {
                points,
                presence: 1.0,
            },
        }
    }

    #[test]
    fn a_side_view_gives_way_to_the_largest_face_seen_from_the_front_at_least_half_as_wide() {
        // A frontal largest face is used, and nothing more is looked for.
        let faces = [face(100.0, 0.1), face(90.0, 0.0)];
        assert_eq!(
            (choose_source_face(&faces), source_faces_wanted(&faces[..1])),
            (0, 1)
        );
        // A side view wants more faces until one can stand in; then no more.
        let faces = [
            face(100.0, -1.1),
            face(60.0, 0.9),
            face(55.0, 0.2),
            face(52.0, 0.0),
        ];
        assert_eq!(source_faces_wanted(&faces[..2]), usize::MAX);
        assert_eq!(source_faces_wanted(&faces[..3]), 3);
        assert_eq!(choose_source_face(&faces), 2);
        // Too small a frontal face does not stand in: the side view is used, every face looked at.
        let faces = [face(100.0, 1.1), face(45.0, 0.0)];
        assert_eq!(source_faces_wanted(&faces), usize::MAX);
        assert_eq!(choose_source_face(&faces), 0);
        // A lone side view is used.
        assert_eq!(choose_source_face(&[face(100.0, 1.1)]), 0);
    }
}
