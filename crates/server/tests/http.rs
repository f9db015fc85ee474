//! End-to-end tests over HTTP against real servers (real face engine, real content filter) on loopback,
//! with photos served by a loopback photo host.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use faceswap_server::Config;
use serde_json::json;

const A: &str = "obama_1.jpg";
const B: &str = "portrait_m1.jpg";

fn main_server() -> &'static TestServer {
    shared("main", |_| {})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Downloads a result and checks type, decodability and size.
async fn check_result(url: &str, mime: &str, size: (u32, u32)) {
    let r = get(url).await;
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(r.headers()["content-type"], mime);
    let bytes = r.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).expect("the result decodes");
    // Every result carries the AI-content label, naming its task.
    let task_id = url.rsplit('/').next().unwrap().split('.').next().unwrap();
    let xmp = faceswap_server::label::read_xmp(&bytes).expect("the result has an XMP label");
    assert!(xmp.contains(faceswap_server::label::TC260_NS), "{xmp}");
    assert!(xmp.contains(task_id), "{xmp}");
    assert!(
        xmp.contains("&quot;ContentProducer&quot;:&quot;faceswap&quot;"),
        "{xmp}"
    );
    assert_eq!(
        (img.width(), img.height()),
        size,
        "the result has the template's size"
    );
}

fn template_size(name: &str) -> (u32, u32) {
    let bytes = face(name);
    let img = faceswap_engine::decode(
        &bytes,
        faceswap_engine::Role::Template,
        &faceswap_engine::PhotoLimits::TEMPLATE,
    )
    .unwrap();
    img.dimensions()
}

#[test]
fn success_by_urls_base64_and_mixed() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("success", 10, Some(0.0));
    let size = template_size(B);
    block_on(async {
        // Both URLs.
        let (st, body) = s
            .swap(&key, json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))}))
            .await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["code"], "success");
        let task_id = body["task_id"].as_str().unwrap().to_string();
        let url = body["image_url"].as_str().unwrap();
        assert_eq!(url, format!("{}/v1/results/{task_id}.jpeg", s.base));
        assert!(body.get("image_base64").is_none());
        check_result(url, "image/jpeg", size).await;

        // Both base64: a data: prefix and line breaks on one, URL-safe without padding on the other.
        let wrapped: String = b64(&face(A))
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(face(B));
        let (st, body) = s
            .swap(&key, json!({"image_base64": format!("data:image/jpeg;base64,{wrapped}"), "template_base64": url_safe,
                "output_format": "png", "return_base64": true}))
            .await;
        assert_eq!(st, 200, "{body}");
        let url = body["image_url"].as_str().unwrap();
        assert!(url.ends_with(".png"));
        check_result(url, "image/png", size).await;
        let inline = base64::engine::general_purpose::STANDARD
            .decode(body["image_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(image::load_from_memory(&inline).unwrap().width(), size.0);

        // Mixed, with the optional fields, and the Bearer header instead of the query.
        let r = client()
            .post(format!("{}/v1/faceswap", s.base))
            .bearer_auth(&key)
            .json(&json!({"image_base64": b64(&face(A)), "template_url": p.url(&format!("/faces/{B}")),
                "degree": 60, "template_face": 0, "output_format": "webp", "unknown_field": [1, 2]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        let mixed_task = body["task_id"].as_str().unwrap().to_string();
        check_result(body["image_url"].as_str().unwrap(), "image/webp", size).await;

        // The task, for its key; not for another key.
        let r = get(format!("{}/v1/tasks/{mixed_task}?token={key}", s.base)).await;
        assert_eq!(r.status(), 200);
        let t: serde_json::Value = r.json().await.unwrap();
        assert_eq!(t["status"], "done");
        assert_eq!(t["code"], "success");
        assert!(t["image_url"].as_str().unwrap().ends_with(".webp"));
        assert!(t["expires_at"].as_str().is_some());
        let (_, other) = s.key("success-other", 1, None);
        let r = get(format!("{}/v1/tasks/{mixed_task}?token={other}", s.base)).await;
        assert_eq!(r.status(), 404);
        let r = get(format!("{}/v1/tasks/{mixed_task}", s.base)).await;
        assert_eq!(r.status(), 401);

        // Unknown result names are 404.
        for bad in [
            "nope.jpeg",
            &format!("{task_id}.png"),
            &format!("{}.jpeg", uuid::Uuid::new_v4()),
        ] {
            let r = get(format!("{}/v1/results/{bad}", s.base)).await;
            assert_eq!(r.status(), 404, "{bad}");
        }
    });
    assert_eq!(s.credits(&id), (7, 0, 3), "three credits spent");
    // The token never reaches the logs; the key id does.
    let logs = logs();
    assert!(!logs.contains(&key), "the token was logged");
    assert!(logs.contains(&id));
}

#[test]
fn every_error_code_with_status_detail_and_task_id() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("errors", 100, Some(0.0));
    let face_url = |n: &str| p.url(&format!("/faces/{n}"));
    let with =
        |image: String, template: String| json!({"image_url": image, "template_url": template});
    block_on(async {
        // 401 no_token: no query, an empty token.
        for url in [
            format!("{}/v1/faceswap", s.base),
            format!("{}/v1/faceswap?token=", s.base),
        ] {
            let r = client().post(url).json(&json!({})).send().await.unwrap();
            let got = (r.status().as_u16(), r.json().await.unwrap());
            assert_error(
                &got,
                401,
                "no_token",
                Some("No token specified in url query."),
                false,
            );
        }
        // 403 invalid_api_key: unknown and revoked keys, checked before the body.
        let got = s.swap("fsk_not_a_key", json!("garbage")).await;
        assert_error(
            &got,
            403,
            "invalid_api_key",
            Some("You provide an invalid Image API key."),
            false,
        );
        let (_, revoked) = s.key("errors-revoked", 5, None);
        s.store().revoke("errors-revoked").unwrap();
        let got = s.swap(&revoked, with(face_url(A), face_url(B))).await;
        assert_error(
            &got,
            403,
            "invalid_api_key",
            Some("You provide an invalid Image API key."),
            false,
        );

        // 401 invalid_post, naming the field.
        let cases = [
            (
                json!({"template_url": face_url(B)}),
                "Your image_url is empty.",
            ),
            (
                json!({"image_url": "", "template_url": face_url(B)}),
                "Your image_url is empty.",
            ),
            (
                json!({"image_url": face_url(A)}),
                "Your template_url is empty.",
            ),
            (
                json!({"image_url": face_url(A), "image_base64": "AAAA", "template_url": face_url(B)}),
                "Give only one of image_url and image_base64.",
            ),
            (
                json!({"image_url": face_url(A), "template_url": face_url(B), "degree": 101}),
                "Your degree must be an integer from 0 to 100.",
            ),
            (
                json!({"image_url": face_url(A), "template_url": face_url(B), "quality": "high"}),
                "Your quality must be an integer from 1 to 100.",
            ),
            (
                json!({"image_url": face_url(A), "template_url": face_url(B), "output_format": "gif"}),
                "Your output_format must be one of jpeg, png, webp.",
            ),
            (
                json!({"image_url": 42, "template_url": face_url(B)}),
                "Your image_url must be a string.",
            ),
            (
                json!({"image_url": "file:///etc/passwd", "template_url": face_url(B)}),
                "Your image_url is not a valid http or https URL.",
            ),
            (json!([1, 2, 3]), "Your request body is not a JSON object."),
        ];
        for (body, detail) in cases {
            let got = s.swap(&key, body).await;
            assert_error(&got, 401, "invalid_post", Some(detail), false);
        }
        let r = client()
            .post(format!("{}/v1/faceswap?token={key}", s.base))
            .body("{not json")
            .send()
            .await
            .unwrap();
        let got = (r.status().as_u16(), r.json().await.unwrap());
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your request body is not a JSON object."),
            false,
        );

        // 402 invalid_input_image.
        let invalid = "get input image error.";
        for body in [
            with(p.url("/page.html"), face_url(B)),
            with(face_url(A), p.url("/missing.jpg")),
            with(p.url("/chain/3"), face_url(B)), // four redirects: one too many
            with("http://127.0.0.1:9/nothing-listens.jpg".into(), face_url(B)),
            json!({"image_base64": "!!!not base64!!!", "template_url": face_url(B)}),
            json!({"image_base64": b64(b"hello, not an image"), "template_url": face_url(B)}),
        ] {
            let got = s.swap(&key, body.clone()).await;
            assert_error(&got, 402, "invalid_input_image", Some(invalid), true);
        }
        // Redirects within the limit (three) are followed.
        let (st, body) = s.swap(&key, with(p.url("/chain/2"), face_url(B))).await;
        assert_eq!(st, 200, "{body}");
        let (st, body) = s
            .swap(&key, with(p.url("/redirect-relative"), face_url(B)))
            .await;
        assert_eq!(st, 200, "{body}");

        // 402 image_size_limited: declared, streamed, header-claimed pixels, inline, whole body.
        let limited = "Image size exceeds the maximum allowed size.";
        for body in [
            with(p.url("/big-declared"), face_url(B)),
            with(face_url(A), p.url("/big-streamed")),
            with(p.url("/bomb.png"), face_url(B)),
            json!({"image_base64": b64(&vec![7u8; 5 * 1024 * 1024 + 10]), "template_url": face_url(B)}),
        ] {
            let got = s.swap(&key, body).await;
            assert_error(&got, 402, "image_size_limited", Some(limited), true);
        }
        let huge =
            json!({"image_base64": "A".repeat(17 * 1024 * 1024), "template_url": face_url(B)});
        let got = s.swap(&key, huge).await;
        assert_error(&got, 402, "image_size_limited", Some(limited), true);

        // 402 no_face_detected, for each photo.
        let got = s
            .swap(&key, with(face_url("noface_horses.jpg"), face_url(B)))
            .await;
        assert_error(
            &got,
            402,
            "no_face_detected",
            Some("no face detected in image."),
            true,
        );
        let got = s
            .swap(&key, with(face_url(A), face_url("noface_horses.jpg")))
            .await;
        assert_error(
            &got,
            402,
            "no_face_detected",
            Some("no face detected in template."),
            true,
        );

        // 402 false: a template face that does not exist.
        let mut body = with(face_url(A), face_url(B));
        body["template_face"] = json!(7);
        let got = s.swap(&key, body).await;
        assert_error(&got, 402, "false", None, true);
        assert!(
            got.1["detail"].as_str().unwrap().contains("template_face"),
            "{}",
            got.1
        );

        // The failed task is reported, with its code.
        let task_id = got.1["task_id"].as_str().unwrap();
        let r = get(format!("{}/v1/tasks/{task_id}?token={key}", s.base)).await;
        let t: serde_json::Value = r.json().await.unwrap();
        assert_eq!(t["status"], "failed");
        assert_eq!(t["code"], "false");

        // 403 used_up: no task id.
        let (_, empty) = s.key("errors-empty", 0, Some(0.0));
        let got = s.swap(&empty, with(face_url(A), face_url(B))).await;
        assert_error(
            &got,
            403,
            "used_up",
            Some("Your account does not have enough credits, please recharge."),
            false,
        );
    });
    // Failures cost nothing: only the two redirect successes were charged.
    assert_eq!(s.credits(&id), (98, 0, 2));
}

