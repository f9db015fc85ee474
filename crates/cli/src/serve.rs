//! `faceswap serve`: runs the HTTP service. Every flag has a `FACESWAP_*` environment variable and
//! maps onto `faceswap_server::Config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use faceswap_server::network::IpNet;
use faceswap_server::{Config, LogFormat};

/// Arguments of `faceswap serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "FACESWAP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder for the database (faceswap.db) and the results.
    #[arg(long, env = "FACESWAP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Base of result URLs as clients reach the server, e.g. https://faces.example.com
    /// [default: http://LISTEN, or http://HOST-HEADER when listening on 0.0.0.0 or ::]
    #[arg(long, env = "FACESWAP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Fusion worker threads, each with its own models [default: number of cores].
    #[arg(long, env = "FACESWAP_WORKERS")]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; beyond that, 402 `false` "server busy, try again".
    #[arg(long, env = "FACESWAP_QUEUE", default_value_t = 16)]
    pub queue: usize,
    /// Days results are kept (fractions allowed).
    #[arg(long, env = "FACESWAP_RETENTION_DAYS", default_value_t = 7.0)]
    pub retention_days: f64,
    /// Seconds results are kept; overrides --retention-days (for tests and demos).
    #[arg(long, env = "FACESWAP_RETENTION_SECONDS")]
    pub retention_seconds: Option<u64>,
    /// Seconds between sweeps of expired results.
    #[arg(long, env = "FACESWAP_SWEEP_SECONDS", default_value_t = 60)]
    pub sweep_seconds: u64,
    /// Requests per second of keys created without --rate (0: unlimited).
    #[arg(long, env = "FACESWAP_DEFAULT_RATE", default_value_t = 1.0)]
    pub default_rate: f64,
    /// Allow photo URLs on loopback and private networks (never on a public server).
    #[arg(long, env = "FACESWAP_ALLOW_PRIVATE_SOURCES")]
    pub allow_private_sources: bool,
    /// Private networks allowed as photo sources anyway, comma-separated CIDRs (e.g. 10.1.2.0/24).
    #[arg(long, env = "FACESWAP_ALLOWED_SOURCE_NETWORKS", value_delimiter = ',')]
    pub allowed_source_networks: Vec<String>,
    /// Seconds to wait for a photo host to accept a connection.
    #[arg(long, env = "FACESWAP_FETCH_CONNECT_TIMEOUT", default_value_t = 5.0)]
    pub fetch_connect_timeout: f64,
    /// Seconds a photo download may take in all, redirects included.
    #[arg(long, env = "FACESWAP_FETCH_TIMEOUT", default_value_t = 20.0)]
    pub fetch_timeout: f64,
    /// Seconds a client may take to send its request body.
    #[arg(long, env = "FACESWAP_BODY_TIMEOUT", default_value_t = 30.0)]
    pub body_timeout: f64,
    /// Longest side in pixels accepted for photo A (the contract's limit is 2048).
    #[arg(long, env = "FACESWAP_IMAGE_MAX_SIDE", default_value_t = 2048)]
    pub image_max_side: u32,
    /// Longest side in pixels accepted for the template (the contract advises 1280).
    #[arg(long, env = "FACESWAP_TEMPLATE_MAX_SIDE", default_value_t = 4096)]
    pub template_max_side: u32,
    /// MiB of memory for the cache of decoded and analysed photos (repeated templates and sources
    /// then cost neither decoding nor face models; 0: no cache).
    #[arg(long, env = "FACESWAP_PHOTO_CACHE_MIB", default_value_t = 256)]
    pub photo_cache_mib: usize,
    /// The provider named in every result's AI-content label (a company name or filing number).
    #[arg(long, env = "FACESWAP_LABEL_PROVIDER", default_value = "faceswap")]
    pub label_provider: String,
    /// Text of the visible AI-content label drawn on every result (any script the font has).
    #[arg(
        long,
        env = "FACESWAP_LABEL_TEXT",
        default_value = "AI生成 AI-generated"
    )]
    pub label_text: String,
    /// Corner of the visible label: top-left, top-right, bottom-left or bottom-right.
    #[arg(long, env = "FACESWAP_LABEL_CORNER", default_value = "bottom-right")]
    pub label_corner: String,
    /// Font of the visible label [default: Debian's WenQuanYi Micro Hei, else DejaVu Sans].
    #[arg(long, env = "FACESWAP_LABEL_FONT")]
    pub label_font: Option<PathBuf>,
    /// Let a request switch the visible label off with "label": false.
    #[arg(long, env = "FACESWAP_LABEL_OPTIONAL")]
    pub label_optional: bool,
    /// No visible label at all (deployments where the labelling rules do not apply); the
    /// metadata label stays.
    #[arg(long, env = "FACESWAP_NO_VISIBLE_LABEL")]
    pub no_visible_label: bool,
    /// Switch the sensitive-content filter off (for operators with their own moderation).
    #[arg(long, env = "FACESWAP_NO_MODERATION")]
    pub no_moderation: bool,
    /// Sensitive labels and scores, e.g. FEMALE_BREAST_EXPOSED=0.6,BUTTOCKS_EXPOSED
    /// [default: the exposed genitalia, breast, buttocks and anus labels at 0.5].
    #[arg(long, env = "FACESWAP_MODERATION_LABELS")]
    pub moderation_labels: Option<String>,
    /// Another content-filter model file instead of the fetched NudeNet one.
    #[arg(long, env = "FACESWAP_MODERATION_MODEL")]
    pub moderation_model: Option<PathBuf>,
    /// Model folder [default: $FACESWAP_MODELS or ~/.cache/faceswap/models].
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Bearer token of the admin API (/admin/keys); without it the admin API is off.
    #[arg(long, env = "FACESWAP_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Log format: compact or json.
    #[arg(long, env = "FACESWAP_LOG_FORMAT", default_value = "compact")]
    pub log_format: String,
    /// PostgreSQL instead of the SQLite file, e.g. postgres://faceswap:PASSWORD@db:5432/faceswap
    /// (replicas share it; the schema is created and migrated at start).
    #[arg(long, env = "FACESWAP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// An S3-compatible bucket instead of the results folder (replicas share it). Credentials
    /// come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "FACESWAP_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// URL of the S3 service, e.g. http://127.0.0.1:8333 [default: AWS itself, or AWS_ENDPOINT].
    #[arg(long, env = "FACESWAP_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Region of the bucket [default: AWS_REGION, else us-east-1].
    #[arg(long, env = "FACESWAP_S3_REGION")]
    pub s3_region: Option<String>,
    /// Folder of the results in the bucket.
    #[arg(long, env = "FACESWAP_S3_PREFIX", default_value = "results")]
    pub s3_prefix: String,
    /// Seconds without a heartbeat after which a replica counts as gone and another refunds the
    /// credits it held (PostgreSQL).
    #[arg(long, env = "FACESWAP_REPLICA_TIMEOUT", default_value_t = 30.0)]
    pub replica_timeout: f64,
    /// Clients arrive through a proxy or load balancer, so their address is the proxy's: no
    /// per-address share of the body slots (the per-key share stays).
    #[arg(long, env = "FACESWAP_BEHIND_PROXY")]
    pub behind_proxy: bool,
}

