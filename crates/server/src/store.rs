//! Keys, credits and tasks. [`Store`] is the small interface the handlers use (a PostgreSQL
//! implementation can be added beside [`SqliteStore`] without touching them); [`SqliteStore`] keeps
//! everything in one SQLite file in WAL mode, so the `faceswap keys` commands can work on it while the
//! server runs.
//!
//! Credits: a request *reserves* one credit and creates its task row in one transaction
//! ([`Store::reserve`]); success *commits* it ([`Store::commit`]), failure *refunds* it
//! ([`Store::refund`]). Both are guarded by the task's `holds_credit` flag, so each happens at most once,
//! and [`Store::recover`] refunds reservations that a crash left behind.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::keys;

/// A boxed future, as the storage traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// No key with that id or name.
    #[error("no key with id or name {0:?}")]
    NoSuchKey(String),
    /// Bad input to an operator command.
    #[error("{0}")]
    Invalid(String),
    /// The blocking task running the query was lost.
    #[error("store task failed: {0}")]
    Task(String),
}

/// An API key as stored (never the key itself).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// Short public id, e.g. `key_5f2c9a1b7e3d`.
    pub id: String,
    /// Operator's name for it (unique).
    pub name: String,
    /// Credits left (not counting reserved ones).
    pub credits: i64,
    /// Credits held by requests in progress.
    pub reserved: i64,
    /// Credits spent on successful fusions.
    pub spent: i64,
    /// Requests per second allowed; `None`: the server's default; 0: unlimited.
    pub rate: Option<f64>,
    /// Revoked keys are refused.
    pub revoked: bool,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Holding a credit, being processed.
    Running,
    /// Succeeded; its result is stored.
    Done,
    /// Failed or refused; no result.
    Failed,
}

impl TaskStatus {
    /// `running`, `done` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "running",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> TaskStatus {
        match s {
            "running" => TaskStatus::Running,
            "done" => TaskStatus::Done,
            _ => TaskStatus::Failed,
        }
    }
}

/// A task row.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// The task id (a UUID v4).
    pub id: String,
    /// The key that made it.
    pub key_id: String,
    /// Where it is.
    pub status: TaskStatus,
    /// The API code it ended with.
    pub code: Option<String>,
    /// The detail sent with that code.
    pub detail: Option<String>,
    /// Result file extension (done tasks).
    pub ext: Option<String>,
    /// Result MIME type (done tasks).
    pub mime: Option<String>,
    /// For the operator: which photo the content filter refused, with label and score.
    pub moderation: Option<ModerationNote>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub finished_at: Option<i64>,
    /// When the result and the row are deleted, Unix milliseconds.
    pub expires_at: Option<i64>,
    /// The engine's report on the fusion, as JSON (done tasks).
    pub quality: Option<String>,
}

/// Why the content filter refused a photo; stored for the operator, never sent to the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationNote {
    /// `image` or `template`.
    pub photo: String,
    /// The label that reached its score.
    pub label: String,
    /// The score.
    pub score: f32,
}

/// How a task ended without a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The API code.
    pub code: String,
    /// The detail.
    pub detail: String,
    /// The filter's finding, when it refused.
    pub moderation: Option<ModerationNote>,
    /// Unix milliseconds.
    pub finished_at: i64,
    /// When the row is deleted.
    pub expires_at: i64,
}

/// A stored result.
#[derive(Debug, Clone, PartialEq)]
pub struct Success {
    /// File extension of the result.
    pub ext: String,
    /// Its MIME type.
    pub mime: String,
    /// Unix milliseconds.
    pub finished_at: i64,
    /// When the result and the row are deleted.
    pub expires_at: i64,
    /// The engine's report on the fusion, as JSON.
    pub quality: Option<String>,
}

/// How long a request's `Idempotency-Key` is remembered, in milliseconds.
pub const IDEMPOTENCY_MS: i64 = 24 * 3600 * 1000;

