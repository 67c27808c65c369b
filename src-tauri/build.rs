//! Generates the Tauri context from the repository's root `tauri.conf.json`. The UI must be
//! built first (`cargo xtask ui` writes `ui/dist`), because its files are embedded.
fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
    assert!(
        std::path::Path::new("../ui/dist/index.html").exists(),
        "ui/dist is missing: build the UI first with `cargo xtask ui`"
    );
    // Only the folder part of the path is used: the config stays at the repository root.
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .expect("tauri-build failed");
}
