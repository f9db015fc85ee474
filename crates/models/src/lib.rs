//! Finds the model files fetched by `scripts/fetch-models.sh` and runs them with ONNX Runtime.
//!
//! ONNX Runtime is loaded at run time from the `libonnxruntime.so` that the same script puts beside the
//! models, so building faceswap downloads nothing. Every model goes through [`Model::run`], the one place
//! in the project that talks to `ort`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::{builder::GraphOptimizationLevel, Session};
use ort::value::TensorRef;

/// The command that puts the models in place; named in every "missing" error.
pub const FETCH_COMMAND: &str = "scripts/fetch-models.sh";

/// File name of the ONNX Runtime shared library inside the model folder.
pub const RUNTIME_LIBRARY: &str = "libonnxruntime.so";

/// Errors of locating and running models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file is not where it should be: the fix is to run the fetch script.
    #[error("{what} not found at {path}: run `{FETCH_COMMAND}` (or point FACESWAP_MODELS at the folder it fills)")]
    Missing {
        /// What was looked for.
        what: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// ONNX Runtime could not be loaded or initialised.
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    Runtime {
        /// The library that was tried.
        path: PathBuf,
        /// What ONNX Runtime said.
        reason: String,
    },
    /// A model file could not be turned into a session.
    #[error("cannot load model {name}: {reason}")]
    Load {
        /// The model's file name.
        name: String,
        /// What ONNX Runtime said.
        reason: String,
    },
    /// Inference failed, or its outputs were not what the model should give.
    #[error("model {name} failed: {reason}")]
    Inference {
        /// The model's file name.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

/// The folder holding the fetched models and the runtime library.
#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
}

impl ModelDir {
    /// Uses `explicit` if given, else `$FACESWAP_MODELS`, else `$XDG_CACHE_HOME/faceswap/models`, else
    /// `~/.cache/faceswap/models` (the fetch script's default).
    pub fn locate(explicit: Option<&Path>) -> ModelDir {
        let root = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("FACESWAP_MODELS").map(PathBuf::from))
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("faceswap/models"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/faceswap/models"))
            })
            .unwrap_or_else(|| PathBuf::from("models"));
        ModelDir { root }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `file_name` in the folder, or [`ModelError::Missing`] if it is not there.
    pub fn require(&self, file_name: &str) -> Result<PathBuf, ModelError> {
        let path = self.root.join(file_name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(ModelError::Missing {
                what: format!("model file {file_name}"),
                path,
            })
        }
    }

    /// Loads ONNX Runtime from this folder once per process. The first successful call wins; later
    /// calls with another folder reuse the runtime already loaded.
    pub fn runtime(&self) -> Result<&'static ort::environment::Environment, ModelError> {
        static LOADED: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
        let path = std::env::var_os("FACESWAP_ORT_LIBRARY")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join(RUNTIME_LIBRARY));
        if LOADED.get().is_none() && !path.is_file() {
            return Err(ModelError::Missing {
                what: "the ONNX Runtime library".into(),
                path,
            });
        }
        let loaded = LOADED.get_or_init(|| {
            let builder = ort::init_from(&path).map_err(|e| e.to_string())?;
            // Sessions own their threads; the process-wide environment only needs a name.
            builder
                .with_name("faceswap")
                .build()
                .map_err(|e| e.to_string())
        });
        loaded.as_ref().map_err(|reason| ModelError::Runtime {
            path,
            reason: reason.clone(),
        })
    }
}

/// One loaded model. Runs are serialised per model: callers that want parallelism load one `Model`
/// per worker thread (they are small), which also keeps each run on a single, predictable thread.
pub struct Model {
    name: String,
    session: Mutex<Session>,
}

/// One output tensor, copied out of ONNX Runtime.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its shape.
    pub shape: Vec<i64>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

impl Model {
    /// Loads `file_name` from `dir` with `threads` intra-op threads.
    pub fn load(dir: &ModelDir, file_name: &str, threads: usize) -> Result<Model, ModelError> {
        let path = dir.require(file_name)?;
        let env = dir.runtime()?;
        Self::load_file(env, &path, threads)
    }

    /// Loads a model from any path (for operators who bring their own), with `threads` intra-op threads.
    pub fn load_file(
        env: &ort::environment::Environment,
        path: &Path,
        threads: usize,
    ) -> Result<Model, ModelError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !path.is_file() {
            return Err(ModelError::Missing {
                what: format!("model file {name}"),
                path: path.to_path_buf(),
            });
        }
        let fail = |reason: String| ModelError::Load {
            name: name.clone(),
            reason,
        };
        let session = Session::builder(env)
            .map_err(|e| fail(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| fail(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| fail(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| fail(e.to_string()))?
            // Spinning worker threads would keep a core busy between runs, stealing it from the
            // decoding and fusion that run between the model calls.
            .with_intra_op_spinning(false)
            .map_err(|e| fail(e.to_string()))?
            .commit_from_file(path)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Model {
            name,
            session: Mutex::new(session),
        })
    }

    /// The model's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the model on one f32 input of `shape` and returns every output as f32.
    pub fn run(&self, shape: &[i64], input: &[f32]) -> Result<Vec<Output>, ModelError> {
        let fail = |reason: String| ModelError::Inference {
            name: self.name.clone(),
            reason,
        };
        let expected: i64 = shape.iter().product();
        if expected < 0 || expected as usize != input.len() {
            return Err(fail(format!(
                "input has {} values for shape {shape:?}",
                input.len()
            )));
        }
        let tensor =
            TensorRef::from_array_view((shape.to_vec(), input)).map_err(|e| fail(e.to_string()))?;
        // A poisoned lock only means another run panicked; the session itself is still usable.
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session
            .run(ort::inputs![tensor])
            .map_err(|e| fail(e.to_string()))?;
        let mut result = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| fail(e.to_string()))?;
            result.push(Output {
                shape: shape.to_vec(),
                data: data.to_vec(),
            });
        }
        Ok(result)
    }
}
