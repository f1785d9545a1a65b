//! Writes `corpus/malformed/<shape>-<size>.txt` for every shape at 64 B, 1 KiB and 64 KiB
//! (the 1 MiB forms are made in memory by the benches and tests, not stored).
fn main() -> std::io::Result<()> {
    let dir = benches::corpus_dir().join("malformed");
    std::fs::create_dir_all(&dir)?;
    for shape in benches::SHAPES {
        for (size, label) in [(64, "64b"), (1 << 10, "1k"), (64 << 10, "64k")] {
            let path = dir.join(format!("{}-{label}.txt", shape.name));
            std::fs::write(&path, shape.generate(size))?;
        }
    }
    println!(
        "wrote {} files to {}",
        benches::SHAPES.len() * 3,
        dir.display()
    );
    Ok(())
}
