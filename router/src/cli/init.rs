//! `router init DIR`: create a postoffice (the directories of SPEC section 2).

use std::path::Path;

use super::exit;
use router::spool::Postoffice;

pub fn run(dir: &Path) -> u8 {
    match Postoffice::init(dir) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("router init: {}: {e}", dir.display());
            exit::CANTCREAT
        }
    }
}
