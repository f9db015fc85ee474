//! Test harness: real servers (real engine, real filter) on loopback, one shared runtime, a small raw
//! HTTP server that serves `../shared/faces` and misbehaves on purpose, and a log capture.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use faceswap_server::store::SqliteStore;
use faceswap_server::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The runtime every server and request of this test binary runs on.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        init_log_capture();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Runs a future on the shared runtime (tests are plain `#[test]` functions).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    rt().block_on(f)
}

// ---------- log capture ----------

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_log_capture() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,reqwest=info,h2=info,rustls=info")
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
}

/// Everything logged so far by every server of this binary.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

// ---------- photos ----------

/// The shared test photos.
pub fn faces_dir() -> PathBuf {
    std::env::var_os("FACESWAP_FACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/faces"
            ))
        })
}

/// One photo's bytes.
pub fn face(name: &str) -> Vec<u8> {
    std::fs::read(faces_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A valid PNG header that claims 50000×50000 px and has no pixel data: a decompression bomb that
/// must be refused from its header.
pub fn bomb_png() -> Vec<u8> {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&50_000u32.to_be_bytes());
    chunk.extend_from_slice(&50_000u32.to_be_bytes());
    chunk.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    // A first IDAT chunk (decoders read the header up to it) and the end.
    for (kind, data) in [
        (&b"IDAT"[..], &[0x78u8, 0x9c, 0x63, 0x60, 0x00, 0x00][..]),
        (b"IEND", &[]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ---------- the photo host ----------

/// A raw HTTP/1.1 server on loopback that serves the test photos and some traps, and records every
/// request path it receives.
pub struct PhotoHost {
    /// `http://IP:PORT`.
    pub base: String,
    /// Paths requested, in order.
    pub hits: Arc<Mutex<Vec<String>>>,
}

impl PhotoHost {
    /// Starts one on `ip:0`. `redirect_to` is where `/redirect` points.
    pub fn start(ip: &str, redirect_to: Option<String>) -> PhotoHost {
        let listener = block_on(TcpListener::bind(format!("{ip}:0"))).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let h = hits.clone();
        rt().spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                let hits = h.clone();
                let redirect_to = redirect_to.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    hits.lock().unwrap().push(path.clone());
                    // /slow/REST answers REST after a second.
                    let path = match path.strip_prefix("/slow") {
                        Some(rest) => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            rest.to_string()
                        }
                        None => path,
                    };
                    let (status, headers, body, declare_length) =
                        route(&path, redirect_to.as_deref(), addr);
                    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    if declare_length {
                        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
                    }
                    out.push_str("\r\n");
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                    for piece in body.chunks(64 * 1024) {
                        if sock.write_all(piece).await.is_err() {
                            return;
                        }
                    }
                    let _ = sock.shutdown().await;
                });
            }
        });
        PhotoHost {
            base: format!("http://{addr}"),
            hits,
        }
    }

    /// The URL of a path on this host.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Paths requested so far.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

type Routed = (&'static str, Vec<(&'static str, String)>, Vec<u8>, bool);

fn route(path: &str, redirect_to: Option<&str>, me: SocketAddr) -> Routed {
    let six_mb = || vec![0xABu8; 6 * 1024 * 1024];
    if let Some(name) = path.strip_prefix("/faces/") {
        return match std::fs::read(faces_dir().join(name)) {
            Ok(b) => (
                "200 OK",
                vec![("Content-Type", "image/jpeg".into())],
                b,
                true,
            ),
            Err(_) => ("404 Not Found", vec![], b"no".to_vec(), true),
        };
    }
    if let Some(n) = path.strip_prefix("/chain/") {
        // /chain/N redirects N times, then serves a photo.
        let n: u32 = n.parse().unwrap_or(0);
        let next = if n == 0 {
            "/faces/obama_1.jpg".to_string()
        } else {
            format!("/chain/{}", n - 1)
        };
        return ("302 Found", vec![("Location", next)], vec![], true);
    }
    match path {
        "/redirect" => (
            "302 Found",
            vec![("Location", redirect_to.unwrap_or("/").to_string())],
            vec![],
            true,
        ),
        "/redirect-relative" => (
            "301 Moved Permanently",
            vec![("Location", "/faces/obama_1.jpg".into())],
            vec![],
            true,
        ),
        "/big-declared" => (
            "200 OK",
            vec![("Content-Type", "image/jpeg".into())],
            six_mb(),
            true,
        ),
        "/big-streamed" => (
            "200 OK",
            vec![("Content-Type", "image/jpeg".into())],
            six_mb(),
            false,
        ),
        "/bomb.png" => (
            "200 OK",
            vec![("Content-Type", "image/png".into())],
            bomb_png(),
            true,
        ),
        "/page.html" => (
            "200 OK",
            vec![("Content-Type", "text/html".into())],
            b"<html><body><img src=x.jpg></body></html>".to_vec(),
            true,
        ),
        _ => {
            let _ = me;
            ("404 Not Found", vec![], b"not found".to_vec(), true)
        }
    }
}