#[test]
fn rate_limit_refuses_with_a_task_id_and_costs_nothing() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("rate", 10, None); // the default: one request per second
    let body = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))});
    block_on(async {
        let (a, b) = tokio::join!(s.swap(&key, body.clone()), s.swap(&key, body.clone()));
        let (ok, limited) = if a.0 == 200 { (a, b) } else { (b, a) };
        assert_eq!(ok.0, 200, "{}", ok.1);
        assert_error(
            &limited,
            402,
            "request_rate_limit",
            Some("Request rate limit, once per second."),
            true,
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (st, body) = s.swap(&key, body).await;
        assert_eq!(st, 200, "{body}");
    });
    assert_eq!(s.credits(&id), (8, 0, 2));
}

#[test]
fn fifty_concurrent_requests_for_ten_credits_give_exactly_ten_results() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("race", 10, Some(0.0));
    let body = json!({"image_url": p.url("/faces/hanks_112.png"), "template_url": p.url(&format!("/faces/{B}"))});
    let statuses: Vec<(u16, serde_json::Value)> = block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let body = body.clone();
                let key = key.clone();
                tokio::spawn(async move { main_server().swap(&key, body).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let ok = statuses.iter().filter(|(s, _)| *s == 200).count();
    let used_up = statuses
        .iter()
        .filter(|(s, b)| *s == 403 && b["code"] == "used_up")
        .count();
    assert_eq!(ok, 10, "{statuses:?}");
    assert_eq!(used_up, 40, "{statuses:?}");
    assert_eq!(s.credits(&id), (0, 0, 10));
}

#[test]
fn content_filter_refuses_with_a_task_id_when_configured() {
    let p = photos();
    let body = json!({"image_url": p.url("/faces/portrait_f1.jpg"), "template_url": p.url(&format!("/faces/{B}"))});
    // Default configuration: portrait_f1 is fine.
    let s = main_server();
    let (_, key) = s.key("filter-default", 5, Some(0.0));
    let (st, got) = block_on(s.swap(&key, body.clone()));
    assert_eq!(st, 200, "{got}");
    // FACE_FEMALE counted as sensitive: forbidden, with the label and score kept for the operator.
    let strict = shared("strict", |c| {
        c.workers = 1;
        c.moderation.labels = Some("FACE_FEMALE".into());
    });
    let (id, key) = strict.key("filter-strict", 5, Some(0.0));
    let got = block_on(strict.swap(&key, body.clone()));
    assert_error(
        &got,
        402,
        "forbidden",
        Some("input image contain sensitive contents."),
        true,
    );
    // Again, from the photo cache: the verdict of this configuration is kept, and holds.
    let again = block_on(strict.swap(&key, body));
    assert_error(
        &again,
        402,
        "forbidden",
        Some("input image contain sensitive contents."),
        true,
    );
    let task = strict
        .store()
        .task_sync(got.1["task_id"].as_str().unwrap())
        .unwrap()
        .unwrap();
    let note = task.moderation.expect("label and score recorded");
    assert_eq!(note.photo, "image");
    assert_eq!(note.label, "FACE_FEMALE");
    assert!(note.score >= 0.5);
    assert!(
        !got.1.to_string().contains("FACE_FEMALE"),
        "never told to the customer"
    );
    assert_eq!(strict.credits(&id), (5, 0, 0));
}

fn ssrf_server() -> &'static TestServer {
    shared("ssrf", |c| {
        c.workers = 1;
        c.moderation.enabled = false;
        c.fetch.allow_private_sources = false;
        // Only the redirecting host below is trusted: what it redirects to is checked anew.
        c.fetch.allowed_networks = vec!["127.0.0.2/32".parse().unwrap()];
    })
}

