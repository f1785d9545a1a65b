//! Inputs shared by the benches, the corpus generator and the tests: the malformed shapes at
//! any size, and the valid corpus.
//!
//! Each malformed shape repeats a unit that is valid or nearly so, and puts its fault where
//! the parser meets it late when that is possible, so the parser walks the whole input before
//! it fails: the worst case for time, which is what a linearity bench must measure.

/// A named malformed shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub name: &'static str,
    /// What the shape is and which story it comes from.
    pub about: &'static str,
    head: &'static [u8],
    unit: &'static [u8],
    tail: &'static [u8],
}

pub const SHAPES: &[Shape] = &[
    Shape {
        name: "unbalanced-quote",
        about: "ZMailer (seed 004): a quote opened and never closed, after a long list",
        head: b"",
        unit: b"\"Ann Example\" <ann@example.org>, ",
        tail: b"\"Unclosed <x@example.org>",
    },
    Shape {
        name: "unbalanced-quote-early",
        about: "one quote at the start, the rest of the field inside it",
        head: b"\"",
        unit: b"Ann <ann@example.org>, ",
        tail: b"",
    },
    Shape {
        name: "unbalanced-angle",
        about: "ZMailer (seed 004): an angle opened and never closed",
        head: b"",
        unit: b"Ann <ann@example.org>, ",
        tail: b"Bob <bob@example.org",
    },
    Shape {
        name: "unbalanced-bracket",
        about: "ZMailer (seed 004): a domain literal never closed",
        head: b"",
        unit: b"a@[192.0.2.1], ",
        tail: b"b@[192.0.2.2",
    },
    Shape {
        name: "unbalanced-paren",
        about: "a comment never closed",
        head: b"",
        unit: b"a@example.org (Ann), ",
        tail: b"b@example.org (Bob",
    },
    Shape {
        name: "deep-comments",
        about: "comments nested 30 deep, again and again",
        head: b"",
        unit: b"a@b.c ((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))), ",
        tail: b"",
    },
    Shape {
        name: "deep-comment-open",
        about: "a comment nesting without end",
        head: b"",
        unit: b"(",
        tail: b"",
    },
    Shape {
        name: "deep-angles",
        about: "angles nested without end",
        head: b"",
        unit: b"<",
        tail: b"",
    },
    Shape {
        name: "deep-groups",
        about: "groups nested without end",
        head: b"",
        unit: b"g: ",
        tail: b"",
    },
    Shape {
        name: "long-list",
        about: "a valid list as long as the size",
        head: b"",
        unit: b"a@example.org, ",
        tail: b"z@example.org",
    },
    Shape {
        name: "quoted-pairs",
        about: "one local part of quoted pairs",
        head: b"\"",
        unit: b"\\a",
        tail: b"\"@example.org",
    },
    Shape {
        name: "at-flood",
        about: "@ signs",
        head: b"",
        unit: b"@",
        tail: b"",
    },
    Shape {
        name: "backslash-flood",
        about: "backslashes inside a quoted display name",
        head: b"\"",
        unit: b"\\\\",
        tail: b"\" <a@b.c>",
    },
    Shape {
        name: "encoded-words",
        about: "a display name of encoded words",
        head: b"",
        unit: b"=?utf-8?q?J=C3=B6rg?= ",
        tail: b"<j@example.org>",
    },
];

impl Shape {
    /// The shape at `size` bytes (exactly, padding the head's unit run with spaces).
    pub fn generate(&self, size: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(self.head);
        let body = size.saturating_sub(self.head.len() + self.tail.len());
        while out.len() + self.unit.len() <= self.head.len() + body {
            out.extend_from_slice(self.unit);
        }
        while out.len() < self.head.len() + body {
            out.push(b' ');
        }
        out.extend_from_slice(self.tail);
        out
    }
}

/// The sizes the benches and the corpus use.
pub const SIZES: &[(usize, &str)] = &[(1 << 10, "1k"), (64 << 10, "64k"), (1 << 20, "1m")];

