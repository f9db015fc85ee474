//! Every setting of the service, with its default. The `faceswap serve` flags and `FACESWAP_*`
//! environment variables map onto [`Config`]; tests build one directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use faceswap_engine::PhotoLimits;

use crate::network::IpNet;

/// The content filter's settings.
#[derive(Debug, Clone, Default)]
pub struct ModerationSettings {
    /// Whether photos are checked at all (operators with their own moderation may switch it off).
    pub enabled: bool,
    /// `LABEL=SCORE,...` replacing the default sensitive labels (see `ModerationConfig::parse_labels`).
    pub labels: Option<String>,
    /// Another model file instead of the fetched NudeNet one.
    pub model: Option<PathBuf>,
}

/// Limits and timeouts of fetching photos by URL.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Refuse nothing by address (loopback and private networks allowed). Default false; tests set it.
    pub allow_private_sources: bool,
    /// Networks allowed even though private (e.g. an internal image host), as `10.1.2.0/24`.
    pub allowed_networks: Vec<IpNet>,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for the whole download, redirects included.
    pub total_timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Largest body, counted while streaming.
    pub max_bytes: usize,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            allow_private_sources: false,
            allowed_networks: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
            max_redirects: 3,
            max_bytes: 5 * 1024 * 1024,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Compact human-readable lines.
    #[default]
    Compact,
}

/// The visible AI-content label.
#[derive(Debug, Clone, PartialEq)]
pub struct VisibleLabelSettings {
    /// Its text, in any script the font has glyphs for.
    pub text: String,
    /// Where it sits.
    pub corner: crate::label::Corner,
    /// The font file (TTF, OTF or a collection's first font); default: the first of
    /// [`crate::label::DEFAULT_FONTS`] that exists.
    pub font: Option<PathBuf>,
    /// Whether a request may switch it off with `"label": false`.
    pub optional: bool,
}

impl Default for VisibleLabelSettings {
    fn default() -> Self {
        VisibleLabelSettings {
            text: "AI生成 AI-generated".into(),
            corner: crate::label::Corner::BottomRight,
            font: None,
            optional: false,
        }
    }
}

/// All settings of the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Folder holding `faceswap.db` and `results/`.
    pub data_dir: PathBuf,
    /// Base of result URLs, e.g. `https://faces.example.com`. Default: `http://` + the bound address,
    /// or, when bound to all interfaces (0.0.0.0 or ::), `http://` + the request's `Host`.
    pub public_url: Option<String>,
    /// Fusion worker threads, each with its own models.
    pub workers: usize,
    /// Requests allowed to wait for a worker; beyond, requests fail fast with 402 `false`.
    pub queue: usize,
    /// How long results (and task records) are kept.
    pub retention: Duration,
    /// How often the sweeper runs.
    pub sweep_interval: Duration,
    /// Requests per second of a key without its own rate (0: unlimited).
    pub default_rate: f64,
    /// Largest request body in bytes (two base64 photos of 5 MB fit in the default).
    pub max_body_bytes: usize,
    /// How long a client may take to send its request body; a slower body is refused, so that slow
    /// clients cannot hold the bounded body slots for ever.
    pub body_timeout: Duration,
    /// Limits of photo A.
    pub image_limits: PhotoLimits,
    /// Limits of template B.
    pub template_limits: PhotoLimits,
    /// Smallest face side in pixels.
    pub min_face: u32,
    /// The provider named in every result's AI-content label (GB 45438-2025's content producer:
    /// a company name or filing number).
    pub label_provider: String,
    /// The visible AI-content label drawn on results; `None`: off (for deployments where the
    /// labelling rules do not apply).
    pub visible_label: Option<VisibleLabelSettings>,
    /// Bytes of memory the cache of decoded and analysed photos may hold (0: no cache).
    pub photo_cache_bytes: usize,
    /// Model folder (default: `FACESWAP_MODELS` or the fetch script's cache).
    pub models_dir: Option<PathBuf>,
    /// The content filter.
    pub moderation: ModerationSettings,
    /// Fetching photos by URL.
    pub fetch: FetchSettings,
    /// Log line format (used by [`crate::init_logging`]).
    pub log_format: LogFormat,
    /// Bearer token of the admin API under `/admin/`; `None` (the default) leaves it switched off.
    pub admin_token: Option<String>,
    /// PostgreSQL instead of the SQLite file: `postgres://user:password@host:port/database`
    /// (replicas share it).
    pub database_url: Option<String>,
    /// An S3-compatible bucket instead of the results folder (replicas share it).
    pub s3: Option<crate::blobs::S3Settings>,
    /// After how long without a heartbeat a replica counts as gone, and another refunds its
    /// reservations (PostgreSQL; it beats four times per timeout).
    pub replica_timeout: Duration,
    /// Whether one client address may hold only a share of the body slots (off behind a proxy,
    /// where every client has the proxy's address).
    pub per_address_slots: bool,
}

impl Default for Config {
    fn default() -> Self {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            workers,
            queue: 16,
            retention: Duration::from_secs(7 * 24 * 3600),
            sweep_interval: Duration::from_secs(60),
            default_rate: 1.0,
            max_body_bytes: 16 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            image_limits: PhotoLimits::IMAGE,
            template_limits: PhotoLimits::TEMPLATE,
            min_face: 50,
            photo_cache_bytes: 256 << 20,
            label_provider: "faceswap".into(),
            visible_label: Some(VisibleLabelSettings::default()),
            models_dir: None,
            moderation: ModerationSettings {
                enabled: true,
                labels: None,
                model: None,
            },
            fetch: FetchSettings::default(),
            log_format: LogFormat::Compact,
            admin_token: None,
            database_url: None,
            s3: None,
            replica_timeout: Duration::from_secs(30),
            per_address_slots: true,
        }
    }
}

impl Config {
    /// Whether anything is kept in the data folder (the SQLite file or the results folder): then
    /// one server at a time may use it.
    pub fn uses_data_dir(&self) -> bool {
        self.database_url.is_none() || self.s3.is_none()
    }

    /// The SQLite database file in the data folder.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("faceswap.db")
    }

    /// The results folder in the data folder.
    pub fn results_dir(&self) -> PathBuf {
        self.data_dir.join("results")
    }
}