/// What a request with an `Idempotency-Key` finds when it claims the key.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Nobody used it (within the last 24 h): this request runs, and finishes or releases it.
    Claimed,
    /// A request with the same key is running; `same_body`: with the same body.
    Pending {
        /// Whether its body was the same.
        same_body: bool,
    },
    /// A request with the same key succeeded; its answer (JSON).
    Done {
        /// Whether its body was the same.
        same_body: bool,
        /// The first answer, as stored by [`Store::idempotency_finish`].
        answer: String,
    },
}

/// The storage the handlers, the sweeper and the operator commands need.
pub trait Store: Send + Sync + 'static {
    /// The live (not revoked) key whose hash is `hash`.
    fn live_key(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<KeyRecord>, StoreError>>;
    /// Records a task refused before it could reserve a credit (e.g. rate-limited).
    fn record_refused(
        &self,
        task_id: String,
        key_id: String,
        created_at: i64,
        failure: Failure,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Takes one credit from the key and creates the running task, atomically. `false`: no credit left.
    fn reserve(
        &self,
        key_id: String,
        task_id: String,
        now: i64,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Spends the task's reserved credit and marks it done. `false` if it held none.
    fn commit(&self, task_id: String, success: Success) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Gives the task's reserved credit back and marks it failed. `false` if it held none.
    fn refund(&self, task_id: String, failure: Failure) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// One task.
    fn task(&self, task_id: String) -> BoxFuture<'_, Result<Option<TaskRecord>, StoreError>>;
    /// Up to `limit` finished tasks whose `expires_at` is at or before `now`.
    fn expired(&self, now: i64, limit: usize)
        -> BoxFuture<'_, Result<Vec<TaskRecord>, StoreError>>;
    /// Every done task (for the start-up consistency pass).
    fn done_tasks(&self) -> BoxFuture<'_, Result<Vec<TaskRecord>, StoreError>>;
    /// Deletes a task row.
    fn delete_task(&self, task_id: String) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Refunds every reservation left by a crash; returns how many.
    fn recover(&self, now: i64, expires_at: i64) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Whether the database answers.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Claims the key's `Idempotency-Key` `idem` for a request whose body hashes to `body`
    /// (forgetting claims older than [`IDEMPOTENCY_MS`]).
    fn idempotency_claim(
        &self,
        key_id: String,
        idem: String,
        body: [u8; 32],
        now: i64,
    ) -> BoxFuture<'_, Result<Claim, StoreError>>;
    /// Records the answer of the request that claimed `idem`.
    fn idempotency_finish(
        &self,
        key_id: String,
        idem: String,
        answer: String,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Forgets a claim (the request failed: a retry runs again).
    fn idempotency_release(
        &self,
        key_id: String,
        idem: String,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    // ---- operator actions (the admin API; `faceswap keys` does the same on SQLite directly) ----

    /// Creates a key; returns its record and the key itself (shown once, never stored).
    fn new_key(
        &self,
        name: String,
        credits: i64,
        rate: Option<f64>,
        now: i64,
    ) -> BoxFuture<'_, Result<(KeyRecord, String), StoreError>>;
    /// Every key.
    fn keys(&self) -> BoxFuture<'_, Result<Vec<KeyRecord>, StoreError>>;
    /// Adds credits (negative: takes away, never below zero) to the key with this id or name.
    fn credit(&self, id_or_name: String, n: i64) -> BoxFuture<'_, Result<KeyRecord, StoreError>>;
    /// Revokes the key with this id or name.
    fn revoke_key(&self, id_or_name: String) -> BoxFuture<'_, Result<KeyRecord, StoreError>>;
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hash BLOB NOT NULL UNIQUE,
    credits INTEGER NOT NULL CHECK (credits >= 0),
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    spent INTEGER NOT NULL DEFAULT 0,
    rate REAL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    status TEXT NOT NULL,
    holds_credit INTEGER NOT NULL DEFAULT 0,
    code TEXT,
    detail TEXT,
    ext TEXT,
    mime TEXT,
    moderation_photo TEXT,
    moderation_label TEXT,
    moderation_score REAL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    expires_at INTEGER,
    quality TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    key_id TEXT NOT NULL,
    idem TEXT NOT NULL,
    body BLOB NOT NULL,
    answer TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, idem)
);
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_at);
CREATE INDEX IF NOT EXISTS tasks_by_expiry ON tasks (expires_at);
CREATE INDEX IF NOT EXISTS tasks_holding_credit ON tasks (holds_credit) WHERE holds_credit = 1;
";

const TASK_COLUMNS: &str = "id, key_id, status, code, detail, ext, mime, moderation_photo, \
     moderation_label, moderation_score, created_at, finished_at, expires_at, quality";

/// Columns added after the first release, with their type: added to an older database on open.
const ADDED_TASK_COLUMNS: &[(&str, &str)] = &[("quality", "TEXT")];
const KEY_COLUMNS: &str = "id, name, credits, reserved, spent, rate, revoked, created_at";

/// [`Store`] on one SQLite file (WAL mode, a busy timeout so that operator commands and the server
/// can share it).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Credits are money: every commit reaches the disk.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        for (column, kind) in ADDED_TASK_COLUMNS {
            let present: bool = conn.query_row(
                "SELECT COUNT(*) FROM pragma_table_info('tasks') WHERE name = ?1",
                [column],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE tasks ADD COLUMN {column} {kind}"))?;
            }
        }
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open (rusqlite rolls back on drop).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run<T, F>(&self, f: F) -> BoxFuture<'_, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
    {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&this))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))?
        })
    }

    // ---- keys (operator commands) ----

    /// Creates a key; returns its record and the key itself (shown once, never stored).
    pub fn create_key(
        &self,
        name: &str,
        credits: i64,
        rate: Option<f64>,
        now: i64,
    ) -> Result<(KeyRecord, String), StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("the key's name is empty".into()));
        }
        if credits < 0 {
            return Err(StoreError::Invalid("credits cannot be negative".into()));
        }
        if let Some(r) = rate {
            if !r.is_finite() || r < 0.0 {
                return Err(StoreError::Invalid(
                    "the rate must be a number of requests per second, 0 for unlimited".into(),
                ));
            }
        }
        let key = keys::generate_key();
        let id = keys::generate_key_id();
        let conn = self.lock();
        let exists: bool = conn
            .query_row("SELECT 1 FROM keys WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            return Err(StoreError::Invalid(format!(
                "a key named {name:?} exists already"
            )));
        }
        conn.execute(
            "INSERT INTO keys (id, name, hash, credits, rate, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, name, keys::hash_key(&key).to_vec(), credits, rate, now],
        )?;
        drop(conn);
        let record = self.find_key(&id)?;
        Ok((record, key))
    }

    /// Every key, oldest first.
    pub fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], key_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The key with this id or name.
    pub fn find_key(&self, id_or_name: &str) -> Result<KeyRecord, StoreError> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"),
            [id_or_name],
            key_row,
        )
        .optional()?
        .ok_or_else(|| StoreError::NoSuchKey(id_or_name.to_string()))
    }

    /// Adds `n` credits (negative takes away, never below zero); returns the updated key.
    pub fn add_credits(&self, id_or_name: &str, n: i64) -> Result<KeyRecord, StoreError> {
        let key = self.find_key(id_or_name)?;
        let changed = self.lock().execute(
            "UPDATE keys SET credits = MAX(0, credits + ?2) WHERE id = ?1",
            params![key.id, n],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchKey(id_or_name.into()));
        }
        self.find_key(&key.id)
    }

    /// Sets the key's rate (`None`: the server's default; 0: unlimited).
    pub fn set_rate(&self, id_or_name: &str, rate: Option<f64>) -> Result<KeyRecord, StoreError> {
        let key = self.find_key(id_or_name)?;
        self.lock().execute(
            "UPDATE keys SET rate = ?2 WHERE id = ?1",
            params![key.id, rate],
        )?;
        self.find_key(&key.id)
    }

    /// Revokes the key: it is refused from now on.
    pub fn revoke(&self, id_or_name: &str) -> Result<KeyRecord, StoreError> {
        let key = self.find_key(id_or_name)?;
        self.lock()
            .execute("UPDATE keys SET revoked = 1 WHERE id = ?1", [&key.id])?;
        self.find_key(&key.id)
    }

    // ---- synchronous bodies of the trait ----

    /// See [`Store::live_key`].
    pub fn live_key_sync(&self, hash: [u8; 32]) -> Result<Option<KeyRecord>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                &format!("SELECT {KEY_COLUMNS}, hash FROM keys WHERE hash = ?1"),
                [hash.to_vec()],
                |r| Ok((key_row(r)?, r.get::<_, Vec<u8>>(8)?)),
            )
            .optional()?;
        Ok(row.and_then(|(key, stored)| {
            (keys::constant_time_eq(&stored, &hash) && !key.revoked).then_some(key)
        }))
    }

    /// See [`Store::reserve`].
    pub fn reserve_sync(&self, key_id: &str, task_id: &str, now: i64) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken = tx.execute(
            "UPDATE keys SET credits = credits - 1, reserved = reserved + 1 \
             WHERE id = ?1 AND credits > 0 AND revoked = 0",
            [key_id],
        )?;
        if taken == 0 {
            return Ok(false); // the transaction rolls back on drop
        }
        tx.execute(
            "INSERT INTO tasks (id, key_id, status, holds_credit, created_at) VALUES (?1, ?2, 'running', 1, ?3)",
            params![task_id, key_id, now],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// See [`Store::commit`].
    pub fn commit_sync(&self, task_id: &str, s: &Success) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE tasks SET status = 'done', holds_credit = 0, code = 'success', detail = NULL, \
             ext = ?2, mime = ?3, finished_at = ?4, expires_at = ?5, quality = ?6 \
             WHERE id = ?1 AND holds_credit = 1",
            params![
                task_id,
                s.ext,
                s.mime,
                s.finished_at,
                s.expires_at,
                s.quality
            ],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE keys SET reserved = reserved - 1, spent = spent + 1 \
             WHERE id = (SELECT key_id FROM tasks WHERE id = ?1)",
            [task_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// See [`Store::refund`].
    pub fn refund_sync(&self, task_id: &str, f: &Failure) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE tasks SET status = 'failed', holds_credit = 0, code = ?2, detail = ?3, \
             moderation_photo = ?4, moderation_label = ?5, moderation_score = ?6, \
             finished_at = ?7, expires_at = ?8 WHERE id = ?1 AND holds_credit = 1",
            params![
                task_id,
                f.code,
                f.detail,
                f.moderation.as_ref().map(|m| &m.photo),
                f.moderation.as_ref().map(|m| &m.label),
                f.moderation.as_ref().map(|m| m.score as f64),
                f.finished_at,
                f.expires_at
            ],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE keys SET credits = credits + 1, reserved = reserved - 1 \
             WHERE id = (SELECT key_id FROM tasks WHERE id = ?1)",
            [task_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// See [`Store::record_refused`].
    pub fn record_refused_sync(
        &self,
        task_id: &str,
        key_id: &str,
        created_at: i64,
        f: &Failure,
    ) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO tasks (id, key_id, status, holds_credit, code, detail, created_at, finished_at, expires_at) \
             VALUES (?1, ?2, 'failed', 0, ?3, ?4, ?5, ?6, ?7)",
            params![task_id, key_id, f.code, f.detail, created_at, f.finished_at, f.expires_at],
        )?;
        Ok(())
    }

    /// See [`Store::task`].
    pub fn task_sync(&self, task_id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"),
                [task_id],
                task_row,
            )
            .optional()?)
    }

    fn tasks_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE {clause}"))?;
        let rows = stmt.query_map(p, task_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// See [`Store::expired`].
    pub fn expired_sync(&self, now: i64, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        self.tasks_where(
            "status != 'running' AND expires_at IS NOT NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
            &[&now, &(limit as i64)],
        )
    }

    /// See [`Store::done_tasks`].
    pub fn done_tasks_sync(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.tasks_where("status = 'done'", &[])
    }

    /// See [`Store::delete_task`].
    pub fn delete_task_sync(&self, task_id: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "DELETE FROM tasks WHERE id = ?1 AND status != 'running'",
            [task_id],
        )?;
        Ok(())
    }

    /// See [`Store::idempotency_claim`].
    pub fn idempotency_claim_sync(
        &self,
        key_id: &str,
        idem: &str,
        body: [u8; 32],
        now: i64,
    ) -> Result<Claim, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM idempotency WHERE created_at <= ?1",
            [now - IDEMPOTENCY_MS],
        )?;
        let found: Option<(Vec<u8>, Option<String>)> = tx
            .query_row(
                "SELECT body, answer FROM idempotency WHERE key_id = ?1 AND idem = ?2",
                params![key_id, idem],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let claim = match found {
            Some((stored, answer)) => {
                let same_body = stored == body;
                match answer {
                    Some(answer) => Claim::Done { same_body, answer },
                    None => Claim::Pending { same_body },
                }
            }
            None => {
                tx.execute(
                    "INSERT INTO idempotency (key_id, idem, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![key_id, idem, &body[..], now],
                )?;
                Claim::Claimed
            }
        };
        tx.commit()?;
        Ok(claim)
    }

    /// See [`Store::idempotency_finish`].
    pub fn idempotency_finish_sync(
        &self,
        key_id: &str,
        idem: &str,
        answer: &str,
    ) -> Result<(), StoreError> {
        self.lock().execute(
            "UPDATE idempotency SET answer = ?3 WHERE key_id = ?1 AND idem = ?2",
            params![key_id, idem, answer],
        )?;
        Ok(())
    }

    /// See [`Store::idempotency_release`].
    pub fn idempotency_release_sync(&self, key_id: &str, idem: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "DELETE FROM idempotency WHERE key_id = ?1 AND idem = ?2 AND answer IS NULL",
            params![key_id, idem],
        )?;
        Ok(())
    }

    /// See [`Store::recover`].
    pub fn recover_sync(&self, now: i64, expires_at: i64) -> Result<usize, StoreError> {
        let held = self.tasks_where("holds_credit = 1", &[])?;
        let mut n = 0;
        for task in held {
            let failure = Failure {
                code: "unknown".into(),
                detail: "interrupted by a server restart; the credit was refunded".into(),
                moderation: None,
                finished_at: now,
                expires_at,
            };
            if self.refund_sync(&task.id, &failure)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        credits: r.get(2)?,
        reserved: r.get(3)?,
        spent: r.get(4)?,
        rate: r.get(5)?,
        revoked: r.get::<_, i64>(6)? != 0,
        created_at: r.get(7)?,
    })
}

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRecord> {
    let photo: Option<String> = r.get(7)?;
    let label: Option<String> = r.get(8)?;
    let score: Option<f64> = r.get(9)?;
    let moderation = match (photo, label, score) {
        (Some(photo), Some(label), Some(score)) => Some(ModerationNote {
            photo,
            label,
            score: score as f32,
        }),
        _ => None,
    };
    Ok(TaskRecord {
        id: r.get(0)?,
        key_id: r.get(1)?,
        status: TaskStatus::parse(&r.get::<_, String>(2)?),
        code: r.get(3)?,
        detail: r.get(4)?,
        ext: r.get(5)?,
        mime: r.get(6)?,
        moderation,
        created_at: r.get(10)?,
        finished_at: r.get(11)?,
        expires_at: r.get(12)?,
        quality: r.get(13)?,
    })
}