/// The valid corpus: every field value of the `corpus/valid/*.txt` files, one per line, in
/// the `router parse` format (`Name<TAB>value`, or a bare address list).
pub fn valid_fields(corpus_dir: &std::path::Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(corpus_dir.join("valid"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read(&p)?;
        for line in text.split(|&b| b == b'\n') {
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            match line.iter().position(|&b| b == b'\t') {
                Some(i) => out.push((
                    String::from_utf8_lossy(&line[..i]).into_owned(),
                    line[i + 1..].to_vec(),
                )),
                None => out.push((String::new(), line.to_vec())),
            }
        }
    }
    Ok(out)
}

/// The project's `corpus/` directory.
pub fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// Limits with every cap but the arena lifted, for measuring the parser's worst-case work:
/// with the defaults, a 1 MiB field is refused before it is read.
pub fn raised_options() -> mailaddr::Options {
    let mut o = mailaddr::Options::DEFAULT;
    o.limits.input_bytes_max = 8 << 20;
    o.limits.header_bytes_max = 8 << 20;
    o.limits.line_bytes_max = 8 << 20;
    o.limits.tokens_max = u32::MAX / 2;
    o.limits.addresses_max = u32::MAX / 2;
    o.limits.arena_bytes_max = 64 << 20;
    o
}

/// mail-parser's answer to what [`ours`] counts: every address of every address field, found
/// by walking its result as `ours` walks ours (so neither side is spared the walk).
pub fn count_mail_parser(m: &mail_parser::Message<'_>) -> usize {
    m.headers()
        .iter()
        .filter_map(|h| h.value().as_address())
        .map(|a| a.iter().count())
        .sum()
}

/// mail-parser 0.11 on a whole message head: its header parse, walked by
/// [`count_mail_parser`].
pub fn mail_parser_011_head(message: &[u8]) -> usize {
    mail_parser::MessageParser::new()
        .parse_headers(message)
        .map_or(0, |m| count_mail_parser(&m))
}

/// mail-parser 0.11 on one address field's value alone (`MessageStream::parse_address`, which
/// reads up to the value's line end): the addresses it returned.
pub fn mail_parser_011_value(value: &[u8]) -> usize {
    mail_parser::parsers::MessageStream::new(value)
        .parse_address()
        .as_address()
        .map_or(0, |a| a.iter().count())
}

/// Our parser on a whole message head: split the header block, parse every address field.
/// Returns (mailboxes found, fields that failed), the answer the benches check.
pub fn ours(
    message: &[u8],
    arena: &mut mailaddr::Arena,
    field_arena: &mut mailaddr::Arena,
    opts: &mailaddr::Options,
) -> (usize, usize) {
    use mailaddr::{parse_header_block, AddressField};
    arena.reset();
    let Ok(block) = parse_header_block(message, arena, opts) else {
        return (0, 1);
    };
    let (mut found, mut failed) = (0, 0);
    for f in block.fields {
        field_arena.reset();
        match f.address_field() {
            Some(AddressField::ReturnPath) => match f.parse_path(field_arena, opts) {
                Ok(p) => found += p.is_some() as usize,
                Err(_) => failed += 1,
            },
            Some(_) => match f.parse_address_list(field_arena, opts) {
                Ok(l) => found += l.mailboxes().count(),
                Err(_) => failed += 1,
            },
            None => {}
        }
    }
    (found, failed)
}

/// The header blocks of the shared real-mail sample (`../shared/corpus-sample/messages`),
/// read at run time and never copied into the project; empty if the folder is absent.
pub fn real_mail_heads() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus-sample/messages");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .map(|m| {
            let end = memchr_blank_line(&m).unwrap_or(m.len());
            m[..end].to_vec()
        })
        .collect()
}

fn memchr_blank_line(m: &[u8]) -> Option<usize> {
    (0..m.len().saturating_sub(1))
        .find(|&i| {
            m[i] == b'\n'
                && (m[i + 1] == b'\n' || (m[i + 1] == b'\r' && m.get(i + 2) == Some(&b'\n')))
        })
        .map(|i| i + 1)
}

