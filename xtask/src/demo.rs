//! `cargo xtask run`: the product as it stands, a door-sales walk-through with the
//! `conference` CLI on a demo store under `target/demo/`. Safe to run twice: it reuses the
//! store and the conference, and sells one more seat each time.
use crate::util::{cargo, root, run};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

pub fn run_demo() -> Result<()> {
    run(cargo().args(["build", "--locked", "--quiet", "-p", "conference-cli"]))
        .context("building the CLI")?;
    let binary = root().join("target/debug/conference");
    let store = root().join("target/demo/store.db");
    let cli = Cli { binary, store };

    cli.show(&["init", "--device-name", "Front door"])?;
    if !cli.succeeds(&["conference", "show", "devconf"])? {
        cli.show(&[
            "conference",
            "create",
            "--slug",
            "devconf",
            "--name",
            "DevConf 2026",
            "--start",
            "2026-12-01",
            "--end",
            "2026-12-02",
            "--owner-name",
            "Ada Lovelace",
            "--owner-email",
            "ada@example.com",
            "--location",
            "Berlin",
        ])?;
        cli.show(&[
            "seat-type",
            "add",
            "devconf",
            "--name",
            "Full",
            "--price",
            "120",
            "--quantity",
            "50",
        ])?;
        cli.show(&[
            "seat-type",
            "add",
            "devconf",
            "--name",
            "Student",
            "--price",
            "40",
            "--quantity",
            "10",
        ])?;
        cli.show(&[
            "seat-type",
            "add",
            "devconf",
            "--name",
            "Speaker",
            "--price",
            "0",
            "--quantity",
            "5",
        ])?;
        cli.show(&[
            "promo",
            "add",
            "devconf",
            "--code",
            "EARLY",
            "--percent",
            "15",
        ])?;
        cli.show(&["conference", "publish", "devconf"])?;
    }
    cli.show(&["seats", "devconf"])?;
    cli.show(&[
        "sell",
        "devconf",
        "--seat",
        "Full=2",
        "--promo",
        "EARLY",
        "--first",
        "Grace",
        "--last",
        "Hopper",
        "--email",
        "grace@example.com",
        "--method",
        "cash",
        "--tendered",
        "250",
    ])?;
    cli.show(&[
        "sell",
        "devconf",
        "--seat",
        "Speaker=1",
        "--first",
        "Linus",
        "--last",
        "T",
        "--email",
        "linus@example.com",
    ])?;
    cli.show(&["seats", "devconf"])?;
    cli.show(&["orders", "devconf"])?;
    println!(
        "\nThe demo store is {store}. Try, for example:\n  {bin} --store {store} order place devconf --seat Student=1\n  {bin} --store {store} --help",
        store = cli.store.display(),
        bin = cli.binary.display()
    );
    Ok(())
}

struct Cli {
    binary: PathBuf,
    store: PathBuf,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.arg("--store").arg(&self.store).args(args);
        command
    }

    /// Runs and shows a step the way a person would type it.
    fn show(&self, args: &[&str]) -> Result<()> {
        println!(
            "\n$ conference {}",
            args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        let status = self.command(args).status()?;
        anyhow::ensure!(
            status.success(),
            "`conference {}` failed with {status}",
            args.join(" ")
        );
        Ok(())
    }

    fn succeeds(&self, args: &[&str]) -> Result<bool> {
        Ok(self.command(args).output()?.status.success())
    }
}

fn quote(arg: &str) -> String {
    if arg.contains(' ') {
        format!("\"{arg}\"")
    } else {
        arg.to_string()
    }
}
