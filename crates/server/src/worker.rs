//! The fusion pool: N operating-system threads, each owning its own [`Engine`] and [`Moderator`], fed
//! by a bounded queue. Admission is by permit ([`WorkerPool::try_admit`]): at most `workers + queue`
//! requests hold one at a time, from before their photos are fetched until their result is encoded, so
//! memory stays bounded; when none is free the request fails at once and the server recovers by
//! itself as jobs finish.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faceswap_engine::{
    encode, Engine, EngineConfig, EngineError, FaceChoice, FoundFace, FusionReport, OutputFormat,
    PhotoLimits, Role, SwapOptions,
};
use faceswap_models::{ModelDir, ModelError};
use faceswap_moderation::{ModerationConfig, Moderator, Verdict};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::cache::{PhotoCache, Prepared};
use crate::label::VisibleLabel;
use crate::metrics::{Metrics, Stage};

/// What every worker loads.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Number of worker threads.
    pub workers: usize,
    /// Jobs that may wait beyond those running.
    pub queue: usize,
    /// The face models.
    pub engine: EngineConfig,
    /// The content filter; `None`: off.
    pub moderation: Option<ModerationConfig>,
    /// Limits of photo A.
    pub image_limits: PhotoLimits,
    /// Limits of template B.
    pub template_limits: PhotoLimits,
    /// Bytes the cache of decoded and analysed photos may hold (0: none).
    pub photo_cache_bytes: usize,
    /// The visible AI-content label, loaded (`None`: off).
    pub visible_label: Option<Arc<VisibleLabel>>,
}

impl WorkerConfig {
    /// Engine and filter settings from the model folder and the server's settings.
    pub fn from_config(config: &crate::Config) -> Result<WorkerConfig, String> {
        let models = ModelDir::locate(config.models_dir.as_deref());
        let mut engine = EngineConfig::new(models.clone());
        engine.min_face = config.min_face;
        let moderation = if config.moderation.enabled {
            let mut m = ModerationConfig::new(&models);
            if let Some(path) = &config.moderation.model {
                m.model = path.clone();
            }
            if let Some(spec) = &config.moderation.labels {
                m.sensitive = ModerationConfig::parse_labels(spec)
                    .map_err(|e| format!("moderation labels: {e}"))?;
            }
            Some(m)
        } else {
            None
        };
        Ok(WorkerConfig {
            workers: config.workers.max(1),
            queue: config.queue,
            engine,
            moderation,
            image_limits: config.image_limits,
            template_limits: config.template_limits,
            photo_cache_bytes: config.photo_cache_bytes,
            visible_label: match &config.visible_label {
                Some(l) => Some(Arc::new(load_label(l)?)),
                None => None,
            },
        })
    }
}

/// The visible label as configured. The default text falls back to its Latin part when no font
/// with Chinese glyphs is installed (an operator's own text must be drawable as it is).
fn load_label(l: &crate::VisibleLabelSettings) -> Result<VisibleLabel, String> {
    let loaded = VisibleLabel::new(&l.text, l.corner, l.font.as_deref());
    let default = crate::VisibleLabelSettings::default();
    match loaded {
        Err(e) if l.text == default.text && l.font.is_none() && e.contains("no glyph") => {
            tracing::warn!(error = %e, "no font with Chinese glyphs: the visible label says AI-generated only");
            VisibleLabel::new("AI-generated", l.corner, None)
        }
        other => other,
    }
    .map_err(|e| format!("visible label: {e}"))
}

/// One fusion to run.
#[derive(Debug)]
pub struct Job {
    /// Photo A's bytes.
    pub image: Vec<u8>,
    /// Template B's bytes.
    pub template: Vec<u8>,
    /// Fusion options.
    pub options: SwapOptions,
    /// Result encoding.
    pub format: OutputFormat,
    /// Whether the visible AI-content label is drawn (when the server has one).
    pub visible_label: bool,
    /// Further faces: each source photo's bytes and the template face it replaces.
    pub more_faces: Vec<(Vec<u8>, usize)>,
}

/// A finished fusion.
#[derive(Debug)]
pub struct JobOutput {
    /// The encoded result.
    pub bytes: Vec<u8>,
    /// Result width and height (the template's).
    pub size: (u32, u32),
    /// The engine's report on the fusion (of the first face).
    pub report: FusionReport,
    /// With several faces, the report of each further face, by its template face index.
    pub more_reports: Vec<(usize, FusionReport)>,
}

