//! Temporary store files: a fresh folder per test, removed when the test drops it.
use std::path::PathBuf;

/// A fresh folder and a store path inside it; the folder is removed on drop.
pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TestStore {
    /// A fresh folder with a store file called `name` (not created yet).
    #[must_use]
    pub fn named(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        Self { dir, path }
    }
}

/// A fresh folder and `store.db` inside it.
#[must_use]
pub fn temp_store() -> TestStore {
    TestStore::named("store.db")
}
