//! End-to-end tests over real SQLite files: the CLI as a process, crashes, idempotency,
//! read models against a rebuild, and the store's guarantees.
mod app;
mod cli;
mod crash;
mod faults;
mod helpers;
mod malicious;
mod order_search;
mod poison;
mod proxy;
mod server;
mod server_migrate;
mod simulation;
mod store;
mod sync;
mod upgrade;