/// Why a job produced no result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Decoding or fusion failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The content filter refused a photo.
    #[error("the {} is sensitive: {label} {score:.3}", photo.as_str())]
    Sensitive {
        /// Which photo.
        photo: Role,
        /// The label that reached its score.
        label: &'static str,
        /// The score.
        score: f32,
    },
    /// The content filter failed to run.
    #[error("content filter: {0}")]
    Moderation(ModelError),
    /// The job panicked (the worker survives).
    #[error("worker panicked: {0}")]
    Panic(String),
    /// The pool is gone.
    #[error("worker pool stopped")]
    Stopped,
    /// Nobody waits for the result any more (the request timed out or its client left): the job
    /// stopped at the next stage.
    #[error("abandoned: nobody waits for the result")]
    Abandoned,
}

/// The faces of one photo (`POST /v1/detect`).
#[derive(Debug)]
pub struct Detected {
    /// The photo's width and height.
    pub size: (u32, u32),
    /// Every face, largest first.
    pub faces: Vec<FoundFace>,
}

/// What a worker is asked to do, with where its answer goes.
enum Work {
    Fuse(Job, oneshot::Sender<Result<JobOutput, JobError>>),
    Detect(Vec<u8>, oneshot::Sender<Result<Detected, JobError>>),
}

impl Work {
    /// Whether nobody waits for the answer any more.
    fn abandoned(&self) -> bool {
        match self {
            Work::Fuse(_, reply) => reply.is_closed(),
            Work::Detect(_, reply) => reply.is_closed(),
        }
    }
}

struct Envelope {
    work: Work,
    enqueued: Instant,
}

/// A permit to use the pool; dropping it frees the slot.
#[derive(Debug)]
pub struct Admission {
    _permit: OwnedSemaphorePermit,
    _key: OwnedSemaphorePermit,
}

/// The pool.
pub struct WorkerPool {
    sender: SyncSender<Envelope>,
    permits: Arc<Semaphore>,
    /// Each key's share of the permits: all but `workers` of them, so that one key's requests
    /// (slow photos, bombs) can never fill the queue against every other key.
    keys: crate::slots::KeyShares,
    loaded: Arc<AtomicUsize>,
    workers: usize,
    metrics: Arc<Metrics>,
}

