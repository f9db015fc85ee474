//! Load run: starts the real server on loopback (real engine and filter, a temporary data folder), a
//! loopback photo host serving `../shared/faces`, and N concurrent clients posting fusions for a
//! bounded time. Prints median and p99 latency, throughput and status counts, and checks that the
//! credits add up exactly (spent = successes, nothing left reserved).
//!
//! ```text
//! cargo run -p faceswap-server --example load -- [--clients 8] [--seconds 30] [--workers N]
//!     [--queue 16] [--credits 1000000] [--base64] [--no-moderation] [--catalogue [--fresh-sources]]
//!     [--replicas N]
//! ```
//! `--replicas N`: N servers in this process on one PostgreSQL database and one S3 bucket (from
//! `FACESWAP_TEST_DATABASE_URL` and `FACESWAP_TEST_S3_*`, as `scripts/backends.sh` prints them),
//! each with `--workers` threads (default: the cores shared out), the clients spread over them.
//! `--catalogue`: ten templates and every other face photo as sources, inline (base64); with
//! `--fresh-sources` each request's source is made a new photo for the photo cache (a few random
//! bytes after the JPEG's end, which decoders ignore), as when every customer brings their own.
//! `FACESWAP_FACES` points at the photos (default `../shared/faces` beside the repository).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use faceswap_server::blobs::S3Settings;
use faceswap_server::store::{PgStore, SqliteStore, Store};
use faceswap_server::Config;
use serde_json::json;

// The photo host and photo helpers of the end-to-end tests.
#[path = "../tests/common/mod.rs"]
mod common;

struct Opts {
    clients: usize,
    seconds: u64,
    workers: Option<usize>,
    queue: usize,
    credits: i64,
    base64: bool,
    moderation: bool,
    catalogue: bool,
    fresh_sources: bool,
    replicas: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        clients: 8,
        seconds: 30,
        workers: None,
        queue: 16,
        credits: 1_000_000,
        base64: false,
        moderation: true,
        catalogue: false,
        fresh_sources: false,
        replicas: 0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| -> String {
            args.get(i + 1)
                .cloned()
                .unwrap_or_else(|| panic!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--clients" => o.clients = val(i).parse().expect("--clients N"),
            "--seconds" => o.seconds = val(i).parse::<u64>().expect("--seconds S").min(60),
            "--workers" => o.workers = Some(val(i).parse().expect("--workers N")),
            "--queue" => o.queue = val(i).parse().expect("--queue N"),
            "--credits" => o.credits = val(i).parse().expect("--credits N"),
            "--base64" => {
                o.base64 = true;
                i += 1;
                continue;
            }
            "--no-moderation" => {
                o.moderation = false;
                i += 1;
                continue;
            }
            "--catalogue" => {
                o.catalogue = true;
                i += 1;
                continue;
            }
            "--fresh-sources" => {
                o.fresh_sources = true;
                i += 1;
                continue;
            }
            "--replicas" => o.replicas = val(i).parse().expect("--replicas N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    o
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    statuses: BTreeMap<String, usize>,
    successes: usize,
}

/// A number of the run (so two runs' fresh sources differ too).
fn c_id(key: &str) -> u64 {
    key.bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let o = opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The photo host runs on the test harness's own runtime, started outside this one.
    let photos = common::PhotoHost::start("127.0.0.1", None);
    rt.block_on(run(o, &photos));
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("--replicas needs {name} (scripts/backends.sh)"))
}

async fn run(o: Opts, photos: &common::PhotoHost) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        queue: o.queue,
        ..Config::default()
    };
    let replicas = o.replicas.max(1);
    if let Some(w) = o.workers {
        config.workers = w;
    } else {
        config.workers = (config.workers / replicas).max(1);
    }
    config.moderation.enabled = o.moderation;
    config.fetch.allow_private_sources = true;
    let workers = config.workers;
    let store: Arc<dyn Store> = if o.replicas > 0 {
        let url = env("FACESWAP_TEST_DATABASE_URL");
        config.database_url = Some(url.clone());
        config.s3 = Some(S3Settings {
            bucket: env("FACESWAP_TEST_S3_BUCKET"),
            endpoint: Some(env("FACESWAP_TEST_S3_ENDPOINT")),
            region: None,
            prefix: format!("load-{}", std::process::id()),
            credentials: Some((env("FACESWAP_TEST_S3_KEY"), env("FACESWAP_TEST_S3_SECRET"))),
        });
        Arc::new(
            PgStore::connect(&url, Duration::from_secs(30))
                .await
                .unwrap(),
        )
    } else {
        Arc::new(SqliteStore::open(&dir.path().join("faceswap.db")).unwrap())
    };
    let mut servers = Vec::new();
    for _ in 0..replicas {
        servers.push(
            faceswap_server::start(config.clone())
                .await
                .expect("server starts"),
        );
    }
    let bases: Vec<String> = servers
        .iter()
        .map(|s| format!("http://{}", s.local_addr()))
        .collect();
    let base = bases.join(", ");
    let (key_rec, key) = store
        .new_key(
            format!("load-{}", faceswap_server::now_millis()),
            o.credits,
            Some(0.0),
            faceswap_server::now_millis(),
        )
        .await
        .unwrap();

