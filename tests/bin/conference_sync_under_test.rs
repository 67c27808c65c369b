//! The `conference-sync` server, built inside this test package so its tests can run it as
//! a real process (and kill it) with Cargo's `CARGO_BIN_EXE_*`.
fn main() -> anyhow::Result<()> {
    conference_sync_server::cli::run()
}
