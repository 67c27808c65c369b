//! Project tasks, run as `cargo xtask <task>` (see `.cargo/config.toml`).
#![forbid(unsafe_code)]

mod bench;
mod check;
mod contract;
mod demo;
mod desktop;
mod postgres;
mod setup;
mod tidy;
mod ui;
mod util;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::process::{ExitCode, ExitStatus};

#[derive(Parser, Debug)]
#[command(
    bin_name = "cargo xtask",
    about = "Project tasks.",
    override_usage = "cargo xtask <run|ui|test|tidy|contract|bench|cli-demo> [OPTIONS]",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Build and open the desktop box office on a demo store (installs what it needs).
    Run {
        /// Do not start a local sync server: the app runs standalone on its local store.
        #[arg(long)]
        no_server: bool,
    },
    /// Build the Yew UI into `ui/dist` (adds the wasm32 target when missing).
    Ui,
    /// Walk through door sales with the `conference` CLI on a demo store.
    CliDemo,
    /// Everything CI checks: formatting, clippy and every test.
    Test,
    /// Architecture rules on the source: no module cycles (but the known ones), a pure
    /// domain crate.
    Tidy,
    /// Only the OpenAPI contract: schemathesis against a real sync server (build it first,
    /// e.g. with `cargo build -p conference-sync-server`).
    Contract,
    /// Time door sales, a raw SQLite baseline, command cost against stream length, the
    /// startup of a large store and the sync server under 20 devices; print one table.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    // An unknown task makes clap print the usage and exit with code 2.
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Run { no_server } => desktop::run_app(no_server).map(|()| ExitCode::SUCCESS),
        Task::Ui => ui::build().map(|_| ExitCode::SUCCESS),
        Task::CliDemo => demo::run_demo().map(|()| ExitCode::SUCCESS),
        Task::Test => check::test().map(|()| ExitCode::SUCCESS),
        Task::Contract => contract::check().map(|()| ExitCode::SUCCESS),
        Task::Tidy => tidy::check().map(|()| ExitCode::SUCCESS),
        Task::Bench(_) if cfg!(debug_assertions) => rerun_optimized(),
        Task::Bench(args) => bench::run(&args).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}

/// Timings of a debug build mean nothing: runs the same task again from a release build.
fn rerun_optimized() -> anyhow::Result<ExitCode> {
    eprintln!("xtask: this is a debug build; re-running from a release build");
    let status = util::cargo()
        .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .status()
        .context("could not run cargo to build the release xtask")?;
    Ok(exit_code(status))
}

fn exit_code(status: ExitStatus) -> ExitCode {
    status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from)
}
