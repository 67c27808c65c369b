//! `cargo xtask tidy` (also the first step of `cargo xtask test`): architecture invariants
//! the code relies on, checked on the source text.
//!
//! - No module cycles inside a crate: each top-level module's `crate::…` paths (tests left
//!   out) form a graph that must have no strongly connected component of two or more
//!   modules, except the ones listed in [`KNOWN_CYCLES`] with their reason.
//! - The domain crate does no IO and reads no clock: its dependencies are the listed pure
//!   crates, and its source names no clock, file or network API (times enter as data).
//! - Every command the UI can call (`src-tauri/ipc`'s `cmd` names) is registered with the
//!   desktop shell's `generate_handler!`, and nothing is registered that the UI cannot name.
use crate::util::root;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod error_codes;

/// The crates whose modules are checked, by their `src` folder.
const CRATES: &[&str] = &[
    "crates/conference-domain/src",
    "crates/conference-exec/src",
    "crates/conference-store/src",
    "crates/conference-app/src",
    "crates/conference-protocol/src",
    "crates/conference-cli/src",
    "crates/conference-testkit/src",
    "sync-server/src",
    "src-tauri/src",
    "src-tauri/ipc/src",
    "ui/src",
    "xtask/src",
];

/// Cycles that exist on purpose, with why.
const KNOWN_CYCLES: &[(&str, &[&str], &str)] = &[(
    "crates/conference-domain/src",
    &[
        "aggregate",
        "assignments",
        "conference",
        "discounts",
        "neutralise",
        "order",
        "payment",
        "pricing",
        "seats",
    ],
    "the aggregate registry: `aggregate::DomainEvent` names every aggregate's events and every aggregate implements `aggregate::Aggregate` (issue 14 may split the trait from the registry)",
)];

/// What the domain crate may depend on: no IO, no clock, no async runtime.
const DOMAIN_DEPENDENCIES: &[&str] = &[
    "chrono",
    "rust_decimal",
    "serde",
    "serde_json",
    "serde_ignored",
    "thiserror",
    "uuid",
];

/// APIs the domain's source must not name.
const DOMAIN_FORBIDDEN: &[&str] = &[
    "Utc::now",
    "Local::now",
    "SystemTime",
    "Instant::now",
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "rand::",
];

pub fn check() -> Result<()> {
    let mut problems = Vec::new();
    for src in CRATES {
        let modules = module_graph(&root().join(src))?;
        for cycle in cycles(&modules) {
            let known = KNOWN_CYCLES
                .iter()
                .any(|(crate_src, members, _)| crate_src == src && *members == cycle.as_slice());
            if !known {
                problems.push(format!(
                    "{src}: the modules {} depend on each other in a cycle; move what they share into a module of its own",
                    cycle.join(", ")
                ));
            }
        }
    }
    problems.extend(domain_purity()?);
    problems.extend(desktop_commands()?);
    problems.extend(long_files()?);
    problems.extend(error_codes::check()?);
    if problems.is_empty() {
        println!(
            "xtask: tidy — no module cycles (but the known ones), a pure domain, every desktop command registered"
        );
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} architecture rule(s) broken (see above)", problems.len())
}

/// Each top-level module of the crate in `src` and the other top-level modules it names.
fn module_graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(src)?.with_extension("");
        let Some(first) = relative.components().next() else {
            continue;
        };
        let module = first.as_os_str().to_string_lossy().to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file)?;
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let named = modules.entry(module.clone()).or_default();
        for name in crate_paths(code) {
            if name != module {
                named.insert(name);
            }
        }
    }
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    for named in modules.values_mut() {
        named.retain(|name| known.contains(name));
    }
    Ok(modules)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The first segment of every `crate::…` path, and of every item in `use crate::{…}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let segment = |text: &str| -> String {
        text.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            for item in group.split(',') {
                let name = segment(item);
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        } else {
            let name = segment(rest);
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// The strongly connected components of two or more modules (Tarjan), each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            self.index.insert(node, self.next);
            self.low.insert(node, self.next);
            self.next += 1;
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.to_string());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

/// The domain crate's dependencies and source, against the rules above.
fn domain_purity() -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let domain = root().join("crates/conference-domain");
    let manifest = std::fs::read_to_string(domain.join("Cargo.toml"))?;
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap_or_default();
    for line in dependencies.lines() {
        let name = line.split(['=', '.']).next().unwrap_or_default().trim();
        if !name.is_empty() && !name.starts_with('#') && !DOMAIN_DEPENDENCIES.contains(&name) {
            problems.push(format!(
                "crates/conference-domain depends on `{name}`; the domain stays free of IO, clocks and runtimes (add it to the adapters instead, or to DOMAIN_DEPENDENCIES in xtask/src/tidy.rs if it is pure)"
            ));
        }
    }
    let mut files = Vec::new();
    collect(&domain.join("src"), &mut files)?;
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for api in DOMAIN_FORBIDDEN {
            if text.contains(api) {
                problems.push(format!(
                    "{} names `{api}`; times and randomness enter the domain as data",
                    file.display()
                ));
            }
        }
    }
    Ok(problems)
}

/// The UI's command names against the shell's registered commands.
fn desktop_commands() -> Result<Vec<String>> {
    let ipc = std::fs::read_to_string(root().join("src-tauri/ipc/src/lib.rs"))?;
    let shell = std::fs::read_to_string(root().join("src-tauri/src/lib.rs"))?;
    let names: BTreeSet<String> = ipc
        .split("pub mod cmd {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split('"').nth(1))
        .map(String::from)
        .collect();
    let registered: BTreeSet<String> = shell
        .split("generate_handler![")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_default()
        .split(',')
        .filter_map(|path| path.trim().rsplit("::").next())
        .filter(|name| !name.is_empty())
        .map(String::from)
        .collect();
    let mut problems = Vec::new();
    if names.is_empty() || registered.is_empty() {
        problems.push(
            "could not read the UI's command names or the shell's generate_handler! list"
                .to_string(),
        );
    }
    for name in names.difference(&registered) {
        problems.push(format!(
            "the UI can call `{name}` (src-tauri/ipc cmd) but the shell does not register it (src-tauri/src/lib.rs generate_handler!)"
        ));
    }
    for name in registered.difference(&names) {
        problems.push(format!(
            "the shell registers `{name}` but the UI has no name for it in src-tauri/ipc's cmd"
        ));
    }
    Ok(problems)
}

/// The most lines a Rust source file may have, unless its header says why it needs more:
/// past this a file is split by topic (STYLE.md: "files that grow past ~600 lines").
const MAX_FILE_LINES: usize = 700;

/// How a longer file's header (its leading comment lines) says why, e.g.
/// `//! tidy: long because one table of cases reads as one specification`.
const LONG_FILE_REASON: &str = "tidy: long because";