// ---------- servers ----------

/// A running server with its data folder.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The running server.
    pub server: Server,
    /// Its data folder.
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on loopback with `adjust` applied to a test configuration.
    pub fn start(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            workers: 2,
            queue: 64,
            ..Config::default()
        };
        config.fetch.allow_private_sources = true;
        adjust(&mut config);
        Self::start_with(config, dir)
    }

    /// Starts a server on an existing data folder.
    pub fn start_with(config: Config, dir: tempfile::TempDir) -> TestServer {
        let server = block_on(faceswap_server::start(config)).expect("server starts");
        TestServer {
            base: format!("http://{}", server.local_addr()),
            server,
            dir,
        }
    }

    /// The database, as `faceswap keys` opens it.
    pub fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.dir.path().join("faceswap.db")).unwrap()
    }

    /// Creates a key; returns (id, key).
    pub fn key(&self, name: &str, credits: i64, rate: Option<f64>) -> (String, String) {
        let (rec, key) = self
            .store()
            .create_key(name, credits, rate, faceswap_server::now_millis())
            .unwrap();
        (rec.id, key)
    }

    /// `(credits, reserved, spent)` of a key.
    pub fn credits(&self, id: &str) -> (i64, i64, i64) {
        let k = self.store().find_key(id).unwrap();
        (k.credits, k.reserved, k.spent)
    }

    /// POST /v1/faceswap with the token in the query.
    pub async fn swap(&self, key: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.post("/v1/faceswap", Some(key), body).await
    }

    /// POSTs JSON to `path`, with the token in the query when given; status and JSON answer.
    pub async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let query = key.map(|k| format!("?token={k}")).unwrap_or_default();
        let r = client()
            .post(format!("{}{path}{query}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// The files in the results folder.
    pub fn result_files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path().join("results"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// A client without proxies and with a generous timeout.
pub fn client() -> &'static reqwest::Client {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    C.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    })
}

/// `GET url` with the shared client; panics if the request cannot be sent.
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

/// Servers shared by the tests of this binary, started on first use.
pub fn shared(name: &'static str, adjust: fn(&mut Config)) -> &'static TestServer {
    static SERVERS: OnceLock<Mutex<HashMap<&'static str, &'static TestServer>>> = OnceLock::new();
    let map = SERVERS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(name)
        .or_insert_with(|| Box::leak(Box::new(TestServer::start(adjust))))
}

/// The photo host on 127.0.0.1 shared by the tests.
pub fn photos() -> &'static PhotoHost {
    static P: OnceLock<PhotoHost> = OnceLock::new();
    P.get_or_init(|| PhotoHost::start("127.0.0.1", None))
}

/// Checks an error answer against the contract: status, code, detail, and whether a task id is given.
pub fn assert_error(
    got: &(u16, serde_json::Value),
    status: u16,
    code: &str,
    detail: Option<&str>,
    has_task: bool,
) {
    let (s, body) = got;
    assert_eq!(*s, status, "status of {body}");
    assert_eq!(body["code"], code, "code of {body}");
    if let Some(d) = detail {
        assert_eq!(body["detail"], d, "detail of {body}");
    } else {
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
    match body.get("task_id") {
        Some(t) => {
            assert!(has_task, "unexpected task_id in {body}");
            let t = t.as_str().unwrap();
            let u = uuid::Uuid::parse_str(t).expect("task id is a UUID");
            assert_eq!(u.get_version_num(), 4, "task id is a UUID v4");
        }
        None => assert!(!has_task, "missing task_id in {body}"),
    }
}
