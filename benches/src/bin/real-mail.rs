//! Parses every address-bearing field of every message in ../shared/corpus-sample (read in
//! place, never copied) and prints how many parse and how many end in which error kind, with
//! up to four examples of each kind (field, the value around the offset) to judge whose fault
//! it is.
use std::collections::BTreeMap;

fn main() {
    let heads = benches::real_mail_heads();
    if heads.is_empty() {
        eprintln!("../shared/corpus-sample/messages not found");
        std::process::exit(1);
    }
    let t = benches::tally_real_mail(&heads, &mailaddr::Options::DEFAULT);
    println!(
        "messages {}  header blocks refused {:?}  address fields {}  parsed {}  failed {}",
        t.messages,
        t.blocks_refused,
        t.fields,
        t.parsed,
        t.failures.len()
    );
    let mut by_kind: BTreeMap<&str, Vec<&benches::RealMailFailure>> = BTreeMap::new();
    for f in &t.failures {
        by_kind.entry(f.kind).or_default().push(f);
    }
    for (kind, fs) in by_kind {
        println!("\n{kind}: {}", fs.len());
        for f in fs.iter().take(4) {
            println!(
                "  msg {} {}: ...{:?} [^{}] {:?}...",
                f.message, f.field, f.context.0, f.offset, f.context.1
            );
        }
    }
}
