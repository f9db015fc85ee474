//! The OpenAPI 3.1 document served at `/openapi.json`.

use serde_json::{json, Value};

use crate::error::detail;

fn error_example(code: &str, detail: &str, task: bool) -> Value {
    let mut v = json!({"code": code, "detail": detail});
    if task {
        v["task_id"] = json!("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f");
    }
    v
}

/// The document, with `server_url` as its server.
pub fn document(server_url: &str) -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let examples = |items: &[(&str, &str, bool)]| -> Value {
        let mut m = serde_json::Map::new();
        for (code, d, task) in items {
            m.insert(
                (*code).to_string(),
                json!({"value": error_example(code, d, *task)}),
            );
        }
        Value::Object(m)
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "faceswap",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted face fusion: the face of photo A (image) is fused into template photo B. \
                Compatible with the original cloud API: same path, fields, codes, statuses and detail texts."
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "query", "name": "token"},
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "schemas": {
                "FaceswapRequest": {
                    "type": "object",
                    "description": "Exactly one of image_url/image_base64 and one of template_url/template_base64 \
                        (URL and base64 may be mixed). Unknown fields are ignored; null counts as absent.",
                    "properties": {
                        "image_url": {"type": "string", "format": "uri", "description": "Photo A (the face wanted): an http(s) URL of the image bytes. At most 5 MB and 2048×2048 px."},
                        "image_base64": {"type": "string", "description": "Photo A inline: standard or URL-safe base64, padding optional, optional data:image/...;base64, prefix, line breaks allowed."},
                        "template_url": {"type": "string", "format": "uri", "description": "Template B (head, body and scene kept). At most 5 MB; longest side advised ≤ 1280 px, hard limit 4096."},
                        "template_base64": {"type": "string", "description": "Template B inline, as image_base64."},
                        "template_face": {
                            "description": "Which template face to replace: an index (0 = largest, default) or a rectangle in template pixels (the face overlapping it most).",
                            "oneOf": [
                                {"type": "integer", "minimum": 0},
                                {"type": "object", "required": ["x", "y", "w", "h"], "properties": {
                                    "x": {"type": "number"}, "y": {"type": "number"},
                                    "w": {"type": "number", "exclusiveMinimum": 0}, "h": {"type": "number", "exclusiveMinimum": 0}}}
                            ]
                        },
                        "degree": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100, "description": "How much of A's face shape replaces B's."},
                        "output_format": {"type": "string", "enum": ["jpeg", "png", "webp"], "default": "jpeg"},
                        "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 92, "description": "JPEG quality."},
                        "return_base64": {"type": "boolean", "default": false, "description": "Also return the result inline as image_base64."},
                        "faces": {"type": "array", "minItems": 1, "maxItems": 6, "description": "Several faces in one request, instead of image_url/image_base64 and template_face: each source photo into the template face it names (each at most once). One credit per request.",
                            "items": {"type": "object", "required": ["template_face"], "properties": {
                                "template_face": {"type": "integer", "minimum": 0}, "image_url": {"type": "string", "format": "uri"}, "image_base64": {"type": "string"}}}},
                        "label": {"type": "boolean", "description": "false: no visible AI-content label on this result; refused (invalid_post) unless the operator allows it. The metadata label is always there."}
                    }
                },
                "Quality": {
                    "type": "object",
                    "description": "The engine's report on the fusion. Pairs of values are [A, B].",
                    "properties": {
                        "yaw": {"type": "array", "items": {"type": "number"}, "description": "Head turn of A and B in half face widths."},
                        "pose_difference": {"type": "object", "properties": {"yaw": {"type": "number"}, "roll": {"type": "number", "description": "degrees"}}},
                        "mirrored": {"type": "boolean", "description": "A was mirrored (the heads look to opposite sides)."},
                        "source_covered": {"type": "number", "description": "Share of A's face covered by hair, glasses, hands."},
                        "source_missing": {"type": "number", "description": "Share of A's face that could not be used."},
                        "source_highlights": {"type": "number", "description": "Share of A's face that was a burnt-out highlight (its white taken out)."},
                        "source_glasses": {"type": "number", "description": "Share of A's clear glasses that was frame, painted out so that A's eyes show through the lenses (0 without glasses)."},
                        "template_covered": {"type": "number", "description": "Share of B's face covered, kept in front of the new face."},
                        "beard": {"type": "array", "items": {"type": "number"}},
                        "mouths": {"type": "array", "items": {"type": "string", "enum": ["open", "closed"]}},
                        "light_strength": {"type": "array", "items": {"type": "number"}},
                        "light_angle": {"type": "number", "description": "degrees between the two faces' light directions"},
                        "sharpness_ratio": {"type": "number", "description": "A's fine detail over B's (below 1: A softer)."},
                        "grain": {"type": "array", "items": {"type": "number"}},
                        "relief": {"type": "array", "items": {"type": "number"}, "description": "Depth of the mid-scale shading (eye sockets, beside the nose) of A and B; A's is flattened towards B's when much deeper."},
                        "face_width": {"type": "array", "items": {"type": "number"}, "description": "pixels"},
                        "warnings": {"type": "array", "items": {"type": "string"}, "description": "What a person may notice, in plain words."}
                    }
                },
                "DetectRequest": {
                    "type": "object",
                    "description": "Exactly one of image_url and image_base64 (as in FaceswapRequest).",
                    "properties": {"image_url": {"type": "string", "format": "uri"}, "image_base64": {"type": "string"}}
                },
                "DetectedFace": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "description": "Largest first; the template_face that chooses it."},
                        "box": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}, "w": {"type": "number"}, "h": {"type": "number"}}},
                        "score": {"type": "number"},
                        "landmarks": {"type": "array", "description": "Eye on the image's left, other eye, nose tip, mouth corners (left, right).", "items": {"type": "array", "items": {"type": "number"}}},
                        "yaw": {"type": "number", "description": "degrees, positive: looking to the image's right"},
                        "pitch": {"type": "number", "description": "degrees, positive: looking up"},
                        "roll": {"type": "number", "description": "degrees"},
                        "size": {"type": "number", "description": "the box's larger side in pixels"},
                        "usable": {"type": "boolean", "description": "Large enough and not too turned to fuse well."}
                    }
                },
                "FaceswapSuccess": {
                    "type": "object",
                    "required": ["code", "image_url", "task_id"],
                    "properties": {
                        "code": {"const": "success"},
                        "image_url": {"type": "string", "format": "uri", "description": "The result, downloadable until expires_at."},
                        "task_id": {"type": "string", "format": "uuid"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "image_base64": {"type": "string", "description": "Only with return_base64."},
                        "quality": {"$ref": "#/components/schemas/Quality"},
                        "faces": {"type": "array", "description": "With the faces form: each face's template_face and quality.",
                            "items": {"type": "object", "properties": {"template_face": {"type": "integer"}, "quality": {"$ref": "#/components/schemas/Quality"}}}}
                    }
                },
                "Error": {
                    "type": "object",
                    "required": ["code", "detail"],
                    "properties": {
                        "code": {"type": "string", "enum": ["no_token", "invalid_post", "invalid_input_image", "no_face_detected", "forbidden", "image_size_limited", "request_rate_limit", "false", "used_up", "invalid_api_key", "unknown", "not_found", "method_not_allowed"]},
                        "detail": {"type": "string"},
                        "task_id": {"type": "string", "format": "uuid", "description": "Present for the 402 codes."}
                    }
                },
                "Task": {
                    "type": "object",
                    "required": ["task_id", "status", "created_at"],
                    "properties": {
                        "task_id": {"type": "string", "format": "uuid"},
                        "status": {"type": "string", "enum": ["running", "done", "failed"]},
                        "code": {"type": "string"},
                        "detail": {"type": "string"},
                        "image_url": {"type": "string", "format": "uri"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "finished_at": {"type": "string", "format": "date-time"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "quality": {"$ref": "#/components/schemas/Quality"}
                    }
                }
            }
        },
        "security": [{"token": []}, {"bearer": []}],
        "paths": {
            "/v1/faceswap": {
                "post": {
                    "summary": "Fuse the face of photo A into template B",
                    "description": "Checks in order: token, key, body, then a task id is made, then rate limit, credits; \
                        one credit is reserved, the photos fetched, decoded, filtered, fused and the result stored; \
                        the credit is spent only on success.",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255},
                        "description": "A retry with the same key and body within 24 h gets the first success (same task id and URL) and costs one credit in all; the same key with another body is invalid_post. Failures are not remembered."}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FaceswapRequest"}}}},
                    "responses": {
                        "200": {"description": "Success", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FaceswapSuccess"}}}},
                        "401": {"description": "No token, or an invalid body", "content": {"application/json": {"schema": error, "examples": examples(&[
                            ("no_token", detail::NO_TOKEN, false),
                            ("invalid_post", "Your image_url is empty.", false)])}}},
                        "402": {"description": "The request was processed and refused", "content": {"application/json": {"schema": error, "examples": examples(&[
                            ("invalid_input_image", detail::INVALID_INPUT_IMAGE, true),
                            ("no_face_detected", detail::NO_FACE_IMAGE, true),
                            ("forbidden", detail::FORBIDDEN, true),
                            ("image_size_limited", detail::IMAGE_SIZE_LIMITED, true),
                            ("request_rate_limit", detail::REQUEST_RATE_LIMIT, true),
                            ("false", detail::BUSY, true)])}}},
                        "403": {"description": "Key refused", "content": {"application/json": {"schema": error, "examples": examples(&[
                            ("used_up", detail::USED_UP, false),
                            ("invalid_api_key", detail::INVALID_API_KEY, false)])}}},
                        "500": {"description": "Internal fault", "content": {"application/json": {"schema": error, "examples": examples(&[
                            ("unknown", detail::UNKNOWN, false)])}}}
                    }
                }
            },
            "/v1/detect": {
                "post": {
                    "summary": "Every face of a photo, largest first (no credit; the key's rate limit applies)",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetectRequest"}}}},
                    "responses": {
                        "200": {"description": "The faces (an empty list when there are none)", "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"code": {"const": "success"}, "task_id": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
                            "faces": {"type": "array", "items": {"$ref": "#/components/schemas/DetectedFace"}}}}}}},
                        "401": {"description": "No token, or an invalid body", "content": {"application/json": {"schema": error}}},
                        "402": {"description": "The photo cannot be read or is too large, rate limit, busy", "content": {"application/json": {"schema": error}}},
                        "403": {"description": "Invalid key", "content": {"application/json": {"schema": error}}}
                    }
                }
            },
            "/v1/tasks/{task_id}": {
                "get": {
                    "summary": "A task of the calling key",
                    "parameters": [{"name": "task_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The task", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Task"}}}},
                        "401": {"description": "No token", "content": {"application/json": {"schema": error}}},
                        "403": {"description": "Invalid key", "content": {"application/json": {"schema": error}}},
                        "404": {"description": "No such task for this key, or expired", "content": {"application/json": {"schema": error}}}
                    }
                }
            },
            "/v1/results/{file}": {
                "get": {
                    "summary": "A result file, TASK_ID.EXT; no token needed (the task id is unguessable)",
                    "security": [],
                    "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The image", "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
                        "404": {"description": "Unknown, expired or deleted", "content": {"application/json": {"schema": error}}}
                    }
                },
                "delete": {
                    "summary": "Delete a result of the calling key now (TASK_ID or TASK_ID.EXT): the file and its task row go, the URL then answers 404",
                    "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "{code: success, task_id, deleted: true}"},
                        "401": {"description": "No token, or the task is still running", "content": {"application/json": {"schema": error}}},
                        "403": {"description": "Invalid key", "content": {"application/json": {"schema": error}}},
                        "404": {"description": "No such result of this key", "content": {"application/json": {"schema": error}}}
                    }
                }
            },
            "/": {"get": {"summary": "The page to try the service", "security": [], "responses": {"200": {"description": "HTML"}}}},
            "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: models loaded, database and storage reachable", "security": [],
                "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "Text exposition format"}}}},
            "/admin/keys": {
                "get": {"summary": "Admin (only with an admin token configured; Bearer ADMIN_TOKEN): every key's record, never the key",
                    "security": [{"bearer": []}], "responses": {"200": {"description": "Records"}, "404": {"description": "Admin API off"}}},
                "post": {"summary": "Admin: create a key {name, credits, rate?}; the key is in the answer, shown once",
                    "security": [{"bearer": []}], "responses": {"200": {"description": "{key, record}"}}}
            },
            "/admin/keys/{key}/credits": {"post": {"summary": "Admin: add credits {credits} to the key with this id or name",
                "security": [{"bearer": []}],
                "parameters": [{"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The updated record"}, "404": {"description": "No such key"}}}},
            "/admin/keys/{key}/revoke": {"post": {"summary": "Admin: revoke the key with this id or name",
                "security": [{"bearer": []}],
                "parameters": [{"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The updated record"}, "404": {"description": "No such key"}}}},
            "/admin/results/{task_id}": {"delete": {"summary": "Admin: delete any key's result and its task row now",
                "security": [{"bearer": []}],
                "parameters": [{"name": "task_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "{code: success, task_id, deleted: true}"}, "404": {"description": "No such result"}}}}
        }
    })
}