impl Args {
    /// The server configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut c = Config {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            public_url: self.public_url.clone(),
            queue: self.queue,
            default_rate: self.default_rate,
            models_dir: self.models.clone(),
            ..Config::default()
        };
        if let Some(w) = self.workers {
            if w == 0 {
                bail!("--workers must be at least 1");
            }
            c.workers = w;
        }
        c.retention = match self.retention_seconds {
            Some(s) => Duration::from_secs(s),
            None => {
                if !(self.retention_days.is_finite() && self.retention_days > 0.0) {
                    bail!("--retention-days must be a positive number");
                }
                Duration::from_secs_f64(self.retention_days * 86_400.0)
            }
        };
        c.sweep_interval = Duration::from_secs(self.sweep_seconds.max(1));
        c.fetch.allow_private_sources = self.allow_private_sources;
        c.fetch.allowed_networks = self
            .allowed_source_networks
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .map_err(|e| anyhow::anyhow!("--allowed-source-networks: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        c.fetch.connect_timeout = secs(self.fetch_connect_timeout, "--fetch-connect-timeout")?;
        c.fetch.total_timeout = secs(self.fetch_timeout, "--fetch-timeout")?;
        c.body_timeout = secs(self.body_timeout, "--body-timeout")?;
        c.image_limits = c.image_limits.with_max_side(self.image_max_side);
        c.template_limits = c.template_limits.with_max_side(self.template_max_side);
        c.photo_cache_bytes = self.photo_cache_mib.saturating_mul(1 << 20);
        if self.label_provider.trim().is_empty() {
            bail!("--label-provider must name the provider");
        }
        c.label_provider = self.label_provider.trim().to_string();
        c.visible_label = if self.no_visible_label {
            None
        } else {
            Some(faceswap_server::VisibleLabelSettings {
                text: self.label_text.clone(),
                corner: self
                    .label_corner
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--label-corner: {e}"))?,
                font: self.label_font.clone(),
                optional: self.label_optional,
            })
        };
        c.moderation.enabled = !self.no_moderation;
        c.moderation.labels = self.moderation_labels.clone();
        c.moderation.model = self.moderation_model.clone();
        c.admin_token = self.admin_token.clone().filter(|t| !t.trim().is_empty());
        c.database_url = self.database_url.clone().filter(|u| !u.trim().is_empty());
        if let Some(url) = &c.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                bail!("--database-url must be a postgres:// URL");
            }
        }
        c.s3 = self
            .s3_bucket
            .clone()
            .filter(|b| !b.trim().is_empty())
            .map(|bucket| faceswap_server::blobs::S3Settings {
                bucket,
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                prefix: self.s3_prefix.clone(),
                credentials: None,
            });
        if c.s3.is_none() && self.s3_endpoint.is_some() {
            bail!("--s3-endpoint needs --s3-bucket");
        }
        if c.database_url.is_some() && c.s3.is_none() {
            // Replicas on their own folders: each one's sweeper would delete the others' results.
            bail!("--database-url (replicas) needs --s3-bucket: results must be shared too");
        }
        if c.s3.is_some() && self.s3_prefix.trim_matches('/').is_empty() {
            bail!("--s3-prefix must name a folder of the bucket (the sweeper deletes what it does not know there)");
        }
        c.replica_timeout = secs(self.replica_timeout, "--replica-timeout")?;
        if c.replica_timeout < Duration::from_secs(1) {
            bail!("--replica-timeout must be at least 1 second");
        }
        c.per_address_slots = !self.behind_proxy;
        c.log_format = match self.log_format.as_str() {
            "json" => LogFormat::Json,
            "compact" => LogFormat::Compact,
            other => bail!("--log-format must be compact or json, not {other:?}"),
        };
        Ok(c)
    }
}

