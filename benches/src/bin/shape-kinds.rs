//! Prints what the parser says of each malformed shape at each size (default limits):
//! the table `router/tests/parse_cli.rs` pins down.
use mailaddr::{parse_address_list, Arena, Options};
fn main() {
    let mut arena = Arena::for_limits(&Options::DEFAULT.limits);
    for shape in benches::SHAPES {
        let kinds: Vec<String> = benches::SIZES
            .iter()
            .map(|(size, _)| {
                arena.reset();
                match parse_address_list(&shape.generate(*size), &arena, &Options::DEFAULT) {
                    Ok(l) => format!("ok({})", l.mailboxes().count()),
                    Err(e) => format!("{}@{}", e.kind.name(), e.offset),
                }
            })
            .collect();
        println!("{:24} {}", shape.name, kinds.join("  "));
    }
}
