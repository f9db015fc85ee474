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
            println!(
                "{name} {}x{} score {:.3} rect {:?} mesh {:?}",
                img.width(),
                img.height(),
                f.face.score,
                f.face.rect,
                f.mesh.presence
            );
        }
    }
}
