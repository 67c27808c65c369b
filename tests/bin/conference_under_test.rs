//! The `conference` CLI, built inside this test package so its tests can run it as a real
//! process (kill it, time it, read its exit code) with Cargo's `CARGO_BIN_EXE_*`.
fn main() -> std::process::ExitCode {
    conference_cli::main()
}