/// Each message of the real-mail sample's address fields, a list a message: name as written,
/// kind, raw value (folds kept). The one walk both real-mail workloads are built from.
fn real_mail_address_fields_by_message() -> Vec<Vec<(String, mailaddr::AddressField, Vec<u8>)>> {
    let mut arena = mailaddr::Arena::new(1 << 20);
    let opts = mailaddr::Options::DEFAULT;
    let mut out = Vec::new();
    for head in real_mail_heads() {
        // One head at a time: without the reset, a parser that used more arena per block
        // would run out part-way and silently shrink the workload.
        arena.reset();
        let Ok(block) = mailaddr::parse_header_block(&head, &arena, &opts) else {
            continue;
        };
        let fields: Vec<_> = block
            .fields
            .iter()
            .filter_map(|f| Some((f.name.to_string(), f.address_field()?, f.value.to_vec())))
            .collect();
        if !fields.is_empty() {
            out.push(fields);
        }
    }
    out
}

/// One head per message of the real-mail sample holding only its address fields (as
/// written, folds kept), so that every parser compared reads the same address bytes and
/// nothing else: the "address fields of ../shared/corpus-sample" workload.
pub fn real_mail_address_fields() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for fields in real_mail_address_fields_by_message() {
        let mut m = Vec::new();
        for (name, _, value) in fields {
            m.extend_from_slice(name.as_bytes());
            m.push(b':');
            m.extend_from_slice(&value);
            m.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(b"\r\n");
        out.push(m);
    }
    out
}

/// The address fields of the real-mail sample as values alone, each with its kind and with
/// the line end that closed it: the workload of parsers that are given one field's value (our
/// `parse_address_list`/`parse_path`, mail-parser 1.0.1's `HeaderForm::Addresses.parse`), with
/// no header block around it to split.
pub fn real_mail_address_values() -> Vec<(mailaddr::AddressField, Vec<u8>)> {
    let fields = real_mail_address_fields_by_message().into_iter().flatten();
    fields
        .map(|(_, kind, mut value)| {
            value.extend_from_slice(b"\r\n");
            (kind, value)
        })
        .collect()
}

/// [`ours`] for one value of [`real_mail_address_values`] (its line end cut off: our parsers
/// take the value alone): the mailboxes found, or `None` for a field it refuses.
pub fn ours_value(
    kind: mailaddr::AddressField,
    value: &[u8],
    arena: &mut mailaddr::Arena,
    opts: &mailaddr::Options,
) -> Option<usize> {
    arena.reset();
    let value = value.strip_suffix(b"\r\n").unwrap_or(value);
    match kind {
        mailaddr::AddressField::ReturnPath => mailaddr::parse_path(value, arena, opts)
            .ok()
            .map(|p| p.is_some() as usize),
        _ => mailaddr::parse_address_list(value, arena, opts)
            .ok()
            .map(|l| l.mailboxes().count()),
    }
}

/// A message head holding every field of the valid corpus.
pub fn valid_message() -> Vec<u8> {
    let mut m = Vec::new();
    for (name, value) in valid_fields(&corpus_dir()).unwrap_or_default() {
        m.extend_from_slice(if name.is_empty() {
            b"To"
        } else {
            name.as_bytes()
        });
        m.extend_from_slice(b": ");
        m.extend_from_slice(&value);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"\r\n");
    m
}

/// One address field of the real-mail sample that did not parse.
#[derive(Debug, Clone)]
pub struct RealMailFailure {
    pub message: usize,
    pub field: String,
    pub kind: &'static str,
    pub offset: usize,
    /// The value around the offset: `(before, after)`.
    pub context: (String, String),
}

