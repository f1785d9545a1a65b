//! Users and groups by name and by number, from `/etc/passwd` and `/etc/group` (`name:x:id:...`
//! lines). Names served only by NSS (LDAP, ...) are not seen: give their numbers.

use std::path::Path;

pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";

/// The `(name, id)` of every entry of `db`.
pub fn entries(db: &Path) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(db).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse().ok()?;
            Some((name.to_string(), id))
        })
        .collect()
}

/// A user or group id: a number, or a name looked up in `db`.
pub fn id_of(name: &str, db: &Path) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    entries(db)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, id)| id)
}

/// The name of `id` in `db`.
pub fn name_of(id: u32, db: &Path) -> Option<String> {
    entries(db)
        .into_iter()
        .find(|&(_, i)| i == id)
        .map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_number_and_by_name() {
        assert_eq!(id_of("123", Path::new("/nonexistent")), Some(123));
        assert_eq!(id_of("root", Path::new(PASSWD)), Some(0));
        assert_eq!(id_of("root", Path::new(GROUP)), Some(0));
        assert_eq!(id_of("no-such-user-here", Path::new(PASSWD)), None);
        assert_eq!(name_of(0, Path::new(PASSWD)).as_deref(), Some("root"));
    }
}
