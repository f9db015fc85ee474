//! [`SqliteStore`]: everything in one SQLite file (WAL mode, a busy timeout so that operator commands
//! and the server can share it). One server process at a time (the data folder's lock).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    check_new_key, check_rate, new_replica_id, BoxFuture, Claim, Failure, KeyRecord,
    ModerationNote, Store, StoreError, Success, TaskRecord, TaskStatus, IDEMPOTENCY_MS,
    KEY_COLUMNS, RECOVERED_DETAIL, TASK_COLUMNS,
};
use crate::keys;

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
    quality TEXT,
    replica TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    key_id TEXT NOT NULL,
    idem TEXT NOT NULL,
    body BLOB NOT NULL,
    answer TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, idem)
);
CREATE TABLE IF NOT EXISTS rate_limits (
    key_id TEXT PRIMARY KEY,
    tat INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_at);
CREATE INDEX IF NOT EXISTS tasks_by_expiry ON tasks (expires_at);
CREATE INDEX IF NOT EXISTS tasks_holding_credit ON tasks (holds_credit) WHERE holds_credit = 1;
";

/// Columns added after the first release, with their type: added to an older database on open.
const ADDED_TASK_COLUMNS: &[(&str, &str)] = &[("quality", "TEXT"), ("replica", "TEXT")];

/// [`Store`] on one SQLite file (WAL mode, a busy timeout so that operator commands and the server
/// can share it).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// This process's id, written on its reservations: any other is a process that ended.
    replica: Arc<str>,
    /// The rate limits' own connection: their state is not money, so its commits skip the wait
    /// for the disk that every credit's commit makes (NORMAL: in WAL mode a checkpoint it runs
    /// still reaches the disk, so the credits' commits it copies are never left unsynced).
    rates: Arc<Mutex<Connection>>,
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
        let rates = Connection::open(path)?;
        rates.busy_timeout(Duration::from_secs(10))?;
        rates.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            replica: new_replica_id().into(),
            rates: Arc::new(Mutex::new(rates)),
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
        check_new_key(name, credits, rate)?;
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
        check_rate(rate)?;
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
            "INSERT INTO tasks (id, key_id, status, holds_credit, created_at, replica) \
             VALUES (?1, ?2, 'running', 1, ?3, ?4)",
            params![task_id, key_id, now, &*self.replica],
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

    /// See [`Store::allow_request`]: GCRA with a burst of one, `now` in Unix microseconds.
    pub fn allow_request_sync(
        &self,
        key_id: &str,
        per_second: f64,
        now: i64,
    ) -> Result<bool, StoreError> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return Ok(true);
        }
        let interval = (1e6 / per_second).clamp(1.0, 1e15) as i64;
        let rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        // Allowed when the key's theoretical arrival time has come; it then moves one interval
        // past now. A refused request changes nothing.
        let changed = rates.execute(
            "INSERT INTO rate_limits (key_id, tat) VALUES (?1, ?2 + ?3) \
             ON CONFLICT (key_id) DO UPDATE SET tat = excluded.tat WHERE tat <= ?2",
            params![key_id, now, interval],
        )?;
        Ok(changed == 1)
    }

    /// See [`Store::recover`]: every reservation but this process's own (only one process uses
    /// the file at a time, so any other has ended).
    pub fn recover_sync(&self, now: i64, expires_at: i64) -> Result<usize, StoreError> {
        let held = self.tasks_where(
            "holds_credit = 1 AND (replica IS NULL OR replica != ?1)",
            &[&&*self.replica],
        )?;
        let mut n = 0;
        for task in held {
            let failure = Failure {
                code: "unknown".into(),
                detail: RECOVERED_DETAIL.into(),
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
    let moderation = ModerationNote::from_columns(r.get(7)?, r.get(8)?, r.get(9)?);
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

    fn heartbeat(&self, _now: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        // One process: it is alive as long as it holds the data folder's lock.
        Box::pin(async { Ok(()) })
    }

    fn lead(&self) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async { Ok(true) })
    }

    fn exclusive(&self) -> bool {
        true
    }

    fn allow_request(
        &self,
        key_id: String,
        per_second: f64,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.run(move |s| s.allow_request_sync(&key_id, per_second, crate::now_micros()))
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

    fn set_key_rate(
        &self,
        id_or_name: String,
        rate: Option<f64>,
    ) -> BoxFuture<'_, Result<KeyRecord, StoreError>> {
        self.run(move |s| s.set_rate(&id_or_name, rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suite::{store_suite, Pair};

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("db/faceswap.db")).unwrap();
        (dir, s)
    }

    /// Two stores on one file: this process, and one that used the file before it.
    async fn pair() -> Option<Pair> {
        let (dir, me) = store();
        let other = SqliteStore::open(&dir.path().join("db/faceswap.db")).unwrap();
        Some(Pair {
            me: Arc::new(me),
            other: Arc::new(other),
            replica_timeout: Duration::ZERO,
            _storage: Box::new(dir),
        })
    }

    store_suite!(pair);

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
}
