//! What the workspace's test crates share (`tests/`, `sync-server/tests`,
//! `src-tauri/tests`): a `conference-sync` server as a child process ([`sync_server`]),
//! stopping processes ([`process`]), temporary stores ([`store`]) and the fixed clock the
//! tests' commands run at ([`clock`]).
//!
//! A dev-dependency only: nothing here is part of the product. It never names a binary
//! itself: `env!("CARGO_BIN_EXE_…")` only exists in the test crate that builds the binary,
//! so every function that runs one takes its path (or a ready [`std::process::Command`]).
#![forbid(unsafe_code)]

pub mod clock;
pub mod process;
pub mod store;
pub mod sync_server;
