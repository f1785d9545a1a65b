//! `router init DIR [--owner USER] [--group GROUP]`: create a postoffice (the directories of
//! SPEC section 2) with the owners and modes of the trust model (docs/trust.md).

use std::path::{Path, PathBuf};

use super::{accounts, exit};
use router::spool::{Owners, Postoffice};

#[derive(clap::Args)]
pub struct Args {
    /// The postoffice to create (existing directories are kept, their modes set).
    dir: PathBuf,
    /// The user the router runs as (a name or a number); default: the caller.
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
    /// The group that may submit (a name or a number); default: the caller's.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
}

pub fn run(a: Args) -> u8 {
    let lookup = |what: &str, db: &str, name: &Option<String>| match name {
        None => Ok(None),
        Some(n) => accounts::id_of(n, Path::new(db))
            .map(Some)
            .ok_or_else(|| format!("router init: no {what} {n:?} (not a number, not in {db})")),
    };
    let owners = match (
        lookup("user", accounts::PASSWD, &a.owner),
        lookup("group", accounts::GROUP, &a.group),
    ) {
        (Ok(user), Ok(group)) => Owners { user, group },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    match Postoffice::init_with(&a.dir, owners) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("router init: {}: {e}", a.dir.display());
            exit::CANTCREAT
        }
    }
}
