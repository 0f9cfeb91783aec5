//! No import cycle between the modules of src/: a module that uses another (by a `crate::`,
//! `super::` or `self::` path, or by declaring it with `mod`) never is used back by it, through
//! any chain. A child using its own ancestors' items is the ordinary Rust shape and does not
//! count. (The same rule as the workplace's `module-cycles` tool, kept here so CI holds it.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The text that counts: no unit-test module, no comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) if text[at + 12..].trim_start().starts_with("mod tests") => &text[..at],
        _ => text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `crate::a::b`, `super::a`, `self::a` path in `text`, split at `::`.
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if text[..at].chars().next_back().is_some_and(word) {
                continue;
            }
            let rest = &text[at..];
            let mut parts = Vec::new();
            let mut tail = rest;
            loop {
                let end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
                if end == 0 {
                    break;
                }
                parts.push(tail[..end].to_owned());
                match tail[end..].strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            if parts.len() > 1 {
                out.push(parts);
            }
        }
    }
    out
}

fn edges(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files
        .iter()
        .map(|f| (module_of(src, f), f.clone()))
        .collect();
    let resolve = |parts: &[String]| -> Option<Module> {
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].to_vec())
            .find(|m| modules.contains_key(m))
    };
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, file) in &modules {
        let text = code(&std::fs::read_to_string(file).unwrap());
        let out = edges.entry(m.clone()).or_default();
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let line = match line.strip_prefix("pub(") {
                Some(rest) => rest.split_once(')').map_or(line, |(_, r)| r.trim_start()),
                None => line,
            };
            if let Some(name) = line.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
                let mut child = m.clone();
                child.push(name.trim().to_owned());
                if modules.contains_key(&child) {
                    out.insert(child);
                }
            }
        }
        for path in paths(&text) {
            let target: Vec<String> = match path[0].as_str() {
                "crate" => path[1..].to_vec(),
                "self" => m.iter().cloned().chain(path[1..].iter().cloned()).collect(),
                _ => {
                    let ups = path.iter().take_while(|p| *p == "super").count();
                    let keep = m.len().saturating_sub(ups);
                    m[..keep]
                        .iter()
                        .cloned()
                        .chain(path[ups..].iter().cloned())
                        .collect()
                }
            };
            if let Some(t) = resolve(&target) {
                let ancestor = t.len() < m.len() && m[..t.len()] == t[..];
                if t != *m && !ancestor {
                    out.insert(t);
                }
            }
        }
    }
    edges
}

/// Every module from which `from` can be reached again, and so lies on a cycle with it.
fn on_a_cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeSet<String> {
    let reaches = |from: &Module| -> BTreeSet<Module> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&Module> = edges[from].iter().collect();
        while let Some(m) = todo.pop() {
            if seen.insert(m.clone()) {
                todo.extend(edges.get(m).into_iter().flatten());
            }
        }
        seen
    };
    edges
        .keys()
        .filter(|m| reaches(m).contains(*m))
        .map(|m| m.join("::"))
        .collect()
}

#[test]
fn no_module_of_src_imports_another_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    assert!(edges.len() > 50, "src/ was not read: {}", edges.len());
    // The rule bites: a module that used its parent's sibling which used it back would show.
    let mut with_cycle = edges.clone();
    let (a, b) = (
        vec!["server".to_owned(), "error".to_owned()],
        vec!["server".to_owned(), "routes".to_owned()],
    );
    with_cycle.get_mut(&a).unwrap().insert(b.clone());
    with_cycle.get_mut(&b).unwrap().insert(a.clone());
    assert!(!on_a_cycle(&with_cycle).is_empty());

    let cycles = on_a_cycle(&edges);
    assert!(
        cycles.is_empty(),
        "modules on an import cycle (break it by moving what they share to where it belongs): {cycles:?}"
    );
}
