//! The corpus the demo feeds (`corpus/` of the source tree), as router inputs, and the
//! configuration of its tables: shared by `router demo`, the benches and the fuzz targets,
//! so that all of them route the same messages.
//!
//! - `corpus/messages/*.eml`: complete router inputs, each written to show one rule (its
//!   `Subject:` says which), with `expect` saying where each must end up.
//! - `corpus/valid/*.txt`: each address field becomes a message; To, Cc and Bcc are routed
//!   from the headers (no `to` line), the others go to `postmaster@example.org`.
//! - `corpus/malformed/*.txt`: each hostile input becomes the `To:` of a message with no
//!   `to` line (the router needs that field), so each is parked with its reason.

use std::path::{Path, PathBuf};

/// Where a corpus message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// corpus/messages: written to show one rule each.
    Rules = 0,
    /// corpus/valid: one message per address field.
    Valid = 1,
    /// corpus/malformed: one message per hostile input, in To (needed).
    Malformed = 2,
}

/// A router input made from the corpus.
#[derive(Debug, Clone)]
pub struct CorpusMessage {
    pub source: String,
    pub class: Class,
    pub bytes: Vec<u8>,
    /// From corpus/messages/expect: `queue:a,b` or `deferred:kind`.
    pub expect: Option<String>,
}

/// Every message the demo feeds, built from a corpus directory (also the benches' inputs).
pub fn corpus_messages(corpus: &Path) -> Result<Vec<CorpusMessage>, String> {
    let e = |what: &str, err: std::io::Error| format!("{what}: {err}");
    let msgs = corpus.join("messages");
    let mut out = Vec::new();
    let expect = std::fs::read_to_string(msgs.join("expect")).map_err(|x| e("expect", x))?;
    for line in expect
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut w = line.split_whitespace();
        let (Some(file), Some(want)) = (w.next(), w.next()) else {
            continue;
        };
        out.push(CorpusMessage {
            source: format!("messages/{file}"),
            class: Class::Rules,
            bytes: std::fs::read(msgs.join(file)).map_err(|x| e(file, x))?,
            expect: Some(want.to_string()),
        });
    }
    for f in sorted_files(&corpus.join("valid"))? {
        let text = std::fs::read_to_string(&f).map_err(|x| e("valid corpus", x))?;
        let name = f
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        for (n, line) in text.lines().enumerate() {
            let Some((field, value)) = line.split_once('\t') else {
                continue;
            };
            if line.starts_with('#') || value.trim().is_empty() {
                continue;
            }
            let from_headers = ["to", "cc", "bcc"].contains(&field.to_ascii_lowercase().as_str());
            let mut msg = if from_headers {
                "from <demo@example.org>\nenv-end\n".to_string()
            } else {
                "from <demo@example.org>\nto <postmaster@example.org>\nenv-end\n".to_string()
            };
            msg += &format!("Subject: {name} line {}\n", n + 1);
            if field != "From" {
                msg += "From: demo@example.org\n";
            }
            msg += &format!("{field}: {value}\n\nbody\n");
            out.push(CorpusMessage {
                source: format!("valid/{name}:{}", n + 1),
                class: Class::Valid,
                bytes: msg.into_bytes(),
                expect: None,
            });
        }
    }
    for f in sorted_files(&corpus.join("malformed"))? {
        let value = std::fs::read(&f).map_err(|x| e("malformed corpus", x))?;
        let name = f
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let mut msg = b"from <demo@example.org>\nenv-end\nSubject: hostile To\nTo: ".to_vec();
        // Folded every 1 000 bytes, as a hostile sender would, so that the parser (not only
        // the line cap) meets it.
        for (i, &b) in value.iter().enumerate() {
            if i > 0 && i % 1000 == 0 {
                msg.extend_from_slice(b"\n ");
            }
            msg.push(if b == b'\n' || b == b'\r' { b' ' } else { b });
        }
        msg.extend_from_slice(b"\n\nbody\n");
        out.push(CorpusMessage {
            source: format!("malformed/{name}"),
            class: Class::Malformed,
            bytes: msg,
            expect: None,
        });
    }
    Ok(out)
}

/// The tables of corpus/messages (aliases, transport) as a configuration's `[routing]`,
/// with `example.org` local; the tables are copied into `dir`.
pub fn corpus_config(corpus: &Path, dir: &Path) -> Result<crate::config::Config, String> {
    let mut c = crate::config::Config::default();
    for t in ["aliases", "transport"] {
        std::fs::copy(corpus.join("messages").join(t), dir.join(t))
            .map_err(|x| format!("{t}: {x}"))?;
    }
    c.routing.local_domains = vec!["example.org".into()];
    c.routing.aliases = dir.join("aliases");
    c.routing.transport = dir.join("transport");
    Ok(c)
}

fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|x| format!("{}: {x}", dir.display()))?
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    Ok(v)
}
