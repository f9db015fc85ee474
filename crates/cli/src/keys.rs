//! `faceswap keys`: create, list, credit and revoke API keys in the server's database (the SQLite
//! file, or PostgreSQL with `--database-url`). Works while the server runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use faceswap_server::store::{KeyRecord, PgStore, SqliteStore, Store};
use faceswap_server::{now_millis, rfc3339, Config};

/// Arguments of `faceswap keys`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's data folder (holding faceswap.db).
    #[arg(
        long,
        env = "FACESWAP_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// The replicas' PostgreSQL database instead of the data folder's SQLite file.
    #[arg(
        long,
        env = "FACESWAP_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// What to do with keys.
#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key and print it (it is shown only this once).
    Create {
        /// A unique name for the key (customer, app...).
        #[arg(long)]
        name: String,
        /// Credits: successful fusions it may make.
        #[arg(long)]
        credits: i64,
        /// Requests per second allowed (0: unlimited) [default: the server's default, 1].
        #[arg(long)]
        rate: Option<f64>,
    },
    /// List keys: id, name, credits, reserved, spent, rate, revoked, created (never the key).
    List,
    /// Add credits to a key (a negative number takes some away).
    AddCredits {
        /// The key's id or name.
        key: String,
        /// How many.
        #[arg(allow_negative_numbers = true)]
        credits: i64,
    },
    /// Set a key's rate in requests per second (0: unlimited; "default": the server's default).
    SetRate {
        /// The key's id or name.
        key: String,
        /// Requests per second, or "default".
        rate: String,
    },
    /// Revoke a key: it is refused from now on.
    Revoke {
        /// The key's id or name.
        key: String,
    },
}

fn rate_text(rate: Option<f64>) -> String {
    match rate {
        None => "default".into(),
        Some(0.0) => "unlimited".into(),
        Some(r) => format!("{r}/s"),
    }
}

fn print_keys(keys: &[KeyRecord]) -> std::io::Result<()> {
    outln!("id\tname\tcredits\treserved\tspent\trate\trevoked\tcreated");
    for k in keys {
        print_key(k)?;
    }
    Ok(())
}

fn print_key(k: &KeyRecord) -> std::io::Result<()> {
    outln!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        k.id,
        k.name,
        k.credits,
        k.reserved,
        k.spent,
        rate_text(k.rate),
        k.revoked,
        rfc3339(k.created_at)
    );
    Ok(())
}

/// Runs `faceswap keys ...`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_on(args))
}

async fn open(args: &Args) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = args
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        // Operator commands hold no reservations: the replica timeout does not matter.
        let store = PgStore::connect(url, std::time::Duration::from_secs(30))
            .await
            .context("cannot open the PostgreSQL database")?;
        return Ok(Arc::new(store));
    }
    let config = Config {
        data_dir: args.data_dir.clone(),
        ..Config::default()
    };
    let path = config.database_path();
    if !path.exists() && !matches!(args.command, KeysCommand::Create { .. }) {
        anyhow::bail!(
            "no database at {} (wrong --data-dir? `faceswap keys create` makes one)",
            path.display()
        );
    }
    let store =
        SqliteStore::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Arc::new(store))
}

async fn run_on(args: Args) -> anyhow::Result<ExitCode> {
    let store = open(&args).await?;
    match args.command {
        KeysCommand::Create {
            name,
            credits,
            rate,
        } => {
            let (record, key) = store.new_key(name, credits, rate, now_millis()).await?;
            eprintln!(
                "created {} ({}) with {} credits, rate {}; the key is shown only now:",
                record.id,
                record.name,
                record.credits,
                rate_text(record.rate)
            );
            outln!("{key}");
        }
        KeysCommand::List => print_keys(&store.keys().await?)?,
        KeysCommand::AddCredits { key, credits } => {
            print_keys(&[store.credit(key, credits).await?])?
        }
        KeysCommand::SetRate { key, rate } => {
            let rate = match rate.as_str() {
                "default" => None,
                r => Some(
                    r.parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && *r >= 0.0)
                        .context(
                            "the rate must be a number of requests per second or \"default\"",
                        )?,
                ),
            };
            print_keys(&[store.set_key_rate(key, rate).await?])?
        }
        KeysCommand::Revoke { key } => print_keys(&[store.revoke_key(key).await?])?,
    }
    Ok(ExitCode::SUCCESS)
}
