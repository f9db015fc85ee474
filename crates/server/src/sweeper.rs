//! Retention: deletes results and task rows past their expiry (the blob first, then the row, so that a
//! crash in between leaves a row whose blob is gone, which the next consistency pass removes), and
//! reconciles blobs with rows (a blob without a done task, or a done task without its blob). Among
//! replicas, one at a time does this (the store's [`Store::lead`]). Beside it, each replica's
//! heartbeat, and the refund of the reservations of replicas that are gone.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::blobs::BlobStore;
use crate::metrics::Metrics;
use crate::now_millis;
use crate::store::{Store, TaskRecord, TaskStatus};

/// The blob name of a done task's result.
pub fn blob_name(task_id: &str, ext: &str) -> String {
    format!("{task_id}.{ext}")
}

fn task_blob(t: &TaskRecord) -> Option<String> {
    (t.status == TaskStatus::Done)
        .then(|| t.ext.as_deref().map(|ext| blob_name(&t.id, ext)))
        .flatten()
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired results deleted (blob and row).
    pub results: usize,
    /// Expired rows without a result deleted.
    pub rows: usize,
    /// Blobs deleted because no done task owns them.
    pub orphan_blobs: usize,
    /// Done rows deleted because their blob is missing.
    pub orphan_rows: usize,
}

/// Deletes everything expired at `now` (Unix ms).
pub async fn sweep_expired(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    now: i64,
) -> Result<SweepReport, String> {
    let mut report = SweepReport::default();
    loop {
        let batch = store.expired(now, 500).await.map_err(|e| e.to_string())?;
        let n = batch.len();
        for task in batch {
            if let Some(name) = task_blob(&task) {
                if let Err(e) = blobs.delete(name).await {
                    // Keep the row: it is retried on the next pass.
                    tracing::warn!(task_id = %task.id, error = %e, "cannot delete an expired result");
                    continue;
                }
                report.results += 1;
            } else {
                report.rows += 1;
            }
            store
                .delete_task(task.id.clone())
                .await
                .map_err(|e| e.to_string())?;
        }
        if n < 500 {
            return Ok(report);
        }
    }
}

/// Deletes blobs older than `min_age` that no done task owns, and done tasks whose blob is missing.
/// At start-up `min_age` is zero; while serving it must exceed the time between a result's write and
/// its task's commit.
pub async fn reconcile(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    min_age: Duration,
) -> Result<SweepReport, String> {
    let mut report = SweepReport::default();
    let done = store.done_tasks().await.map_err(|e| e.to_string())?;
    let listed = blobs.list().await.map_err(|e| e.to_string())?;
    let owned: HashSet<String> = done.iter().filter_map(task_blob).collect();
    let present: HashSet<&str> = listed.iter().map(|b| b.name.as_str()).collect();
    for blob in &listed {
        if !owned.contains(&blob.name) && blob.age >= min_age {
            blobs
                .delete(blob.name.clone())
                .await
                .map_err(|e| e.to_string())?;
            report.orphan_blobs += 1;
        }
    }
    for task in &done {
        if let Some(name) = task_blob(task) {
            if !present.contains(name.as_str()) {
                store
                    .delete_task(task.id.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                report.orphan_rows += 1;
            }
        }
    }
    Ok(report)
}

/// Age from which a blob without a done task is an orphan while the service runs: far more than
/// the time between a result's write and its task's commit.
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Every quarter of `timeout`: this replica's heartbeat, then the refund of what replicas silent
/// for longer than `timeout` reserved (their failed tasks are kept for `retention` ms).
pub fn spawn_heartbeat(
    store: Arc<dyn Store>,
    timeout: Duration,
    retention: i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval((timeout / 4).max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = now_millis();
            if let Err(e) = store.heartbeat(now).await {
                tracing::warn!(error = %e, "heartbeat failed");
                continue;
            }
            match store.recover(now, now + retention).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    refunded = n,
                    "refunded credits reserved by a replica that is gone"
                ),
                Err(e) => tracing::warn!(error = %e, "recovery failed"),
            }
        }
    })
}

/// Runs [`sweep_expired`] every `interval`, and [`reconcile`] (blobs older than [`ORPHAN_AGE`])
/// every hour, while this replica leads.
pub fn spawn(
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    metrics: Arc<Metrics>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let hour = ORPHAN_AGE;
        let mut since_reconcile = Duration::ZERO;
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the start-up pass has just run
        loop {
            tick.tick().await;
            match store.lead().await {
                Ok(true) => {}
                Ok(false) => continue, // another replica sweeps
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell which replica sweeps");
                    continue;
                }
            }
            match sweep_expired(store.as_ref(), blobs.as_ref(), now_millis()).await {
                Ok(r) => {
                    metrics.swept(r.results as u64);
                    if r.results + r.rows > 0 {
                        tracing::info!(results = r.results, rows = r.rows, "swept expired tasks");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
            since_reconcile += interval;
            if since_reconcile >= hour {
                since_reconcile = Duration::ZERO;
                match reconcile(store.as_ref(), blobs.as_ref(), ORPHAN_AGE).await {
                    Ok(r) if r.orphan_blobs + r.orphan_rows > 0 => tracing::info!(
                        orphan_blobs = r.orphan_blobs,
                        orphan_rows = r.orphan_rows,
                        "reconciled results"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reconcile failed"),
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::DiskBlobs;
    use crate::store::{Failure, SqliteStore, Success};

    #[tokio::test]
    async fn sweeps_expired_and_reconciles_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let blobs = DiskBlobs::open(&dir.path().join("results")).unwrap();
        let (k, _) = store.create_key("k", 10, None, 0).unwrap();
        let ok = |expires_at| Success {
            ext: "jpeg".into(),
            mime: "image/jpeg".into(),
            finished_at: 1,
            expires_at,
            quality: None,
        };
        // old: expired result; fresh: kept; lost: done row without blob; failed: expired row.
        for (id, exp) in [("old", 100), ("fresh", 10_000), ("lost", 10_000)] {
            assert!(store.reserve_sync(&k.id, id, 0).unwrap());
            if id != "lost" {
                blobs.put(blob_name(id, "jpeg"), vec![1]).await.unwrap();
            }
            assert!(store.commit_sync(id, &ok(exp)).unwrap());
        }
        store
            .record_refused_sync(
                "failed",
                &k.id,
                0,
                &Failure {
                    code: "request_rate_limit".into(),
                    detail: "d".into(),
                    moderation: None,
                    finished_at: 0,
                    expires_at: 100,
                },
            )
            .unwrap();
        blobs.put("stray.png".into(), vec![2]).await.unwrap();

        let r = sweep_expired(&store, &blobs, 500).await.unwrap();
        assert_eq!((r.results, r.rows), (1, 1));
        assert!(store.task_sync("old").unwrap().is_none());
        assert!(store.task_sync("failed").unwrap().is_none());
        assert!(blobs.get(blob_name("old", "jpeg")).await.unwrap().is_none());

        // A young orphan is left alone while serving...
        let r = reconcile(&store, &blobs, Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!((r.orphan_blobs, r.orphan_rows), (0, 1));
        assert!(blobs.get("stray.png".into()).await.unwrap().is_some());
        // ...and removed at start-up.
        let r = reconcile(&store, &blobs, Duration::ZERO).await.unwrap();
        assert_eq!((r.orphan_blobs, r.orphan_rows), (1, 0));
        assert!(store.task_sync("lost").unwrap().is_none());
        assert!(store.task_sync("fresh").unwrap().is_some());
        assert!(blobs
            .get(blob_name("fresh", "jpeg"))
            .await
            .unwrap()
            .is_some());
    }
}
