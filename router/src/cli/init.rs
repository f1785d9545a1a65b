//! `router init DIR [--owner USER] [--group GROUP]`: create a postoffice (the directories of
//! SPEC section 2) with the owners and modes of the trust model (docs/trust.md).

use std::path::{Path, PathBuf};

use super::exit;
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
        Some(n) => id_of(n, Path::new(db))
            .map(Some)
            .ok_or_else(|| format!("router init: no {what} {n:?} (not a number, not in {db})")),
    };
    let owners = match (
        lookup("user", "/etc/passwd", &a.owner),
        lookup("group", "/etc/group", &a.group),
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

/// A user or group id: a number, or a name looked up in `db` (`/etc/passwd` or `/etc/group`:
/// `name:x:id:...`). Names served only by NSS (LDAP, ...) need the number.
fn id_of(name: &str, db: &Path) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let text = std::fs::read_to_string(db).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_number_and_by_name() {
        assert_eq!(id_of("123", Path::new("/nonexistent")), Some(123));
        assert_eq!(id_of("root", Path::new("/etc/passwd")), Some(0));
        assert_eq!(id_of("root", Path::new("/etc/group")), Some(0));
        assert_eq!(id_of("no-such-user-here", Path::new("/etc/passwd")), None);
    }
}
