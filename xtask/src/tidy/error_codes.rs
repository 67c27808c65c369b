//! Error codes are a public API listed in `docs/error-codes.md`: every code written as a
//! literal in the source must be listed there, and every code listed there must still be
//! written somewhere (the domain's codes are also compared whole by a domain test).
use crate::util::root;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// The list of codes, from the repository's root.
const LIST: &str = "docs/error-codes.md";

/// Where error codes are written. The xtask crate makes none.
const SOURCES: &[&str] = &[
    "crates/conference-domain/src",
    "crates/conference-exec/src",
    "crates/conference-store/src",
    "crates/conference-app/src",
    "crates/conference-protocol/src",
    "crates/conference-cli/src",
    "sync-server/src",
    "src-tauri/src",
    "src-tauri/ipc/src",
    "ui/src",
];

/// Calls whose first argument is an error code.
const CODE_CALLS: &[&str] = &[
    "::invalid(",
    "::not_found(",
    "::rejected(",
    "::forbidden(",
    "::unprocessable(",
    "::reject(",
    "Rejection::new(",
    "CliError::new(",
    "ErrorBody::new(",
];

/// Blocks whose match arms are error codes.
const CODE_TABLES: &[&str] = &["fn code(&self)", "let code = match"];

/// Every problem with the list against the source.
pub(super) fn check() -> Result<Vec<String>> {
    let list = std::fs::read_to_string(root().join(LIST))?;
    let listed = listed(&list);
    let mut problems = Vec::new();
    if listed.is_empty() {
        problems.push(format!("{LIST} lists no error codes"));
    }
    let mut written: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut all_text = String::new();
    for src in SOURCES {
        let mut files = Vec::new();
        super::collect(&root().join(src), &mut files)?;
        for file in files {
            let text = std::fs::read_to_string(&file)?;
            let shown = super::shown(&file);
            for code in codes_in(without_tests(&text)) {
                written.entry(code).or_default().insert(shown.clone());
            }
            all_text.push_str(without_tests(&text));
        }
    }
    for (code, files) in &written {
        if !listed.contains(code) {
            problems.push(format!(
                "the error code `{code}` ({}) is not listed in {LIST}; codes are a public API: list it there (or use a listed one)",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for code in &listed {
        if !all_text.contains(&format!("\"{code}\"")) {
            problems.push(format!(
                "{LIST} lists the error code `{code}`, but no source writes it any more; take it out of the list if it is gone on purpose"
            ));
        }
    }
    Ok(problems)
}

/// The codes `- `code`` lines of the list name, in every section.
fn listed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("- `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|code| is_code(code))
        .map(String::from)
        .collect()
}

/// Whether `text` has the shape of a code: snake case.
fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A file's text without its unit tests (which name codes to check them, and made-up ones).
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text)
}

/// The error codes written as literals in `code`: the first argument of the calls in
/// [`CODE_CALLS`], a `code: "…"` field, and the arms of the blocks in [`CODE_TABLES`].
fn codes_in(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for call in CODE_CALLS {
        for (at, _) in code.match_indices(call) {
            found.extend(literal_at(&code[at + call.len()..]));
        }
    }
    for (at, _) in code.match_indices("code: ") {
        found.extend(literal_at(&code[at + "code: ".len()..]));
    }
    for table in CODE_TABLES {
        for (at, _) in code.match_indices(table) {
            let block = block_after(&code[at..]);
            for (arm, _) in block.match_indices("=>") {
                found.extend(literal_at(&block[arm + 2..]));
            }
        }
    }
    found
}

/// The snake-case string literal `text` starts with, after white space.
fn literal_at(text: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix('"')?;
    let literal = &rest[..rest.find('"')?];
    is_code(literal).then(|| literal.to_string())
}

/// The first `{ … }` block in `text`, braces balanced (braces in strings are rare enough
/// in code tables to ignore).
fn block_after(text: &str) -> &str {
    let Some(open) = text.find('{') else {
        return "";
    };
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..=open + i];
                }
            }
            _ => {}
        }
    }
    &text[open..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_where_they_are_written() {
        let code = r#"
            let e = AppError::invalid(
                "no_seats",
                format!("x"),
            );
            let f = ApiError::forbidden("forbidden_role", "m");
            let g = AppError::rejected(&body.code, "not a literal");
            Self(ErrorBody { code: "internal".into(), message });
            impl ErrorCode for Error {
                fn code(&self) -> &'static str {
                    match self {
                        Self::A => "order_expired",
                        Self::B { .. } => "seats_not_reserved",
                    }
                }
                fn field(&self) -> Option<&'static str> {
                    Some(match self { Self::A => "email" })
                }
            }
            let code = match status { StatusCode::NOT_FOUND => "not_found", _ => "http_error" };
            let promo = Definition { code: "EARLY" };
        "#;
        let found: Vec<String> = codes_in(code).into_iter().collect();
        assert_eq!(
            found,
            [
                "forbidden_role",
                "http_error",
                "internal",
                "no_seats",
                "not_found",
                "order_expired",
                "seats_not_reserved",
            ]
        );
    }

    #[test]
    fn the_list_is_read_from_its_items() {
        let text = "# Codes\n\n- `a_code` — where\n- `b`\nnot `c`\n- `cargo xtask` checks\n";
        let listed: Vec<String> = listed(text).into_iter().collect();
        assert_eq!(listed, ["a_code", "b"]);
    }

    #[test]
    fn tests_are_left_out() {
        assert_eq!(
            without_tests("a\n#[cfg(test)]\nmod tests {\n x(\"y\")\n}"),
            "a\n"
        );
    }
}
