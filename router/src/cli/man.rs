//! `router man DIR`: router.1 and one page per command (clap_mangen).

use std::path::Path;

use super::{exit, Cli};

pub fn run(dir: &Path) -> u8 {
    match write_man_pages(dir) {
        Ok(n) => {
            println!("{n} man pages in {}", dir.display());
            exit::OK
        }
        Err(e) => {
            eprintln!("router man: {}: {e}", dir.display());
            exit::CANTCREAT
        }
    }
}

fn write_man_pages(dir: &Path) -> std::io::Result<usize> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    let cmd = Cli::command();
    let mut n = 0;
    let mut write = |name: String, c: clap::Command| -> std::io::Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        std::fs::write(dir.join(format!("{name}.1")), buf)?;
        n += 1;
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("router-{}", sub.get_name());
        write(name.clone(), sub.clone().name(name))?;
    }
    write("router".into(), cmd)?;
    Ok(n)
}
