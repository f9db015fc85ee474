//! Two `faceswap serve` processes on one PostgreSQL database and one S3 bucket (the real servers
//! of `scripts/backends.sh`), talked to over HTTP on loopback: credits exact across both, one rate
//! limit, a result written by one read from the other, a kill -9 under load whose reservations the
//! other refunds, and expiry deleting object and row.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ADMIN: &str = "replica-test-admin";
const RETENTION_S: u64 = 25;

struct Backends {
    database_url: String,
    endpoint: String,
    bucket: String,
    key: String,
    secret: String,
}

/// The test servers' settings, or `None` (skipped) when they were not started.
fn backends() -> Option<Backends> {
    let var = |name: &str| match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var_os("FACESWAP_REQUIRE_BACKENDS").is_some() => {
            panic!("{name} is not set, though the test servers should run (scripts/backends.sh)")
        }
        _ => None,
    };
    let Some(admin_url) = var("FACESWAP_TEST_DATABASE_URL") else {
        eprintln!("no test servers (scripts/backends.sh): skipped");
        return None;
    };
    Some(Backends {
        database_url: fresh_database(&admin_url),
        endpoint: var("FACESWAP_TEST_S3_ENDPOINT")?,
        bucket: var("FACESWAP_TEST_S3_BUCKET")?,
        key: var("FACESWAP_TEST_S3_KEY")?,
        secret: var("FACESWAP_TEST_S3_SECRET")?,
    })
}