fn secs(v: f64, flag: &str) -> anyhow::Result<Duration> {
    if v.is_finite() && v > 0.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        bail!("{flag} must be a positive number of seconds")
    }
}

/// Runs `faceswap serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    faceswap_server::init_logging(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("faceswap-io")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(faceswap_server::serve(config))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }

    fn config(flags: &[&str]) -> anyhow::Result<Config> {
        let mut argv = vec!["serve"];
        argv.extend_from_slice(flags);
        Wrap::try_parse_from(argv)?.args.config()
    }

    #[test]
    fn replica_settings_that_would_lose_results_are_refused() {
        let pg = "postgres://u@127.0.0.1:5432/db";
        let err = config(&["--database-url", pg]).unwrap_err().to_string();
        assert!(err.contains("--s3-bucket"), "{err}");
        let err = config(&["--database-url", pg, "--s3-bucket", "b", "--s3-prefix", "/"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--s3-prefix"), "{err}");
        let err = config(&["--database-url", "mysql://x"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("postgres://"), "{err}");
        let err = config(&["--replica-timeout", "0.2"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--replica-timeout"), "{err}");
        let c = config(&["--database-url", pg, "--s3-bucket", "b", "--behind-proxy"]).unwrap();
        assert_eq!(c.database_url.as_deref(), Some(pg));
        assert_eq!(c.s3.as_ref().map(|s| s.prefix.as_str()), Some("results"));
        assert!(!c.per_address_slots);
        let local = config(&[]).unwrap();
        assert!(local.database_url.is_none() && local.s3.is_none() && local.per_address_slots);
    }
}
