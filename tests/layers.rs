//! The crate's layers (`src/lib.rs`, "Layout") import only downward: a module may name
//! `crate::<module>` only for modules of its own layer or a lower one. Read from the sources,
//! so a wrong import fails here with its file and line.

use std::path::{Path, PathBuf};

/// Bottom to top, as `src/lib.rs` lists them.
const LAYERS: [&[&str]; 10] = [
    &["error", "ids", "clock", "crypto", "faults", "upstream"],
    &["model"],
    &["auth", "bus"],
    &["db"],
    &["webhooks", "vapi", "ai", "knowledge"],
    &["actors"],
    &["ops"],
    &["api"],
    &["widget", "console", "http"],
    &["app", "config", "cli", "main", "lib", "properties"],
];

fn layer(module: &str) -> usize {
    LAYERS.iter().position(|layer| layer.contains(&module)).unwrap_or_else(|| {
        panic!("module `{module}` is in no layer: add it to LAYERS here and to the layout in src/lib.rs")
    })
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<module>` a line names.
fn named_modules(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("crate::").map(move |(at, _)| {
        let rest = &line[at + "crate::".len()..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        &rest[..end]
    })
}

#[test]
fn every_module_imports_only_from_its_layer_or_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
        let module = first.strip_suffix(".rs").unwrap_or(first);
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for named in named_modules(line).filter(|named| !named.is_empty()) {
                if layer(named) > layer(module) {
                    wrong.push(format!(
                        "src/{}:{}: {module} imports {named}: {}",
                        relative.display(),
                        number + 1,
                        code
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports from a higher layer:\n{}", wrong.join("\n"));
}