/// Every Rust source file of the repository over [`MAX_FILE_LINES`] whose header gives no
/// reason for its length.
fn long_files() -> Result<Vec<String>> {
    let mut files = Vec::new();
    rust_sources(&root(), &mut files)?;
    files.sort();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        problems.extend(long_file_problem(&shown(&file), &text));
    }
    Ok(problems)
}

/// A file's path as the problems name it: from the repository's root.
fn shown(file: &Path) -> String {
    file.strip_prefix(root())
        .unwrap_or(file)
        .display()
        .to_string()
}

/// The `.rs` files under `dir`, leaving out build output, copies made by tools
/// (`mutants.out`) and hidden folders.
fn rust_sources(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.is_dir() {
            let skipped = name.starts_with('.')
                || name.starts_with("mutants.out")
                || ["target", "node_modules", "dist"].contains(&name.as_str());
            if !skipped {
                rust_sources(&path, files)?;
            }
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// What is wrong with `text` (the file `name`) when it is longer than [`MAX_FILE_LINES`]
/// and its header, the comment, attribute and blank lines it starts with, has no
/// [`LONG_FILE_REASON`] followed by the reason.
fn long_file_problem(name: &str, text: &str) -> Option<String> {
    let lines = text.lines().count();
    if lines <= MAX_FILE_LINES {
        return None;
    }
    let reason_given = text
        .lines()
        .map(str::trim_start)
        .take_while(|line| line.is_empty() || line.starts_with("//") || line.starts_with("#!["))
        .filter_map(|line| line.split_once(LONG_FILE_REASON))
        .any(|(_, why)| !why.trim().is_empty());
    (!reason_given).then(|| {
        format!(
            "{name} has {lines} lines, more than {MAX_FILE_LINES}: split it by topic, or say why it is long in its header (`//! {LONG_FILE_REASON} …`)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(from, to)| {
                (
                    (*from).to_string(),
                    to.iter().map(|t| (*t).to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn cycles_are_found_and_chains_are_not() {
        let chain = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &[])]);
        assert!(cycles(&chain).is_empty());
        let looped = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
        assert_eq!(cycles(&looped), vec![vec!["a", "b", "c"]]);
    }

    #[test]
    fn crate_paths_read_plain_paths_and_groups() {
        let code = "use crate::wire::{A, B};\nuse crate::{log::Unit, metrics};\nlet x = crate::db::open();";
        let names: Vec<String> = crate_paths(code).into_iter().collect();
        assert_eq!(names, vec!["db", "log", "metrics", "wire"]);
    }

    #[test]
    fn a_long_file_needs_a_reason_in_its_header() {
        let body = "fn f() {}\n".repeat(MAX_FILE_LINES);
        assert_eq!(
            long_file_problem("short.rs", "//! Short.\nfn f() {}\n"),
            None
        );
        assert_eq!(long_file_problem("limit.rs", &body), None);

        let without = format!("//! A module.\n{body}");
        let problem = long_file_problem("src/long.rs", &without).expect("too long");
        assert!(problem.contains("src/long.rs has 701 lines"), "{problem}");

        let with = format!(
            "//! A module.\n//! {LONG_FILE_REASON} its cases read as one table.\n#![allow(dead_code)]\n\n{body}"
        );
        assert_eq!(long_file_problem("src/long.rs", &with), None);

        let no_why = format!("//! {LONG_FILE_REASON}\n{body}");
        assert!(long_file_problem("src/long.rs", &no_why).is_some());
        let below_the_header =
            format!("//! A module.\nuse x;\n// {LONG_FILE_REASON} hidden.\n{body}");
        assert!(long_file_problem("src/long.rs", &below_the_header).is_some());
    }
}
