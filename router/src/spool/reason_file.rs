//! The reason file, `deferred/<id>.reason`: its one writer and its one reader (SPEC section 3).
//!
//! RFC 822-style fields, one per line: `Reason:` (the stable code), `Detail:` (one sentence),
//! `Field:` and `Offset:` where the input is to blame, `Limit:` where a cap was hit,
//! `Attempts:`, `Router:` (host and pid), `Date:` (RFC 3339). Values taken from mail never
//! carry a line end into the file: CR and LF become spaces.
//!
//! The reader is lenient in what it skips (unknown fields, a missing optional field) and
//! strict in what it needs: a file without a `Reason:` line is not a reason file.

use crate::reason::ParkReason;

/// Renders the reason file for `reason`, written by this process now.
pub fn render(reason: &ParkReason) -> String {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut s = format!(
        "Reason: {}\nDetail: {}\n",
        reason.code(),
        one_line(&reason.detail())
    );
    if let Some(f) = reason.field() {
        s += &format!("Field: {}\n", one_line(f));
    }
    if let Some(o) = reason.offset() {
        s += &format!("Offset: {o}\n");
    }
    if let Some(l) = reason.limit() {
        s += &format!("Limit: {l}\n");
    }
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    s += &format!(
        "Attempts: {}\nRouter: {} {}\nDate: {}\n",
        reason.attempts(),
        host,
        std::process::id(),
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    );
    s
}

/// A reason file, read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReasonFile {
    pub code: String,
    pub detail: String,
    pub field: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub attempts: Option<u64>,
    pub router: Option<String>,
    pub date: Option<String>,
}

impl ReasonFile {
    /// Reads a reason file's text; `None` if it has no `Reason:` line.
    pub fn parse(text: &str) -> Option<ReasonFile> {
        let mut r = ReasonFile::default();
        let mut have_code = false;
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name {
                "Reason" => {
                    r.code = value.to_string();
                    have_code = !value.is_empty();
                }
                "Detail" => r.detail = value.to_string(),
                "Field" => r.field = Some(value.to_string()),
                "Offset" => r.offset = value.parse().ok(),
                "Limit" => r.limit = value.parse().ok(),
                "Attempts" => r.attempts = value.parse().ok(),
                "Router" => r.router = Some(value.to_string()),
                "Date" => r.date = Some(value.to_string()),
                _ => {}
            }
        }
        have_code.then_some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let r = ParkReason::Header {
            kind: mailaddr::ErrorKind::UnbalancedQuote,
            field: "To\r\nX-Evil: 1".into(),
            offset: 17,
            detail: "no closing quote".into(),
        };
        let text = render(&r);
        assert_eq!(text.lines().filter(|l| l.starts_with("X-Evil")).count(), 0);
        let back = ReasonFile::parse(&text).unwrap();
        assert_eq!(back.code, "unbalanced-quote");
        assert_eq!(back.field.as_deref(), Some("To  X-Evil: 1"));
        assert_eq!(
            (back.offset, back.limit, back.attempts),
            (Some(17), None, Some(0))
        );
        assert!(back.date.is_some() && back.router.is_some());
        assert_eq!(ReasonFile::parse("Detail: no code\n"), None);
    }
}