#[test]
fn private_destinations_are_refused_without_connecting() {
    let s = ssrf_server();
    let loopback = PhotoHost::start("127.0.0.1", None); // its own, to count its connections
    let trusted = PhotoHost::start("127.0.0.2", Some(loopback.url("/faces/obama_1.jpg")));
    let port = loopback.base.rsplit(':').next().unwrap().to_string();
    let (id, key) = s.key("ssrf", 50, Some(0.0));
    let template = trusted.url(&format!("/faces/{B}"));
    let sources = [
        format!("http://127.0.0.1:{port}/faces/{A}"),
        "http://10.0.0.1/a.jpg".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!("http://[::1]:{port}/faces/{A}"),
        format!("http://[::ffff:127.0.0.1]:{port}/faces/{A}"),
        format!("http://localhost:{port}/faces/{A}"),
        format!("http://2130706433:{port}/faces/{A}"),
        trusted.url("/redirect"),
    ];
    block_on(async {
        for src in &sources {
            let t0 = std::time::Instant::now();
            let got = s
                .swap(&key, json!({"image_url": src, "template_url": template}))
                .await;
            assert_error(
                &got,
                402,
                "invalid_input_image",
                Some("get input image error."),
                true,
            );
            // Refused before connecting: no connect timeout was waited for.
            assert!(
                t0.elapsed() < Duration::from_secs(3),
                "{src} took {:?}",
                t0.elapsed()
            );
        }
        // The trusted host itself works, so the refusals above are the address checks.
        let (st, body) = s
            .swap(
                &key,
                json!({"image_url": trusted.url(&format!("/faces/{A}")), "template_url": template}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    });
    assert!(
        loopback.hits().is_empty(),
        "nothing may reach the loopback host: {:?}",
        loopback.hits()
    );
    assert!(trusted.hits().iter().any(|h| h == "/redirect"));
    assert_eq!(s.credits(&id), (49, 0, 1));
}

#[test]
fn results_expire_and_are_deleted() {
    let s = shared("short", |c| {
        c.workers = 1;
        c.moderation.enabled = false;
        c.retention = Duration::from_secs(2);
        c.sweep_interval = Duration::from_millis(200);
    });
    let p = photos();
    let (_, key) = s.key("expiry", 5, Some(0.0));
    block_on(async {
        let (st, body) = s
            .swap(&key, json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))}))
            .await;
        assert_eq!(st, 200, "{body}");
        let url = body["image_url"].as_str().unwrap().to_string();
        let task_id = body["task_id"].as_str().unwrap().to_string();
        assert_eq!(get(&url).await.status(), 200);
        assert!(s.result_files().iter().any(|f| f.starts_with(&task_id)));
        tokio::time::sleep(Duration::from_millis(3000)).await;
        assert_eq!(get(&url).await.status(), 404);
        let r = get(format!("{}/v1/tasks/{task_id}?token={key}", s.base)).await;
        assert_eq!(r.status(), 404);
        assert!(
            !s.result_files().iter().any(|f| f.starts_with(&task_id)),
            "the file is deleted"
        );
        assert!(
            s.store().task_sync(&task_id).unwrap().is_none(),
            "the row is deleted"
        );
    });
}