/// The tally of the real-mail sample: header blocks refused, address fields, those parsed,
/// and each failure (used by the `real-mail` tool and the `real_mail` test).
#[derive(Debug, Default, Clone)]
pub struct RealMailTally {
    pub messages: usize,
    pub blocks_refused: Vec<(usize, &'static str)>,
    pub fields: usize,
    pub parsed: usize,
    pub failures: Vec<RealMailFailure>,
}

pub fn tally_real_mail(heads: &[Vec<u8>], opts: &mailaddr::Options) -> RealMailTally {
    use mailaddr::{parse_address_list, parse_header_block, parse_path, AddressField, Arena};
    let mut arena = Arena::new(256 << 10);
    let mut field_arena = Arena::for_limits(&opts.limits);
    let mut t = RealMailTally {
        messages: heads.len(),
        ..Default::default()
    };
    for (i, head) in heads.iter().enumerate() {
        arena.reset();
        let block = match parse_header_block(head, &arena, opts) {
            Ok(b) => b,
            Err(e) => {
                t.blocks_refused.push((i, e.kind.name()));
                continue;
            }
        };
        for f in block.fields {
            let Some(kind) = f.address_field() else {
                continue;
            };
            t.fields += 1;
            field_arena.reset();
            let r = match kind {
                AddressField::ReturnPath => parse_path(f.value, &field_arena, opts).map(|_| ()),
                _ => parse_address_list(f.value, &field_arena, opts).map(|_| ()),
            };
            match r {
                Ok(()) => t.parsed += 1,
                Err(e) => {
                    let at = e.offset.min(f.value.len());
                    let (lo, hi) = (at.saturating_sub(30), (at + 30).min(f.value.len()));
                    t.failures.push(RealMailFailure {
                        message: i,
                        field: f.name.to_string(),
                        kind: e.kind.name(),
                        offset: e.offset,
                        context: (
                            String::from_utf8_lossy(&f.value[lo..at]).into_owned(),
                            String::from_utf8_lossy(&f.value[at..hi]).into_owned(),
                        ),
                    });
                }
            }
        }
    }
    t
}

/// What the disk under `dir` gives with no durability and with full durability per file, in
/// files per second: N times create a file, write `len` bytes, rename it into another
/// directory; the second time with an fsync of the file before its rename and of the
/// directory after it. The two ceilings beside a durable router's rate.
pub fn ceilings(dir: &std::path::Path, n: usize, len: usize) -> (f64, f64) {
    use std::io::Write;
    let a = dir.join("ceil-a");
    let b = dir.join("ceil-b");
    let bytes = vec![b'x'; len];
    let mut rates = [0.0; 2];
    for (k, rate) in rates.iter_mut().enumerate() {
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let bdir = std::fs::File::open(&b).unwrap();
        let _ = std::process::Command::new("sync").status();
        // The fsync round is 10x slower: a tenth of the files.
        let n = if k == 0 { n } else { n.div_ceil(10) };
        let t = std::time::Instant::now();
        for i in 0..n {
            let name = format!("m{i}");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(a.join(&name))
                .unwrap();
            f.write_all(&bytes).unwrap();
            if k == 1 {
                f.sync_all().unwrap();
            }
            drop(f);
            std::fs::rename(a.join(&name), b.join(&name)).unwrap();
            if k == 1 {
                bdir.sync_all().unwrap();
            }
        }
        *rate = n as f64 / t.elapsed().as_secs_f64();
    }
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
    (rates[0], rates[1])
}

/// The median of a bench's rounds (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The sum of fields `at` (counted from the state field, 0) of a `/proc/<pid>/stat` text, and
/// its process group.
pub fn stat_fields(stat: &str, at: &[usize]) -> (u64, String) {
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let sum = at
        .iter()
        .filter_map(|&i| f.get(i).and_then(|t| t.parse::<u64>().ok()))
        .sum();
    (sum, f.get(2).unwrap_or(&"").to_string())
}

/// CPU seconds of this process's reaped children (cutime and cstime of /proc/self/stat).
pub fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    stat_fields(&stat, &[13, 14]).0 as f64 / 100.0
}

