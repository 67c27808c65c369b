//! The `conference` command. Everything lives in the library so tests can run it too.
fn main() -> std::process::ExitCode {
    conference_cli::main()
}
