//! The one test suite every [`Store`] passes, so that the backends cannot drift apart. Each test
//! gets two replicas of one fresh, empty storage (`me` and `other`) and the time after which a
//! silent replica counts as gone; [`store_suite!`] turns each into a test of a backend.

use std::sync::Arc;
use std::time::Duration;

use super::{Claim, Failure, Store, StoreError, Success, TaskStatus, IDEMPOTENCY_MS};
use crate::keys;

/// Two replicas of one fresh storage, and its replica timeout.
pub(crate) struct Pair {
    pub me: Arc<dyn Store>,
    pub other: Arc<dyn Store>,
    pub replica_timeout: Duration,
    /// What must live as long as the stores (a temporary folder, a database to drop).
    pub _storage: Box<dyn std::any::Any + Send>,
}

/// One `#[tokio::test]` per suite test, each on a pair from `$open` (an async fn returning
/// `Option<Pair>`; `None` skips: the backend's server is not there).
macro_rules! store_suite {
    ($open:path) => {
        $crate::store::suite::store_suite!(@tests $open,
            keys_are_created_found_credited_and_revoked,
            reserve_commit_and_refund_keep_credits_exact,
            fifty_requests_racing_for_ten_credits_get_exactly_ten,
            recovery_refunds_the_reservations_of_a_gone_replica_only,
            expired_lists_finished_tasks_only,
            an_idempotency_key_is_claimed_once_remembers_its_answer_and_expires,
            the_rate_limit_holds_across_replicas);
    };
    (@tests $open:path, $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(pair) = $open().await {
                    $crate::store::suite::$name(pair).await;
                }
            }
        )*
    };
}
pub(crate) use store_suite;

fn failure(code: &str) -> Failure {
    Failure {
        code: code.into(),
        detail: "d".into(),
        moderation: None,
        finished_at: 2,
        expires_at: 3,
    }
}

pub(crate) fn success() -> Success {
    Success {
        ext: "jpeg".into(),
        mime: "image/jpeg".into(),
        finished_at: 2,
        expires_at: 10,
        quality: Some("{\"warnings\":[]}".into()),
    }
}