impl WorkerPool {
    /// Starts the threads and waits until each has loaded its models; fails if any cannot.
    pub fn start(config: WorkerConfig, metrics: Arc<Metrics>) -> Result<WorkerPool, String> {
        let capacity = config.workers + config.queue;
        let (sender, receiver) = sync_channel::<Envelope>(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let loaded = Arc::new(AtomicUsize::new(0));
        let config = Arc::new(config);
        let cache = Arc::new(PhotoCache::new(config.photo_cache_bytes, metrics.clone()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        for i in 0..config.workers {
            let receiver = receiver.clone();
            let config = config.clone();
            let ready = ready_tx.clone();
            let loaded = loaded.clone();
            let metrics = metrics.clone();
            let cache = cache.clone();
            std::thread::Builder::new()
                .name(format!("fusion-{i}"))
                .spawn(move || {
                    let models = std::panic::catch_unwind(AssertUnwindSafe(|| load(&config)))
                        .unwrap_or_else(|p| Err(panic_text(&p)));
                    match models {
                        Ok((engine, moderator)) => {
                            loaded.fetch_add(1, Ordering::SeqCst);
                            let _ = ready.send(Ok(()));
                            let moderator = moderator
                                .as_ref()
                                .map(|m| (m, moderation_fingerprint(&config)));
                            let context = Context {
                                engine: &engine,
                                moderator,
                                config: &config,
                                metrics: &metrics,
                                cache: &cache,
                            };
                            work(&receiver, &context);
                            loaded.fetch_sub(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                })
                .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        }
        drop(ready_tx);
        for _ in 0..config.workers {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("a worker thread died while loading".into()),
            }
        }
        Ok(WorkerPool {
            sender,
            permits: Arc::new(Semaphore::new(capacity)),
            keys: crate::slots::KeyShares::new(capacity.saturating_sub(config.workers)),
            loaded,
            workers: config.workers,
            metrics,
        })
    }

    /// A slot in the pool for a request of `key`, or `None` when `workers + queue` requests are in
    /// already, or when the key holds its share.
    pub fn try_admit(&self, key: &str) -> Option<Admission> {
        let key_permit = self.keys.of(key).try_acquire_owned().ok()?;
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(Admission {
            _permit: permit,
            _key: key_permit,
        })
    }

    /// Runs `job` on a worker and waits for it.
    pub async fn run(&self, _admission: &Admission, job: Job) -> Result<JobOutput, JobError> {
        let (reply, answer) = oneshot::channel();
        self.send(Work::Fuse(job, reply))?;
        answer.await.unwrap_or(Err(JobError::Stopped))
    }

    /// Finds every face of the photo `bytes` (decoded within photo A's limits) on a worker.
    pub async fn detect(
        &self,
        _admission: &Admission,
        bytes: Vec<u8>,
    ) -> Result<Detected, JobError> {
        let (reply, answer) = oneshot::channel();
        self.send(Work::Detect(bytes, reply))?;
        answer.await.unwrap_or(Err(JobError::Stopped))
    }

    fn send(&self, work: Work) -> Result<(), JobError> {
        let envelope = Envelope {
            work,
            enqueued: Instant::now(),
        };
        self.metrics.queue(1);
        match self.sender.try_send(envelope) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                // Unreachable while admissions bound the queue; answered as the pool being gone.
                self.metrics.queue(-1);
                Err(JobError::Stopped)
            }
        }
    }

    /// Workers with their models loaded.
    pub fn ready_workers(&self) -> usize {
        self.loaded.load(Ordering::SeqCst)
    }

    /// Workers started.
    pub fn workers(&self) -> usize {
        self.workers
    }
}

fn load(config: &WorkerConfig) -> Result<(Engine, Option<Moderator>), String> {
    let engine = Engine::load(&config.engine).map_err(|e| format!("face models: {e}"))?;
    let moderator = match &config.moderation {
        Some(m) => Some(Moderator::load(m).map_err(|e| format!("content filter: {e}"))?),
        None => None,
    };
    Ok((engine, moderator))
}

/// What a worker thread works with.
struct Context<'a> {
    engine: &'a Engine,
    /// The content filter and its configuration's fingerprint (for cached verdicts).
    moderator: Option<(&'a Moderator, u64)>,
    config: &'a WorkerConfig,
    metrics: &'a Metrics,
    cache: &'a PhotoCache,
}

fn moderation_fingerprint(config: &WorkerConfig) -> u64 {
    config
        .moderation
        .as_ref()
        .map_or(0, ModerationConfig::fingerprint)
}

fn work(receiver: &Mutex<Receiver<Envelope>>, context: &Context) {
    let metrics = context.metrics;
    loop {
        let envelope = {
            let rx = receiver.lock().unwrap_or_else(|p| p.into_inner());
            match rx.recv() {
                Ok(e) => e,
                Err(_) => return, // the pool was dropped
            }
        };
        metrics.queue(-1);
        metrics.stage(Stage::QueueWait, envelope.enqueued.elapsed());
        if envelope.work.abandoned() {
            continue; // nobody waits for it any more
        }
        metrics.busy(1);
        match envelope.work {
            Work::Fuse(job, reply) => {
                // Checked between stages: a request that gave up (its job timed out, its client
                // left) stops its job there instead of keeping the worker busy to the end.
                let abandoned = || reply.is_closed();
                let result = contain(|| process(job, context, &abandoned));
                let _ = reply.send(result);
            }
            Work::Detect(bytes, reply) => {
                let _ = reply.send(contain(|| detect(&bytes, context)));
            }
        }
        metrics.busy(-1);
    }
}

/// Runs `f`, a panic becoming [`JobError::Panic`] (the worker survives).
fn contain<T>(f: impl FnOnce() -> Result<T, JobError>) -> Result<T, JobError> {
    std::panic::catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(JobError::Panic(panic_text(&p))))
}

/// Every face of one photo, through the photo cache.
fn detect(bytes: &[u8], context: &Context) -> Result<Detected, JobError> {
    let Context {
        engine,
        config,
        metrics,
        cache,
        ..
    } = *context;
    let mut photo = timed(metrics, Stage::Decode, || {
        cache.prepare(bytes, Role::Image, &config.image_limits)
    })?;
    let t = Instant::now();
    let faces = engine.detect_analysed(&photo.image, &mut photo.analysis);
    metrics.stage(Stage::Detect, t.elapsed());
    let faces = faces?.to_vec();
    let size = photo.image.dimensions();
    cache.keep(photo);
    Ok(Detected { size, faces })
}

fn timed<T>(metrics: &Metrics, stage: Stage, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    metrics.stage(stage, t.elapsed());
    out
}

fn process(
    job: Job,
    context: &Context,
    abandoned: &dyn Fn() -> bool,
) -> Result<JobOutput, JobError> {
    let Context {
        engine,
        moderator,
        config,
        metrics,
        cache,
    } = *context;
    let check = || {
        if abandoned() {
            Err(JobError::Abandoned)
        } else {
            Ok(())
        }
    };
    // Decoded, or taken from the cache with what is known of them: the sources (A, then those of
    // the further faces), then B.
    let (mut sources, mut b) = timed(metrics, Stage::Decode, || {
        let mut sources = vec![cache.prepare(&job.image, Role::Image, &config.image_limits)?];
        for (bytes, _) in &job.more_faces {
            sources.push(cache.prepare(bytes, Role::Image, &config.image_limits)?);
        }
        let b = cache.prepare(&job.template, Role::Template, &config.template_limits)?;
        Ok::<_, EngineError>((sources, b))
    })?;
    let targets: Vec<usize> = job.more_faces.iter().map(|(_, k)| *k).collect();
    drop(job.image);
    drop(job.template);
    drop(job.more_faces);
    let keep_all = |sources: Vec<Prepared>, b: Prepared| {
        for s in sources {
            cache.keep(s);
        }
        cache.keep(b);
    };
    check()?;
    if let Some((m, fingerprint)) = moderator {
        let refused = timed(metrics, Stage::Moderate, || {
            let photos = sources
                .iter_mut()
                .map(|s| (Role::Image, s))
                .chain(std::iter::once((Role::Template, &mut b)));
            for (photo, prepared) in photos {
                let verdict = match prepared.verdict(fingerprint) {
                    Some(v) => v,
                    None => {
                        let v = m.check(&prepared.image).map_err(JobError::Moderation)?;
                        prepared.set_verdict(fingerprint, v.clone());
                        v
                    }
                };
                if let Verdict::Sensitive { label, score } = verdict {
                    return Ok(Some(JobError::Sensitive {
                        photo,
                        label,
                        score,
                    }));
                }
            }
            Ok::<_, JobError>(None)
        })?;
        if let Some(refusal) = refused {
            // The verdicts are kept: the same photo is refused again without the model.
            keep_all(sources, b);
            return Err(refusal);
        }
    }
    check()?;
    // Each face is fused into B itself (so each analysis stays its photo's), and the results are
    // laid over each other: outside its own face each result is B's pixels exactly.
    let mut fused = Vec::with_capacity(sources.len());
    let mut failure = None;
    for (i, source) in sources.iter_mut().enumerate() {
        let mut options = job.options;
        if i > 0 {
            options.template_face = FaceChoice::Index(targets[i - 1]);
        }
        let swapped = engine.swap_analysed(
            &source.image,
            &mut source.analysis,
            &b.image,
            &mut b.analysis,
            &options,
        );
        match swapped {
            Ok(s) => fused.push(s),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        if abandoned() {
            break;
        }
    }
    let template = b.image.clone();
    // What was learned is kept even when the fusion failed (a face-less photo stays face-less).
    keep_all(sources, b);
    if let Some(e) = failure {
        return Err(e.into());
    }
    check()?;
    let mut fused = fused.into_iter();
    let first = fused.next().expect("the first face was fused");
    let mut more_reports = Vec::new();
    let mut image = first.image;
    for (swapped, k) in fused.zip(&targets) {
        for ((out, result), original) in image
            .pixels_mut()
            .zip(swapped.image.pixels())
            .zip(template.pixels())
        {
            if result != original {
                *out = *result;
            }
        }
        metrics.stage(Stage::Fuse, swapped.times.fuse);
        more_reports.push((*k, swapped.report));
    }
    metrics.stage(Stage::Detect, first.times.detect_and_mesh);
    metrics.stage(Stage::Parse, first.times.parse);
    metrics.stage(Stage::Fuse, first.times.fuse);
    if let (true, Some(label)) = (job.visible_label, &config.visible_label) {
        label.draw(&mut image);
    }
    let size = image.dimensions();
    let bytes = timed(metrics, Stage::Encode, || encode(&image, job.format))?;
    Ok(JobOutput {
        bytes,
        size,
        report: first.report,
        more_reports,
    })
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// How long a permit-holding request may wait for its result before giving up (a safety net; jobs
/// normally take well under a second).
pub const JOB_TIMEOUT: Duration = Duration::from_secs(120);