#[test]
fn a_full_queue_fails_fast_and_recovers() {
    let s = shared("busy", |c| {
        c.workers = 1;
        c.queue = 0;
        c.moderation.enabled = false;
    });
    let p = photos();
    let (id, key) = s.key("busy", 20, Some(0.0));
    let body = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))});
    let results: Vec<(u16, serde_json::Value)> = block_on(async {
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (body, key) = (body.clone(), key.clone());
                tokio::spawn(async move { shared("busy", |_| {}).swap(&key, body).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let busy: Vec<_> = results.iter().filter(|r| r.0 == 402).collect();
    assert!(ok >= 1, "{results:?}");
    assert!(!busy.is_empty(), "{results:?}");
    for b in &busy {
        assert_error(b, 402, "false", Some("server busy, try again"), true);
    }
    assert_eq!(ok + busy.len(), 6);
    assert_eq!(s.credits(&id), (20 - ok as i64, 0, ok as i64));
    // And it recovers by itself.
    let (st, got) = block_on(s.swap(&key, body));
    assert_eq!(st, 200, "{got}");
}

#[test]
fn startup_releases_reservations_and_removes_orphans() {
    use faceswap_server::store::{SqliteStore, Success};
    let dir = tempfile::tempdir().unwrap();
    let paid = uuid::Uuid::new_v4().to_string();
    let crashed = uuid::Uuid::new_v4().to_string();
    let key_id = {
        let store = SqliteStore::open(&dir.path().join("faceswap.db")).unwrap();
        let (k, _) = store.create_key("crash", 3, None, 0).unwrap();
        std::fs::create_dir_all(dir.path().join("results")).unwrap();
        // A paid result, and a request that crashed after writing its result but before committing.
        assert!(store.reserve_sync(&k.id, &paid, 0).unwrap());
        assert!(store.reserve_sync(&k.id, &crashed, 0).unwrap());
        std::fs::write(dir.path().join(format!("results/{paid}.jpeg")), face(A)).unwrap();
        std::fs::write(
            dir.path().join(format!("results/{crashed}.jpeg")),
            b"partial",
        )
        .unwrap();
        std::fs::write(dir.path().join("results/stray.png"), b"x").unwrap();
        let far = faceswap_server::now_millis() + 3_600_000;
        let ok = Success {
            ext: "jpeg".into(),
            mime: "image/jpeg".into(),
            finished_at: 0,
            expires_at: far,
            quality: None,
        };
        assert!(store.commit_sync(&paid, &ok).unwrap());
        k.id
    };
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        workers: 1,
        moderation: faceswap_server::ModerationSettings::default(),
        ..Config::default()
    };
    let second = Config {
        data_dir: dir.path().to_path_buf(),
        ..config.clone()
    };
    let s = TestServer::start_with(config, dir);
    let refused = block_on(faceswap_server::start(second))
        .err()
        .expect("one server per data folder");
    assert!(
        refused.to_string().contains("another faceswap server"),
        "{refused}"
    );
    assert_eq!(
        s.credits(&key_id),
        (2, 0, 1),
        "the crashed request's credit is back"
    );
    assert_eq!(
        s.result_files(),
        vec![format!("{paid}.jpeg")],
        "the paid result is kept, orphans go"
    );
    let crashed_task = s.store().task_sync(&crashed).unwrap().unwrap();
    assert_eq!(
        crashed_task.status,
        faceswap_server::store::TaskStatus::Failed
    );
    block_on(async {
        let r = get(format!("{}/v1/results/{paid}.jpeg", s.base)).await;
        assert_eq!(r.status(), 200);
    });
}

#[test]
fn health_readiness_metrics_and_openapi() {
    let s = main_server();
    block_on(async {
        let r = get(format!("{}/healthz", s.base)).await;
        assert_eq!(r.status(), 200);
        let r = get(format!("{}/readyz", s.base)).await;
        assert_eq!(r.status(), 200);
        let ready: serde_json::Value = r.json().await.unwrap();
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["workers_ready"], 2);
        let r = get(format!("{}/metrics", s.base)).await;
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = r.text().await.unwrap();
        for needle in [
            "faceswap_responses_total{code=\"success\"}",
            "faceswap_stage_seconds_bucket{stage=\"fuse\",le=\"+Inf\"}",
            "faceswap_queue_depth",
            "faceswap_credits_spent_total",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        let r = get(format!("{}/openapi.json", s.base)).await;
        let doc: serde_json::Value = r.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/v1/faceswap"]["post"].is_object());
        // The additions are described too.
        assert!(doc["paths"]["/v1/detect"]["post"].is_object());
        assert!(doc["paths"]["/v1/results/{file}"]["delete"].is_object());
        assert!(doc["paths"]["/admin/results/{task_id}"]["delete"].is_object());
        assert_eq!(
            doc["paths"]["/v1/faceswap"]["post"]["parameters"][0]["name"],
            "Idempotency-Key"
        );
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["FaceswapSuccess"]["properties"]["quality"].is_object());
        assert!(schemas["Task"]["properties"]["quality"].is_object());
        assert!(schemas["FaceswapRequest"]["properties"]["label"].is_object());
        assert!(schemas["FaceswapRequest"]["properties"]["faces"].is_object());
        assert!(schemas["FaceswapSuccess"]["properties"]["faces"].is_object());
        for field in ["source_covered", "mouths", "warnings", "sharpness_ratio"] {
            assert!(
                schemas["Quality"]["properties"][field].is_object(),
                "{field}"
            );
        }
        // The page.
        let r = get(format!("{}/", s.base)).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("/v1/detect"));
        let r = get(format!("{}/no/such/route", s.base)).await;
        assert_eq!(r.status(), 404);
    });
}

/// The `faceswap_photo_cache_hits_total` counter of a server.
async fn photo_cache_hits(s: &TestServer) -> u64 {
    let text = get(format!("{}/metrics", s.base))
        .await
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("faceswap_photo_cache_hits_total "))
        .expect("the photo cache's hits are in /metrics")
        .parse()
        .unwrap()
}

#[test]
fn a_repeated_pair_is_served_from_the_photo_cache_with_the_same_result() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("photo-cache", 5, Some(0.0));
    // A pair no other test sends, so that the first request is a miss for both photos.
    let body = json!({"image_url": p.url("/faces/kit_3.jpg"), "template_url": p.url("/faces/rose_2.jpg"),
        "output_format": "png"});
    block_on(async {
        let mut results = Vec::new();
        let before = photo_cache_hits(s).await;
        for _ in 0..2 {
            let (st, got) = s.swap(&key, body.clone()).await;
            assert_eq!(st, 200, "{got}");
            let r = get(got["image_url"].as_str().unwrap()).await;
            // Pixels: the metadata label names each task.
            let bytes = r.bytes().await.unwrap();
            results.push(image::load_from_memory(&bytes).unwrap().to_rgb8());
        }
        let hits = photo_cache_hits(s).await - before;
        assert!(
            hits >= 2,
            "both photos of the repeat were cached: {hits} hits"
        );
        assert_eq!(results[0], results[1], "the same result from the cache");
    });
    assert_eq!(s.credits(&id), (3, 0, 2), "each fusion paid for");
}

#[test]
fn the_answer_and_the_task_carry_the_quality_report_and_a_result_can_be_deleted_at_once() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("quality-delete", 5, Some(0.0));
    let (_, other) = s.key("quality-delete-other", 1, None);
    block_on(async {
        let (st, body) = s
            .swap(&key, json!({"image_url": p.url("/faces/obama_2.jpg"), "template_url": p.url(&format!("/faces/{B}"))}))
            .await;
        assert_eq!(st, 200, "{body}");
        let q = &body["quality"];
        for field in [
            "pose_difference",
            "source_covered",
            "mouths",
            "light_strength",
            "sharpness_ratio",
            "face_width",
            "warnings",
        ] {
            assert!(!q[field].is_null(), "quality.{field} in {q}");
        }
        let task_id = body["task_id"].as_str().unwrap().to_string();
        let url = body["image_url"].as_str().unwrap().to_string();
        let t: serde_json::Value = get(format!("{}/v1/tasks/{task_id}?token={key}", s.base))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(&t["quality"], q, "the task has the same report");

        let delete = |token: &str, what: &str| {
            client()
                .delete(format!("{}/v1/results/{what}", s.base))
                .bearer_auth(token)
                .send()
        };
        // Another key's result, an unknown task, a malformed id: not found, nothing deleted.
        let r = delete(&other, &task_id).await.unwrap();
        assert_eq!(r.status(), 404);
        for bad in [uuid::Uuid::new_v4().to_string(), "nope".to_string()] {
            assert_eq!(delete(&key, &bad).await.unwrap().status(), 404, "{bad}");
        }
        let r = client()
            .delete(format!("{}/v1/results/{task_id}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "no key");
        assert_eq!(get(&url).await.status(), 200, "still there");
        // Its key deletes it (by task id, or by the file name of its URL): gone at once.
        let file = url.rsplit('/').next().unwrap().to_string();
        let r = delete(&key, &file).await.unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["deleted"], true);
        assert_eq!(v["task_id"], task_id.as_str());
        assert_eq!(get(&url).await.status(), 404);
        let r = get(format!("{}/v1/tasks/{task_id}?token={key}", s.base)).await;
        assert_eq!(r.status(), 404);
        assert!(!s.result_files().iter().any(|f| f.starts_with(&task_id)));
        assert_eq!(
            delete(&key, &task_id).await.unwrap().status(),
            404,
            "only once"
        );
    });
    assert_eq!(
        s.credits(&id),
        (4, 0, 1),
        "the deletion gives no credit back"
    );
}

