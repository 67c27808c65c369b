//! The sync server over HTTP: each test starts its own server in-process on 127.0.0.1:0
//! with a temporary database, and drives it with reqwest and real device stores.
mod api;
mod auth;
mod authority;
mod cli;
mod devices;
mod helpers;
mod instances;
mod limits;
mod pull;
mod push;
mod rebase;
mod seats;