    // Pairs (A, B) of the shared photos; some of them fail on purpose (no face) to mix in 402s.
    let pairs = [
        ("obama_1.jpg", "portrait_m1.jpg"),
        ("biden_2.jpg", "kit_1.jpg"),
        ("rose_1.jpg", "portrait_f1.jpg"),
        ("alex_1.png", "cruise.jpg"),
        ("lin.png", "rose_2.jpg"),
        ("noface_horses.jpg", "portrait_m1.jpg"),
    ];
    let bodies: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(a, b)| {
            if o.base64 {
                let enc = |n: &str| base64::engine::general_purpose::STANDARD.encode(common::face(n));
                json!({"image_base64": enc(a), "template_base64": enc(b)})
            } else {
                json!({"image_url": photos.url(&format!("/faces/{a}")), "template_url": photos.url(&format!("/faces/{b}"))})
            }
        })
        .collect();
    // The catalogue: ten templates; the sources are the other JPEG face photos.
    let catalogue = o.catalogue.then(|| {
        let templates = [
            "portrait_m1.jpg",
            "portrait_f1.jpg",
            "kit_1.jpg",
            "rose_2.jpg",
            "cruise.jpg",
            "df_img5.jpg",
            "df_img24.jpg",
            "df_img30.jpg",
            "df_img39.jpg",
            "df_img8.jpg",
        ];
        let sources: Vec<Vec<u8>> = [
            "obama_1.jpg",
            "obama_2.jpg",
            "obama_3.jpg",
            "biden_2.jpg",
            "kit_2.jpg",
            "kit_3.jpg",
            "rose_1.jpg",
            "df_img1.jpg",
            "df_img3.jpg",
            "df_img12.jpg",
            "df_img13.jpg",
            "df_img14.jpg",
            "df_img16.jpg",
            "df_img18.jpg",
            "df_img20.jpg",
            "df_img28.jpg",
            "df_img32.jpg",
            "df_img35.jpg",
            "df_img44.jpg",
            "df_img51.jpg",
            "df_img61.jpg",
        ]
        .iter()
        .map(|n| common::face(n))
        .collect();
        let templates: Vec<String> = templates
            .iter()
            .map(|n| base64::engine::general_purpose::STANDARD.encode(common::face(n)))
            .collect();
        Arc::new((templates, sources))
    });
    let fresh = o.fresh_sources;
    // Numbers every request of the run once, for the fresh sources' trailers.
    let serial = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let bodies = Arc::new(bodies);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    println!(
        "load: {} clients for {} s against {base} ({workers} workers each, queue {}, moderation {}, {})",
        o.clients,
        o.seconds,
        o.queue,
        o.moderation,
        if o.catalogue {
            if o.fresh_sources {
                "catalogue of 10 templates, fresh sources"
            } else {
                "catalogue of 10 templates, 21 sources"
            }
        } else if o.base64 {
            "base64"
        } else {
            "URLs"
        }
    );
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..o.clients {
        let (client, bodies, tally, key, base, catalogue, serial) = (
            client.clone(),
            bodies.clone(),
            tally.clone(),
            key.clone(),
            bases[c % bases.len()].clone(),
            catalogue.clone(),
            serial.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut n = c;
            while Instant::now() < deadline {
                let body = match &catalogue {
                    None => bodies[n % bodies.len()].clone(),
                    Some(c) => {
                        let (templates, sources) = &**c;
                        let mut source = sources[(n * 7) % sources.len()].clone();
                        if fresh {
                            // A new photo for the cache each time; decoders stop at the JPEG's end.
                            let k = serial.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            source.extend_from_slice(&k.wrapping_mul(1_000_003).wrapping_add(c_id(&key)).to_le_bytes());
                        }
                        json!({"image_base64": base64::engine::general_purpose::STANDARD.encode(&source),
                            "template_base64": templates[n % templates.len()]})
                    }
                };
                let body = &body;
                n += 1;
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/v1/faceswap?token={key}"))
                    .json(body)
                    .send()
                    .await;
                let (label, ok) = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        let code = v["code"].as_str().unwrap_or("?").to_string();
                        (format!("{status} {code}"), status == 200)
                    }
                    Err(e) => (format!("transport error: {e}"), false),
                };
                let elapsed = t.elapsed();
                let mut t = tally.lock().unwrap();
                t.latencies.push(elapsed);
                *t.statuses.entry(label).or_default() += 1;
                t.successes += ok as usize;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let wall = started.elapsed();
    let mut t = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    t.latencies.sort();
    let total = t.latencies.len();
    let five_xx: usize = t
        .statuses
        .iter()
        .filter(|(k, _)| k.starts_with('5') || k.starts_with("transport"))
        .map(|(_, v)| v)
        .sum();
    println!(
        "requests: {total} in {:.1} s = {:.2} req/s; successes {} = {:.2} fusions/s",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        t.successes,
        t.successes as f64 / wall.as_secs_f64()
    );
    println!(
        "latency: median {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&t.latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&t.latencies, 0.9).as_secs_f64() * 1e3,
        percentile(&t.latencies, 0.99).as_secs_f64() * 1e3,
        t.latencies
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    );
    for (k, v) in &t.statuses {
        println!("  {v:6}  {k}");
    }
    println!("5xx and transport errors: {five_xx}");
    let keys = store.keys().await.unwrap();
    let after = keys.iter().find(|k| k.id == key_rec.id).unwrap();
    let adds_up = after.spent == t.successes as i64
        && after.reserved == 0
        && after.credits + after.spent == o.credits;
    println!(
        "credits: start {}, spent {}, left {}, reserved {}; successes {} -> {}",
        o.credits,
        after.spent,
        after.credits,
        after.reserved,
        t.successes,
        if adds_up { "ADD UP" } else { "MISMATCH" }
    );
    // Where the time went: the server's own per-stage means over the run.
    let mut texts = Vec::new();
    for base in &bases {
        let r = client.get(format!("{base}/metrics")).send().await.unwrap();
        texts.push(r.text().await.unwrap());
    }
    // Summed over the replicas.
    let value = |name: &str, stage: &str| -> f64 {
        let prefix = format!("faceswap_stage_seconds_{name}{{stage=\"{stage}\"}} ");
        texts
            .iter()
            .flat_map(|t| t.lines())
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .sum()
    };
    let mut means = Vec::new();
    for stage in [
        "fetch",
        "queue_wait",
        "decode",
        "moderate",
        "detect",
        "parse",
        "fuse",
        "encode",
        "store",
        "total",
    ] {
        let count = value("count", stage);
        if count > 0.0 {
            means.push(format!("{stage} {:.1}", 1e3 * value("sum", stage) / count));
        }
    }
    println!("server stage means, ms: {}", means.join(", "));
    for server in servers {
        server.shutdown().await;
    }
    if !adds_up || five_xx > 0 {
        std::process::exit(1);
    }
}