#[test]
fn detect_lists_every_face_largest_first_and_costs_no_credit() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("detect", 2, Some(0.0));
    block_on(async {
        let (st, v) = s
            .post(
                "/v1/detect",
                Some(&key),
                json!({"image_url": p.url("/faces/group_t1.jpg")}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["code"], "success");
        let faces = v["faces"].as_array().unwrap();
        assert!(faces.len() >= 5, "{v}");
        let (w, h) = template_size("group_t1.jpg");
        assert_eq!(
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()),
            (w as u64, h as u64)
        );
        let mut last = f64::MAX;
        for (i, f) in faces.iter().enumerate() {
            assert_eq!(f["id"], i);
            let size = f["size"].as_f64().unwrap();
            assert!(size <= last + 1.0, "largest first: {v}");
            last = size;
            let b = &f["box"];
            let (x, y, bw, bh) = ["x", "y", "w", "h"].map(|k| b[k].as_f64().unwrap()).into();
            for pt in f["landmarks"].as_array().unwrap() {
                let (px, py) = (pt[0].as_f64().unwrap(), pt[1].as_f64().unwrap());
                assert!(
                    px >= x - 0.2 * bw
                        && px <= x + 1.2 * bw
                        && py >= y - 0.2 * bh
                        && py <= y + 1.2 * bh,
                    "{f}"
                );
            }
            for k in ["yaw", "pitch", "roll", "score"] {
                assert!(f[k].is_number(), "{k} in {f}");
            }
            assert!(f["usable"].is_boolean());
        }
        // The same photo inline gives the same faces (ids are stable).
        let (_, again) = s
            .post(
                "/v1/detect",
                Some(&key),
                json!({"image_base64": b64(&face("group_t1.jpg"))}),
            )
            .await;
        assert_eq!(again["faces"], v["faces"]);
        // A photo without faces: an empty list.
        let (st, none) = s
            .post(
                "/v1/detect",
                Some(&key),
                json!({"image_url": p.url("/faces/noface_horses.jpg")}),
            )
            .await;
        assert_eq!(st, 200);
        assert_eq!(none["faces"], json!([]));
        // Bad input answers with the API's codes.
        let got = s.post("/v1/detect", Some(&key), json!({})).await;
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your image_url is empty."),
            false,
        );
        let got = s
            .post(
                "/v1/detect",
                Some(&key),
                json!({"image_base64": "bm90IGEgcGhvdG8="}),
            )
            .await;
        assert_error(
            &got,
            402,
            "invalid_input_image",
            Some("get input image error."),
            true,
        );
        let got = s
            .post(
                "/v1/detect",
                None,
                json!({"image_url": p.url("/faces/group_t1.jpg")}),
            )
            .await;
        assert_eq!(got.0, 401);
        assert_eq!(got.1["code"], "no_token");
    });
    assert_eq!(s.credits(&id), (2, 0, 0), "detection costs no credit");
}

#[test]
fn a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_pays_once() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("idempotent", 5, Some(0.0));
    let body = json!({"image_url": p.url("/faces/obama_3.jpg"), "template_url": p.url(&format!("/faces/{B}"))});
    let post = |idem: &str, body: &serde_json::Value| {
        client()
            .post(format!("{}/v1/faceswap", s.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", idem)
            .json(body)
            .send()
    };
    let json_of = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap())
    };
    block_on(async {
        // Two at once, then one later: one fusion, one answer.
        let (a, b) = tokio::join!(post("retry-1", &body), post("retry-1", &body));
        let (a, b) = (json_of(a.unwrap()).await, json_of(b.unwrap()).await);
        assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
        assert_eq!(a.1["task_id"], b.1["task_id"]);
        assert_eq!(a.1["image_url"], b.1["image_url"]);
        let mut with_inline = body.clone();
        with_inline["return_base64"] = json!(true);
        // The body differs (return_base64): that is another request.
        let other = json_of(post("retry-1", &with_inline).await.unwrap()).await;
        assert_error(
            &other,
            401,
            "invalid_post",
            Some("Your Idempotency-Key was already used with another request body."),
            false,
        );
        let later = json_of(post("retry-1", &body).await.unwrap()).await;
        assert_eq!(later.1["task_id"], a.1["task_id"]);
        assert_eq!(
            get(later.1["image_url"].as_str().unwrap()).await.status(),
            200
        );
        // Another idempotency key is another fusion.
        let fresh = json_of(post("retry-2", &body).await.unwrap()).await;
        assert_eq!(fresh.0, 200);
        assert_ne!(fresh.1["task_id"], a.1["task_id"]);
        // A failure is not remembered: the retry runs again (and both cost nothing).
        let faceless = json!({"image_url": p.url("/faces/noface_horses.jpg"), "template_url": p.url(&format!("/faces/{B}"))});
        let first = json_of(post("retry-3", &faceless).await.unwrap()).await;
        let second = json_of(post("retry-3", &faceless).await.unwrap()).await;
        assert_eq!((first.0, second.0), (402, 402));
        assert_ne!(first.1["task_id"], second.1["task_id"]);
        // A malformed key.
        let bad = json_of(post(&"x".repeat(300), &body).await.unwrap()).await;
        assert_eq!(bad.1["code"], "invalid_post");
    });
    assert_eq!(
        s.credits(&id),
        (3, 0, 2),
        "one credit per idempotency key that succeeded"
    );
}

