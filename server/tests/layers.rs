//! The server's top-level modules depend one way (`docs/architecture.md`, "Layers"): each
//! module names only modules of lower layers (or, within a layer, never in a circle). This
//! reads the sources' `crate::` paths, so a new import that points upwards fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module by layer, lowest first. A new module is placed here.
const LAYERS: &[&[&str]] = &[
    &["calendar", "metrics", "net", "rules", "tls"],
    &["store", "matching", "config"],
    &["node"],
    &["federation", "http"],
    &["api", "web"],
    &["app"],
    &["serve"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source text names through `crate::`, including grouped
/// imports (`use crate::{a::X, b};`). Line comments are left out.
fn named_modules(text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: split at commas outside nested braces.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        at_start = true;
                        name.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && at_start {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                    } else if !name.is_empty() {
                        if known.contains(&name) {
                            out.insert(name.clone());
                        }
                        at_start = false;
                    }
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if known.contains(&name) {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn top_level_modules_depend_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name != "lib" && name != "bin" {
            modules.insert(name);
        }
    }
    for m in &modules {
        assert!(
            layer_of(m).is_some(),
            "module `{m}` is in no layer: place it in LAYERS (and docs/architecture.md)"
        );
    }
    let mut edges: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for m in &modules {
        let mut files = Vec::new();
        let dir = src.join(m);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{m}.rs")));
        }
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source");
            for used in named_modules(&text, &modules) {
                if &used != m {
                    edges
                        .entry(m.clone())
                        .or_default()
                        .entry(used)
                        .or_insert(file.clone());
                }
            }
        }
    }
    let mut wrong = Vec::new();
    for (from, tos) in &edges {
        for (to, file) in tos {
            let (a, b) = (layer_of(from), layer_of(to));
            if b > a {
                wrong.push(format!("{from} -> {to} (upwards, in {})", file.display()));
            }
        }
    }
    // Within a layer: no circle.
    for (from, tos) in &edges {
        for to in tos.keys() {
            if layer_of(from) == layer_of(to)
                && edges.get(to).is_some_and(|back| back.contains_key(from))
            {
                wrong.push(format!("{from} <-> {to} (a circle within a layer)"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn grouped_imports_are_read() {
    let known: BTreeSet<String> = ["node", "store", "web"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = "use crate::{node::{Auth, Node}, store::Store};\n// crate::web is only a comment\n";
    let named = named_modules(text, &known);
    assert_eq!(
        named,
        ["node", "store"].iter().map(|s| s.to_string()).collect()
    );
}
