//! `conference-sync`: the sync server and its admin tasks (see `cli.rs`).
fn main() -> anyhow::Result<()> {
    conference_sync_server::cli::run()
}