#[test]
fn several_faces_of_a_group_photo_are_fused_in_one_request_for_one_credit() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("several-faces", 5, Some(0.0));
    let group = "group_t1.jpg";
    // Decoded as the server decodes it (libjpeg), so untouched pixels compare equal.
    let template = faceswap_engine::decode(
        &face(group),
        faceswap_engine::Role::Template,
        &faceswap_engine::PhotoLimits::TEMPLATE,
    )
    .unwrap();
    block_on(async {
        let (_, faces) = s
            .post(
                "/v1/detect",
                Some(&key),
                json!({"image_url": p.url(&format!("/faces/{group}"))}),
            )
            .await;
        let boxes = faces["faces"].as_array().unwrap().clone();
        assert!(boxes.len() >= 3);
        let body = json!({"template_url": p.url(&format!("/faces/{group}")), "output_format": "png", "faces": [
            {"template_face": 0, "image_url": p.url("/faces/obama_1.jpg")},
            {"template_face": 2, "image_base64": b64(&face("rose_1.jpg"))}]});
        let (st, got) = s.swap(&key, body).await;
        assert_eq!(st, 200, "{got}");
        let per_face = got["faces"].as_array().expect("a report per face");
        assert_eq!(per_face.len(), 2);
        assert_eq!(per_face[1]["template_face"], 2);
        assert!(per_face[1]["quality"]["warnings"].is_array());
        let bytes = get(got["image_url"].as_str().unwrap())
            .await
            .bytes()
            .await
            .unwrap();
        let out = image::load_from_memory(&bytes).unwrap().to_rgb8();
        // Faces 0 and 2 changed, face 1 did not.
        let changed_in = |k: usize| {
            let b = &boxes[k]["box"];
            let [x, y, w, h] = ["x", "y", "w", "h"].map(|f| b[f].as_f64().unwrap() as u32);
            let mut n = 0;
            for yy in y + h / 4..y + 3 * h / 4 {
                for xx in x + w / 4..x + 3 * w / 4 {
                    n += (out.get_pixel(xx, yy) != template.get_pixel(xx, yy)) as u32;
                }
            }
            n as f64 / ((w / 2) * (h / 2)).max(1) as f64
        };
        assert!(changed_in(0) > 0.3, "face 0: {}", changed_in(0));
        assert!(changed_in(2) > 0.3, "face 2: {}", changed_in(2));
        assert!(changed_in(1) < 0.05, "face 1 untouched: {}", changed_in(1));

        // Bad input: seven faces, a face twice, a face that does not exist, both forms at once.
        let entry =
            |k: usize| json!({"template_face": k, "image_url": p.url("/faces/obama_1.jpg")});
        let with = |faces: serde_json::Value| json!({"template_url": p.url(&format!("/faces/{group}")), "faces": faces});
        let got = s
            .swap(&key, with(json!((0..7).map(entry).collect::<Vec<_>>())))
            .await;
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your faces must list 1 to 6 faces."),
            false,
        );
        let got = s.swap(&key, with(json!([entry(1), entry(1)]))).await;
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your faces name template face 1 more than once."),
            false,
        );
        let got = s.swap(&key, with(json!([entry(0), entry(40)]))).await;
        assert_eq!(
            (got.0, got.1["code"].as_str()),
            (402, Some("false")),
            "{}",
            got.1
        );
        assert!(
            got.1["detail"]
                .as_str()
                .unwrap()
                .starts_with("template_face:"),
            "{}",
            got.1
        );
        let mut both = with(json!([entry(0)]));
        both["image_url"] = json!(p.url("/faces/obama_1.jpg"));
        let got = s.swap(&key, both).await;
        assert_eq!(got.1["code"], "invalid_post");
    });
    assert_eq!(
        s.credits(&id),
        (4, 0, 1),
        "one credit for the request, none for the refusals"
    );
}

#[test]
fn internal_faults_answer_500_unknown_and_refund() {
    let s = TestServer::start(|c| {
        c.workers = 1;
        c.moderation.enabled = false;
    });
    let p = photos();
    let (id, key) = s.key("fault", 5, Some(0.0));
    let body = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))});
    let results = s.dir.path().join("results");
    std::fs::remove_dir_all(&results).unwrap(); // storage breaks under the running server
    block_on(async {
        let got = s.swap(&key, body.clone()).await;
        assert_error(
            &got,
            500,
            "unknown",
            Some("Image's server failure occurred, please contact the administrator"),
            false,
        );
        let r = get(format!("{}/readyz", s.base)).await;
        assert_eq!(r.status(), 503);
        std::fs::create_dir_all(&results).unwrap();
        let (st, got) = s.swap(&key, body).await;
        assert_eq!(st, 200, "{got}");
        let r = get(format!("{}/readyz", s.base)).await;
        assert_eq!(r.status(), 200);
    });
    assert_eq!(s.credits(&id), (4, 0, 1), "the failed request was refunded");
}

/// A server with the admin API on, no content filter, and a visible label that requests may
/// switch off.
fn admin_server() -> &'static TestServer {
    shared("admin", |c| {
        c.workers = 1;
        c.moderation.enabled = false;
        c.admin_token = Some("admin-secret".into());
        c.visible_label = Some(faceswap_server::VisibleLabelSettings {
            optional: true,
            ..Default::default()
        });
    })
}

#[test]
fn results_carry_a_visible_label_that_only_an_operator_lets_requests_switch_off() {
    let p = photos();
    let body = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}")),
        "output_format": "png"});
    let pixels = |url: String| async move {
        let bytes = get(url).await.bytes().await.unwrap();
        image::load_from_memory(&bytes).unwrap().to_rgb8()
    };
    let main = main_server();
    let (_, key) = main.key("visible-label", 3, Some(0.0));
    let s = admin_server();
    let (_, optional_key) = s.key("visible-label-optional", 3, Some(0.0));
    block_on(async {
        let (st, got) = main.swap(&key, body.clone()).await;
        assert_eq!(st, 200, "{got}");
        let labelled = pixels(got["image_url"].as_str().unwrap().into()).await;
        let mut off = body.clone();
        off["label"] = json!(false);
        let got = main.swap(&key, off.clone()).await;
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your label cannot be switched off on this server."),
            false,
        );

        let (st, got) = s.swap(&optional_key, off).await;
        assert_eq!(st, 200, "{got}");
        let unlabelled = pixels(got["image_url"].as_str().unwrap().into()).await;
        // The same fusion; the label is all that differs, in the bottom-right corner.
        let (w, h) = labelled.dimensions();
        let (mut inside, mut outside) = (0, 0);
        for (x, y, px) in labelled.enumerate_pixels() {
            if px != unlabelled.get_pixel(x, y) {
                if x >= w / 2 && y >= h - h / 6 {
                    inside += 1;
                } else {
                    outside += 1;
                }
            }
        }
        assert!(inside > 500, "the label is drawn: {inside} pixels");
        assert_eq!(outside, 0, "nothing else differs");
    });
}

