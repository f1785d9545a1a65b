//! Reads criterion's results (target/criterion) and prints ns/byte per parser and group,
//! with our ratio to each peer and the 1 MiB / 1 KiB linearity ratio.
use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut rows: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    walk(&root, &mut rows);
    if rows.is_empty() {
        eprintln!(
            "no results under {}: run `cargo bench -p benches --bench parse` first",
            root.display()
        );
        std::process::exit(1);
    }
    println!(
        "{:44} {:>12} {:>12} {:>12} {:>12} {:>9} {:>9}",
        "group (ns/byte)", "mailaddr", "raised", "mail-parser", "mailparse", "mp/ours", "mps/ours"
    );
    for (group, by) in &rows {
        let g = |k: &str| by.get(k).copied();
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        let ours = g("mailaddr");
        let r = |p: Option<f64>| match (p, ours) {
            (Some(p), Some(o)) => format!("{:.1}x", p / o),
            _ => "-".into(),
        };
        println!(
            "{:44} {:>12} {:>12} {:>12} {:>12} {:>9} {:>9}",
            group,
            f(ours),
            f(g("mailaddr-raised")),
            f(g("mail-parser")),
            f(g("mailparse")),
            r(g("mail-parser")),
            r(g("mailparse"))
        );
    }
    println!("\nlinearity (raised caps): ns/byte at 1 MiB over ns/byte at 1 KiB");
    for (group, by) in &rows {
        if let Some(base) = group.strip_suffix("/1k") {
            let big = rows.get(&format!("{base}/1m"));
            if let (Some(a), Some(b)) = (
                by.get("mailaddr-raised"),
                big.and_then(|b| b.get("mailaddr-raised")),
            ) {
                println!("{:40} {:.2}", base, b / a);
            }
        }
    }
}

fn walk(dir: &Path, rows: &mut BTreeMap<String, BTreeMap<String, f64>>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.ends_with("new") {
            let (Ok(est), Ok(bm)) = (
                std::fs::read_to_string(p.join("estimates.json")),
                std::fs::read_to_string(p.join("benchmark.json")),
            ) else {
                continue;
            };
            let (Ok(est), Ok(bm)) = (
                serde_json::from_str::<serde_json::Value>(&est),
                serde_json::from_str::<serde_json::Value>(&bm),
            ) else {
                continue;
            };
            let ns = est["mean"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
            let bytes = bm["throughput"]["Bytes"].as_f64().unwrap_or(f64::NAN);
            let group = bm["group_id"].as_str().unwrap_or("?").to_string();
            let func = bm["value_str"]
                .as_str()
                .or(bm["function_id"].as_str())
                .unwrap_or("?")
                .to_string();
            rows.entry(group).or_default().insert(func, ns / bytes);
        } else if p.is_dir() {
            walk(&p, rows);
        }
    }
}
