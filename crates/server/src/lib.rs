//! The faceswap HTTP service: `POST /v1/faceswap` as the original cloud API defines it, with keys,
//! credits, rate limits, safe fetching of photos, results kept for a retention period, metrics and an
//! OpenAPI document. `faceswap serve` runs [`serve`]; `faceswap keys` works on [`store::SqliteStore`].
//!
//! Modules: [`config`] (settings), [`api`] (routes and handlers), [`error`] (the API's one error
//! type), [`keys`] (key generation and hashing), [`label`] (the AI-content label), [`store`] (keys, credits, tasks), [`blobs`] (result
//! files), [`fetch`] (SSRF-safe downloads), [`worker`] (the fusion pool), [`cache`] (decoded and analysed photos),
//! [`sweeper`] (retention), [`metrics`] (Prometheus).

#![warn(missing_docs)]

pub mod api;
pub mod blobs;
pub mod cache;
pub mod config;
pub mod error;
pub mod fetch;
pub mod keys;
pub mod label;
pub mod metrics;
pub mod network;
pub mod slots;
pub mod store;
pub mod sweeper;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use config::{Config, FetchSettings, LogFormat, ModerationSettings, VisibleLabelSettings};

use crate::api::AppState;
use crate::blobs::{BlobStore, DiskBlobs, S3Blobs};
use crate::fetch::Fetcher;
use crate::metrics::Metrics;
use crate::store::{PgStore, SqliteStore, Store};
use crate::worker::{WorkerConfig, WorkerPool};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the server: {what}: {reason}")]
pub struct StartError {
    /// The step that failed.
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

fn fail<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> StartError {
    move |e| StartError {
        what,
        reason: e.to_string(),
    }
}

/// Now, in Unix milliseconds.
pub fn now_millis() -> i64 {
    now_micros() / 1000
}

/// Now, in Unix microseconds.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Unix milliseconds as RFC 3339 UTC, e.g. `2025-01-31T12:00:00Z`.
pub fn rfc3339(ms: i64) -> String {
    // Whole seconds, as the API has always written them; a time before 1970 (none is stored)
    // reads as the epoch.
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(ms.div_euclid(1000).max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Sets up the global log subscriber (`RUST_LOG` filters; default `info`). Calling it twice is harmless.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Compact => builder.compact().try_init(),
    };
}

/// An exclusive lock on the data folder, held while a server runs: two servers on one database would
/// release each other's credit reservations at start-up.
struct DataDirLock {
    _file: std::fs::File,
}

fn lock_data_dir(dir: &std::path::Path) -> Result<DataDirLock, StartError> {
    let path = dir.join("server.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)
        .map_err(fail("data folder lock"))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(StartError {
                what: "data folder lock",
                reason: format!(
                    "another faceswap server is using {} (one server per data folder)",
                    dir.display()
                ),
            });
        }
    }
    Ok(DataDirLock { _file: file })
}

/// A running server.
pub struct Server {
    _lock: Option<DataDirLock>,
    addr: SocketAddr,
    public_url: String,
    state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    sweeper: tokio::task::JoinHandle<()>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base of its result URLs.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Its shared state (store, metrics, ...), for tests and embedding.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Stops accepting, finishes requests in flight, and returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.serving).await;
        self.sweeper.abort();
        self.heartbeat.abort();
    }

    /// Runs until the listener fails.
    pub async fn wait(mut self) -> std::io::Result<()> {
        let r = (&mut self.serving)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.sweeper.abort();
        self.heartbeat.abort();
        r
    }
}

