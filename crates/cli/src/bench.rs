//! `faceswap bench`: per-stage and end-to-end medians of the fusion on photo pairs (decode to
//! encode), with one and two threads, plus the results themselves for the quality scorer.
//!
//! A pair that cannot be fused (no face in a photo, a photo that does not decode) is skipped with
//! its reason on stderr: the other pairs are measured and written, and the exit status is 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use faceswap_engine::{
    decode, encode, Engine, EngineConfig, EngineError, OutputFormat, PhotoLimits, Role, SwapOptions,
};
use faceswap_models::ModelDir;
use faceswap_moderation::{ModerationConfig, Moderator};
use faceswap_server::cache::PhotoCache;
use faceswap_server::metrics::Metrics;

/// Arguments of `faceswap bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Pairs file: `id<TAB>source<TAB>template[...]`, paths relative to the file (the scorer's format).
    /// A pair that cannot be fused is skipped with its reason on stderr (exit status 1).
    #[arg(long, default_value = "../shared/eval/pairs.tsv")]
    pub pairs: PathBuf,
    /// Write each result as `DIR/<id>.<ext>` and the median seconds per pair as `DIR/times.tsv`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format of the encode stage: png, jpeg or webp.
    #[arg(long, default_value = "png")]
    pub format: String,
    /// Timed rounds per pair (after one warm-up round).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Thread counts to measure (model intra-op threads, and parallel workers for throughput).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Photo-cache cases to measure: none (every photo new), template (each template seen before,
    /// sources new), both (both photos seen before).
    #[arg(long, value_delimiter = ',', default_value = "none,template,both")]
    pub cache: Vec<Caching>,
    /// Model folder (default: $FACESWAP_MODELS or ~/.cache/faceswap/models).
    #[arg(long, env = "FACESWAP_MODELS")]
    pub models: Option<PathBuf>,
}

/// Which photos of a pair the photo cache has seen before.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Caching {
    /// Neither: every photo is decoded and analysed.
    None,
    /// The template: the catalogue case.
    Template,
    /// Both photos.
    Both,
}

impl Caching {
    fn name(self) -> &'static str {
        match self {
            Caching::None => "none",
            Caching::Template => "template",
            Caching::Both => "both",
        }
    }
}

struct Pair {
    id: String,
    source: Vec<u8>,
    template: Vec<u8>,
}

#[derive(Default, Clone)]
struct Sample {
    decode: Duration,
    detect_and_mesh: Duration,
    parse: Duration,
    fuse: Duration,
    encode: Duration,
    total: Duration,
}

