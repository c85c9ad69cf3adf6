//! Gathers every code example from the pages of grove-core, grove-sync and
//! grove-io into `$OUT_DIR/doc_examples.rs`, one documented item per
//! example, which `src/lib.rs` includes under `cfg(doctest)`. So
//! `cargo test --doc -p grove` compiles and runs each of them as a program
//! that depends on `grove` alone: the examples a user of `grove` reads on
//! its pages are checked against the facade, with the facade's paths.
//!
//! Outside the workspace (the sibling crates' sources absent) the file is
//! empty and nothing is gathered.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const CRATES: [&str; 3] = ["grove-core", "grove-sync", "grove-io"];

/// Files whose items exist only with a feature of `grove`: their examples
/// are compiled only with it.
const GATED: [(&str, &str); 1] = [("grove-io/src/tokio_bridge.rs", "tokio")];

/// Fence labels of blocks that are not Rust, which rustdoc does not run.
const NOT_RUST: [&str; 8] = [
    "text", "console", "sh", "bash", "toml", "json", "md", "plain",
];

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let mut generated = String::new();
    for krate in CRATES {
        let src = here.join("..").join(krate).join("src");
        println!("cargo:rerun-if-changed={}", src.display());
        let mut files = Vec::new();
        collect(&src, &mut files);
        files.sort();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let rel = file.strip_prefix(&src).unwrap_or(&file);
            let name = format!("{krate}/src/{}", rel.display());
            extract(&name, &text, &mut generated);
        }
    }
    std::fs::write(out.join("doc_examples.rs"), generated).expect("write doc_examples.rs");
}

/// Every `.rs` file under `dir`.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The text of a doc-comment line (`///` or `//!`, less one space), if it is one.
fn doc_text(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = t.strip_prefix("///").or_else(|| t.strip_prefix("//!"))?;
    if rest.starts_with('/') {
        return None; // `////` is an ordinary comment
    }
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Appends one item per Rust code block in the doc comments of `text`.
fn extract(name: &str, text: &str, generated: &mut String) {
    // (fence label, line it opened on, code)
    let mut open: Option<(String, usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(doc) = doc_text(line) else {
            open = None; // a block cut off by a non-doc line is not one
            continue;
        };
        let fence = doc.trim_start().strip_prefix("```");
        match (fence, open.take()) {
            (Some(_), Some((label, at, code))) => emit(name, at, &label, &code, generated),
            (Some(label), None) => open = Some((label.trim().to_string(), i + 1, String::new())),
            (None, Some((label, at, mut code))) => {
                code.push_str(doc);
                code.push('\n');
                open = Some((label, at, code));
            }
            (None, None) => {}
        }
    }
}

fn emit(name: &str, line: usize, label: &str, code: &str, generated: &mut String) {
    if label.split(',').any(|l| NOT_RUST.contains(&l.trim())) {
        return;
    }
    let ident: String = format!("{name}_{line}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if let Some((_, feature)) = GATED.iter().find(|(file, _)| *file == name) {
        let _ = writeln!(generated, "#[cfg(feature = \"{feature}\")]");
    }
    let _ = write!(
        generated,
        "#[doc = r####\"From {name}, line {line}:\n\n```{label}\n{code}```\n\"####]\npub struct {ident};\n\n"
    );
}
