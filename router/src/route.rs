//! Routing: recipient addresses in, channels and next hops out. No files here.
//!
//! For now the plain function the postoffice work needs: a recipient in a local domain goes
//! to `local`, any other to `smtp` with its domain as the next hop, an address that does not
//! parse to `error` with the parser's reason. Aliases, the transport table and the relay host
//! come with the routing issue.

use mailaddr::{parse_path, Arena, Options};

/// Where one recipient goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub channel: &'static str,
    pub host: String,
    pub error: Option<String>,
}

/// Routes one envelope recipient (`<user@domain>`).
pub fn route(rcpt: &str, local_domains: &[String], arena: &mut Arena) -> Route {
    arena.reset();
    match parse_path(rcpt.as_bytes(), arena, &Options::DEFAULT) {
        Ok(Some(m)) => {
            let domain = m.domain.to_ascii_lowercase();
            if local_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&domain))
            {
                Route {
                    channel: "local",
                    host: "-".into(),
                    error: None,
                }
            } else {
                Route {
                    channel: "smtp",
                    host: domain,
                    error: None,
                }
            }
        }
        Ok(None) => Route {
            channel: "error",
            host: "-".into(),
            error: Some("null recipient <>".into()),
        },
        Err(e) => Route {
            channel: "error",
            host: "-".into(),
            error: Some(format!("{}: {}", e.kind.name(), e)),
        },
    }
}