fn fresh_database(admin_url: &str) -> String {
    let name = format!("replicas_{}", std::process::id());
    let out = Command::new("psql")
        .args([admin_url, "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One replica: a `faceswap serve` child process, killed when dropped.
struct Replica {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    fn start(b: &Backends, prefix: &str) -> Replica {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_faceswap"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--workers", "1", "--queue", "64", "--default-rate", "0"])
            .args(["--database-url", &b.database_url])
            .args(["--s3-bucket", &b.bucket, "--s3-endpoint", &b.endpoint])
            .args(["--s3-prefix", prefix, "--admin-token", ADMIN])
            .args(["--retention-seconds", &RETENTION_S.to_string()])
            .args(["--sweep-seconds", "1", "--replica-timeout", "2"])
            .env("AWS_ACCESS_KEY_ID", &b.key)
            .env("AWS_SECRET_ACCESS_KEY", &b.secret)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("faceswap serve");
        Replica {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
    }

    async fn ready(&mut self) {
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until {
            if let Ok(r) = client().get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("replica exited with {status}: {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("replica not ready: {}", self.log());
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn photo(name: &str) -> String {
    new_photo(name, None)
}

/// A shared photo as base64; with `n`, made a photo the server has not seen (bytes after the
/// JPEG's end, which decoders ignore), so that its photo cache cannot make the fusion quick.
fn new_photo(name: &str, n: Option<u64>) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/faces")
        .join(name);
    let mut bytes = std::fs::read(&path).unwrap();
    if let Some(n) = n {
        bytes.extend_from_slice(&n.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn admin(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut r = client()
        .request(method, format!("{base}{path}"))
        .bearer_auth(ADMIN);
    if let Some(body) = body {
        r = r.json(&body);
    }
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn new_key(base: &str, name: &str, credits: i64, rate: f64) -> String {
    let body = json!({"name": name, "credits": credits, "rate": rate});
    let v = admin(base, reqwest::Method::POST, "/admin/keys", Some(body)).await;
    v["key"].as_str().unwrap().to_string()
}

/// (credits, reserved, spent) of the key named `name`, as `base` sees it.
async fn credits(base: &str, name: &str) -> (i64, i64, i64) {
    let keys = admin(base, reqwest::Method::GET, "/admin/keys", None).await;
    let k = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap();
    let n = |f: &str| k[f].as_i64().unwrap();
    (n("credits"), n("reserved"), n("spent"))
}

async fn swap(base: &str, key: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
    let r = client()
        .post(format!("{base}/v1/faceswap?token={key}"))
        .json(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

/// The same path on another replica.
fn on(base: &str, url: &str) -> String {
    let path = &url[url.find("/v1/").unwrap()..];
    format!("{base}{path}")
}

/// The HTTP status of the object `name` in the bucket, asked of the S3 server itself.
fn object_status(b: &Backends, prefix: &str, name: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{}:{}", b.key, b.secret))
        .arg(format!("{}/{}/{prefix}/{name}", b.endpoint, b.bucket))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn two_replicas_share_credits_rate_limits_results_and_recover_a_killed_one() {
    let Some(b) = backends() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let prefix = format!("replicas-{}", std::process::id());
        let (mut one, mut two) = (Replica::start(&b, &prefix), Replica::start(&b, &prefix));
        one.ready().await;
        two.ready().await;
        let (a, c) = (one.base.clone(), two.base.clone());
        let body =
            json!({"image_base64": photo("obama_1.jpg"), "template_base64": photo("biden_2.jpg")});

        // 50 concurrent requests on a 10-credit key, alternating between the replicas.
        let key = new_key(&a, "ten", 10, 0.0).await;
        let answers: Vec<_> = (0..50)
            .map(|i| {
                let base = if i % 2 == 0 { a.clone() } else { c.clone() };
                let (key, body) = (key.clone(), body.clone());
                tokio::spawn(async move { swap(&base, &key, &body).await.unwrap() })
            })
            .collect();
        let mut urls = Vec::new();
        for t in answers {
            let (status, v) = t.await.unwrap();
            assert!(status < 500, "{status} {v}");
            if v["code"] == "success" {
                urls.push(v["image_url"].as_str().unwrap().to_string());
            } else {
                assert_eq!(v["code"], "used_up", "{v}");
            }
        }
        assert_eq!(urls.len(), 10, "exactly the credits");
        assert_eq!(credits(&c, "ten").await, (0, 0, 10));

        // A result written by one replica downloads from the other (and from the bucket).
        for url in &urls {
            let (x, y) = (
                client().get(on(&a, url)).send().await.unwrap(),
                client().get(on(&c, url)).send().await.unwrap(),
            );
            assert_eq!((x.status().as_u16(), y.status().as_u16()), (200, 200));
            assert_eq!(x.bytes().await.unwrap(), y.bytes().await.unwrap());
        }
        let first = urls[0].rsplit('/').next().unwrap().to_string();
        assert_eq!(object_status(&b, &prefix, &first), "200");

        // One rate limit across both: one request per 5 s, the second on the other replica.
        let slow = new_key(&a, "slow", 5, 0.2).await;
        let bad =
            json!({"image_base64": "bm90IGEgcGhvdG8=", "template_base64": "bm90IGEgcGhvdG8="});
        let (_, v) = swap(&a, &slow, &bad).await.unwrap();
        assert_ne!(v["code"], "request_rate_limit", "{v}");
        let (status, v) = swap(&c, &slow, &bad).await.unwrap();
        assert_eq!(
            (status, &v["code"]),
            (402, &json!("request_rate_limit")),
            "{v}"
        );

        // kill -9 of the second replica while it works: the first refunds what it held, and
        // every result it answered is there.
        let busy = new_key(&a, "busy", 20, 0.0).await;
        // New photos each (the cache would make them quick), on one worker: seconds of work.
        let inflight: Vec<_> = (0..8u64)
            .map(|i| {
                let body = json!({"image_base64": new_photo("obama_1.jpg", Some(i)),
                    "template_base64": new_photo("biden_2.jpg", Some(i))});
                let (base, key) = (c.clone(), busy.clone());
                tokio::spawn(async move { swap(&base, &key, &body).await })
            })
            .collect();
        let started = Instant::now();
        while credits(&a, "busy").await.1 == 0 && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        two.child.kill().unwrap(); // SIGKILL
        two.child.wait().unwrap();
        let mut answered = Vec::new();
        for t in inflight {
            if let Ok((_, v)) = t.await.unwrap() {
                if v["code"] == "success" {
                    answered.push(v["image_url"].as_str().unwrap().to_string());
                }
            }
        }
        let until = Instant::now() + Duration::from_secs(20);
        let mut after = credits(&a, "busy").await;
        while after.1 > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
            after = credits(&a, "busy").await;
        }
        let (left, reserved, spent) = after;
        eprintln!(
            "killed with {} answered, {spent} spent, {reserved} reserved",
            answered.len()
        );
        assert!(answered.len() < 8, "the kill came while the replica worked");
        assert_eq!(reserved, 0, "the gone replica's reservations are refunded");
        assert_eq!(left + spent, 20);
        assert!(spent as usize >= answered.len());
        for url in &answered {
            let r = client().get(on(&a, url)).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200, "a paid result is kept");
        }

        // Expiry deletes the object and the row (the first results are past their retention).
        let until = Instant::now() + Duration::from_secs(RETENTION_S + 30);
        let task = urls[0]
            .rsplit('/')
            .next()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        loop {
            let gone = object_status(&b, &prefix, &first) == "404";
            let row = client()
                .get(format!("{a}/v1/tasks/{task}?token={key}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            if gone && row == 404 {
                break;
            }
            assert!(
                Instant::now() < until,
                "not expired: object gone {gone}, task {row}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let r = client().get(on(&a, &urls[0])).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404);
    });
}