/// The release router binary the end-to-end benches run, checked: present, and not the build
/// `cargo test --release` leaves at the same path (the `fault-injection` seam compiled in; it
/// does nothing unless `ROUTER_FAULT` is set, but a bench should time what ships).
pub fn release_router() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/router");
    let bytes = std::fs::read(&bin).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the router first: cargo build --release -p router",
            bin.display()
        )
    });
    assert!(
        memchr::memmem::find(&bytes, b"ROUTER_FAULT_TRACE").is_none(),
        "{} was built by `cargo test` (fault injection compiled in); \
         rebuild it: cargo build --release -p router",
        bin.display()
    );
    bin
}

/// What the router's message core made of a set of messages, each given the envelope an SMTP
/// server writes for one local recipient ([`route_with_one_recipient`]).
#[derive(Debug, Default)]
pub struct RoutedTally {
    pub routed: usize,
    /// `name: reason` of each message parked.
    pub parked: Vec<String>,
    /// Routed, but not to one output ending with the message exactly as it came.
    pub changed: Vec<String>,
    /// Routed with a header fault logged (a field the router does not need).
    pub logged: usize,
}

impl std::fmt::Display for RoutedTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} routed ({} not untouched), {} parked, {} with header faults logged",
            self.routed,
            self.changed.len(),
            self.parked.len(),
            self.logged
        )
    }
}

impl RoutedTally {
    /// Prints the tally of `messages` messages and asserts that none was parked and each was
    /// routed to one `local` output ending with the message exactly as it came.
    pub fn assert_all_routed_untouched(&self, messages: usize) {
        eprintln!("{messages} messages: {self}");
        assert!(self.parked.is_empty(), "parked: {:?}", self.parked);
        assert!(self.changed.is_empty(), "changed: {:?}", self.changed);
    }
}

/// Whether this runs under CI (`CI=true` or `1`), where a check that cannot run must fail.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A bench's command line it cannot run: says why and exits 2 (a typo must not measure
/// something else under the name asked for).
pub fn refuse(why: &str) -> ! {
    eprintln!("{why}");
    std::process::exit(2);
}

/// Under CI a check that cannot run here fails the test instead of passing with a "skipped"
/// note: CI must never believe a check it did not make. Elsewhere it says why and returns.
pub fn cannot_run_here(why: &str) {
    if under_ci() {
        panic!("this check cannot run here under CI: {why}");
    }
    eprintln!("skipped: {why}");
}

/// The router's message core with the default configuration and `example.org` local, and
/// that configuration: the set-up of the real-mail tests.
pub fn test_processor() -> (router::config::Config, router::core::message::Processor) {
    let mut c = router::config::Config::default();
    c.routing.local_domains = vec!["example.org".into()];
    let p = router::core::message::Processor::from_config(
        &c,
        &router::core::table::InMemory::default(),
    )
    .expect("the default tables load");
    (c, p)
}

/// Routes each `(name, message)` through [`test_processor`] (no spool) with the envelope
/// `from <sender>`, `to <user@example.org>`: the set-up of the real-mail tests (the shared
/// sample, other parsers' test mail).
pub fn route_with_one_recipient(messages: &[(String, Vec<u8>)], sender: &str) -> RoutedTally {
    use router::core::message::Outcome;
    let (_, p) = test_processor();
    let mut arena = p.arena();
    let mut t = RoutedTally::default();
    for (name, bytes) in messages {
        let mut input = format!("from <{sender}>\nto <user@example.org>\nenv-end\n").into_bytes();
        input.extend_from_slice(bytes);
        let r = p.process("test", &input, &mut arena);
        t.logged += usize::from(!r.header_faults.is_empty());
        match r.outcome {
            Outcome::Route(o) => {
                t.routed += 1;
                if !(o.len() == 1 && o[0].0 == "local" && o[0].1.ends_with(bytes)) {
                    t.changed.push(name.clone());
                }
            }
            Outcome::Park(reason) => t.parked.push(format!("{name}: {}", reason.code())),
            Outcome::Control { .. } => t.changed.push(format!("{name}: a control file")),
        }
    }
    t
}
