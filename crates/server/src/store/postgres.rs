//! [`PgStore`]: the store on PostgreSQL, for any number of stateless replicas sharing one database.
//!
//! Everything that must hold across replicas is one SQL statement or transaction: a reservation is
//! an `UPDATE ... credits > 0` and the task's `INSERT` in one statement, so 50 requests on 10 credits
//! spread over any number of replicas get exactly 10; the rate limit is a GCRA timestamp per key in
//! a table, compared and moved in one upsert on the database's clock; each replica writes its id on
//! its reservations and, with each heartbeat, until when it vouches to be alive (now plus its own
//! timeout), and [`Store::recover`] on any replica refunds the reservations of replicas past that;
//! the sweeper runs where a session-level advisory lock is held (it is released when that replica's
//! connection ends, a kill -9 included).

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

use super::{
    check_new_key, check_rate, new_replica_id, BoxFuture, Claim, Failure, KeyRecord,
    ModerationNote, Store, StoreError, Success, TaskRecord, TaskStatus, IDEMPOTENCY_MS,
    KEY_COLUMNS, RECOVERED_DETAIL, TASK_COLUMNS,
};
use crate::keys;

/// The schema, one migration per entry, applied in order once each (recorded in
/// `schema_migrations`) under a transaction-level advisory lock, so that replicas starting together
/// do not apply one twice.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hash BYTEA NOT NULL UNIQUE,
    credits BIGINT NOT NULL CHECK (credits >= 0),
    reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    spent BIGINT NOT NULL DEFAULT 0,
    rate DOUBLE PRECISION,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    status TEXT NOT NULL,
    holds_credit BOOLEAN NOT NULL DEFAULT FALSE,
    code TEXT,
    detail TEXT,
    ext TEXT,
    mime TEXT,
    moderation_photo TEXT,
    moderation_label TEXT,
    moderation_score DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    expires_at BIGINT,
    quality TEXT,
    replica TEXT
);
CREATE INDEX tasks_by_expiry ON tasks (expires_at);
CREATE INDEX tasks_holding_credit ON tasks (replica) WHERE holds_credit;
CREATE TABLE idempotency (
    key_id TEXT NOT NULL,
    idem TEXT NOT NULL,
    body BYTEA NOT NULL,
    answer TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, idem)
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
CREATE TABLE rate_limits (
    key_id TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    heartbeat BIGINT NOT NULL
);
",
    "
ALTER TABLE replicas ADD COLUMN alive_until BIGINT NOT NULL DEFAULT 0;
",
];

/// Advisory lock ids (any two constants of this application).
const MIGRATION_LOCK: i64 = 0x6661_6365_0001;
const SWEEPER_LOCK: i64 = 0x6661_6365_0002;

/// The database's clock in Unix milliseconds and microseconds: one clock for every replica.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";
const NOW_US: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";

