//! Keys, credits, tasks, rate limits and replicas. [`Store`] is the small interface the handlers use,
//! with two implementations: [`SqliteStore`] (one SQLite file in WAL mode, the default: the
//! `faceswap keys` commands can work on it while the server runs) and [`PgStore`] (PostgreSQL,
//! shared by any number of stateless replicas).
//!
//! Credits: a request *reserves* one credit and creates its task row in one transaction
//! ([`Store::reserve`]); success *commits* it ([`Store::commit`]), failure *refunds* it
//! ([`Store::refund`]). Both are guarded by the task's `holds_credit` flag, so each happens at most once,
//! and [`Store::recover`] refunds reservations whose replica is gone (a crash, a kill -9).

use std::future::Future;
use std::pin::Pin;

mod postgres;
mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A boxed future, as the storage traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The PostgreSQL database failed.
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to PostgreSQL could be had.
    #[error("database pool: {0}")]
    Pool(String),
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
    /// Refunds every reservation held by a replica that is gone (its process ended, or its
    /// heartbeat stopped for longer than the store's replica timeout); returns how many.
    fn recover(&self, now: i64, expires_at: i64) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Records that this replica is alive at `now` (Unix ms).
    fn heartbeat(&self, now: i64) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Whether this replica is the one that runs the sweeper now (one at a time).
    fn lead(&self) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Whether this process is the only one using the storage (then nothing is in flight at
    /// start-up, and the start-up consistency pass may delete a result blob of any age).
    fn exclusive(&self) -> bool;
    /// Whether `key_id` may make a request now at `per_second` requests per second (0 or less, or
    /// not finite: unlimited). An allowed request counts; a refused one does not. The limit holds
    /// across every replica sharing the store.
    fn allow_request(
        &self,
        key_id: String,
        per_second: f64,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;
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
    /// Sets the key's rate (`None`: the server's default; 0: unlimited).
    fn set_key_rate(
        &self,
        id_or_name: String,
        rate: Option<f64>,
    ) -> BoxFuture<'_, Result<KeyRecord, StoreError>>;
}

/// The columns of a task row, in the order both backends read them.
pub(crate) const TASK_COLUMNS: &str = "id, key_id, status, code, detail, ext, mime, \
     moderation_photo, moderation_label, moderation_score, created_at, finished_at, expires_at, quality";
/// The columns of a key row, in the order both backends read them.
pub(crate) const KEY_COLUMNS: &str =
    "id, name, credits, reserved, spent, rate, revoked, created_at";

impl ModerationNote {
    /// The note stored in a task's three moderation columns, if all three are set.
    pub(crate) fn from_columns(
        photo: Option<String>,
        label: Option<String>,
        score: Option<f64>,
    ) -> Option<ModerationNote> {
        match (photo, label, score) {
            (Some(photo), Some(label), Some(score)) => Some(ModerationNote {
                photo,
                label,
                score: score as f32,
            }),
            _ => None,
        }
    }
}

/// The detail of a task whose reservation [`Store::recover`] refunded.
pub(crate) const RECOVERED_DETAIL: &str =
    "interrupted: its server stopped before it finished; the credit was refunded";

/// Checks an operator's new key: a name, credits and a rate that make sense.
pub(crate) fn check_new_key(name: &str, credits: i64, rate: Option<f64>) -> Result<(), StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("the key's name is empty".into()));
    }
    if credits < 0 {
        return Err(StoreError::Invalid("credits cannot be negative".into()));
    }
    check_rate(rate)
}

/// Checks a key's rate: requests per second, 0 for unlimited.
pub(crate) fn check_rate(rate: Option<f64>) -> Result<(), StoreError> {
    match rate {
        Some(r) if !r.is_finite() || r < 0.0 => Err(StoreError::Invalid(
            "the rate must be a number of requests per second, 0 for unlimited".into(),
        )),
        _ => Ok(()),
    }
}

/// A new replica id: random, short, unique among the replicas of one database.
pub(crate) fn new_replica_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("replica_{}", &id[..12])
}