impl Store for SqliteStore {
    fn live_key(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<KeyRecord>, StoreError>> {
        self.run(move |s| s.live_key_sync(hash))
    }

    fn record_refused(
        &self,
        task_id: String,
        key_id: String,
        created_at: i64,
        failure: Failure,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |s| s.record_refused_sync(&task_id, &key_id, created_at, &failure))
    }

    fn reserve(
        &self,
        key_id: String,
        task_id: String,
        now: i64,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |s| s.reserve_sync(&key_id, &task_id, now))
    }

    fn commit(&self, task_id: String, success: Success) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |s| s.commit_sync(&task_id, &success))
    }

    fn refund(&self, task_id: String, failure: Failure) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |s| s.refund_sync(&task_id, &failure))
    }

    fn task(&self, task_id: String) -> BoxFuture<'_, Result<Option<TaskRecord>, StoreError>> {
        self.run(move |s| s.task_sync(&task_id))
    }

    fn expired(
        &self,
        now: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<TaskRecord>, StoreError>> {
        self.run(move |s| s.expired_sync(now, limit))
    }

    fn done_tasks(&self) -> BoxFuture<'_, Result<Vec<TaskRecord>, StoreError>> {
        self.run(|s| s.done_tasks_sync())
    }

    fn delete_task(&self, task_id: String) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |s| s.delete_task_sync(&task_id))
    }

    fn recover(&self, now: i64, expires_at: i64) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.run(move |s| s.recover_sync(now, expires_at))
    }

    fn idempotency_claim(
        &self,
        key_id: String,
        idem: String,
        body: [u8; 32],
        now: i64,
    ) -> BoxFuture<'_, Result<Claim, StoreError>> {
        self.run(move |s| s.idempotency_claim_sync(&key_id, &idem, body, now))
    }

    fn idempotency_finish(
        &self,
        key_id: String,
        idem: String,
        answer: String,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |s| s.idempotency_finish_sync(&key_id, &idem, &answer))
    }

    fn idempotency_release(
        &self,
        key_id: String,
        idem: String,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(move |s| s.idempotency_release_sync(&key_id, &idem))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.run(|s| {
            s.lock().query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn new_key(
        &self,
        name: String,
        credits: i64,
        rate: Option<f64>,
        now: i64,
    ) -> BoxFuture<'_, Result<(KeyRecord, String), StoreError>> {
        self.run(move |s| s.create_key(&name, credits, rate, now))
    }

    fn keys(&self) -> BoxFuture<'_, Result<Vec<KeyRecord>, StoreError>> {
        self.run(|s| s.list_keys())
    }

    fn credit(&self, id_or_name: String, n: i64) -> BoxFuture<'_, Result<KeyRecord, StoreError>> {
        self.run(move |s| s.add_credits(&id_or_name, n))
    }

    fn revoke_key(&self, id_or_name: String) -> BoxFuture<'_, Result<KeyRecord, StoreError>> {
        self.run(move |s| s.revoke(&id_or_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("db/faceswap.db")).unwrap();
        (dir, s)
    }

    fn failure(code: &str) -> Failure {
        Failure {
            code: code.into(),
            detail: "d".into(),
            moderation: None,
            finished_at: 2,
            expires_at: 3,
        }
    }

    #[test]
    fn keys_are_created_found_credited_and_revoked() {
        let (_d, s) = store();
        let (rec, key) = s.create_key("alice", 5, Some(2.5), 1).unwrap();
        assert_eq!(rec.credits, 5);
        assert_eq!(rec.rate, Some(2.5));
        assert!(s.create_key("alice", 1, None, 1).is_err());
        let found = s.live_key_sync(keys::hash_key(&key)).unwrap().unwrap();
        assert_eq!(found.id, rec.id);
        assert!(s
            .live_key_sync(keys::hash_key("fsk_nope"))
            .unwrap()
            .is_none());
        assert_eq!(s.add_credits("alice", 3).unwrap().credits, 8);
        assert_eq!(s.add_credits(&rec.id, -100).unwrap().credits, 0);
        assert_eq!(s.set_rate("alice", None).unwrap().rate, None);
        assert!(s.revoke("alice").unwrap().revoked);
        assert!(s.live_key_sync(keys::hash_key(&key)).unwrap().is_none());
        assert!(matches!(s.find_key("bob"), Err(StoreError::NoSuchKey(_))));
        assert_eq!(s.list_keys().unwrap().len(), 1);
    }

    #[test]
    fn reserve_commit_and_refund_keep_credits_exact() {
        let (_d, s) = store();
        let (k, _) = s.create_key("k", 2, None, 1).unwrap();
        assert!(s.reserve_sync(&k.id, "t1", 1).unwrap());
        assert!(s.reserve_sync(&k.id, "t2", 1).unwrap());
        assert!(!s.reserve_sync(&k.id, "t3", 1).unwrap());
        let k1 = s.find_key("k").unwrap();
        assert_eq!((k1.credits, k1.reserved), (0, 2));
        let ok = Success {
            ext: "jpeg".into(),
            mime: "image/jpeg".into(),
            finished_at: 2,
            expires_at: 10,
            quality: None,
        };
        assert!(s.commit_sync("t1", &ok).unwrap());
        assert!(!s.commit_sync("t1", &ok).unwrap(), "commits once");
        assert!(s.refund_sync("t2", &failure("no_face_detected")).unwrap());
        assert!(!s.refund_sync("t2", &failure("x")).unwrap(), "refunds once");
        assert!(
            !s.refund_sync("t1", &failure("x")).unwrap(),
            "a done task keeps its credit"
        );
        let k2 = s.find_key("k").unwrap();
        assert_eq!((k2.credits, k2.reserved, k2.spent), (1, 0, 1));
        let t1 = s.task_sync("t1").unwrap().unwrap();
        assert_eq!(t1.status, TaskStatus::Done);
        assert_eq!(t1.ext.as_deref(), Some("jpeg"));
        let t2 = s.task_sync("t2").unwrap().unwrap();
        assert_eq!(t2.status, TaskStatus::Failed);
        assert_eq!(t2.code.as_deref(), Some("no_face_detected"));
    }

    #[test]
    fn a_database_of_an_earlier_release_gains_the_new_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // The tasks table as the first release made it (no quality column).
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE tasks (id TEXT PRIMARY KEY, key_id TEXT NOT NULL, status TEXT NOT NULL,
                 holds_credit INTEGER NOT NULL DEFAULT 0, code TEXT, detail TEXT, ext TEXT, mime TEXT,
                 moderation_photo TEXT, moderation_label TEXT, moderation_score REAL,
                 created_at INTEGER NOT NULL, finished_at INTEGER, expires_at INTEGER);
                 INSERT INTO tasks (id, key_id, status, code, created_at) VALUES ('old', 'k', 'failed', 'x', 1);",
            )
            .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.task_sync("old").unwrap().unwrap().quality, None);
        let (k, _) = s.create_key("k", 1, None, 1).unwrap();
        assert!(s.reserve_sync(&k.id, "new", 1).unwrap());
        let ok = Success {
            ext: "png".into(),
            mime: "image/png".into(),
            finished_at: 2,
            expires_at: 10,
            quality: Some("{\"warnings\":[]}".into()),
        };
        assert!(s.commit_sync("new", &ok).unwrap());
        let t = s.task_sync("new").unwrap().unwrap();
        assert_eq!(t.quality.as_deref(), Some("{\"warnings\":[]}"));
        drop(s);
        // Opened again: nothing to add twice.
        assert!(SqliteStore::open(&path)
            .unwrap()
            .task_sync("new")
            .unwrap()
            .is_some());
    }

    #[test]
    fn an_idempotency_key_is_claimed_once_remembers_its_answer_and_expires() {
        let (_d, s) = store();
        let body = [1u8; 32];
        assert_eq!(
            s.idempotency_claim_sync("k", "i", body, 10).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            s.idempotency_claim_sync("k", "i", body, 11).unwrap(),
            Claim::Pending { same_body: true }
        );
        assert_eq!(
            s.idempotency_claim_sync("k", "i", [2u8; 32], 11).unwrap(),
            Claim::Pending { same_body: false }
        );
        // Another key's same idempotency key is its own.
        assert_eq!(
            s.idempotency_claim_sync("other", "i", body, 11).unwrap(),
            Claim::Claimed
        );
        s.idempotency_finish_sync("k", "i", "{}").unwrap();
        s.idempotency_release_sync("k", "i").unwrap();
        assert_eq!(
            s.idempotency_claim_sync("k", "i", body, 12).unwrap(),
            Claim::Done {
                same_body: true,
                answer: "{}".into()
            },
            "a finished answer is not released"
        );
        // A released claim (a failure) is claimed anew; after 24 h everything is forgotten.
        s.idempotency_release_sync("other", "i").unwrap();
        assert_eq!(
            s.idempotency_claim_sync("other", "i", body, 13).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            s.idempotency_claim_sync("k", "i", body, 10 + IDEMPOTENCY_MS)
                .unwrap(),
            Claim::Claimed
        );
    }

    #[test]
    fn fifty_threads_racing_for_ten_credits_get_exactly_ten() {
        let (_d, s) = store();
        let (k, _) = s.create_key("race", 10, None, 1).unwrap();
        let wins: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|i| {
                    let s = s.clone();
                    let id = k.id.clone();
                    scope.spawn(move || s.reserve_sync(&id, &format!("t{i}"), 1).unwrap() as usize)
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 10);
        let k = s.find_key("race").unwrap();
        assert_eq!((k.credits, k.reserved), (0, 10));
    }

    #[test]
    fn two_connections_race_for_credits_through_the_file() {
        // As the server and a `keys` command would: separate connections to one file.
        let (d, s) = store();
        let (k, _) = s.create_key("race", 10, None, 1).unwrap();
        let path = d.path().join("db/faceswap.db");
        let wins: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|c| {
                    let path = path.clone();
                    let id = k.id.clone();
                    scope.spawn(move || {
                        let s = SqliteStore::open(&path).unwrap();
                        (0..10)
                            .filter(|i| s.reserve_sync(&id, &format!("c{c}-{i}"), 1).unwrap())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 10);
        assert_eq!(s.find_key("race").unwrap().credits, 0);
    }

    #[test]
    fn recovery_refunds_what_a_crash_left_reserved() {
        let (_d, s) = store();
        let (k, _) = s.create_key("k", 3, None, 1).unwrap();
        assert!(s.reserve_sync(&k.id, "a", 1).unwrap());
        assert!(s.reserve_sync(&k.id, "b", 1).unwrap());
        let ok = Success {
            ext: "png".into(),
            mime: "image/png".into(),
            finished_at: 2,
            expires_at: 10,
            quality: None,
        };
        assert!(s.commit_sync("a", &ok).unwrap());
        assert_eq!(s.recover_sync(5, 50).unwrap(), 1);
        let k = s.find_key("k").unwrap();
        assert_eq!((k.credits, k.reserved, k.spent), (2, 0, 1));
        assert_eq!(
            s.task_sync("b").unwrap().unwrap().status,
            TaskStatus::Failed
        );
        assert_eq!(s.task_sync("a").unwrap().unwrap().status, TaskStatus::Done);
        assert_eq!(s.recover_sync(5, 50).unwrap(), 0);
    }

    #[test]
    fn expired_lists_finished_tasks_only() {
        let (_d, s) = store();
        let (k, _) = s.create_key("k", 3, None, 1).unwrap();
        assert!(s.reserve_sync(&k.id, "run", 1).unwrap());
        s.record_refused_sync("refused", &k.id, 1, &failure("request_rate_limit"))
            .unwrap();
        let expired = s.expired_sync(100, 10).unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].id, "refused");
        s.delete_task_sync("refused").unwrap();
        s.delete_task_sync("run").unwrap();
        assert!(s.task_sync("refused").unwrap().is_none());
        assert!(s.task_sync("run").unwrap().is_some(), "running tasks stay");
    }
}