pub(crate) async fn keys_are_created_found_credited_and_revoked(p: Pair) {
    let s = &p.me;
    let (rec, key) = s.new_key("alice".into(), 5, Some(2.5), 1).await.unwrap();
    assert_eq!((rec.credits, rec.rate, rec.revoked), (5, Some(2.5), false));
    assert!(matches!(
        p.other.new_key("alice".into(), 1, None, 1).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(s.new_key(" ".into(), 1, None, 1).await.is_err());
    assert!(s.new_key("b".into(), -1, None, 1).await.is_err());
    let found = p.other.live_key(keys::hash_key(&key)).await.unwrap();
    assert_eq!(found.unwrap().id, rec.id);
    assert!(s
        .live_key(keys::hash_key("fsk_nope"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.credit("alice".into(), 3).await.unwrap().credits, 8);
    assert_eq!(s.credit(rec.id.clone(), -100).await.unwrap().credits, 0);
    assert_eq!(
        s.set_key_rate("alice".into(), None).await.unwrap().rate,
        None
    );
    assert!(s.set_key_rate("alice".into(), Some(-1.0)).await.is_err());
    assert!(s.revoke_key("alice".into()).await.unwrap().revoked);
    assert!(s.live_key(keys::hash_key(&key)).await.unwrap().is_none());
    assert!(matches!(
        s.credit("bob".into(), 1).await,
        Err(StoreError::NoSuchKey(_))
    ));
    assert_eq!(p.other.keys().await.unwrap().len(), 1);
}

pub(crate) async fn reserve_commit_and_refund_keep_credits_exact(p: Pair) {
    let s = &p.me;
    let (k, _) = s.new_key("k".into(), 2, None, 1).await.unwrap();
    assert!(s.reserve(k.id.clone(), "t1".into(), 1).await.unwrap());
    assert!(p.other.reserve(k.id.clone(), "t2".into(), 1).await.unwrap());
    assert!(!s.reserve(k.id.clone(), "t3".into(), 1).await.unwrap());
    let k1 = &s.keys().await.unwrap()[0];
    assert_eq!((k1.credits, k1.reserved), (0, 2));
    assert!(s.commit("t1".into(), success()).await.unwrap());
    assert!(
        !s.commit("t1".into(), success()).await.unwrap(),
        "commits once"
    );
    assert!(s
        .refund("t2".into(), failure("no_face_detected"))
        .await
        .unwrap());
    assert!(
        !s.refund("t2".into(), failure("x")).await.unwrap(),
        "refunds once"
    );
    assert!(
        !s.refund("t1".into(), failure("x")).await.unwrap(),
        "a done task keeps its credit"
    );
    let k2 = &s.keys().await.unwrap()[0];
    assert_eq!((k2.credits, k2.reserved, k2.spent), (1, 0, 1));
    let t1 = p.other.task("t1".into()).await.unwrap().unwrap();
    assert_eq!(t1.status, TaskStatus::Done);
    assert_eq!(t1.ext.as_deref(), Some("jpeg"));
    assert_eq!(t1.quality.as_deref(), Some("{\"warnings\":[]}"));
    let t2 = s.task("t2".into()).await.unwrap().unwrap();
    assert_eq!(t2.status, TaskStatus::Failed);
    assert_eq!(t2.code.as_deref(), Some("no_face_detected"));
    assert!(s.task("t3".into()).await.unwrap().is_none());
}

pub(crate) async fn fifty_requests_racing_for_ten_credits_get_exactly_ten(p: Pair) {
    let (k, _) = p.me.new_key("race".into(), 10, None, 1).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = if i % 2 == 0 { &p.me } else { &p.other }.clone();
            let id = k.id.clone();
            tokio::spawn(async move { s.reserve(id, format!("t{i}"), 1).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap() as usize;
    }
    assert_eq!(wins, 10);
    let k = &p.me.keys().await.unwrap()[0];
    assert_eq!((k.credits, k.reserved), (0, 10));
}

pub(crate) async fn recovery_refunds_the_reservations_of_a_gone_replica_only(p: Pair) {
    let (k, _) = p.me.new_key("k".into(), 4, None, 1).await.unwrap();
    assert!(p
        .other
        .reserve(k.id.clone(), "done".into(), 1)
        .await
        .unwrap());
    assert!(p.other.commit("done".into(), success()).await.unwrap());
    assert!(p
        .other
        .reserve(k.id.clone(), "lost".into(), 1)
        .await
        .unwrap());
    assert!(p.me.reserve(k.id.clone(), "mine".into(), 1).await.unwrap());
    // `other` stops: no heartbeat from now on, while `me` goes on beating.
    let until = tokio::time::Instant::now() + p.replica_timeout + Duration::from_millis(300);
    while tokio::time::Instant::now() < until {
        p.me.heartbeat(0).await.unwrap();
        tokio::time::sleep(p.replica_timeout / 4).await;
    }
    assert_eq!(p.me.recover(5, 50).await.unwrap(), 1);
    let k = &p.me.keys().await.unwrap()[0];
    assert_eq!((k.credits, k.reserved, k.spent), (2, 1, 1));
    let lost = p.me.task("lost".into()).await.unwrap().unwrap();
    assert_eq!(
        (lost.status, lost.code.as_deref()),
        (TaskStatus::Failed, Some("unknown"))
    );
    let statuses = [("done", TaskStatus::Done), ("mine", TaskStatus::Running)];
    for (id, status) in statuses {
        assert_eq!(p.me.task(id.into()).await.unwrap().unwrap().status, status);
    }
    assert_eq!(p.me.recover(5, 50).await.unwrap(), 0, "once");
    // The reservation still held is committed as usual.
    assert!(p.me.commit("mine".into(), success()).await.unwrap());
}

pub(crate) async fn expired_lists_finished_tasks_only(p: Pair) {
    let s = &p.me;
    let (k, _) = s.new_key("k".into(), 3, None, 1).await.unwrap();
    assert!(s.reserve(k.id.clone(), "run".into(), 1).await.unwrap());
    s.record_refused(
        "refused".into(),
        k.id.clone(),
        1,
        failure("request_rate_limit"),
    )
    .await
    .unwrap();
    assert!(s.reserve(k.id.clone(), "later".into(), 1).await.unwrap());
    let mut later = success();
    later.expires_at = 500;
    assert!(s.commit("later".into(), later).await.unwrap());
    let expired = p.other.expired(100, 10).await.unwrap();
    let ids: Vec<&str> = expired.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["refused"]);
    assert_eq!(s.expired(500, 10).await.unwrap().len(), 2);
    assert_eq!(s.done_tasks().await.unwrap().len(), 1);
    s.delete_task("refused".into()).await.unwrap();
    s.delete_task("run".into()).await.unwrap();
    assert!(s.task("refused".into()).await.unwrap().is_none());
    assert!(
        s.task("run".into()).await.unwrap().is_some(),
        "running tasks stay"
    );
}

pub(crate) async fn an_idempotency_key_is_claimed_once_remembers_its_answer_and_expires(p: Pair) {
    let (s, o) = (&p.me, &p.other);
    let body = [1u8; 32];
    let claim = |s: &Arc<dyn Store>, key: &str, b: [u8; 32], now: i64| {
        let s = s.clone();
        let key = key.to_string();
        async move { s.idempotency_claim(key, "i".into(), b, now).await.unwrap() }
    };
    assert_eq!(claim(s, "k", body, 10).await, Claim::Claimed);
    assert_eq!(
        claim(o, "k", body, 11).await,
        Claim::Pending { same_body: true }
    );
    assert_eq!(
        claim(s, "k", [2u8; 32], 11).await,
        Claim::Pending { same_body: false }
    );
    // Another key's same idempotency key is its own.
    assert_eq!(claim(s, "other", body, 11).await, Claim::Claimed);
    s.idempotency_finish("k".into(), "i".into(), "{}".into())
        .await
        .unwrap();
    s.idempotency_release("k".into(), "i".into()).await.unwrap();
    assert_eq!(
        claim(o, "k", body, 12).await,
        Claim::Done {
            same_body: true,
            answer: "{}".into()
        },
        "a finished answer is not released"
    );
    // A released claim (a failure) is claimed anew; after 24 h everything is forgotten.
    s.idempotency_release("other".into(), "i".into())
        .await
        .unwrap();
    assert_eq!(claim(o, "other", body, 13).await, Claim::Claimed);
    assert_eq!(
        claim(s, "k", body, 10 + IDEMPOTENCY_MS).await,
        Claim::Claimed
    );
}

pub(crate) async fn the_rate_limit_holds_across_replicas(p: Pair) {
    let allow = |s: &Arc<dyn Store>, key: &str, rate: f64| {
        let s = s.clone();
        let key = key.to_string();
        async move { s.allow_request(key, rate).await.unwrap() }
    };
    // One every two seconds: one now, the next not before, on whichever replica.
    assert!(allow(&p.me, "a", 0.5).await);
    assert!(!allow(&p.other, "a", 0.5).await);
    assert!(!allow(&p.me, "a", 0.5).await);
    assert!(allow(&p.other, "b", 0.5).await, "each key has its own");
    for _ in 0..3 {
        assert!(allow(&p.me, "c", 0.0).await, "0: unlimited");
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(allow(&p.other, "a", 0.5).await);
    assert!(!allow(&p.me, "a", 0.5).await);
}

/// The test server's setting `name` (exported by `scripts/backends.sh`), or `None` when it is
/// not set: the backend's tests are then skipped, unless `FACESWAP_REQUIRE_BACKENDS` says the
/// servers were started (as `scripts/test.sh` does), and a missing one is a failure.
pub(crate) fn backend_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var_os("FACESWAP_REQUIRE_BACKENDS").is_some() => {
            panic!("{name} is not set, though the test servers should run (scripts/backends.sh)")
        }
        _ => {
            eprintln!("{name} is not set: skipped (scripts/backends.sh starts the servers)");
            None
        }
    }
}