#[test]
fn admin_api_manages_keys_when_enabled() {
    let s = admin_server();
    let main = main_server();
    block_on(async {
        let admin = |path: &str| client().post(format!("{}{path}", s.base));
        let r = admin("/admin/keys")
            .json(&json!({"name": "a", "credits": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = admin("/admin/keys")
            .bearer_auth("wrong")
            .json(&json!({"name": "a", "credits": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = admin("/admin/keys")
            .bearer_auth("admin-secret")
            .json(&json!({"name": "by-admin", "credits": 3, "rate": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let created: serde_json::Value = r.json().await.unwrap();
        let key = created["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("fsk_"));
        assert_eq!(created["record"]["credits"], 3);
        // The key works (it gets past the key check to the body check).
        let got = s.swap(&key, json!({})).await;
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your image_url is empty."),
            false,
        );
        let r = admin("/admin/keys/by-admin/credits")
            .bearer_auth("admin-secret")
            .json(&json!({"credits": 4}))
            .send()
            .await
            .unwrap();
        let rec: serde_json::Value = r.json().await.unwrap();
        assert_eq!(rec["credits"], 7);
        // The operator deletes any key's result at once.
        let p = photos();
        let (st, done) = s
            .swap(&key, json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))}))
            .await;
        assert_eq!(st, 200, "{done}");
        let erase = |token: &str| {
            client()
                .delete(format!(
                    "{}/admin/results/{}",
                    s.base,
                    done["task_id"].as_str().unwrap()
                ))
                .bearer_auth(token)
                .send()
        };
        assert_eq!(erase("wrong").await.unwrap().status(), 403);
        assert_eq!(erase("admin-secret").await.unwrap().status(), 200);
        assert_eq!(get(done["image_url"].as_str().unwrap()).await.status(), 404);
        assert_eq!(erase("admin-secret").await.unwrap().status(), 404);
        let r = client()
            .get(format!("{}/admin/keys", s.base))
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap();
        let list: serde_json::Value = r.json().await.unwrap();
        assert!(list
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "by-admin"));
        assert!(!list.to_string().contains(&key), "keys are never listed");
        let r = admin("/admin/keys/nobody/revoke")
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = admin("/admin/keys/by-admin/revoke")
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let got = s.swap(&key, json!({})).await;
        assert_error(
            &got,
            403,
            "invalid_api_key",
            Some("You provide an invalid Image API key."),
            false,
        );
        // Without an admin token configured there is no admin API.
        let r = client()
            .get(format!("{}/admin/keys", main.base))
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    });
}

#[test]
fn a_client_that_goes_away_leaves_no_credit_reserved() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("hangup", 5, Some(0.0));
    // The template comes a second late: the client gives up while the server holds the credit.
    let body = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/slow/faces/{B}"))});
    block_on(async {
        let url = format!("{}/v1/faceswap?token={key}", s.base);
        let request = tokio::spawn(async move { client().post(url).json(&body).send().await });
        // Hang up once the server holds the credit (it is then waiting for the slow template).
        for _ in 0..200 {
            if s.credits(&id).1 == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        request.abort();
        assert!(request.await.is_err(), "the client hung up");
        // The task runs to its end on the server anyway.
        for _ in 0..400 {
            if s.credits(&id).1 == 0 && s.credits(&id).2 == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert_eq!(
        s.credits(&id),
        (4, 0, 1),
        "charged once, with its result stored"
    );
}

/// Sends `body` with exactly these extra headers (no `Content-Type` unless given) and returns
/// (status, content type, JSON body).
async fn post_raw(
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String, serde_json::Value) {
    let mut req = client().post(url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.json().await.unwrap())
}

#[test]
fn clients_of_the_original_are_served_leniently_and_always_in_json() {
    let s = main_server();
    let p = photos();
    let (id, key) = s.key("lenient", 10, Some(0.0));
    let url = format!("{}/v1/faceswap?token={key}", s.base);
    let body = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))})
        .to_string()
        .into_bytes();
    block_on(async {
        // The original requires Content-Type: application/json; a client that sends another type, or
        // none, with a JSON body is served all the same. So is a body starting with a UTF-8 BOM.
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(&body);
        for (headers, body) in [
            (vec![("content-type", "text/plain")], body.clone()),
            (vec![], body.clone()),
            (
                vec![("content-type", "application/x-www-form-urlencoded")],
                body.clone(),
            ),
            (
                vec![("content-type", "application/json; charset=utf-8")],
                with_bom,
            ),
        ] {
            let (st, ct, got) = post_raw(&url, &headers, body).await;
            assert_eq!(st, 200, "{headers:?}: {got}");
            assert_eq!(ct, "application/json");
            assert_eq!(got["code"], "success");
        }
        // A token in the query and a Bearer header: the query's token is the one used.
        let (st, _, got) = post_raw(
            &url,
            &[("authorization", "Bearer fsk_wrong")],
            b"{}".to_vec(),
        )
        .await;
        assert_error(
            &(st, got),
            401,
            "invalid_post",
            Some("Your image_url is empty."),
            false,
        );
        let (st, _, got) = post_raw(
            &format!("{}/v1/faceswap?token=fsk_wrong", s.base),
            &[("authorization", &format!("Bearer {key}"))],
            b"{}".to_vec(),
        )
        .await;
        assert_error(&(st, got), 403, "invalid_api_key", None, false);

        // Every answer is JSON, also for a wrong method or a path that does not decode.
        let r = get(&url).await;
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["allow"], "POST");
        let got: serde_json::Value = r.json().await.unwrap();
        assert_eq!(got["code"], "method_not_allowed");
        for path in [
            "/v1/results/%FF.jpeg".to_string(),
            format!("/v1/tasks/%FF?token={key}"),
            "/no/such/route".to_string(),
        ] {
            let r = get(format!("{}{path}", s.base)).await;
            assert_eq!(r.status(), 404, "{path}");
            assert_eq!(r.headers()["content-type"], "application/json", "{path}");
            let got: serde_json::Value = r.json().await.unwrap();
            assert_eq!(got["code"], "not_found", "{path}");
        }
    });
    assert_eq!(s.credits(&id), (6, 0, 4));
}

#[test]
fn an_oversized_body_is_checked_for_rate_and_credits_first() {
    let s = main_server();
    let p = photos();
    let huge = json!({"image_base64": "A".repeat(17 * 1024 * 1024), "template_url": p.url(&format!("/faces/{B}"))});
    let limited = "Image size exceeds the maximum allowed size.";
    let (_, empty) = s.key("oversized-empty", 0, Some(0.0));
    let (id, slow) = s.key("oversized-slow", 5, Some(0.01));
    block_on(async {
        let got = s.swap(&empty, huge.clone()).await;
        assert_error(
            &got,
            403,
            "used_up",
            Some("Your account does not have enough credits, please recharge."),
            false,
        );
        let got = s.swap(&slow, huge.clone()).await;
        assert_error(&got, 402, "image_size_limited", Some(limited), true);
        let got = s.swap(&slow, huge).await;
        assert_error(
            &got,
            402,
            "request_rate_limit",
            Some("Request rate limit, once per second."),
            true,
        );
    });
    assert_eq!(s.credits(&id), (5, 0, 0));
}

/// A server with a short body timeout and few body slots.
fn open_server() -> &'static TestServer {
    shared("open", |c| {
        c.workers = 1;
        c.queue = 0;
        c.moderation.enabled = false;
        c.body_timeout = Duration::from_secs(1);
    })
}

/// A client from 127.0.0.1 that starts a fusion request with `key`, announces a 1000-byte body,
/// sends one byte of it and stalls.
async fn stall_body(port: u16, key: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/faceswap?token={key} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c
}

#[test]
fn slow_bodies_of_many_keys_from_one_address_cannot_hold_the_body_slots() {
    use tokio::io::AsyncReadExt;
    // 6 body slots ((1 worker + 0 queue) * 2 + 4): one key may hold 1, one address 3.
    let s = shared("addresses", |c| {
        c.workers = 1;
        c.queue = 0;
        c.moderation.enabled = false;
        c.body_timeout = Duration::from_secs(1);
    });
    let port = s.server.local_addr().port();
    let keys: Vec<String> = (0..6)
        .map(|i| s.key(&format!("trickler-{i}"), 5, Some(0.0)).1)
        .collect();
    let (_, late) = s.key("trickler-late", 5, Some(0.0));
    let (_, elsewhere) = s.key("elsewhere", 5, Some(0.0));
    block_on(async {
        // Six keys from 127.0.0.1 start a body each and stall.
        let mut stalled = Vec::new();
        for key in &keys {
            stalled.push(stall_body(port, key).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A client at another address is read and answered at once.
        let other = reqwest::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let body = json!({"template_url": "http://x.example/t.jpg"});
        let start = std::time::Instant::now();
        let r = other
            .post(format!(
                "http://127.0.0.1:{port}/v1/faceswap?token={elsewhere}"
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], "invalid_post", "{v}");
        assert!(
            start.elapsed() < Duration::from_millis(800),
            "waited {:?} behind another address's slow bodies",
            start.elapsed()
        );
        // Another key from the trickling address waits for the address's share instead: it is
        // read only once the first stalled bodies have timed out (or refused if it waited as
        // long as a body may take).
        let start = std::time::Instant::now();
        let got = s.swap(&late, body).await;
        let code = got.1["code"].as_str().unwrap_or_default().to_string();
        assert!(
            ["request_rate_limit", "invalid_post"].contains(&code.as_str()),
            "{got:?}"
        );
        assert!(
            start.elapsed() >= Duration::from_millis(600),
            "read at once despite its address's share: {:?}",
            start.elapsed()
        );
        for mut c in stalled {
            let mut answer = String::new();
            tokio::time::timeout(Duration::from_secs(10), c.read_to_string(&mut answer))
                .await
                .expect("the stalled client is answered")
                .ok();
            assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
        }
    });
}

#[test]
fn slow_bodies_cannot_hold_the_body_slots() {
    use tokio::io::AsyncReadExt;
    let s = open_server();
    let port = s.server.local_addr().port();
    let (_, slow) = s.key("slowloris", 5, Some(0.0));
    let (_, other) = s.key("slowloris-neighbour", 5, Some(0.0));
    let (_, broke) = s.key("slowloris-broke", 0, Some(0.0));
    block_on(async {
        // More clients than body slots ((1 worker + 0 queue) * 2 + 4) start a body and stall: one
        // key's, and a key's without credits.
        let mut stalled = Vec::new();
        for _ in 0..10 {
            stalled.push(stall_body(port, &slow).await);
            stalled.push(stall_body(port, &broke).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Another key's client is read and answered at once, not after the stalled bodies time out.
        let start = std::time::Instant::now();
        let got = tokio::time::timeout(
            Duration::from_secs(10),
            s.swap(&other, json!({"template_url": "http://x.example/t.jpg"})),
        )
        .await
        .expect("answered while slow clients stall");
        assert_error(
            &got,
            401,
            "invalid_post",
            Some("Your image_url is empty."),
            false,
        );
        assert!(
            start.elapsed() < Duration::from_millis(800),
            "waited {:?} behind another key's slow bodies",
            start.elapsed()
        );
        // Every stalled client gets an answer: the key without credits at once, without its body
        // kept; the slow key's bodies time out, or are refused once they waited that long for one
        // of the key's slots.
        let mut codes = Vec::new();
        for mut c in stalled {
            let mut answer = String::new();
            tokio::time::timeout(Duration::from_secs(10), c.read_to_string(&mut answer))
                .await
                .expect("the stalled client is answered")
                .ok();
            codes.push(answer.lines().next().unwrap_or_default().to_string());
            assert!(
                (answer.starts_with("HTTP/1.1 401")
                    && answer.contains("Your request body could not be read."))
                    || (answer.starts_with("HTTP/1.1 402")
                        && answer.contains("request_rate_limit"))
                    || (answer.starts_with("HTTP/1.1 403") && answer.contains("used_up")),
                "{answer}"
            );
        }
        let timed_out = codes
            .iter()
            .filter(|c| c.starts_with("HTTP/1.1 401"))
            .count();
        assert!(
            (1..=2).contains(&timed_out),
            "the slow key's share is 1 or 2: {codes:?}"
        );
        assert_eq!(
            codes
                .iter()
                .filter(|c| c.starts_with("HTTP/1.1 403"))
                .count(),
            10,
            "{codes:?}"
        );
    });
}

#[test]
fn one_key_cannot_fill_the_queue_against_another() {
    // Capacity 3 (1 worker + 2 queued): one key may hold all but one worker's worth, 2.
    let s = shared("shares", |c| {
        c.workers = 1;
        c.queue = 2;
        c.moderation.enabled = false;
    });
    let p = photos();
    let (_, flood) = s.key("flood", 10, Some(0.0));
    let (_, other) = s.key("flood-neighbour", 10, Some(0.0));
    // Photos that take a second to download hold their admissions meanwhile.
    let slow = json!({"image_url": p.url(&format!("/slow/faces/{A}")), "template_url": p.url(&format!("/slow/faces/{B}"))});
    let fast = json!({"image_url": p.url(&format!("/faces/{A}")), "template_url": p.url(&format!("/faces/{B}"))});
    let (flooded, neighbour) = block_on(async {
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (body, key) = (slow.clone(), flood.clone());
                tokio::spawn(async move { shared("shares", |_| {}).swap(&key, body).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let neighbour = s.swap(&other, fast).await;
        let mut flooded = Vec::new();
        for t in tasks {
            flooded.push(t.await.unwrap());
        }
        (flooded, neighbour)
    });
    assert_eq!(neighbour.0, 200, "the other key is served: {}", neighbour.1);
    let busy: Vec<_> = flooded.iter().filter(|r| r.0 == 402).collect();
    assert_eq!(
        busy.len(),
        1,
        "one of the flood's three is over its share: {flooded:?}"
    );
    assert_error(busy[0], 402, "false", Some("server busy, try again"), true);
    assert_eq!(
        flooded.iter().filter(|r| r.0 == 200).count(),
        2,
        "{flooded:?}"
    );
}