/// Opens storage, releases reservations a crash left, sweeps, loads the models on every worker,
/// binds the listener and starts serving.
pub async fn start(config: Config) -> Result<Server, StartError> {
    let metrics = Arc::new(Metrics::default());
    let lock = if config.uses_data_dir() {
        std::fs::create_dir_all(&config.data_dir).map_err(fail("data folder"))?;
        Some(lock_data_dir(&config.data_dir)?)
    } else {
        None // stateless: everything is in the database and the bucket
    };
    let store: Arc<dyn Store> = match &config.database_url {
        Some(url) => Arc::new(
            PgStore::connect(url, config.replica_timeout)
                .await
                .map_err(fail("database"))?,
        ),
        None => Arc::new(SqliteStore::open(&config.database_path()).map_err(fail("database"))?),
    };
    let blobs: Arc<dyn BlobStore> = match &config.s3 {
        Some(s3) => {
            let blobs = S3Blobs::open(s3).map_err(fail("bucket"))?;
            blobs.ping().await.map_err(fail("bucket"))?;
            Arc::new(blobs)
        }
        None => Arc::new(DiskBlobs::open(&config.results_dir()).map_err(fail("results folder"))?),
    };

    let now = now_millis();
    let retention = config.retention.as_millis().min(i64::MAX as u128) as i64;
    let recovered = store
        .recover(now, now + retention)
        .await
        .map_err(fail("releasing reservations"))?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "refunded credits reserved by requests a restart interrupted"
        );
    }
    // Alone on its storage (SQLite and the local folder), nothing is in flight: a blob of any age
    // without its task is an orphan. A bucket may be shared, and beside other replicas a blob may
    // be one whose task is about to be committed: only old ones are, and only the leader looks.
    if store.lead().await.map_err(fail("database"))? {
        let swept = sweeper::sweep_expired(store.as_ref(), blobs.as_ref(), now)
            .await
            .map_err(fail("sweeping"))?;
        let min_age = if store.exclusive() && config.s3.is_none() {
            Duration::ZERO
        } else {
            sweeper::ORPHAN_AGE
        };
        let reconciled = sweeper::reconcile(store.as_ref(), blobs.as_ref(), min_age)
            .await
            .map_err(fail("reconciling results"))?;
        tracing::info!(
            expired_results = swept.results,
            expired_rows = swept.rows,
            orphan_blobs = reconciled.orphan_blobs,
            orphan_rows = reconciled.orphan_rows,
            "start-up sweep"
        );
    }

    let worker_config = WorkerConfig::from_config(&config).map_err(fail("configuration"))?;
    let pool_metrics = metrics.clone();
    let pool = tokio::task::spawn_blocking(move || WorkerPool::start(worker_config, pool_metrics))
        .await
        .map_err(fail("models"))?
        .map_err(fail("models"))?;
    let fetcher = Fetcher::new(&config.fetch).map_err(fail("HTTP client"))?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(fail("listen"))?;
    let addr = listener.local_addr().map_err(fail("listen"))?;
    let public_url = config
        .public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{addr}"));
    // Bound to all interfaces without a public URL: `http://0.0.0.0:8080/...` would reach no one, so
    // result URLs are built from the address each client used (its Host header).
    let public_url_from_host = urls_from_host(config.public_url.as_deref(), addr);
    if public_url_from_host {
        tracing::warn!(
            "no public URL configured while listening on all interfaces: result URLs are built \
             from each request's Host header (set --public-url to fix them)"
        );
    }

    let sweeper = sweeper::spawn(
        store.clone(),
        blobs.clone(),
        metrics.clone(),
        config.sweep_interval,
    );
    let heartbeat = sweeper::spawn_heartbeat(store.clone(), config.replica_timeout, retention);
    tracing::info!(
        %addr,
        %public_url,
        workers = pool.workers(),
        queue = config.queue,
        moderation = config.moderation.enabled,
        "faceswap serving"
    );
    let body_slots = slots::BodySlots::new(
        (config.workers + config.queue) * 2 + 4,
        config.per_address_slots,
    );
    let state = Arc::new(AppState {
        body_slots,
        config,
        public_url: public_url.clone(),
        public_url_from_host,
        store,
        blobs,
        fetcher,
        pool,
        metrics,
    });
    let app = api::router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await
    });
    Ok(Server {
        _lock: lock,
        addr,
        public_url,
        state,
        shutdown: Some(tx),
        serving,
        sweeper,
        heartbeat,
    })
}

/// Whether result URLs are built from each request's `Host`: bound to all interfaces without a
/// public URL, `http://0.0.0.0:8080/...` would reach no one.
fn urls_from_host(public_url: Option<&str>, listening: SocketAddr) -> bool {
    public_url.is_none() && listening.ip().is_unspecified()
}

/// Starts the server and runs it until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let server = start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_urls_follow_the_host_only_on_all_interfaces_without_a_public_url() {
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert!(urls_from_host(None, at("0.0.0.0:8080")));
        assert!(urls_from_host(None, at("[::]:8080")));
        assert!(!urls_from_host(None, at("127.0.0.1:8080")));
        assert!(!urls_from_host(
            Some("https://f.example"),
            at("0.0.0.0:8080")
        ));
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_999), "2023-11-14T22:13:20Z");
    }
}
