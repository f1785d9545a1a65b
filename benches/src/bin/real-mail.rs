//! Parses every address-bearing field of every message in ../shared/corpus-sample (read in
//! place, never copied) and prints how many parse and how many end in which error kind, with
//! up to three examples of each kind (field, value excerpt, offset) to judge whose fault it is.
use std::collections::BTreeMap;

use mailaddr::{parse_address_list, parse_header_block, parse_path, AddressField, Arena, Options};

fn main() {
    let heads = benches::real_mail_heads();
    if heads.is_empty() {
        eprintln!("../shared/corpus-sample/messages not found");
        std::process::exit(1);
    }
    let opts = Options::DEFAULT;
    let mut arena = Arena::new(256 << 10);
    let mut field_arena = Arena::for_limits(&opts.limits);
    let (mut fields, mut ok, mut blocks_failed) = (0, 0, 0);
    let mut kinds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, head) in heads.iter().enumerate() {
        arena.reset();
        let block = match parse_header_block(head, &arena, &opts) {
            Ok(b) => b,
            Err(e) => {
                blocks_failed += 1;
                *count.entry("(header block) ").or_default() += 1;
                let at = e.offset;
                let excerpt = String::from_utf8_lossy(
                    &head[at.saturating_sub(20)..(at + 40).min(head.len())],
                )
                .into_owned();
                kinds
                    .entry("(header block) ")
                    .or_default()
                    .push(format!("msg {i}: {} at {at}: {excerpt:?}", e.kind.name()));
                continue;
            }
        };
        for f in block.fields {
            let Some(kind) = f.address_field() else {
                continue;
            };
            fields += 1;
            field_arena.reset();
            let r = match kind {
                AddressField::ReturnPath => parse_path(f.value, &field_arena, &opts).map(|_| ()),
                _ => parse_address_list(f.value, &field_arena, &opts).map(|_| ()),
            };
            match r {
                Ok(()) => ok += 1,
                Err(e) => {
                    *count.entry(e.kind.name()).or_default() += 1;
                    let ex = kinds.entry(e.kind.name()).or_default();
                    if ex.len() < 4 {
                        let v = f.value;
                        let at = e.offset.min(v.len());
                        let lo = at.saturating_sub(30);
                        let hi = (at + 30).min(v.len());
                        ex.push(format!(
                            "msg {i} {}: ...{:?} [^{}] {:?}...",
                            f.name,
                            String::from_utf8_lossy(&v[lo..at]),
                            at,
                            String::from_utf8_lossy(&v[at..hi])
                        ));
                    }
                }
            }
        }
    }
    println!(
        "messages {}  header blocks refused {}  address fields {}  parsed {}  failed {}",
        heads.len(),
        blocks_failed,
        fields,
        ok,
        fields - ok
    );
    for (k, n) in &count {
        println!("\n{k}: {n}");
        for ex in &kinds[k] {
            println!("  {ex}");
        }
    }
}
