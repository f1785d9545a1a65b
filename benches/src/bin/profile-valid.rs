//! A fixed workload for `valgrind --tool=callgrind` (instruction counts do not drift on a
//! shared machine): a parser over the valid corpus message, N times (default 2000), or over
//! the heads of the shared real-mail sample (third argument `real`), or their address fields
//! only (`real-fields`), or those fields' values alone (`real-values`: no header block to
//! split; mail-parser 0.11 reads each with `MessageStream::parse_address`).
//!
//! `profile-valid N ours|ours-split|mail-parser [valid|real|real-fields|real-values]`
//! (`ours-split`: the header block's split and its field names only), or
//! `profile-valid N ours shape:NAME:BYTES` (one malformed shape, caps raised), or
//! `profile-valid 0 ours shapes` (their names).
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "ours".into());
    let third = std::env::args().nth(3).unwrap_or_default();
    // `shape:NAME:BYTES`: one malformed shape, every cap but the arena raised (the linearity
    // of the parser's worst-case work, in instructions: compare 1024 and 1048576).
    if let Some(spec) = third.strip_prefix("shape:") {
        return shape(n, spec);
    }
    // `shapes`: the names of the malformed shapes, one a line (for `benches/tools/linearity`).
    if third == "shapes" {
        for s in benches::SHAPES {
            println!("{}", s.name);
        }
        return;
    }
    if !matches!(which.as_str(), "ours" | "ours-split" | "mail-parser") {
        benches::refuse(&format!(
            "no parser {which}: ours, ours-split or mail-parser"
        ));
    }
    // A fourth argument `general` turns the one-pass path for common shapes off (before/after).
    let opts = mailaddr::Options {
        general_path_only: std::env::args().nth(4).as_deref() == Some("general"),
        ..mailaddr::Options::DEFAULT
    };
    let heads = match third.as_str() {
        "real" => benches::real_mail_heads(),
        "real-fields" => benches::real_mail_address_fields(),
        "real-values" => return values(n, &which, &opts),
        "" | "valid" => vec![benches::valid_message()],
        other => benches::refuse(&format!(
            "no workload {other}: valid, real, real-fields, real-values, shapes or shape:NAME:BYTES"
        )),
    };
    let mut arena = mailaddr::Arena::new(64 << 10);
    let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut total = 0;
    for _ in 0..n {
        for m in &heads {
            total += match which.as_str() {
                "mail-parser" => benches::mail_parser_011_head(m),
                // The header block's split and the field names only (where the time goes).
                "ours-split" => {
                    arena.reset();
                    mailaddr::parse_header_block(std::hint::black_box(m), &arena, &opts).map_or(
                        0,
                        |b| {
                            b.fields
                                .iter()
                                .filter(|f| f.address_field().is_some())
                                .count()
                        },
                    )
                }
                _ => benches::ours(std::hint::black_box(m), &mut arena, &mut field_arena, &opts).0,
            };
        }
    }
    let bytes: usize = heads.iter().map(Vec::len).sum();
    println!("{which}: {bytes} bytes x {n}, answer {total}");
}

fn shape(n: usize, spec: &str) {
    let (name, size) = spec.split_once(':').unwrap_or((spec, "1024"));
    let size: usize = size.parse().unwrap_or(1024);
    let Some(shape) = benches::SHAPES.iter().find(|s| s.name == name) else {
        benches::refuse(&format!("no shape {name}"));
    };
    let input = shape.generate(size);
    let opts = benches::raised_options();
    let mut arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut answer = 0;
    for _ in 0..n {
        arena.reset();
        answer += mailaddr::parse_address_list(std::hint::black_box(&input), &arena, &opts)
            .map_or(0, |l| l.len());
    }
    println!("{name}: {} bytes x {n}, answer {answer}", input.len());
}

/// The `real-values` workload: every address field's value alone, N times.
fn values(n: usize, which: &str, opts: &mailaddr::Options) {
    let values = benches::real_mail_address_values();
    let mut arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut total = 0;
    for _ in 0..n {
        for (kind, v) in &values {
            let v = std::hint::black_box(v.as_slice());
            total += match which {
                "mail-parser" => benches::mail_parser_011_value(v),
                _ => benches::ours_value(*kind, v, &mut arena, opts).unwrap_or(0),
            };
        }
    }
    let bytes: usize = values.iter().map(|(_, v)| v.len()).sum();
    println!("{which}: {bytes} bytes x {n}, answer {total}");
}
