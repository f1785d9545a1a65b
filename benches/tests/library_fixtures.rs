//! Other parsers' test mail: the messages of mail-parser 0.11.9's `resources/eml` (a
//! dependency of the benches, so cargo has fetched its source; read in place where `cargo
//! metadata` says it is, never copied) and mailparse's test message. Real mail's quirks
//! collected by another project, and mail made to break parsers:
//!
//! - every message, given the envelope an SMTP server writes, is routed, untouched (SPEC
//!   section 5 as revised: a fault in a field the router does not need is logged, not parked);
//! - every address field of every header block our parser splits gives the addresses
//!   mail-parser gives, but for the differences `judged_by_the_rfc` allows, each one where
//!   RFC 5322 says mail-parser repairs what is not an address (docs/parser.md, "Other parsers'
//!   test mail").
//!
//! Skipped when cargo cannot say where the sources are, except under CI.

use std::path::{Path, PathBuf};

/// Where the sources of these packages are, by `cargo metadata` of the manifest (offline:
/// the build, or `cargo fetch`, has fetched them); `None` if cargo cannot say.
fn package_dirs(manifest: &Path, names: &[(&str, &str)]) -> Option<Vec<PathBuf>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .ok()?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let packages = meta["packages"].as_array()?;
    names
        .iter()
        .map(|(name, version)| {
            let p = packages
                .iter()
                .find(|p| p["name"] == *name && p["version"] == *version)?;
            Some(
                Path::new(p["manifest_path"].as_str()?)
                    .parent()?
                    .to_path_buf(),
            )
        })
        .collect()
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            files_below(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The test messages: `*.eml` under `resources/eml` of mail-parser 0.11.9 (a dependency of
/// the benches) and of mail-parser 1.0.1 (of `benches/peer-mail-parser-1`, outside the
/// workspace: its source is there once that crate is built or fetched, as CI does), and
/// mailparse's message; named by their path under the package. `None` without 0.11.9's.
fn messages() -> Option<Vec<(String, Vec<u8>)>> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = package_dirs(
        &here.join("Cargo.toml"),
        &[("mail-parser", "0.11.9"), ("mailparse", "0.16.1")],
    )?;
    let peer = package_dirs(
        &here.join("peer-mail-parser-1/Cargo.toml"),
        &[("mail-parser", "1.0.1")],
    );
    assert!(
        peer.is_some() || !benches::under_ci(),
        "mail-parser 1.0.1's source is not fetched under CI"
    );
    let mut paths = Vec::new();
    for dir in [Some(&ours[0]), peer.as_ref().map(|p| &p[0])]
        .into_iter()
        .flatten()
    {
        let mut found = Vec::new();
        files_below(&dir.join("resources/eml"), &mut found);
        found.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        paths.extend(found.into_iter().map(|p| (dir.clone(), p)));
    }
    paths.push((
        ours[1].clone(),
        ours[1].join("tests/files/test_email_01.txt"),
    ));
    paths.sort();
    paths
        .iter()
        .map(|(dir, p)| {
            let bytes = std::fs::read(p).ok()?;
            let package = dir.file_name()?.to_string_lossy();
            let name = format!("{package}/{}", p.strip_prefix(dir).ok()?.display());
            Some((name, bytes))
        })
        .collect()
}

/// [`messages`], or `None` when cargo cannot say where they are (a failure under CI).
fn messages_or_skip() -> Option<Vec<(String, Vec<u8>)>> {
    let found = messages();
    if found.is_none() {
        benches::cannot_run_here("cargo metadata could not find mail-parser's test mail");
    }
    found
}

#[test]
fn other_parsers_test_mail_is_routed_untouched() {
    let Some(messages) = messages_or_skip() else {
        return;
    };
    assert!(messages.len() >= 300, "{} messages", messages.len());
    benches::route_with_one_recipient(&messages, "sender@example.net")
        .assert_all_routed_untouched(messages.len());
}

#[test]
fn other_parsers_test_mail_has_the_addresses_mail_parser_finds() {
    let Some(messages) = messages_or_skip() else {
        return;
    };
    let opts = mailaddr::Options::DEFAULT;
    let arena = mailaddr::Arena::new(1 << 20);
    let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
    let (mut same, mut refused_blocks) = (0, Vec::new());
    let mut differ = Vec::new();
    for (name, bytes) in &messages {
        let block = match mailaddr::parse_header_block(bytes, &arena, &opts) {
            Ok(b) => b,
            Err(e) => {
                refused_blocks.push(format!("{name}: {} at {}", e.kind.name(), e.offset));
                continue;
            }
        };
        let theirs_msg = mail_parser::MessageParser::new().parse_headers(&bytes[..]);
        for f in block.fields {
            let Some(kind) = f.address_field() else {
                continue;
            };
            if kind == mailaddr::AddressField::ReturnPath {
                continue;
            }
            field_arena.reset();
            let ours = match f.parse_address_list(&field_arena, &opts) {
                Ok(l) => l
                    .mailboxes()
                    .map(|m| format!("{}@{}", m.local, m.domain).to_lowercase())
                    .collect::<Vec<_>>(),
                Err(e) => vec![format!("error {}", e.kind.name())],
            };
            let theirs = theirs_msg
                .as_ref()
                .and_then(|m| {
                    m.headers()
                        .iter()
                        .find(|h| h.offset_field as usize == f.offset)
                })
                .and_then(|h| h.value().as_address())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.address.as_ref().map(|s| s.to_lowercase()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            if ours == theirs {
                same += 1;
            } else {
                let value = String::from_utf8_lossy(f.value).trim().to_string();
                let line = format!(
                    "{name} {}: {value:?}: ours {ours:?}, mail-parser {theirs:?}",
                    f.name
                );
                differ.push(Differ {
                    value,
                    ours,
                    theirs,
                    line,
                });
            }
        }
    }
    eprintln!(
        "{} messages; {} header blocks refused (each by RFC 5322, a line that is not a field): {refused_blocks:?}",
        messages.len(),
        refused_blocks.len()
    );
    eprintln!("{same} address fields the same, {} differ:", differ.len());
    for d in &differ {
        eprintln!("  {}", d.line);
    }
    for d in &differ {
        assert!(
            judged_by_the_rfc(d),
            "a difference not judged by the RFC: {}",
            d.line
        );
    }
    assert!(same >= 300, "{same} address fields the same");
}

/// An address field where the two parsers differ.
struct Differ {
    value: String,
    ours: Vec<String>,
    theirs: Vec<String>,
    line: String,
}

/// Each difference this parser keeps on purpose (docs/parser.md, "Other parsers' test mail"):
/// - an address without `@` (`Whomever`, `Moderator-Address <moderator>`): RFC 5322's
///   addr-spec needs its domain; mail-parser drops it or keeps the bare word;
/// - a group followed by another address with no comma between them (`one: a@b.c; two:
///   d@e.f;`, mail-parser's README example): an address-list separates every address, a group
///   too, by a comma; mail-parser reads on.
fn judged_by_the_rfc(d: &Differ) -> bool {
    let unqualified = d.ours == ["error missing-at"] && d.theirs.iter().all(|a| !a.contains('@'));
    let group_then_more = d.ours == ["error unexpected-character"]
        && d.value.split_once(';').is_some_and(|(_, rest)| {
            let rest = rest.trim_start();
            !rest.is_empty() && !rest.starts_with(',')
        });
    unqualified || group_then_more
}