/// Runs `faceswap bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format =
        OutputFormat::from_extension(&args.format).context("--format: png, jpeg or webp")?;
    let mut pairs = read_pairs(&args.pairs)?;
    let mut skipped = 0;
    let models = ModelDir::locate(args.models.as_deref());
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
    }
    outln!(
        "{} pairs, {} timed rounds each, output {}",
        pairs.len(),
        args.rounds,
        format.extension()
    );
    outln!(
        "{:<8} {:<9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>10}",
        "threads",
        "cached",
        "decode",
        "detect",
        "parse",
        "fuse",
        "encode",
        "total",
        "pairs/s"
    );
    let mut first = true;
    for &threads in &args.threads {
        let config = EngineConfig {
            threads,
            ..EngineConfig::new(models.clone())
        };
        let engine = Engine::load(&config)?;
        for &caching in &args.cache {
            // The warm-up round fills the cache with what the timed rounds find in it.
            let cache = PhotoCache::new(CACHE_BYTES, Arc::new(Metrics::default()));
            let mut per_pair: Vec<Vec<Sample>> = Vec::new();
            let mut unfused = Vec::new();
            for (k, pair) in pairs.iter().enumerate() {
                let mut samples = Vec::new();
                let mut fused = true;
                for round in 0..=args.rounds {
                    let (sample, bytes) = match one(&engine, &cache, caching, pair, format) {
                        Ok(done) => done,
                        // Only the very first fusion of a pair may be refused for its photos:
                        // anything else (a model that fails), or later, stops the bench.
                        Err(e) if first && round == 0 && unfusable(&e) => {
                            eprintln!("skipped: {e:#}");
                            unfused.push(k);
                            fused = false;
                            break;
                        }
                        Err(e) => return Err(e),
                    };
                    if round == 0 {
                        if first {
                            if let Some(dir) = &args.out {
                                std::fs::write(
                                    dir.join(format!("{}.{}", pair.id, format.extension())),
                                    &bytes,
                                )?;
                            }
                        }
                        continue;
                    }
                    samples.push(sample);
                }
                if fused {
                    per_pair.push(samples);
                }
            }
            if !unfused.is_empty() {
                skipped = unfused.len();
                pairs = pairs
                    .into_iter()
                    .enumerate()
                    .filter(|(k, _)| !unfused.contains(k))
                    .map(|(_, pair)| pair)
                    .collect();
                anyhow::ensure!(!pairs.is_empty(), "no pair could be fused");
            }
            let med = |f: &dyn Fn(&Sample) -> Duration| -> f64 {
                // Median over pairs of each pair's median.
                median(
                    per_pair
                        .iter()
                        .map(|s| median(s.iter().map(f).map(secs).collect()))
                        .collect(),
                ) * 1000.0
            };
            let throughput = parallel_throughput(&config, &pairs, threads, caching, format)?;
            outln!(
                "{:<8} {:<9} {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>7.1}ms {:>6.1}ms {:>6.1}ms {:>10.1}",
                threads,
                caching.name(),
                med(&|s| s.decode),
                med(&|s| s.detect_and_mesh),
                med(&|s| s.parse),
                med(&|s| s.fuse),
                med(&|s| s.encode),
                med(&|s| s.total),
                throughput
            );
            if first {
                if let Some(dir) = &args.out {
                    let mut tsv = String::from("id\tseconds\n");
                    for (pair, s) in pairs.iter().zip(&per_pair) {
                        tsv += &format!(
                            "{}\t{:.4}\n",
                            pair.id,
                            median(s.iter().map(|s| secs(s.total)).collect())
                        );
                    }
                    std::fs::write(dir.join("times.tsv"), tsv)?;
                }
            }
            first = false;
        }
    }
    let moderation = moderation_median(&models, &pairs, args.rounds.max(1))?;
    outln!("content filter: {moderation:.1} ms per photo (median over both photos of every pair, 1 thread; a request checks two)");
    outln!("cached: which photos the photo cache held (decoded, faces, meshes, parses); decode then includes hashing both photos");
    outln!("decode: both photos; detect: both detectors and the mesh on both photos; parse: the face parser on both chosen faces; total: decode to encode (medians over pairs of per-pair medians)");
    outln!("pairs/s: N workers in parallel, each with its own engine of 1 intra-op thread");
    if skipped > 0 {
        eprintln!(
            "{skipped} of {} pairs skipped (above); the figures are over the others",
            pairs.len() + skipped
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The photo cache's budget in the bench: every pair list's photos fit.
const CACHE_BYTES: usize = 2 << 30;

/// Whether a pair's fusion was refused for its photos (no face, a photo that does not decode or
/// is too large, no such template face): the pair is skipped, the bench goes on.
fn unfusable(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<EngineError>(),
        Some(
            EngineError::NoFace { .. }
                | EngineError::Decode { .. }
                | EngineError::TooLarge { .. }
                | EngineError::NoSuchTemplateFace(_)
        )
    )
}

/// One fusion of `pair`, through `cache` for the photos `caching` says it keeps; an error names
/// the pair.
fn one(
    engine: &Engine,
    cache: &PhotoCache,
    caching: Caching,
    pair: &Pair,
    format: OutputFormat,
) -> anyhow::Result<(Sample, Vec<u8>)> {
    fuse_pair(engine, cache, caching, pair, format).with_context(|| format!("pair {}", pair.id))
}

/// [`one`], its error not yet naming the pair.
fn fuse_pair(
    engine: &Engine,
    cache: &PhotoCache,
    caching: Caching,
    pair: &Pair,
    format: OutputFormat,
) -> anyhow::Result<(Sample, Vec<u8>)> {
    let t0 = Instant::now();
    let mut a = cache.prepare(&pair.source, Role::Image, &PhotoLimits::LOCAL)?;
    let mut b = cache.prepare(&pair.template, Role::Template, &PhotoLimits::LOCAL)?;
    let t1 = Instant::now();
    let swapped = engine.swap_analysed(
        &a.image,
        &mut a.analysis,
        &b.image,
        &mut b.analysis,
        &SwapOptions::default(),
    )?;
    let t2 = Instant::now();
    if caching == Caching::Both {
        cache.keep(a);
    }
    if caching != Caching::None {
        cache.keep(b);
    }
    let bytes = encode(&swapped.image, format)?;
    let t3 = Instant::now();
    let sample = Sample {
        decode: t1 - t0,
        detect_and_mesh: swapped.times.detect_and_mesh,
        parse: swapped.times.parse,
        fuse: swapped.times.fuse,
        encode: t3 - t2,
        total: t3 - t0,
    };
    Ok((sample, bytes))
}

/// Pairs per second with `workers` threads each running its own (warmed-up) engine over all pairs
/// twice.
fn parallel_throughput(
    config: &EngineConfig,
    pairs: &[Pair],
    workers: usize,
    caching: Caching,
    format: OutputFormat,
) -> anyhow::Result<f64> {
    // One cache for all workers, as in the server.
    let cache = PhotoCache::new(CACHE_BYTES, Arc::new(Metrics::default()));
    let config = EngineConfig {
        threads: 1,
        ..config.clone()
    };
    let engines: Vec<Engine> = (0..workers)
        .map(|_| Engine::load(&config))
        .collect::<Result<_, _>>()?;
    // ONNX Runtime's first runs of a session are slow: warm every engine up before the clock starts.
    for engine in &engines {
        for pair in pairs {
            one(engine, &cache, caching, pair, format)?;
        }
    }
    let start = Instant::now();
    let done = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let handles: Vec<_> = engines
            .iter()
            .map(|engine| {
                let cache = &cache;
                scope.spawn(move || -> anyhow::Result<usize> {
                    for _ in 0..2 {
                        for pair in pairs {
                            one(engine, cache, caching, pair, format)?;
                        }
                    }
                    Ok(pairs.len() * 2)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench worker panicked"))
            .sum()
    })?;
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// Median milliseconds of the content filter's check on one photo.
fn moderation_median(models: &ModelDir, pairs: &[Pair], rounds: usize) -> anyhow::Result<f64> {
    let moderator = Moderator::load(&ModerationConfig::new(models))?;
    let mut times = Vec::new();
    for pair in pairs {
        for (bytes, role, limits) in [
            (&pair.source, Role::Image, PhotoLimits::LOCAL),
            (&pair.template, Role::Template, PhotoLimits::LOCAL),
        ] {
            let img = decode(bytes, role, &limits)?;
            moderator.check(&img)?;
            for _ in 0..rounds {
                let t = Instant::now();
                moderator.check(&img)?;
                times.push(secs(t.elapsed()) * 1000.0);
            }
        }
    }
    Ok(median(times))
}

fn read_pairs(path: &Path) -> anyhow::Result<Vec<Pair>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut pairs = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 || cols[0] == "id" || line.starts_with('#') {
            continue;
        }
        let read =
            |p: &str| std::fs::read(base.join(p)).with_context(|| format!("cannot read {p}"));
        pairs.push(Pair {
            id: cols[0].to_string(),
            source: read(cols[1])?,
            template: read(cols[2])?,
        });
    }
    anyhow::ensure!(!pairs.is_empty(), "no pairs in {}", path.display());
    Ok(pairs)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
