//! Prints the faces found in photos, with their mesh points (development aid).
use faceswap_engine::*;
fn main() {
    let e = Engine::load(&EngineConfig::new(faceswap_models::ModelDir::locate(None))).unwrap();
    for name in std::env::args().skip(1) {
        let img = decode(
            &std::fs::read(&name).unwrap(),
            Role::Template,
            &PhotoLimits::TEMPLATE,
        )
        .unwrap();
        for f in e.detect(&img).unwrap() {
            let pts: Vec<String> = f
                .mesh
                .points
                .iter()
                .map(|p| format!("[{:.2},{:.2},{:.2}]", p[0], p[1], p[2]))
                .collect();
            println!(
                "{{\"name\":\"{name}\",\"score\":{:.3},\"points\":[{}]}}",
                f.face.score,
                pts.join(",")
            );
        }
    }
}
