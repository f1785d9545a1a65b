//! `router init DIR [--owner USER] [--group GROUP] [--zmailer]`: create a postoffice (the
//! directories of SPEC section 2) with the owners and modes of the trust model
//! (docs/trust.md); with `--zmailer`, add only the router's `work/` to ZMailer's postoffice
//! and touch nothing of ZMailer's (docs/zmailer.md).

use std::path::{Path, PathBuf};

use super::exit;
use router::accounts;
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
    /// DIR is ZMailer's postoffice: make only `work/` (mode 0700) beside its directories.
    #[arg(long)]
    zmailer: bool,
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
    let made = if a.zmailer {
        Postoffice::init_zmailer(&a.dir, owners)
    } else {
        Postoffice::init_with(&a.dir, owners)
    };
    match made {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("router init: {}: {e}", a.dir.display());
            exit::CANTCREAT
        }
    }
}