/// How long to wait for a connection, and for a database that does not answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest the sweeper's leader check may take.
const LEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// [`Store`] on PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    replica: Arc<str>,
    /// After how long without a heartbeat this replica counts as gone, in milliseconds.
    replica_timeout_ms: i64,
    /// The connection that holds the sweeper's advisory lock while this replica leads, and tries
    /// for it while it does not.
    leader: Arc<tokio::sync::Mutex<Option<Leader>>>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), applies the migrations
    /// it lacks and records this replica's first heartbeat. A replica silent for longer than
    /// `replica_timeout` counts as gone: its reservations are refunded by the others.
    pub async fn connect(url: &str, replica_timeout: Duration) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("bad database URL: {e}")))?;
        // A database that stops answering fails requests within seconds, and a connection to a
        // vanished server (a partition) is noticed instead of held for hours.
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = PgStore {
            pool,
            config,
            replica: new_replica_id().into(),
            replica_timeout_ms: replica_timeout.as_millis().min(i64::MAX as u128) as i64,
            leader: Arc::new(tokio::sync::Mutex::new(None)),
        };
        store.migrate().await?;
        store.beat().await?;
        Ok(store)
    }

    /// This replica's id, as written on its reservations.
    pub fn replica_id(&self) -> &str {
        &self.replica
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(e.to_string()))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
             applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                &format!("INSERT INTO schema_migrations VALUES ($1, {NOW_MS})"),
                &[&(i as i32 + 1)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn beat(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO replicas (id, started_at, heartbeat, alive_until) \
                     VALUES ($1, {NOW_MS}, {NOW_MS}, {NOW_MS} + $2) ON CONFLICT (id) DO UPDATE \
                     SET heartbeat = EXCLUDED.heartbeat, alive_until = EXCLUDED.alive_until"
                ),
                &[&&*self.replica, &self.replica_timeout_ms],
            )
            .await?;
        // Replicas gone for a day are forgotten (their reservations were refunded long ago).
        client
            .execute(
                &format!("DELETE FROM replicas WHERE heartbeat < {NOW_MS} - 86400000"),
                &[],
            )
            .await?;
        Ok(())
    }

    async fn find_key(&self, id_or_name: &str) -> Result<KeyRecord, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT {KEY_COLUMNS} FROM keys WHERE id = $1 OR name = $1 \
                     ORDER BY id = $1 DESC LIMIT 1"
                ),
                &[&id_or_name],
            )
            .await?;
        row.map(|r| key_row(&r))
            .ok_or_else(|| StoreError::NoSuchKey(id_or_name.to_string()))
    }

    async fn tasks_where(
        &self,
        clause: &str,
        p: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE {clause}"),
                p,
            )
            .await?;
        Ok(rows.iter().map(task_row).collect())
    }

    async fn settle(
        &self,
        task_sql: &str,
        key_sql: &str,
        task_id: &str,
        p: TaskValues<'_>,
    ) -> Result<bool, StoreError> {
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&task_id];
        params.extend_from_slice(p.0);
        let changed = self
            .client()
            .await?
            .execute(
                &format!("WITH t AS ({task_sql} RETURNING key_id) {key_sql} WHERE id = (SELECT key_id FROM t)"),
                &params,
            )
            .await?;
        Ok(changed > 0)
    }
}

/// The leader connection, and whether it holds the sweeper's lock.
struct Leader {
    client: tokio_postgres::Client,
    holds: bool,
}

impl PgStore {
    /// Takes (or keeps) the sweeper's advisory lock on the leader connection, opened once and
    /// kept while it works.
    async fn try_lead(&self, leader: &mut Option<Leader>) -> Result<bool, StoreError> {
        if leader.as_ref().is_some_and(|l| l.client.is_closed()) {
            *leader = None; // the session ended, and the lock with it
        }
        if leader.is_none() {
            let (client, connection) = self.config.connect(NoTls).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            *leader = Some(Leader {
                client,
                holds: false,
            });
        }
        let l = leader.as_mut().expect("opened above");
        // Held: the session is checked to be alive. Not held: tried once more (taken twice, a
        // session-level lock would need two unlocks, so it is never taken again while held).
        let checked = if l.holds {
            l.client.simple_query("SELECT 1").await.map(|_| true)
        } else {
            l.client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&SWEEPER_LOCK])
                .await
                .map(|row| row.get::<_, bool>(0))
        };
        match checked {
            Ok(holds) => {
                l.holds = holds;
                Ok(holds)
            }
            Err(e) => {
                *leader = None;
                Err(e.into())
            }
        }
    }
}

