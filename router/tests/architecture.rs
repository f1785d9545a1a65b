//! The layers of docs/architecture.md, checked on the source: which folder may import which,
//! and that every park reason code is written in one place (src/reason.rs).

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's code without its unit tests (everything from `#[cfg(test)]` on).
fn code(p: &Path) -> String {
    let text = std::fs::read_to_string(p).expect("read source");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The layer a source file is in, by its folder or its name.
fn layer(src: &Path, p: &Path) -> &'static str {
    let rel = p.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    match first {
        "cli" | "main.rs" => "cli",
        "process" => "process",
        "spool" => "spool",
        "core" => "core",
        "lib.rs" => "root",
        _ => "leaf",
    }
}

/// What each layer may name with `crate::` (the binary's cli uses `router::`).
fn allowed(layer: &str) -> &'static [&'static str] {
    const LEAVES: [&str; 6] = ["accounts", "config", "limits", "names", "reason", "corpus"];
    match layer {
        "process" => &[
            "process", "spool", "core", "accounts", "config", "limits", "names", "reason",
        ],
        "spool" => &["spool", "limits", "names", "reason"],
        "core" => &["core", "config", "limits", "names", "reason"],
        "leaf" => &LEAVES,
        _ => &[],
    }
}

#[test]
fn arrows_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 30, "found {} sources", files.len());
    let mut wrong = Vec::new();
    let mut edges = std::collections::BTreeSet::new();
    for p in &files {
        let l = layer(&src, p);
        if l == "cli" || l == "root" {
            continue;
        }
        let text = code(p);
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + 7..];
            let module: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if module.is_empty() {
                continue;
            }
            edges.insert((l, module.clone()));
            if !allowed(l).contains(&module.as_str()) {
                wrong.push(format!(
                    "{} ({l}) uses crate::{module}",
                    p.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    println!("imports between layers: {edges:?}");
    assert!(
        wrong.is_empty(),
        "arrows that point the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_park_reason_code_is_written_in_reason_rs_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let reason_rs = std::fs::read_to_string(src.join("reason.rs")).unwrap();
    // The codes are the strings of `ParkReason::code`'s arms.
    let body = &reason_rs
        [reason_rs.find("pub fn code").unwrap()..reason_rs.find("pub fn detail").unwrap()];
    let codes: Vec<&str> = body
        .split("=> \"")
        .skip(1)
        .filter_map(|l| l.split('"').next())
        .collect();
    assert!(codes.len() >= 11, "{codes:?}");
    let mut found = Vec::new();
    for p in files.iter().filter(|p| !p.ends_with("reason.rs")) {
        let text = code(p);
        for c in &codes {
            if text.contains(&format!("\"{c}\"")) {
                found.push(format!("{}: \"{c}\"", p.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "park reason codes outside reason.rs:\n{}",
        found.join("\n")
    );
}