/// The values after the task id of a commit or refund statement.
struct TaskValues<'a>(&'a [&'a (dyn tokio_postgres::types::ToSql + Sync)]);

fn key_row(r: &Row) -> KeyRecord {
    KeyRecord {
        id: r.get("id"),
        name: r.get("name"),
        credits: r.get("credits"),
        reserved: r.get("reserved"),
        spent: r.get("spent"),
        rate: r.get("rate"),
        revoked: r.get("revoked"),
        created_at: r.get("created_at"),
    }
}

fn task_row(r: &Row) -> TaskRecord {
    let moderation = ModerationNote::from_columns(
        r.get("moderation_photo"),
        r.get("moderation_label"),
        r.get("moderation_score"),
    );
    TaskRecord {
        id: r.get("id"),
        key_id: r.get("key_id"),
        status: TaskStatus::parse(r.get("status")),
        code: r.get("code"),
        detail: r.get("detail"),
        ext: r.get("ext"),
        mime: r.get("mime"),
        moderation,
        created_at: r.get("created_at"),
        finished_at: r.get("finished_at"),
        expires_at: r.get("expires_at"),
        quality: r.get("quality"),
    }
}

impl Store for PgStore {
    fn live_key(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<KeyRecord>, StoreError>> {
        Box::pin(async move {
            let row = self
                .client()
                .await?
                .query_opt(
                    &format!("SELECT {KEY_COLUMNS}, hash FROM keys WHERE hash = $1"),
                    &[&&hash[..]],
                )
                .await?;
            Ok(row.and_then(|r| {
                let stored: Vec<u8> = r.get("hash");
                let key = key_row(&r);
                (keys::constant_time_eq(&stored, &hash) && !key.revoked).then_some(key)
            }))
        })
    }

    fn record_refused(
        &self,
        task_id: String,
        key_id: String,
        created_at: i64,
        f: Failure,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.client()
                .await?
                .execute(
                    "INSERT INTO tasks (id, key_id, status, holds_credit, code, detail, created_at, \
                     finished_at, expires_at) VALUES ($1, $2, 'failed', FALSE, $3, $4, $5, $6, $7)",
                    &[
                        &task_id,
                        &key_id,
                        &f.code,
                        &f.detail,
                        &created_at,
                        &f.finished_at,
                        &f.expires_at,
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn reserve(
        &self,
        key_id: String,
        task_id: String,
        now: i64,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            // One statement: the key's row lock orders concurrent reservations, and each sees the
            // credits the previous one left.
            let n = self
                .client()
                .await?
                .execute(
                    "WITH taken AS (UPDATE keys SET credits = credits - 1, reserved = reserved + 1 \
                     WHERE id = $1 AND credits > 0 AND NOT revoked RETURNING id) \
                     INSERT INTO tasks (id, key_id, status, holds_credit, created_at, replica) \
                     SELECT $2, id, 'running', TRUE, $3, $4 FROM taken",
                    &[&key_id, &task_id, &now, &&*self.replica],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn commit(&self, task_id: String, s: Success) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            self.settle(
                "UPDATE tasks SET status = 'done', holds_credit = FALSE, code = 'success', \
                 detail = NULL, ext = $2, mime = $3, finished_at = $4, expires_at = $5, \
                 quality = $6 WHERE id = $1 AND holds_credit",
                "UPDATE keys SET reserved = reserved - 1, spent = spent + 1",
                &task_id,
                TaskValues(&[&s.ext, &s.mime, &s.finished_at, &s.expires_at, &s.quality]),
            )
            .await
        })
    }

    fn refund(&self, task_id: String, f: Failure) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let m = f.moderation.as_ref();
            let (photo, label, score) = (
                m.map(|m| m.photo.clone()),
                m.map(|m| m.label.clone()),
                m.map(|m| m.score as f64),
            );
            self.settle(
                "UPDATE tasks SET status = 'failed', holds_credit = FALSE, code = $2, detail = $3, \
                 moderation_photo = $4, moderation_label = $5, moderation_score = $6, \
                 finished_at = $7, expires_at = $8 WHERE id = $1 AND holds_credit",
                "UPDATE keys SET credits = credits + 1, reserved = reserved - 1",
                &task_id,
                TaskValues(&[
                    &f.code,
                    &f.detail,
                    &photo,
                    &label,
                    &score,
                    &f.finished_at,
                    &f.expires_at,
                ]),
            )
            .await
        })
    }

    fn task(&self, task_id: String) -> BoxFuture<'_, Result<Option<TaskRecord>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .tasks_where("id = $1", &[&task_id])
                .await?
                .into_iter()
                .next())
        })
    }

    fn expired(
        &self,
        now: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<TaskRecord>, StoreError>> {
        Box::pin(async move {
            self.tasks_where(
                "status <> 'running' AND expires_at IS NOT NULL AND expires_at <= $1 \
                 ORDER BY expires_at LIMIT $2",
                &[&now, &(limit as i64)],
            )
            .await
        })
    }

    fn done_tasks(&self) -> BoxFuture<'_, Result<Vec<TaskRecord>, StoreError>> {
        Box::pin(async move { self.tasks_where("status = 'done'", &[]).await })
    }

    fn delete_task(&self, task_id: String) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.client()
                .await?
                .execute(
                    "DELETE FROM tasks WHERE id = $1 AND status <> 'running'",
                    &[&task_id],
                )
                .await?;
            Ok(())
        })
    }

    fn recover(&self, now: i64, expires_at: i64) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            // The tasks of gone replicas fail and their keys get the credits back, in one statement.
            let row = self
                .client()
                .await?
                .query_one(
                    &format!(
                        "WITH t AS (UPDATE tasks SET status = 'failed', holds_credit = FALSE, \
                         code = 'unknown', detail = $1, finished_at = $2, expires_at = $3 \
                         WHERE holds_credit AND (replica IS NULL OR (replica <> $4 AND replica NOT IN \
                         (SELECT id FROM replicas WHERE alive_until > {NOW_MS}))) \
                         RETURNING key_id), \
                         c AS (SELECT key_id, COUNT(*) AS n FROM t GROUP BY key_id), \
                         u AS (UPDATE keys SET credits = credits + c.n, reserved = reserved - c.n \
                         FROM c WHERE keys.id = c.key_id RETURNING c.n) \
                         SELECT COALESCE(SUM(n), 0)::BIGINT FROM u"
                    ),
                    &[&RECOVERED_DETAIL, &now, &expires_at, &&*self.replica],
                )
                .await?;
            Ok(row.get::<_, i64>(0) as usize)
        })
    }

    fn heartbeat(&self, _now: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.beat())
    }

    fn lead(&self) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut leader = self.leader.lock().await;
            match tokio::time::timeout(LEAD_TIMEOUT, self.try_lead(&mut leader)).await {
                Ok(led) => led,
                Err(_) => {
                    // A connection that hangs is dropped (and with it the lock, server-side).
                    *leader = None;
                    Err(StoreError::Pool("the leader check timed out".into()))
                }
            }
        })
    }

    fn exclusive(&self) -> bool {
        false
    }

    fn allow_request(
        &self,
        key_id: String,
        per_second: f64,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            if !per_second.is_finite() || per_second <= 0.0 {
                return Ok(true);
            }
            let interval = (1e6 / per_second).clamp(1.0, 1e15) as i64;
            // GCRA on the database's clock: allowed when the key's theoretical arrival time has
            // come; it then moves one interval past now. A refused request changes nothing.
            let row = self
                .client()
                .await?
                .query_opt(
                    &format!(
                        "INSERT INTO rate_limits (key_id, tat) VALUES ($1, {NOW_US} + $2) \
                         ON CONFLICT (key_id) DO UPDATE SET tat = EXCLUDED.tat \
                         WHERE rate_limits.tat <= EXCLUDED.tat - $2 RETURNING tat"
                    ),
                    &[&key_id, &interval],
                )
                .await?;
            Ok(row.is_some())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.client().await?.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    fn idempotency_claim(
        &self,
        key_id: String,
        idem: String,
        body: [u8; 32],
        now: i64,
    ) -> BoxFuture<'_, Result<Claim, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "DELETE FROM idempotency WHERE created_at <= $1",
                    &[&(now - IDEMPOTENCY_MS)],
                )
                .await?;
            // Claimed by the insert, or found; a claim released between the two is tried again.
            for _ in 0..5 {
                let inserted = client
                    .execute(
                        "INSERT INTO idempotency (key_id, idem, body, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        &[&key_id, &idem, &&body[..], &now],
                    )
                    .await?;
                if inserted == 1 {
                    return Ok(Claim::Claimed);
                }
                let found = client
                    .query_opt(
                        "SELECT body, answer FROM idempotency WHERE key_id = $1 AND idem = $2",
                        &[&key_id, &idem],
                    )
                    .await?;
                if let Some(r) = found {
                    let same_body = r.get::<_, Vec<u8>>(0) == body;
                    return Ok(match r.get::<_, Option<String>>(1) {
                        Some(answer) => Claim::Done { same_body, answer },
                        None => Claim::Pending { same_body },
                    });
                }
            }
            Ok(Claim::Pending { same_body: true })
        })
    }

    fn idempotency_finish(
        &self,
        key_id: String,
        idem: String,
        answer: String,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.client()
                .await?
                .execute(
                    "UPDATE idempotency SET answer = $3 WHERE key_id = $1 AND idem = $2",
                    &[&key_id, &idem, &answer],
                )
                .await?;
            Ok(())
        })
    }

    fn idempotency_release(
        &self,
        key_id: String,
        idem: String,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.client()
                .await?
                .execute(
                    "DELETE FROM idempotency WHERE key_id = $1 AND idem = $2 AND answer IS NULL",
                    &[&key_id, &idem],
                )
                .await?;
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
        Box::pin(async move {
            check_new_key(&name, credits, rate)?;
            let key = keys::generate_key();
            let id = keys::generate_key_id();
            let inserted = self
                .client()
                .await?
                .execute(
                    "INSERT INTO keys (id, name, hash, credits, rate, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                    &[
                        &id,
                        &name,
                        &&keys::hash_key(&key)[..],
                        &credits,
                        &rate,
                        &now,
                    ],
                )
                .await?;
            if inserted == 0 {
                return Err(StoreError::Invalid(format!(
                    "a key named {name:?} exists already"
                )));
            }
            Ok((self.find_key(&id).await?, key))
        })
    }

    fn keys(&self) -> BoxFuture<'_, Result<Vec<KeyRecord>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    &format!("SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at, id"),
                    &[],
                )
                .await?;
            Ok(rows.iter().map(key_row).collect())
        })
    }

    fn credit(&self, id_or_name: String, n: i64) -> BoxFuture<'_, Result<KeyRecord, StoreError>> {
        Box::pin(async move {
            let key = self.find_key(&id_or_name).await?;
            self.client()
                .await?
                .execute(
                    "UPDATE keys SET credits = GREATEST(0, credits + $2) WHERE id = $1",
                    &[&key.id, &n],
                )
                .await?;
            self.find_key(&key.id).await
        })
    }

    fn revoke_key(&self, id_or_name: String) -> BoxFuture<'_, Result<KeyRecord, StoreError>> {
        Box::pin(async move {
            let key = self.find_key(&id_or_name).await?;
            self.client()
                .await?
                .execute("UPDATE keys SET revoked = TRUE WHERE id = $1", &[&key.id])
                .await?;
            self.find_key(&key.id).await
        })
    }

    fn set_key_rate(
        &self,
        id_or_name: String,
        rate: Option<f64>,
    ) -> BoxFuture<'_, Result<KeyRecord, StoreError>> {
        Box::pin(async move {
            check_rate(rate)?;
            let key = self.find_key(&id_or_name).await?;
            self.client()
                .await?
                .execute("UPDATE keys SET rate = $2 WHERE id = $1", &[&key.id, &rate])
                .await?;
            self.find_key(&key.id).await
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::suite::{backend_env, store_suite, Pair};

    /// A fresh, empty database on the test server, as a URL.
    pub(crate) async fn fresh_database() -> Option<String> {
        let admin = backend_env("FACESWAP_TEST_DATABASE_URL")?;
        let (client, connection) = tokio_postgres::connect(&admin, NoTls).await.unwrap();
        tokio::spawn(connection);
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Some(url.to_string())
    }

    const TIMEOUT: Duration = Duration::from_secs(3);

    async fn pair() -> Option<Pair> {
        let url = fresh_database().await?;
        Some(Pair {
            me: Arc::new(PgStore::connect(&url, TIMEOUT).await.unwrap()),
            other: Arc::new(PgStore::connect(&url, TIMEOUT).await.unwrap()),
            replica_timeout: TIMEOUT,
            _storage: Box::new(()),
        })
    }

    store_suite!(pair);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_starting_together_migrate_once_and_a_live_replica_keeps_its_reservations() {
        let Some(url) = fresh_database().await else {
            return;
        };
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { PgStore::connect(&url, TIMEOUT).await.unwrap() })
            })
            .collect();
        let mut stores = Vec::new();
        for s in starts {
            stores.push(s.await.unwrap());
        }
        let client = stores[0].client().await.unwrap();
        let applied: i64 = client
            .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(applied, MIGRATIONS.len() as i64);
        let (a, b) = (&stores[0], &stores[1]);
        let (k, _) = a.new_key("k".into(), 2, None, 1).await.unwrap();
        assert!(b.reserve(k.id.clone(), "busy".into(), 1).await.unwrap());
        b.heartbeat(0).await.unwrap();
        // `b` is alive (it beat within its timeout): nothing to recover.
        assert_eq!(a.recover(5, 50).await.unwrap(), 0);
        assert_eq!(b.recover(5, 50).await.unwrap(), 0, "nor its own");
        assert!(b
            .commit("busy".into(), crate::store::suite::success())
            .await
            .unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_replica_at_a_time_leads_the_sweeper_and_another_takes_over_when_it_ends() {
        let Some(url) = fresh_database().await else {
            return;
        };
        let a = PgStore::connect(&url, TIMEOUT).await.unwrap();
        let b = PgStore::connect(&url, TIMEOUT).await.unwrap();
        assert!(a.lead().await.unwrap());
        assert!(a.lead().await.unwrap(), "and keeps leading");
        assert!(!b.lead().await.unwrap());
        drop(a); // its lock's session ends with it, as with a kill -9
        let mut took_over = false;
        for _ in 0..50 {
            if b.lead().await.unwrap() {
                took_over = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(took_over);
    }
}
